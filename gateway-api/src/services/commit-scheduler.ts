import type { LedgerChaincodeEvent } from '../ledger/ports';
import type { CommitResult } from '../resources/reveal/service';
import { ORDER_COMMIT_LEAD_MS, WINDOW_EVENTS } from '@hems/protocol';
import { WindowScheduler, type WindowSchedulerOptions } from './window-scheduler';

export interface CommitSchedulerOptions extends WindowSchedulerOptions {
  /** Commits this org to its sealed orders of a window (commitOwnOrders bound to the ledger). */
  readonly commit: (windowId: string) => Promise<CommitResult>;
  /** How long before each close to commit; orders reaching the gateway later are refused. */
  readonly leadMs?: number;
}

interface WindowView {
  readonly windowId: string;
  readonly status: string;
  readonly closesAt?: string;
  readonly requiresCommitments?: boolean;
  readonly parts?: readonly { readonly org?: unknown; readonly commitment?: unknown }[];
}

/**
 * A utility gateway's commitment to its sealed orders of each window, `leadMs` before the close:
 * the orders of a utility without a commitment at the close do not trade, so no utility should
 * depend on a person remembering to. The plan is rebuilt from the ledger on start (every OPEN
 * window) and extended by WindowOpened events. A commitment refused because the window has closed
 * is not retried: the utility's orders then do not trade, and its escrows are refunded after the
 * clearing (ReleaseEscrow with accounts).
 */
export class CommitScheduler extends WindowScheduler {
  protected readonly what = 'order commitment';

  constructor(private readonly options: CommitSchedulerOptions) {
    // Due `leadMs` before the deadline: the scheduler's grace is its offset from closesAt.
    super({ ...options, graceMs: -(options.leadMs ?? ORDER_COMMIT_LEAD_MS) });
  }

  private async window(windowId: string): Promise<WindowView> {
    return this.readWindow<WindowView>(windowId);
  }

  private planWindow(windowId: string, closesAt: string | undefined): void {
    if (closesAt !== undefined && !this.isPlanned(windowId)) {
      this.schedule(windowId, closesAt);
    }
  }

  protected async rebuild(): Promise<void> {
    await this.forEachListedWindow<{ windowId: string; status: string; closesAt?: string }>(
      async (listed) => {
        if (listed.status !== 'OPEN' || this.isPlanned(listed.windowId)) {
          return;
        }
        const window = await this.window(listed.windowId);
        if (this.pending(window)) {
          this.planWindow(window.windowId, window.closesAt);
        }
      },
    );
  }

  protected onEvent(event: LedgerChaincodeEvent): void {
    const opened = this.windowEvent(event, WINDOW_EVENTS.opened);
    if (opened !== undefined && typeof opened.closesAt === 'string') {
      this.planWindow(opened.windowId, opened.closesAt);
    }
  }

  protected async runItem(windowId: string): Promise<string | undefined> {
    return this.windowStep(
      () => this.options.commit(windowId),
      (committed) =>
        this.options.log?.info({ windowId, orders: committed.orders }, 'committed to the sealed orders'),
      // Every refusal is final: a closed window, a window without commitments, no part of this org.
      () => undefined,
    );
  }

  /** Still to commit while the window is open, requires commitments and this org has a part without one. */
  private pending(window: WindowView): boolean {
    const part = this.ownPart(window);
    return (
      window.status === 'OPEN' &&
      window.requiresCommitments === true &&
      part !== undefined &&
      part.commitment === undefined
    );
  }

  protected async stillPending(windowId: string): Promise<boolean> {
    return this.pending(await this.window(windowId));
  }
}

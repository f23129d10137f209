import type { LedgerChaincodeEvent } from '../ledger/ports';
import type { EscrowRelease } from '../resources/reveal/service';
import { WINDOW_EVENTS } from '@hems/protocol';
import { WindowScheduler, type WindowSchedulerOptions } from './window-scheduler';

/** Window statuses after the clearing, when escrows can be released. */
const CLEARED: ReadonlySet<string> = new Set(['CLEARED', 'SETTLED']);

export interface ReleaseSchedulerOptions extends WindowSchedulerOptions {
  /** Releases this org's escrows of a cleared window (releaseOwnEscrow bound to the ledger). */
  readonly release: (windowId: string) => Promise<EscrowRelease>;
}

interface WindowPart {
  readonly org?: unknown;
  readonly released?: unknown;
}

interface WindowView {
  readonly windowId: string;
  readonly status: string;
  readonly clearedAt?: string;
  readonly orgs?: readonly string[];
  readonly parts?: readonly WindowPart[];
}

/**
 * A utility gateway's escrow release after each clearing (ReleaseEscrow): the bids of its
 * customers that did not trade, and the padding of those that did, are refunded at once instead
 * of staying locked until the delivery report (which a utility without trades never makes). The
 * plan is rebuilt from the ledger on start (every cleared window whose part of this org is not
 * released yet) and extended by WindowCleared events; CONFLICT means it was released already.
 */
export class ReleaseScheduler extends WindowScheduler {
  protected readonly what = 'escrow release';

  constructor(private readonly options: ReleaseSchedulerOptions) {
    super(options);
  }

  private async window(windowId: string): Promise<WindowView> {
    return this.readWindow<WindowView>(windowId);
  }

  /** Whether this org still has to release in the window (a part of it and not released). */
  private pending(window: WindowView): boolean {
    const part = this.ownPart(window);
    return CLEARED.has(window.status) && part !== undefined && part.released === undefined;
  }

  protected async rebuild(): Promise<void> {
    await this.forEachListedWindow<{ windowId: string; status: string }>(async (listed) => {
      if (!CLEARED.has(listed.status) || this.isPlanned(listed.windowId)) {
        return;
      }
      const window = await this.window(listed.windowId);
      if (this.pending(window)) {
        this.schedule(window.windowId, window.clearedAt ?? new Date().toISOString());
      }
    });
  }

  protected onEvent(event: LedgerChaincodeEvent): void {
    const cleared = this.windowEvent(event, WINDOW_EVENTS.cleared);
    if (cleared === undefined) {
      return;
    }
    // Due now: the clearing is committed; the grace lets the peer's state catch up.
    this.schedule(cleared.windowId, new Date().toISOString());
  }

  /** CONFLICT: released already, also by the delivery report. */
  protected async runItem(windowId: string): Promise<string | undefined> {
    return this.windowStep(
      () => this.options.release(windowId),
      (released) => this.options.log?.info({ windowId, refunded: released.refunded }, 'escrows released'),
      // Any refusal: the clearing may not be visible on this peer yet, or this org has no part
      // in the window (it joined the channel after the opening); the window record tells which.
      (refused) => `window ${windowId} cannot be released yet (${refused})`,
    );
  }

  /** Still to release while this org has a part in the window that is not released. */
  protected async stillPending(windowId: string): Promise<boolean> {
    const part = this.ownPart(await this.window(windowId));
    return part !== undefined && part.released === undefined;
  }
}

import type { LedgerChaincodeEvent } from '../ledger/ports';
import type { RevealResult } from '../resources/reveal/service';
import { WINDOW_EVENTS } from '@hems/protocol';
import { WindowScheduler, type WindowSchedulerOptions } from './window-scheduler';

/** Window statuses in which there is nothing left to reveal (docs/auction.md life cycle). */
const REVEAL_OVER: ReadonlySet<string> = new Set(['CLEARED', 'SETTLED']);

/**
 * Wait after closesAt before revealing: an order endorsed just before the close may still be on
 * its way to the orderer, and the reveal makes it fail MVCC validation if it commits first. Ten
 * seconds is well above a submit-to-commit under load (p99 about 3 s for 10,000 devices in
 * docs/benchmarks.md, with a 500 ms batch timeout), so such an order commits before the reveal.
 */
export const REVEAL_GRACE_MS = 10_000;

export interface RevealSchedulerOptions extends WindowSchedulerOptions {
  /** Reveals this org's orders of a window (revealOwnOrders bound to the ledger). */
  readonly reveal: (windowId: string) => Promise<RevealResult>;
}

interface ListedWindow {
  readonly windowId: string;
  readonly status: string;
  readonly closesAt?: string;
  readonly parts?: readonly { readonly org?: unknown; readonly revealed?: unknown }[];
}

/**
 * A utility gateway's reveal at each window's close: the clearing waits until every utility
 * revealed (an org without orders reveals an empty list), so no utility should depend on a person
 * remembering to. The plan is rebuilt from the ledger on start (every window not yet cleared) and
 * extended by WindowOpened events; a reveal the chaincode answers CONFLICT was already done.
 */
export class RevealScheduler extends WindowScheduler {
  protected readonly what = 'reveal';

  constructor(private readonly options: RevealSchedulerOptions) {
    super({ ...options, graceMs: options.graceMs ?? REVEAL_GRACE_MS });
  }

  private async window(windowId: string): Promise<ListedWindow> {
    return this.readWindow<ListedWindow>(windowId);
  }

  /** Plans a window at its close; its record is read when the listing or event lacks closesAt. */
  private async planWindow(listed: ListedWindow): Promise<void> {
    if (REVEAL_OVER.has(listed.status) || this.isPlanned(listed.windowId)) {
      return;
    }
    const closesAt = listed.closesAt ?? (await this.window(listed.windowId)).closesAt;
    if (closesAt !== undefined) {
      this.schedule(listed.windowId, closesAt);
    }
  }

  protected async rebuild(): Promise<void> {
    await this.forEachListedWindow<ListedWindow>((listed) => this.planWindow(listed));
  }

  protected async onEvent(event: LedgerChaincodeEvent): Promise<void> {
    const opened = this.windowEvent(event, WINDOW_EVENTS.opened);
    if (opened === undefined) {
      return;
    }
    await this.planWindow({
      windowId: opened.windowId,
      status: 'OPEN',
      ...(typeof opened.closesAt === 'string' ? { closesAt: opened.closesAt } : {}),
    });
  }

  protected async runItem(windowId: string): Promise<string | undefined> {
    return this.windowStep(
      () => this.options.reveal(windowId),
      (revealed) => this.options.log?.info({ windowId, orders: revealed.orders }, 'orders revealed'),
      // FAILED_PRECONDITION: not closed yet (the peer's clock or the tx time lags), or past
      // revealing (cleared): the window record tells which before the retry.
      (refused) =>
        refused === 'FAILED_PRECONDITION' ? `window ${windowId} cannot be revealed yet` : undefined,
    );
  }

  /**
   * Still to reveal while the window is not cleared and this org's part has no reveal; a window
   * without a part of this org (it joined the channel later) is not its to reveal.
   */
  protected async stillPending(windowId: string): Promise<boolean> {
    const window = await this.window(windowId);
    if (REVEAL_OVER.has(window.status)) {
      return false;
    }
    if (window.parts === undefined) {
      return true;
    }
    const part = this.ownPart(window);
    return part !== undefined && part.revealed === undefined;
  }
}

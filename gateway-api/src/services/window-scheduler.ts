import type { LedgerChaincodeEvent } from '../ledger/ports';
import { auction } from '../ledger/contracts';
import { decodeJson } from '../ledger/answers';
import { DeadlineScheduler, type DeadlineSchedulerOptions } from './deadline-scheduler';

export interface WindowSchedulerOptions extends DeadlineSchedulerOptions {
  /** ListWindows page size while rebuilding the plan (1-100). */
  readonly pageSize?: number;
}

interface WindowListPage<T> {
  readonly windows: readonly T[];
  readonly bookmark?: string;
}

/**
 * What the utility gateways' trading-window schedulers (reveal at the close, escrow release after
 * the clearing) share: reading a window, walking every listed window to rebuild the plan, and
 * reading the window id of a window event.
 */
export abstract class WindowScheduler extends DeadlineScheduler {
  private readonly pageSize: number;

  constructor(private readonly windowOptions: WindowSchedulerOptions) {
    super(windowOptions);
    this.pageSize = windowOptions.pageSize ?? 100;
  }

  /** Windows waiting for this org's work, with when it is due. */
  get scheduled(): { windowId: string; dueAt: Date; attempt: number }[] {
    return this.plannedItems.map(({ id, dueAt, attempt }) => ({ windowId: id, dueAt, attempt }));
  }

  protected async readWindow<T>(windowId: string): Promise<T> {
    return decodeJson<T>(
      await auction(this.windowOptions.ledger, this.reader()).GetWindow.evaluate({ arguments: [windowId] }),
    );
  }

  /** Visits every window ListWindows lists, page by page. */
  protected async forEachListedWindow<T>(visit: (listed: T) => Promise<void>): Promise<void> {
    const contract = auction(this.windowOptions.ledger, this.reader());
    let bookmark = '';
    for (;;) {
      const page = decodeJson<WindowListPage<T>>(
        await contract.ListWindows.evaluate({ arguments: [String(this.pageSize), bookmark] }),
      );
      for (const listed of page.windows) {
        await visit(listed);
      }
      const next = page.bookmark ?? '';
      if (page.windows.length < this.pageSize || next === '' || next === bookmark) {
        return;
      }
      bookmark = next;
    }
  }

  /** The payload of a `eventName` event with its window id; undefined (and a warning) if malformed. */
  protected windowEvent(
    event: LedgerChaincodeEvent,
    eventName: string,
  ): (Record<string, unknown> & { windowId: string }) | undefined {
    if (event.eventName !== eventName) {
      return undefined;
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(new TextDecoder().decode(event.payload)) as Record<string, unknown>;
    } catch {
      payload = {};
    }
    const windowId = payload.windowId;
    if (typeof windowId !== 'string') {
      this.windowOptions.log?.warn(
        { transactionId: event.transactionId },
        `malformed ${eventName} event skipped`,
      );
      return undefined;
    }
    return { ...payload, windowId };
  }
}

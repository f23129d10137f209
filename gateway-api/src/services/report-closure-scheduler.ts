import type { LedgerChaincodeEvent } from '../ledger/ports';
import { WINDOW_EVENTS } from '@hems/protocol';
import { WindowScheduler, type WindowSchedulerOptions } from './window-scheduler';

export interface ReportClosureOptions extends WindowSchedulerOptions {
  /** Closes the delivery reports of a window (CloseDeliveryReports, majority-endorsed). */
  readonly close: (windowId: string) => Promise<{ readonly unreportedOrgs: readonly string[] }>;
}

interface WindowView {
  readonly windowId: string;
  readonly status: string;
  readonly operatorMspId?: string;
  readonly reportBy?: string;
  readonly reportsClosedAt?: string;
}

/**
 * The market operator's gateway closes the delivery reports of each window it operates at its
 * reportBy, while the window is cleared but not settled: who settles without a report is then
 * fixed by the majority, and no utility's settlement waits for a person. The plan is rebuilt
 * from the ledger on start (every CLEARED window of this DSO not closed yet) and extended by
 * WindowCleared events; CONFLICT means the reports were closed already.
 */
export class ReportClosureScheduler extends WindowScheduler {
  protected readonly what = 'delivery report closure';

  constructor(private readonly options: ReportClosureOptions) {
    super(options);
  }

  private async window(windowId: string): Promise<WindowView> {
    return this.readWindow<WindowView>(windowId);
  }

  /** Plans the window at its reportBy if this DSO operates it and its reports are still open. */
  private async planWindow(windowId: string): Promise<void> {
    if (this.isPlanned(windowId)) {
      return;
    }
    const window = await this.window(windowId);
    if (this.pending(window) && window.reportBy !== undefined) {
      this.schedule(window.windowId, window.reportBy);
    }
  }

  private pending(window: WindowView): boolean {
    return (
      window.status === 'CLEARED' &&
      window.operatorMspId === this.options.ledger.mspId &&
      window.reportsClosedAt === undefined
    );
  }

  protected async rebuild(): Promise<void> {
    await this.forEachListedWindow<{ windowId: string; status: string }>(async (listed) => {
      if (listed.status === 'CLEARED') {
        await this.planWindow(listed.windowId);
      }
    });
  }

  protected async onEvent(event: LedgerChaincodeEvent): Promise<void> {
    const cleared = this.windowEvent(event, WINDOW_EVENTS.cleared);
    if (cleared !== undefined) {
      await this.planWindow(cleared.windowId);
    }
  }

  protected async runItem(windowId: string): Promise<string | undefined> {
    return this.windowStep(
      () => this.options.close(windowId),
      (closure) =>
        this.options.log?.info(
          { windowId, unreportedOrgs: closure.unreportedOrgs },
          'delivery reports closed',
        ),
      // FAILED_PRECONDITION: reportBy not reached by the transaction time yet; the window record
      // tells before the retry whether it is still to do (settled windows need no closure).
      (refused) =>
        refused === 'FAILED_PRECONDITION' ? `window ${windowId} cannot be closed yet` : undefined,
    );
  }

  protected async stillPending(windowId: string): Promise<boolean> {
    return this.pending(await this.window(windowId));
  }
}

import type { LedgerChaincodeEvent } from '../ledger/ports';
import { auction } from '../ledger/contracts';
import { chaincodeRefusal } from '@hems/network-client';
import { decodeJson } from '../ledger/answers';
import { DeadlineScheduler, type DeadlineSchedulerOptions } from './deadline-scheduler';

export type WindowSchedulerOptions = DeadlineSchedulerOptions;

/**
 * What the utility gateways' trading-window schedulers (reveal at the close, escrow release after
 * the clearing) share: reading a window, walking every listed window to rebuild the plan, and
 * reading the window id of a window event.
 */
export abstract class WindowScheduler extends DeadlineScheduler {
  constructor(private readonly windowOptions: WindowSchedulerOptions) {
    super(windowOptions);
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
    await this.forEachListed(auction(this.windowOptions.ledger, this.reader()).ListWindows, 'windows', visit);
  }

  /**
   * Runs this org's step of a window (`step`, then `done` with its answer). CONFLICT means the
   * step was done already (by an admin through the API, or before a restart): nothing left to do.
   * Another refusal is answered with `notYet`'s reason to run again (the window record tells
   * before the retry whether it is still to do), or thrown where `notYet` has none.
   */
  protected async windowStep<T>(
    step: () => Promise<T>,
    done: (answer: T) => void,
    notYet: (refusal: string) => string | undefined,
  ): Promise<string | undefined> {
    try {
      done(await step());
      return undefined;
    } catch (error) {
      const refused = chaincodeRefusal(error)?.code;
      if (refused === 'CONFLICT') {
        return undefined;
      }
      const reason = refused === undefined ? undefined : notYet(refused);
      if (reason === undefined) {
        throw error;
      }
      return reason;
    }
  }

  /** This org's part of a window, if it has one (it may have joined the channel later). */
  protected ownPart<Part extends { readonly org?: unknown }>(window: {
    readonly parts?: readonly Part[];
  }): Part | undefined {
    return window.parts?.find((candidate) => candidate.org === this.windowOptions.ledger.mspId);
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

import type { LedgerChaincodeEvent } from '../ledger/ports';
import { timeslot } from '../ledger/contracts';
import { decodeJson } from '../ledger/answers';
import { DeadlineScheduler, type DeadlineSchedulerOptions } from './deadline-scheduler';
import { SLOT_EVENTS, type SlotOpenedData } from '@hems/protocol';

/** What publishing a slot's aggregates reported per bus (resources/aggregates/service.ts publishOwnAggregates). */
export interface PublishResult {
  readonly buses: readonly { readonly bus: string; readonly outcome: string }[];
}

/** Bus outcomes after which nothing is left to do for that bus. */
const DONE_OUTCOMES: ReadonlySet<string> = new Set(['published', 'already published']);

/** Slot statuses in which this org's aggregates are all published or no longer wanted. */
const FINISHED_STATUSES: ReadonlySet<string> = new Set(['AGGREGATED', 'DISPATCHED', 'SETTLED']);

export interface AggregationSchedulerOptions extends DeadlineSchedulerOptions {
  /** Publishes this org's aggregates of a slot (publishOwnAggregates bound to the ledger). */
  readonly publish: (slotId: string) => Promise<PublishResult>;
}

interface ListedSlot {
  readonly slotId: string;
  readonly deadline: string;
  readonly status: string;
}

interface SlotAggregates {
  readonly deadline: string;
  readonly status?: string;
  readonly aggregates: readonly { readonly org: string; readonly published: boolean }[];
}

/**
 * A utility gateway's aggregation at each slot's deadline: the plan is rebuilt from the ledger on
 * start (every slot with an unpublished aggregate of this org) and extended by SlotOpened events.
 */
export class AggregationScheduler extends DeadlineScheduler {
  protected readonly what = 'aggregation';

  constructor(private readonly options: AggregationSchedulerOptions) {
    super(options);
  }

  /** Slots waiting for their aggregation, with when it is due. */
  get scheduled(): { slotId: string; dueAt: Date; attempt: number }[] {
    return this.plannedItems.map(({ id, dueAt, attempt }) => ({ slotId: id, dueAt, attempt }));
  }

  protected async rebuild(): Promise<void> {
    const contract = timeslot(this.options.ledger, this.reader());
    await this.forEachListed<ListedSlot>(contract.ListSlots, 'slots', async (listed) => {
      if (FINISHED_STATUSES.has(listed.status) || this.isPlanned(listed.slotId)) {
        return;
      }
      const slot = decodeJson<SlotAggregates>(
        await contract.GetSlot.evaluate({ arguments: [listed.slotId] }),
      );
      const mine = slot.aggregates.filter((agg) => agg.org === this.options.ledger.mspId);
      if (mine.some((agg) => !agg.published)) {
        this.schedule(listed.slotId, slot.deadline);
      }
    });
  }

  protected onEvent(event: LedgerChaincodeEvent): void {
    if (event.eventName !== SLOT_EVENTS.opened) {
      return;
    }
    let opened: SlotOpenedData;
    try {
      opened = JSON.parse(new TextDecoder().decode(event.payload)) as SlotOpenedData;
    } catch {
      this.options.log?.warn({ transactionId: event.transactionId }, 'malformed SlotOpened event skipped');
      return;
    }
    if (opened.buses.some((entry) => entry.org === this.options.ledger.mspId)) {
      this.schedule(opened.slotId, opened.deadline);
    }
  }

  protected async runItem(slotId: string): Promise<string | undefined> {
    const result = await this.options.publish(slotId);
    const pending = result.buses.filter((bus) => !DONE_OUTCOMES.has(bus.outcome));
    if (pending.length > 0) {
      return `buses not yet published: ${pending.map((bus) => bus.bus).join(', ')}`;
    }
    this.options.log?.info({ slotId, buses: result.buses.length }, 'aggregates published');
    return undefined;
  }

  /** Still to publish while the slot takes aggregates and one of this org's is unpublished. */
  protected async stillPending(slotId: string): Promise<boolean> {
    const slot = decodeJson<SlotAggregates>(
      await timeslot(this.options.ledger, this.reader()).GetSlot.evaluate({ arguments: [slotId] }),
    );
    if (slot.status !== undefined && FINISHED_STATUSES.has(slot.status)) {
      return false;
    }
    return slot.aggregates.some((agg) => agg.org === this.options.ledger.mspId && !agg.published);
  }
}

import type { FastifyBaseLogger } from 'fastify';
import { toHttpError } from '../http/errors';
import type { EventingLedger, LedgerChaincodeEvent, ServiceIdentity } from '../ledger/ports';
import { decodeJson } from '../routes/common';
import { EventFeed } from './event-feed';
import { CHAINCODE_EVENTS, type SlotOpenedData } from './events';

/** What publishing a slot's aggregates reported per bus (routes/slots.ts publishOwnAggregates). */
export interface PublishResult {
  readonly buses: readonly { readonly bus: string; readonly outcome: string }[];
}

/** Bus outcomes after which nothing is left to do for that bus. */
const DONE_OUTCOMES: ReadonlySet<string> = new Set(['published', 'already published']);

/** Slot statuses in which this org's aggregates are all published or no longer wanted. */
const FINISHED_STATUSES: ReadonlySet<string> = new Set(['AGGREGATED', 'DISPATCHED', 'SETTLED']);

/** setTimeout's longest delay; later deadlines are reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface AggregationSchedulerOptions {
  /** The utility's ledger: reads slots with its reader identity and follows SlotOpened events. */
  readonly ledger: EventingLedger;
  /** Publishes this org's aggregates of a slot (publishOwnAggregates bound to the ledger). */
  readonly publish: (slotId: string) => Promise<PublishResult>;
  /** Wait after the deadline: the chaincode compares it with the transaction time. Default 2 s. */
  readonly graceMs?: number;
  /** Retries of a failed or premature publish: doubling delays, then the slot is given up. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number; readonly maxAttempts?: number };
  /** ListSlots page size while rebuilding the plan (1-100). */
  readonly pageSize?: number;
  readonly log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

interface Planned {
  readonly dueAt: number;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

interface SlotListPage {
  readonly slots: readonly { readonly slotId: string; readonly deadline: string; readonly status: string }[];
  readonly bookmark?: string;
}

interface SlotAggregates {
  readonly deadline: string;
  readonly aggregates: readonly { readonly org: string; readonly published: boolean }[];
}

/**
 * A utility gateway's aggregation at each slot's deadline: the plan is rebuilt from the ledger on
 * start (every slot with an unpublished aggregate of this org) and extended by SlotOpened events,
 * so a restart loses nothing; failed or premature publishes are retried with backoff.
 */
export class AggregationScheduler {
  private readonly plan = new Map<string, Planned>();
  private readonly graceMs: number;
  private readonly initialRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly maxAttempts: number;
  private readonly pageSize: number;
  private feed: EventFeed | undefined;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: AggregationSchedulerOptions) {
    this.graceMs = options.graceMs ?? 2000;
    this.initialRetryMs = options.retry?.initialMs ?? 5000;
    this.maxRetryMs = options.retry?.maxMs ?? 5 * 60 * 1000;
    this.maxAttempts = options.retry?.maxAttempts ?? 8;
    this.pageSize = options.pageSize ?? 100;
  }

  /** Slots waiting for their aggregation, with when it is due. */
  get scheduled(): { slotId: string; dueAt: Date; attempt: number }[] {
    return [...this.plan].map(([slotId, planned]) => ({
      slotId,
      dueAt: new Date(planned.dueAt),
      attempt: planned.attempt,
    }));
  }

  /**
   * Rebuilds the plan from the ledger and then follows SlotOpened events from the block height
   * read before the rebuild (a slot opened meanwhile is seen twice, and planned once). If the
   * ledger cannot be read, the rebuild is retried with backoff; start itself never fails.
   */
  async start(attempt = 0): Promise<void> {
    if (this.stopped) {
      return;
    }
    try {
      const height = await this.options.ledger.blockHeight();
      await this.rebuild();
      if (this.stopped) {
        return;
      }
      this.feed = new EventFeed({
        source: this.options.ledger,
        startBlock: BigInt(height),
        onEvent: (event) => this.onEvent(event),
        ...(this.options.log === undefined ? {} : { log: this.options.log }),
      });
      this.feed.start();
    } catch (error) {
      const delay = this.backoff(attempt + 1);
      this.options.log?.warn(
        { err: { type: (error as Error).name }, retryInMs: delay },
        'aggregation plan could not be rebuilt from the ledger',
      );
      this.rebuildTimer = setTimeout(() => void this.start(attempt + 1), delay);
    }
  }

  /** Clears every timer and stops following events; a publish already running finishes alone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebuildTimer);
    for (const planned of this.plan.values()) {
      clearTimeout(planned.timer);
    }
    this.plan.clear();
    await this.feed?.stop();
  }

  /** Plans the slot's aggregation at its deadline (plus grace); a slot already planned is kept. */
  schedule(slotId: string, deadline: string): void {
    const deadlineMs = Date.parse(deadline);
    if (this.stopped || this.plan.has(slotId) || Number.isNaN(deadlineMs)) {
      return;
    }
    const planned: Planned = {
      dueAt: deadlineMs + this.graceMs,
      attempt: 0,
      timer: undefined,
      running: false,
    };
    this.plan.set(slotId, planned);
    this.arm(slotId, planned, planned.dueAt);
  }

  private async rebuild(): Promise<void> {
    const contract = this.options.ledger.contract(this.reader());
    let bookmark = '';
    for (;;) {
      const page = decodeJson<SlotListPage>(
        await contract.evaluate('ListSlots', { arguments: [String(this.pageSize), bookmark] }),
      );
      for (const listed of page.slots) {
        if (FINISHED_STATUSES.has(listed.status) || this.plan.has(listed.slotId)) {
          continue;
        }
        const slot = decodeJson<SlotAggregates>(
          await contract.evaluate('GetSlot', { arguments: [listed.slotId] }),
        );
        const mine = slot.aggregates.filter((agg) => agg.org === this.options.ledger.mspId);
        if (mine.some((agg) => !agg.published)) {
          this.schedule(listed.slotId, slot.deadline);
        }
      }
      const next = page.bookmark ?? '';
      if (page.slots.length < this.pageSize || next === '' || next === bookmark) {
        return;
      }
      bookmark = next;
    }
  }

  private onEvent(event: LedgerChaincodeEvent): void {
    if (event.eventName !== CHAINCODE_EVENTS.slotOpened) {
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

  private arm(slotId: string, planned: Planned, at: number): void {
    const wait = Math.max(0, at - Date.now());
    planned.timer = setTimeout(
      () => {
        if (Date.now() < at) {
          this.arm(slotId, planned, at);
        } else {
          void this.run(slotId, planned);
        }
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  }

  private async run(slotId: string, planned: Planned): Promise<void> {
    if (planned.running || this.plan.get(slotId) !== planned) {
      return;
    }
    planned.running = true;
    planned.attempt += 1;
    let retryReason: string | undefined;
    try {
      const result = await this.options.publish(slotId);
      const pending = result.buses.filter((bus) => !DONE_OUTCOMES.has(bus.outcome));
      if (pending.length === 0) {
        this.options.log?.info({ slotId, buses: result.buses.length }, 'aggregates published');
      } else {
        retryReason = `buses not yet published: ${pending.map((bus) => bus.bus).join(', ')}`;
      }
    } catch (error) {
      const mapped = toHttpError(error);
      // Fabric and network failures and MVCC conflicts may pass on a retry; refusals will not.
      if (mapped.statusCode >= 500 || mapped.code === 'CONFLICT') {
        retryReason = `${mapped.code}: ${mapped.message}`;
      } else {
        this.options.log?.error({ slotId, code: mapped.code }, `aggregation refused: ${mapped.message}`);
      }
    } finally {
      planned.running = false;
    }
    if (this.stopped || this.plan.get(slotId) !== planned) {
      return;
    }
    if (retryReason === undefined) {
      this.plan.delete(slotId);
      return;
    }
    if (planned.attempt >= this.maxAttempts) {
      this.plan.delete(slotId);
      this.options.log?.error({ slotId, attempts: planned.attempt }, `aggregation given up: ${retryReason}`);
      return;
    }
    const delay = this.backoff(planned.attempt);
    this.options.log?.warn({ slotId, attempt: planned.attempt, retryInMs: delay }, retryReason);
    this.arm(slotId, planned, Date.now() + delay);
  }

  /** Doubling delay for the n-th retry (n ≥ 1), capped. */
  private backoff(attempt: number): number {
    return Math.min(this.initialRetryMs * 2 ** (attempt - 1), this.maxRetryMs);
  }

  private reader(): ServiceIdentity {
    const identity = this.options.ledger.identities[0];
    if (identity === undefined) {
      throw new Error('this gateway holds no Fabric identity');
    }
    return identity;
  }
}

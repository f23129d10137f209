import type { FastifyBaseLogger } from 'fastify';
import { toHttpError } from '../http/errors';
import type { EventingLedger, LedgerChaincodeEvent, ServiceIdentity } from '../ledger/ports';
import { readerIdentity } from '../ledger/answers';
import type { Transaction } from '../ledger/contracts';
import { forEachListed } from '../ledger/paging';
import { EventFeed } from './event-feed';

/** setTimeout's longest delay; later deadlines are reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DeadlineSchedulerOptions {
  /** The gateway's ledger: read with its reader identity; its chaincode events extend the plan. */
  readonly ledger: EventingLedger;
  /** Wait after the deadline: the chaincode compares it with the transaction time. Default 2 s. */
  readonly graceMs?: number;
  /**
   * Retries of a failed or premature run: doubling delays from `initialMs` (default 5 s) up to
   * `maxMs` (default 60 s), for as long as the ledger says the work is still to do.
   */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** List page size (ListSlots, ListWindows) while rebuilding the plan (1-100). Default 100. */
  readonly pageSize?: number;
  readonly log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
}

interface Planned {
  readonly dueAt: number;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

/**
 * Work a gateway does on its own at a ledger deadline (a slot's aggregation, a window's reveal,
 * an escrow release): the plan is rebuilt from the ledger on start and extended by chaincode
 * events, so a restart loses nothing. A failed or premature run is retried with capped backoff
 * for as long as the ledger says the work is still to do: the clearing and the settlement wait
 * for it, so the gateway never gives up on its own; once the delay reaches its cap every retry
 * logs a warning, for an operator to look at. Subclasses say what to plan, what to run and how
 * the ledger tells whether it is still pending.
 */
export abstract class DeadlineScheduler {
  private readonly plan = new Map<string, Planned>();
  private readonly graceMs: number;
  private readonly initialRetryMs: number;
  private readonly maxRetryMs: number;
  private feed: EventFeed | undefined;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** What the scheduler does, for log messages ("aggregation", "reveal"). */
  protected abstract readonly what: string;

  constructor(protected readonly base: DeadlineSchedulerOptions) {
    this.graceMs = base.graceMs ?? 2000;
    this.initialRetryMs = base.retry?.initialMs ?? 5000;
    this.maxRetryMs = base.retry?.maxMs ?? 60_000;
  }

  /** Plans every item the ledger says is still to do (calls `schedule` for each). */
  protected abstract rebuild(): Promise<void>;

  /** Extends the plan from one chaincode event (calls `schedule` when it opens an item). */
  protected abstract onEvent(event: LedgerChaincodeEvent): Promise<void> | void;

  /** Runs the item; answers why it must run again (not done yet), or undefined when done. */
  protected abstract runItem(id: string): Promise<string | undefined>;

  /**
   * Whether the ledger says the item is still to be done by this org (false once it is done, by
   * anyone, or no longer applies); asked before every retry.
   */
  protected abstract stillPending(id: string): Promise<boolean>;

  /** Items waiting to run, with when they are due. */
  get plannedItems(): { id: string; dueAt: Date; attempt: number }[] {
    return [...this.plan].map(([id, planned]) => ({
      id,
      dueAt: new Date(planned.dueAt),
      attempt: planned.attempt,
    }));
  }

  /**
   * Rebuilds the plan from the ledger and then follows chaincode events from the block height
   * read before the rebuild (an item opened meanwhile is seen twice, and planned once). If the
   * ledger cannot be read, the rebuild is retried with backoff; start itself never fails.
   */
  async start(attempt = 0): Promise<void> {
    if (this.stopped) {
      return;
    }
    try {
      const height = await this.base.ledger.blockHeight();
      await this.rebuild();
      if (this.stopped) {
        return;
      }
      this.feed = new EventFeed({
        source: this.base.ledger,
        startBlock: BigInt(height),
        onEvent: (event) => this.onEvent(event),
        ...(this.base.log === undefined ? {} : { log: this.base.log }),
      });
      this.feed.start();
    } catch (error) {
      const delay = this.backoff(attempt + 1);
      this.base.log?.warn(
        { err: { type: (error as Error).name }, retryInMs: delay },
        `${this.what} plan could not be rebuilt from the ledger`,
      );
      this.rebuildTimer = setTimeout(() => void this.start(attempt + 1), delay);
    }
  }

  /** Clears every timer and stops following events; a run already going finishes alone. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebuildTimer);
    for (const planned of this.plan.values()) {
      clearTimeout(planned.timer);
    }
    this.plan.clear();
    await this.feed?.stop();
  }

  /** Plans the item at its deadline (plus grace); an item already planned is kept. */
  schedule(id: string, deadline: string): void {
    const deadlineMs = Date.parse(deadline);
    if (this.stopped || this.plan.has(id) || Number.isNaN(deadlineMs)) {
      return;
    }
    const planned: Planned = {
      dueAt: deadlineMs + this.graceMs,
      attempt: 0,
      timer: undefined,
      running: false,
    };
    this.plan.set(id, planned);
    this.arm(id, planned, planned.dueAt);
  }

  /** Visits every entry the paged List transaction `list` answers under `key` (rebuilding the plan). */
  protected async forEachListed<T>(
    list: Transaction,
    key: string,
    visit: (entry: T) => Promise<void>,
  ): Promise<void> {
    await forEachListed(list, key, this.base.pageSize ?? 100, visit);
  }

  protected isPlanned(id: string): boolean {
    return this.plan.has(id);
  }

  protected reader(): ServiceIdentity {
    return readerIdentity(this.base.ledger);
  }

  private arm(id: string, planned: Planned, at: number): void {
    const wait = Math.max(0, at - Date.now());
    planned.timer = setTimeout(
      () => {
        if (Date.now() < at) {
          this.arm(id, planned, at);
        } else {
          void this.run(id, planned);
        }
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  }

  private async run(id: string, planned: Planned): Promise<void> {
    if (planned.running || this.plan.get(id) !== planned) {
      return;
    }
    planned.running = true;
    planned.attempt += 1;
    let retryReason: string | undefined;
    try {
      retryReason = await this.tryItem(id, planned);
    } finally {
      planned.running = false;
    }
    if (this.stopped || this.plan.get(id) !== planned) {
      return;
    }
    if (retryReason === undefined) {
      this.plan.delete(id);
      return;
    }
    this.retryLater(id, planned, retryReason);
  }

  /** One attempt at an item: why it should be retried, or undefined when it is done with. */
  private async tryItem(id: string, planned: Planned): Promise<string | undefined> {
    let retryReason: string | undefined;
    try {
      retryReason = await this.runItem(id);
    } catch (error) {
      const mapped = toHttpError(error);
      // Fabric and network failures and MVCC conflicts may pass on a retry; refusals will not.
      if (mapped.statusCode >= 500 || mapped.code === 'CONFLICT') {
        retryReason = `${mapped.code}: ${mapped.message}`;
      } else {
        this.base.log?.error({ id, code: mapped.code }, `${this.what} refused: ${mapped.message}`);
      }
    }
    // Done by someone else meanwhile (an admin, another path), or no longer applicable.
    if (retryReason !== undefined && !(await this.pendingOnLedger(id))) {
      this.base.log?.info({ id, attempts: planned.attempt }, `${this.what} no longer pending on the ledger`);
      return undefined;
    }
    return retryReason;
  }

  /** Arms the item's next attempt after its backoff, warning once retries are at their cap. */
  private retryLater(id: string, planned: Planned, retryReason: string): void {
    const delay = this.backoff(planned.attempt);
    const retry = { id, attempt: planned.attempt, retryInMs: delay };
    if (delay >= this.maxRetryMs) {
      this.base.log?.warn(
        retry,
        `${this.what} still pending after ${planned.attempt} attempts, retried every ${delay} ms: ${retryReason}`,
      );
    } else {
      this.base.log?.info(retry, `${this.what} retried: ${retryReason}`);
    }
    this.arm(id, planned, Date.now() + delay);
  }

  /** stillPending, or true when the ledger cannot be read (then the retry finds out). */
  private async pendingOnLedger(id: string): Promise<boolean> {
    try {
      return await this.stillPending(id);
    } catch {
      return true;
    }
  }

  /** Doubling delay for the n-th retry (n ≥ 1), capped. */
  private backoff(attempt: number): number {
    return Math.min(this.initialRetryMs * 2 ** (attempt - 1), this.maxRetryMs);
  }
}

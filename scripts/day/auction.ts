/**
 * The simulated day's energy auction (docs/auction.md), entirely through the REST gateways:
 *
 * - at the start, each utility admin opens a token account for each of its homes and deposits a
 *   starting balance for its consumers;
 * - per window: the market operator opens it for the next slot; each utility's meter head-end
 *   posts its prosumers' available energy; the devices submit their sealed, signed orders; the
 *   utility gateways reveal on their own at the close; the operator clears; the utility gateways
 *   release the escrows on their own; the auditor recomputes the clearing; once the delivery slot
 *   was played, the meter head-ends report per-trade readings, each utility with trades settles
 *   and the operator claims the grid share.
 *
 * Windows run as their own pipeline next to the slots (delivery is in the next slot, and a window
 * outlives the slot it opened in), at most MAX_WINDOWS_IN_FLIGHT at once. Home ids and the account
 * ids they map to stay with their utility (a `Utility` here); results hold public records only.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '../../gateway-api/src/local/gateway-processes';
import type { HomeProfile, PriceRange } from './appliance-model';
import type { WindowResult } from './day-result';
import type { OrderOutcome, SimulatedHome } from './devices';
import type { HomeSpec } from './feeder-model';
import {
  availableEnergyKwh,
  closeDelayMs,
  formatValue,
  isProsumer,
  meteredWh,
  priceFromUnits,
  VALUE_UNITS_PER_CURRENCY,
  windowTimes,
  type WindowTimes,
} from './market-model';
import type { SlotPrices } from './tariff';

const MARKET = { mspId: 'DSOMSP', name: 'market-operator' } as const;
const AUDITOR = { mspId: 'RegulatorMSP', name: 'auditor' } as const;
const adminOf = (mspId: string): { mspId: string; name: string } => ({ mspId, name: 'orgadmin' });
const meterOf = (mspId: string): { mspId: string; name: string } => ({ mspId, name: 'meter-headend' });

/** Windows played at once; a further one opens when the oldest is done. */
export const MAX_WINDOWS_IN_FLIGHT = 3;
/** Balance each consumer's account is topped up to at the start of the day, currency. */
export const START_BALANCE = 50n;
/** Account openings and deposits running at once (each a majority-endorsed transaction). */
const ACCOUNT_CONCURRENCY = 8;
const POLL_MS = 300;
/** How long a step waits for a peer to see what another one committed, or for a scheduler. */
const STEP_TIMEOUT_MS = 90_000;
/** Margin after deliveryEnd, so the delivery report's transaction time is surely past it. */
const DELIVERY_MARGIN_MS = 300;

export class AuctionError extends Error {
  override readonly name = 'AuctionError';
}

interface ErrorBody {
  readonly code?: string;
  readonly message?: string;
}

function failure(what: string, response: ApiResponse<unknown>): AuctionError {
  const body = response.body as ErrorBody | undefined;
  return new AuctionError(`${what} failed (${response.status}): ${body?.message ?? 'no message'}`);
}

/** Unavailable for now: the gateway, or a peer that has not seen a commit yet. */
function transient(response: ApiResponse<unknown>): boolean {
  return [429, 502, 503, 504].includes(response.status);
}

/** The chaincode's "not yet": not closed, not every org revealed/reported, not settled yet. */
function notYet(response: ApiResponse<unknown>): boolean {
  return (
    (response.status === 409 && (response.body as ErrorBody | undefined)?.code === 'FAILED_PRECONDITION') ||
    response.status === 404
  );
}

/** The chaincode's "done already" (a retried submission that had committed). */
function alreadyDone(response: ApiResponse<unknown>): boolean {
  return response.status === 409 && (response.body as ErrorBody | undefined)?.code === 'CONFLICT';
}

interface TradeRecord {
  readonly tradeId: string;
  readonly sellerAccount: string;
  readonly buyerAccount: string;
  readonly sellerOrg: string;
  readonly buyerOrg: string;
  readonly energyWh: number;
  readonly price: number;
  readonly value: string;
}

interface WindowPart {
  readonly org: string;
  readonly revealed?: { readonly count: number };
  readonly released?: unknown;
  readonly delivery?: { readonly deliveredWh: number; readonly receivedWh: number };
  readonly settlement?: unknown;
}

/** GET /v1/windows/:id: GetWindow with GetClearing once cleared (gateway-api/src/routes/windows.ts). */
export interface WindowView {
  readonly windowId: string;
  readonly status: string;
  readonly pricingRule: string;
  readonly tradeOrgs?: readonly string[];
  readonly gridShare?: string;
  readonly gridClaimedAt?: string;
  readonly parts: readonly WindowPart[];
  readonly pool: {
    readonly amount: string;
    readonly charged: string;
    readonly paid: string;
    readonly toGrid: string;
  };
  readonly clearing?: {
    readonly clearingPrice: number | null;
    readonly trades: readonly TradeRecord[];
    readonly totals: { readonly offeredWh: number; readonly bidWh: number; readonly tradedWh: number };
  };
}

interface AuditAnswer {
  readonly matches: boolean;
  readonly ordersVerified?: number;
}

/** A home as its utility knows it: the home id it enrolled, the device, and its smart-meter model. */
export interface UtilityHome {
  readonly homeId: string;
  readonly spec: HomeSpec;
  readonly profile: HomeProfile;
  readonly device: SimulatedHome;
}

function busPrices(prices: SlotPrices, bus: string): PriceRange {
  return prices.buses.find((entry) => entry.bus === bus) ?? prices.default;
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let next = 0; next < items.length; next += concurrency) {
    await Promise.all(items.slice(next, next + concurrency).map(work));
  }
}

/**
 * One utility's back office in the auction: its admin (accounts, deposits, settlement) and its
 * meter head-end (available energy, delivery readings). It alone links a pseudonymous account id
 * to one of its homes.
 */
export class Utility {
  /** accountId → home: the utility's own records, never part of a result. */
  private readonly homesByAccount = new Map<string, UtilityHome>();

  constructor(
    private readonly description: NetworkDescription,
    readonly mspId: string,
    private readonly homes: readonly UtilityHome[],
    private readonly seed: number,
  ) {}

  private call<T>(
    as: { mspId: string; name: string },
    method: string,
    urlPath: string,
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    return callGateway<T>(this.description, this.mspId, as, method, urlPath, body);
  }

  /**
   * Opens an account for every home (an existing one, from an earlier day, is kept: 409) and tops
   * every consumer's balance up to START_BALANCE; prosumers start at zero and only sell.
   */
  async openAccounts(): Promise<void> {
    const start = START_BALANCE * VALUE_UNITS_PER_CURRENCY;
    await inBatches(this.homes, ACCOUNT_CONCURRENCY, async (home) => {
      const opened = await this.call(adminOf(this.mspId), 'POST', '/v1/accounts', { homeId: home.homeId });
      if (opened.status !== 201 && !alreadyDone(opened)) {
        throw failure(`${this.mspId}: opening an account`, opened);
      }
      // The device reads its own account through the relay: the id is what the utility's
      // secret makes of the home id, so the utility can always compute this mapping itself.
      const account = await home.device.account();
      this.homesByAccount.set(account.accountId, home);
      const missing = start - BigInt(account.balance);
      if (isProsumer(home.profile) || missing <= 0n) {
        return;
      }
      // Deposits take at most 4 decimals: round up to 1e-4 currency (1e6 value units).
      const step = 1_000_000n;
      const amount = formatValue((((missing + step - 1n) / step) * step).toString());
      const deposited = await this.call(adminOf(this.mspId), 'POST', '/v1/accounts/deposits', {
        homeId: home.homeId,
        amount,
      });
      if (deposited.status !== 201) {
        throw failure(`${this.mspId}: depositing a starting balance`, deposited);
      }
    });
  }

  /** The meter head-end posts every prosumer's available energy for the window; answers how many. */
  async postAvailability(windowId: string, deliverySlot: number, prices: SlotPrices): Promise<number> {
    const availability = this.homes
      .filter((home) => isProsumer(home.profile))
      .map((home) => ({
        homeId: home.homeId,
        energyKwh: availableEnergyKwh(
          home.profile,
          this.seed,
          home.spec.index,
          deliverySlot,
          busPrices(prices, home.spec.bus),
        ),
      }));
    if (availability.length === 0) {
      return 0;
    }
    // A later post replaces an earlier one, so a retry after a transient answer is harmless.
    const posted = await persist(`${this.mspId}: posting available energy for ${windowId}`, () =>
      this.call(meterOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/available-energy`, {
        availability,
      }),
    );
    if (posted.status !== 200) {
      throw failure(`${this.mspId}: posting available energy for ${windowId}`, posted);
    }
    return availability.length;
  }

  /**
   * After delivery, the meter head-end reports what each of its homes delivered (offer side) or
   * received (bid side) per trade; answers the number of readings.
   */
  async reportDelivery(
    windowId: string,
    deliverySlot: number,
    trades: readonly TradeRecord[],
  ): Promise<number> {
    const reading = (tradeId: string, side: 'offer' | 'bid', accountId: string, energyWh: number) => {
      const home = this.homesByAccount.get(accountId);
      if (home === undefined) {
        throw new AuctionError(
          `${this.mspId}: a trade of ${windowId} names an account the utility did not open`,
        );
      }
      const wh = meteredWh(this.seed, home.spec.index, deliverySlot, tradeId, side, energyWh);
      return { tradeId, side, energyKwh: wh / 1000 };
    };
    const readings = trades.flatMap((trade) => [
      ...(trade.sellerOrg === this.mspId
        ? [reading(trade.tradeId, 'offer', trade.sellerAccount, trade.energyWh)]
        : []),
      ...(trade.buyerOrg === this.mspId
        ? [reading(trade.tradeId, 'bid', trade.buyerAccount, trade.energyWh)]
        : []),
    ]);
    const reported = await persist(`${this.mspId}: reporting delivery of ${windowId}`, () =>
      this.call(meterOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/meter-reports`, {
        readings,
      }),
    );
    if (reported.status !== 200 && !alreadyDone(reported)) {
      throw failure(`${this.mspId}: reporting delivery of ${windowId}`, reported);
    }
    return readings.length;
  }

  /** The utility admin settles its accounts of the window (once every org with trades reported). */
  async settle(windowId: string): Promise<void> {
    const settled = await persist(`${this.mspId}: settling ${windowId}`, () =>
      this.call(adminOf(this.mspId), 'POST', `/v1/windows/${encodeURIComponent(windowId)}/settlement`),
    );
    if (settled.status !== 200 && !alreadyDone(settled)) {
      throw failure(`${this.mspId}: settling ${windowId}`, settled);
    }
  }
}

/**
 * Repeats a call while its answer is transient or "not yet" (a peer behind, a deadline not
 * passed), up to STEP_TIMEOUT_MS. A CONFLICT after a transient answer means the earlier attempt
 * committed after all; the caller decides what else is acceptable.
 */
async function persist<T>(what: string, call: () => Promise<ApiResponse<T>>): Promise<ApiResponse<T>> {
  const giveUp = Date.now() + STEP_TIMEOUT_MS;
  let retried = false;
  for (;;) {
    const response = await call();
    if (alreadyDone(response) && !retried) {
      throw failure(what, response);
    }
    if (!(transient(response) || notYet(response)) || Date.now() > giveUp) {
      return response;
    }
    retried = retried || transient(response);
    await delay(POLL_MS);
  }
}

/** One window as the day plans it. */
export interface WindowPlan {
  /** Position (0-based) of the slot it opens in. */
  readonly position: number;
  readonly windowId: string;
  readonly deliveryIndex: number;
  readonly deliverySlotId: string;
  readonly deliveryStartsAt: string;
  /** The delivery slot's prices (the DSO's published tariff), per bus. */
  readonly prices: SlotPrices;
  /** The delivery slot's wall-clock period when the day is paced. */
  readonly pacedDelivery: { readonly start: number; readonly end: number } | null;
  /** Resolves once the delivery slot was played (every home drew its power). */
  readonly delivered: Promise<void>;
}

export interface AuctionObserver {
  readonly log: (line: string) => void;
  /** Each finished window, in delivery order. */
  readonly windowDone?: (window: WindowResult) => void;
  /** The first window that failed (the day stops opening slots). */
  readonly failed: (error: Error) => void;
}

/** The market operator's and the auditor's side of every window, and the windows' pipeline. */
export class Auction {
  private readonly runs: Promise<WindowResult | undefined>[] = [];
  private readonly results: (WindowResult | undefined)[] = [];
  private reported = 0;
  private lastOrderingMs: number | undefined;
  private stopped = false;

  constructor(
    private readonly description: NetworkDescription,
    private readonly utilities: readonly Utility[],
    private readonly homes: readonly SimulatedHome[],
    private readonly observer: AuctionObserver,
  ) {}

  /** Every utility opens its homes' accounts (before the first window). */
  async openAccounts(): Promise<void> {
    await Promise.all(this.utilities.map((utility) => utility.openAccounts()));
  }

  /** Queues a window; it opens as soon as fewer than MAX_WINDOWS_IN_FLIGHT are running. */
  schedule(plan: WindowPlan): void {
    const position = this.runs.length;
    const gate = this.runs[position - MAX_WINDOWS_IN_FLIGHT] ?? Promise.resolve(undefined);
    this.runs.push(
      gate.then(async () => {
        try {
          this.checkRunning();
          const result = await this.play(plan);
          this.results[position] = result;
          this.report();
          return result;
        } catch (error) {
          this.stop();
          this.observer.failed(error instanceof Error ? error : new Error(String(error)));
          return undefined;
        }
      }),
    );
  }

  /** Stops every window at its next wait (the day failed). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for every scheduled window; answers the finished ones in delivery order. */
  async finished(): Promise<WindowResult[]> {
    const results = await Promise.all(this.runs);
    return results.filter((result): result is WindowResult => result !== undefined);
  }

  private report(): void {
    for (let next = this.results[this.reported]; next !== undefined; next = this.results[this.reported]) {
      this.observer.windowDone?.(next);
      this.reported += 1;
    }
  }

  private checkRunning(): void {
    if (this.stopped) {
      throw new AuctionError('the day stopped');
    }
  }

  private async sleepUntil(time: number): Promise<void> {
    while (Date.now() < time) {
      this.checkRunning();
      await delay(Math.min(POLL_MS, time - Date.now()));
    }
  }

  private windowPath(windowId: string, suffix = ''): string {
    return `/v1/windows/${encodeURIComponent(windowId)}${suffix}`;
  }

  private market<T>(method: string, urlPath: string, body?: unknown): Promise<ApiResponse<T>> {
    return callGateway<T>(this.description, MARKET.mspId, MARKET, method, urlPath, body);
  }

  private auditor<T>(urlPath: string): Promise<ApiResponse<T>> {
    return callGateway<T>(this.description, AUDITOR.mspId, AUDITOR, 'GET', urlPath);
  }

  /** The window as the market operator's peer (or the auditor's) has it, once `ready` holds. */
  private async until(
    windowId: string,
    what: string,
    ready: (view: WindowView) => boolean,
    reader: 'market' | 'auditor' = 'market',
  ): Promise<WindowView> {
    const giveUp = Date.now() + STEP_TIMEOUT_MS;
    let last = 'not readable';
    for (;;) {
      this.checkRunning();
      const path = this.windowPath(windowId);
      const response =
        reader === 'market'
          ? await this.market<WindowView>('GET', path)
          : await this.auditor<WindowView>(path);
      if (response.status === 200) {
        if (ready(response.body)) {
          return response.body;
        }
        last = response.body.status;
      } else if (!transient(response) && response.status !== 404) {
        throw failure(`reading window ${windowId}`, response);
      }
      if (Date.now() > giveUp) {
        throw new AuctionError(
          `window ${windowId}: ${what} not seen within ${STEP_TIMEOUT_MS / 1000} s (${last})`,
        );
      }
      await delay(POLL_MS);
    }
  }

  private async open(plan: WindowPlan, times: WindowTimes): Promise<void> {
    const opened = await persist(`opening window ${plan.windowId}`, () =>
      this.market('POST', '/v1/windows', {
        windowId: plan.windowId,
        deliverySlotId: plan.deliverySlotId,
        deliveryStart: times.deliveryStart.toISOString(),
        deliveryEnd: times.deliveryEnd.toISOString(),
        closesAt: times.closesAt.toISOString(),
        pricingRule: 'pay-as-clear',
      }),
    );
    if (opened.status !== 201 && !alreadyDone(opened)) {
      throw failure(`opening window ${plan.windowId}`, opened);
    }
  }

  private async order(plan: WindowPlan): Promise<{ posted: number; outcomes: OrderOutcome[] }> {
    // Availability first: an offer above what the head-end posted (or without a post) is refused.
    const posted = await Promise.all(
      this.utilities.map((utility) =>
        utility.postAvailability(plan.windowId, plan.deliveryIndex, plan.prices),
      ),
    );
    const outcomes = await Promise.all(
      this.homes.map((home) =>
        home.submitOrder(plan.windowId, plan.deliveryIndex, busPrices(plan.prices, home.bus)),
      ),
    );
    return { posted: posted.reduce((sum, count) => sum + count, 0), outcomes };
  }

  private async clear(windowId: string): Promise<void> {
    const cleared = await persist(`clearing ${windowId}`, () =>
      this.market('POST', this.windowPath(windowId, '/clearing')),
    );
    if (cleared.status !== 200 && !alreadyDone(cleared)) {
      throw failure(`clearing ${windowId}`, cleared);
    }
  }

  private async audit(windowId: string): Promise<AuditAnswer> {
    const audited = await persist(`auditing ${windowId}`, () =>
      this.auditor<AuditAnswer>(this.windowPath(windowId, '/audit')),
    );
    if (audited.status !== 200) {
      throw failure(`auditing ${windowId}`, audited);
    }
    return audited.body;
  }

  private async claimGridShare(windowId: string): Promise<void> {
    const claimed = await persist(`claiming the grid share of ${windowId}`, () =>
      this.market('POST', this.windowPath(windowId, '/grid-share')),
    );
    if (claimed.status !== 200 && !alreadyDone(claimed)) {
      throw failure(`claiming the grid share of ${windowId}`, claimed);
    }
  }

  private utility(mspId: string): Utility {
    const utility = this.utilities.find((candidate) => candidate.mspId === mspId);
    if (utility === undefined) {
      throw new AuctionError(`a trade names ${mspId}, which is not a utility of the day`);
    }
    return utility;
  }

  private async play(plan: WindowPlan): Promise<WindowResult> {
    const { windowId } = plan;
    const phasesMs: Record<string, number> = {};
    const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
      this.checkRunning();
      const started = performance.now();
      const result = await step();
      phasesMs[name] = Math.round(performance.now() - started);
      return result;
    };
    const started = performance.now();
    const closeDelay = closeDelayMs(this.lastOrderingMs);
    const times = windowTimes(Date.now(), closeDelay, plan.pacedDelivery);

    await timed('open', () => this.open(plan, times));
    const { posted, outcomes } = await timed('order', () => this.order(plan));
    this.lastOrderingMs = performance.now() - started;
    const refused = outcomes.flatMap((outcome) =>
      outcome.placed && !outcome.accepted ? [outcome.reason] : [],
    );
    if (refused.length > 0) {
      // The gateway's refusals name the window and the rule, never an order's values.
      this.observer.log(`window ${windowId}: ${refused.length} orders refused, first: ${refused[0] ?? ''}`);
    }
    // The utility gateways reveal on their own at the close; the clearing needs every org's.
    await timed('reveal', async () => {
      await this.sleepUntil(times.closesAt.getTime());
      await this.until(windowId, 'every utility revealed', (view) =>
        view.parts.every((part) => part.revealed !== undefined),
      );
    });
    await timed('clear', () => this.clear(windowId));
    // The utility gateways release the escrows on their own after the clearing; waiting for it
    // keeps the delivery reports (which would release too) from racing them.
    const cleared = await timed('release', () =>
      this.until(
        windowId,
        'every utility released its escrows',
        (view) => view.clearing !== undefined && view.parts.every((part) => part.released !== undefined),
      ),
    );
    const audit = await timed('audit', () => this.audit(windowId));
    const trades = cleared.clearing?.trades ?? [];
    const tradeOrgs = [...(cleared.tradeOrgs ?? [])].sort();
    let readings = 0;
    await timed('deliver', async () => {
      await plan.delivered;
      await this.sleepUntil(times.deliveryEnd.getTime() + DELIVERY_MARGIN_MS);
      const counts = await Promise.all(
        tradeOrgs.map((org) => this.utility(org).reportDelivery(windowId, plan.deliveryIndex, trades)),
      );
      readings = counts.reduce((sum, count) => sum + count, 0);
    });
    // One utility after the other: each settlement reads the other utilities' parts.
    await timed('settle', async () => {
      for (const org of tradeOrgs) {
        await this.utility(org).settle(windowId);
      }
    });
    await timed('grid', () => this.claimGridShare(windowId));
    // The final public record, as the auditor's own peer holds it.
    const view = await this.until(
      windowId,
      'the settled window with its grid share',
      (candidate) =>
        candidate.status === 'SETTLED' &&
        candidate.gridShare !== undefined &&
        candidate.clearing !== undefined,
      'auditor',
    );
    const totalMs = Math.round(performance.now() - started);
    return windowResult(plan, view, audit, {
      posted,
      outcomes,
      readings,
      timing: { phasesMs, closeDelayMs: closeDelay, totalMs },
    });
  }
}

/**
 * A window's result from its public record (the auditor's read), its audit, and the devices' and
 * head-ends' own counts. Only public values and counts: no account or home is named.
 */
export function windowResult(
  plan: Pick<WindowPlan, 'windowId' | 'deliverySlotId' | 'deliveryIndex' | 'deliveryStartsAt'>,
  view: WindowView,
  audit: AuditAnswer,
  own: {
    readonly posted: number;
    readonly outcomes: readonly OrderOutcome[];
    readonly readings: number;
    readonly timing: WindowResult['timing'];
  },
): WindowResult {
  const clearing = view.clearing;
  if (clearing === undefined) {
    throw new AuctionError(`window ${view.windowId} has no clearing`);
  }
  const accepted = (side: 'offer' | 'bid'): number =>
    own.outcomes.filter((outcome) => outcome.placed && outcome.accepted && outcome.side === side).length;
  const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
  return {
    windowId: plan.windowId,
    deliverySlotId: plan.deliverySlotId,
    deliveryIndex: plan.deliveryIndex,
    deliveryStartsAt: plan.deliveryStartsAt,
    pricingRule: view.pricingRule,
    availabilityPosted: own.posted,
    offersPlaced: accepted('offer'),
    bidsPlaced: accepted('bid'),
    ordersRefused: own.outcomes.filter((outcome) => outcome.placed && !outcome.accepted).length,
    ordersRevealed: sum(view.parts.map((part) => part.revealed?.count ?? 0)),
    clearingPrice: clearing.clearingPrice === null ? null : priceFromUnits(clearing.clearingPrice),
    trades: clearing.trades.length,
    offeredWh: clearing.totals.offeredWh,
    bidWh: clearing.totals.bidWh,
    tradedWh: clearing.totals.tradedWh,
    deliveredWh: sum(view.parts.map((part) => part.delivery?.deliveredWh ?? 0)),
    receivedWh: sum(view.parts.map((part) => part.delivery?.receivedWh ?? 0)),
    tradeOrgs: view.tradeOrgs?.length ?? 0,
    readings: own.readings,
    buyersCharged: view.pool.charged,
    paidToSellers: view.pool.paid,
    gridShare: view.gridShare ?? view.pool.toGrid,
    status: view.status,
    auditMatches: audit.matches,
    ordersVerified: audit.ordersVerified ?? 0,
    timing: own.timing,
  };
}

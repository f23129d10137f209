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
 * ids they map to stay with their utility (a `Utility`, ./utility.ts); results hold public records
 * only (./window-result.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '@hems/testkit';
import {
  alreadyDone,
  AUDITOR,
  AuctionError,
  failure,
  MARKET,
  persist,
  POLL_MS,
  STEP_TIMEOUT_MS,
  transient,
} from './auction-calls';
import type { WindowResult } from './day-result';
import type { OrderOutcome, SimulatedHome } from './devices';
import { ORDER_COMMIT_LEAD_MS } from '@hems/protocol';
import { closeDelayMs, windowTimes, type WindowTimes } from './market-model';
import { pricesOnBus, type SlotPrices } from './tariff';
import type { Utility } from './utility';
import { windowResult, type AuditAnswer, type WindowView } from './window-result';

/** Windows played at once; a further one opens when the oldest is done. */
export const MAX_WINDOWS_IN_FLIGHT = 3;
/** Margin after deliveryEnd, so the delivery report's transaction time is surely past it. */
const DELIVERY_MARGIN_MS = 300;

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
        home.submitOrder(plan.windowId, plan.deliveryIndex, pricesOnBus(plan.prices, home.bus)),
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
    // The utility gateways commit to their orders ORDER_COMMIT_LEAD_MS before the close and
    // refuse later orders: the homes get the whole ordering time before that.
    const closeDelay = closeDelayMs(this.lastOrderingMs) + ORDER_COMMIT_LEAD_MS;
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

/**
 * The demand-response event of the last played day, through the REST gateways:
 *
 * - before the event's first slot: the DSO opens all the event's slots (the slot phases then skip
 *   opening them), funds its pool (POST /v1/dr/pool), declares the event over them (POST
 *   /v1/dr/events: residential 5-in-10 baseline, a rate per kWh reduced, a budget) and a grid
 *   emergency for one of them (POST /v1/slots/{slotId}/emergency); the homes hear of both through
 *   their utility (the slots' signals) and shift or shed flexible load;
 * - once the day is metered (meter-history.ts): each utility's admin pays its homes' rewards
 *   (POST /v1/dr/events/{id}/rewards, ≤ 500 homes per call) and publishes its per-bus totals
 *   (POST …/totals); the auditor reads the event (GET /v1/dr/events/{id}) and its audit (GET …/audit).
 *
 * Home ids go to their own utility's gateway only; the results hold public records and counts.
 */
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '@hems/testkit';
import { setTimeout as delay } from 'node:timers/promises';
import { timeOfDay } from './appliance-model';
import {
  adminOf,
  alreadyDone,
  AUDITOR,
  failure,
  persist,
  POLL_MS,
  STEP_TIMEOUT_MS,
  transient,
} from './auction-calls';
import { batches } from './meter-history';
import type { DrLedgerBusTotals, DrUtilityResult } from './dr-result';
import type { SlotSignals } from './home-state';
import { formatValue } from './market-model';
import { eventSlots } from './tariff';

export const DR_METHOD = 'residential-5-in-10';
/** Reward per kWh reduced below the baseline, currency. */
export const DR_RATE = 0.5;
/** Budget per home: its reduction's reward up to this many kWh. */
export const BUDGET_KWH_PER_HOME = 20;
/** The emergency: one slot of the event (19:00) at level 2 (homes keep a quarter of their flexible load). */
export const EMERGENCY_SLOT = 76;
export const EMERGENCY_LEVEL = 2;
/** Homes per PayRewards call: the chaincode's bound. */
export const MAX_REWARD_HOMES = 500;

const DSO = { mspId: 'DSOMSP', name: 'dso-operator' } as const;

/** The event as the day plans it. */
export interface DrPlan {
  readonly eventId: string;
  readonly date: string;
  /** The event's slots of the day (0-95): the played slots of the peak period, in order. */
  readonly slots: readonly number[];
  /** The slot of the emergency, or null when 19:00 is not played. */
  readonly emergencySlot: number | null;
  readonly emergencyLevel: 1 | 2 | 3;
  readonly method: typeof DR_METHOD;
  readonly rate: number;
  /** Currency, whole units. */
  readonly budget: string;
}

/** The event of the day on `date`, or null when the day plays no peak slot. */
export function planDrEvent(
  options: { readonly startSlot: number; readonly slots: number; readonly homes: number },
  runId: string,
  date: string,
): DrPlan | null {
  const slots = eventSlots(options.startSlot, options.slots);
  if (slots.length === 0) {
    return null;
  }
  return {
    eventId: `dr-${runId}-${date.replace(/-/g, '')}`,
    date,
    slots,
    emergencySlot: slots.includes(EMERGENCY_SLOT) ? EMERGENCY_SLOT : null,
    emergencyLevel: EMERGENCY_LEVEL,
    method: DR_METHOD,
    rate: DR_RATE,
    budget: String(Math.ceil(options.homes * BUDGET_KWH_PER_HOME * DR_RATE)),
  };
}

/** What the homes hear about slot `index` of the event's day. */
export function signalsOf(plan: DrPlan | null, index: number): SlotSignals {
  if (plan?.slots.includes(index) !== true) {
    return {};
  }
  return {
    drRate: plan.rate,
    ...(plan.emergencySlot === index ? { emergencyLevel: plan.emergencyLevel } : {}),
  };
}

/** An amount of the event view as currency: value units when the view gives those, else as given. */
export function viewCurrency(text: string | undefined): string | undefined {
  return text === undefined || !/^\d+$/.test(text) ? text : formatValue(text);
}

interface AllotmentView {
  readonly org: string;
  readonly allotted?: string;
  readonly paid?: string;
  readonly homes?: number;
  readonly rewarded?: number;
  readonly totals?: readonly (Omit<DrLedgerBusTotals, 'org'> & { bus: string })[];
  readonly totalsPublishedAt?: string;
}

/** GET /v1/dr/events/{id}: the event record and each utility's allotment (amounts in value units). */
export interface EventView {
  readonly event?: { readonly eventId: string; readonly budget: string };
  readonly allotments?: readonly AllotmentView[];
}

/** Each utility's published per-bus totals of the event view, by bus. */
export function ledgerTotals(view: EventView | undefined): Map<string, DrLedgerBusTotals[]> {
  const byBus = new Map<string, DrLedgerBusTotals[]>();
  for (const allotment of view?.allotments ?? []) {
    for (const { bus, ...totals } of allotment.totals ?? []) {
      byBus.set(bus, [...(byBus.get(bus) ?? []), { ...totals, org: allotment.org }]);
    }
  }
  return byBus;
}

interface RewardsAnswer {
  readonly accepted?: number;
  readonly paid?: string;
  readonly refused?: readonly { index: number; code: string; message: string }[];
}

/** The event's calls, in the order the day makes them. */
export class DrEventCalls {
  constructor(
    private readonly description: NetworkDescription,
    readonly plan: DrPlan,
    private readonly slotIdOf: (index: number) => string,
  ) {}

  private call<T>(
    mspId: string,
    as: { mspId: string; name: string },
    method: string,
    path: string,
    body?: unknown,
  ) {
    return callGateway<T>(this.description, mspId, as, method, path, body);
  }

  private eventPath(suffix = ''): string {
    return `/v1/dr/events/${encodeURIComponent(this.plan.eventId)}${suffix}`;
  }

  /** A DSO submission that may have committed already when retried (CONFLICT then is success). */
  private async dso(what: string, path: string, body: unknown): Promise<ApiResponse<unknown>> {
    const answer = await persist(what, () => this.call(DSO.mspId, DSO, 'POST', path, body));
    if ((answer.status < 200 || answer.status > 299) && !alreadyDone(answer)) {
      throw failure(what, answer);
    }
    return answer;
  }

  /** The DSO funds its pool with the budget and declares the event over its (open) slots. */
  async declare(): Promise<void> {
    const { plan } = this;
    await this.dso('funding the demand-response pool', '/v1/dr/pool', { amount: plan.budget });
    await this.dso(`declaring event ${plan.eventId}`, '/v1/dr/events', {
      eventId: plan.eventId,
      slotIds: plan.slots.map(this.slotIdOf),
      method: plan.method,
      rate: plan.rate,
      budget: plan.budget,
    });
  }

  /** The DSO declares the emergency of the plan (before the slot's dispatch); false when none. */
  async declareEmergency(): Promise<boolean> {
    const { emergencySlot, emergencyLevel } = this.plan;
    if (emergencySlot === null) {
      return false;
    }
    const slotId = this.slotIdOf(emergencySlot);
    await this.dso(
      `declaring an emergency in slot ${slotId}`,
      `/v1/slots/${encodeURIComponent(slotId)}/emergency`,
      {
        level: emergencyLevel,
      },
    );
    return true;
  }

  /**
   * A utility's admin pays the rewards of its homes, ≤ MAX_REWARD_HOMES per call, then publishes
   * its per-bus totals. A home paid by an earlier attempt is refused as a conflict, and counted.
   */
  async payUtility(org: string, homeIds: readonly string[]): Promise<DrUtilityResult> {
    let paidHomes = 0;
    let refusedHomes = 0;
    let paidUnits = 0n;
    let firstRefusal: string | undefined;
    for (const batch of batches(homeIds, MAX_REWARD_HOMES)) {
      const what = `${org}: paying the rewards of ${this.plan.eventId}`;
      const answer = await persist(what, () =>
        this.call<RewardsAnswer>(org, adminOf(org), 'POST', this.eventPath('/rewards'), { homeIds: batch }),
      );
      if (answer.status < 200 || answer.status > 299) {
        throw failure(what, answer);
      }
      const refused = answer.body.refused ?? [];
      paidHomes += answer.body.accepted ?? batch.length - refused.length;
      refusedHomes += refused.length;
      paidUnits += BigInt(answer.body.paid ?? '0');
      firstRefusal ??= refused[0] === undefined ? undefined : `${refused[0].code}: ${refused[0].message}`;
    }
    const what = `${org}: publishing the totals of ${this.plan.eventId}`;
    const published = await persist(what, () =>
      this.call(org, adminOf(org), 'POST', this.eventPath('/totals')),
    );
    if ((published.status < 200 || published.status > 299) && !alreadyDone(published)) {
      throw failure(what, published);
    }
    return {
      org,
      totalsPublished: true,
      paidHomes,
      refusedHomes,
      paidUnits: paidUnits.toString(),
      ...(firstRefusal === undefined ? {} : { firstRefusal }),
    };
  }

  /**
   * The event as the auditor's peer has it, once it shows every utility's totals published (or
   * after STEP_TIMEOUT_MS, as it is then).
   */
  async readEvent(utilities: readonly string[]): Promise<EventView | undefined> {
    const giveUp = Date.now() + STEP_TIMEOUT_MS;
    let last: EventView | undefined;
    for (;;) {
      const answer = await this.call<EventView>(AUDITOR.mspId, AUDITOR, 'GET', this.eventPath());
      if (answer.status === 200) {
        last = answer.body;
        const published = (org: string): boolean => {
          const allotment = last?.allotments?.find((entry) => entry.org === org);
          return allotment?.totalsPublishedAt !== undefined;
        };
        if (utilities.every(published)) {
          return last;
        }
      } else if (!transient(answer) && answer.status !== 404) {
        throw failure(`reading event ${this.plan.eventId}`, answer);
      }
      if (Date.now() > giveUp) {
        return last;
      }
      await delay(POLL_MS);
    }
  }

  /** The auditor's recomputation of the event's public accounts. */
  async audit(): Promise<{ consistent: boolean; problems: string[] } | null> {
    const answer = await persist(`auditing ${this.plan.eventId}`, () =>
      this.call<{ consistent: boolean; problems?: string[] }>(
        AUDITOR.mspId,
        AUDITOR,
        'GET',
        this.eventPath('/audit'),
      ),
    );
    return answer.status === 200
      ? { consistent: answer.body.consistent, problems: answer.body.problems ?? [] }
      : null;
  }
}

/** Start and end of the event, HH:MM. */
export function eventSpan(plan: DrPlan): { startsAt: string; endsAt: string; start: number; end: number } {
  const start = plan.slots[0] ?? 0;
  const end = (plan.slots.at(-1) ?? start) + 1;
  return { startsAt: timeOfDay(start), endsAt: timeOfDay(end), start, end };
}

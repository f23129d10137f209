import {
  BASELINE_DEFAULTS,
  collectionOf,
  computeBaseline,
  failedPrecondition,
  parseStoredJson,
  requireObject,
  rewardOf,
  type MeterDay,
} from '@hems/protocol';
import { hmacHex } from '../auction/references';
import type { HemsContext } from '../lib/context';
import { readPrivate } from '../lib/state';
import { loadDrDay, type DrEventRecord } from './events';
import { historyRef, loadMeterHistory } from './meter-history';

/**
 * One home's result in an event, computed on its utility's peer from its private meter history:
 * the baseline of the event's intervals, what the meter read in them and the reward. Kept private
 * under a per-event HMAC reference (it is also the marker that the home was paid, once).
 */
export interface HomeResult {
  readonly eventId: string;
  readonly bus: string;
  /** Whole Wh per event interval. */
  readonly baselineWh: readonly number[];
  readonly meteredWh: readonly number[];
  readonly baselineTotalWh: number;
  readonly meteredTotalWh: number;
  readonly reductionWh: number;
  /** Value units. */
  readonly reward: string;
  readonly accountId: string;
  /** The days the baseline averaged. */
  readonly daysUsed: readonly string[];
}

export function resultRef(secret: Uint8Array, eventId: string, homeId: string): string {
  return hmacHex(secret, ['hems.drresult', eventId, homeId]);
}

export async function loadHomeResult(
  ctx: HemsContext,
  org: string,
  eventId: string,
  ref: string,
): Promise<HomeResult | undefined> {
  const bytes = await readPrivate(ctx.stub, collectionOf(org), ctx.keys.drResult(eventId, ref));
  return bytes === undefined
    ? undefined
    : (requireObject(parseStoredJson(bytes, 'reward result'), 'reward result') as unknown as HomeResult);
}

/**
 * The days of the baseline's lookback before `date` on which an event was declared: never
 * baseline days, since a home's response lowers them. One point read per day of the lookback, per
 * transaction (not per home); each is MVCC-checked, so an event declared meanwhile on one of those
 * days makes the payment retry rather than pay on a stale calendar.
 */
export async function eventDates(ctx: HemsContext, event: DrEventRecord): Promise<Set<string>> {
  const dates = new Set<string>();
  const eventDay = Date.parse(`${event.date}T00:00:00Z`);
  for (let back = 1; back <= BASELINE_DEFAULTS[event.method].lookbackDays; back += 1) {
    const date = new Date(eventDay - back * 86_400_000).toISOString().slice(0, 10);
    if ((await loadDrDay(ctx, date)) !== undefined) {
      dates.add(date);
    }
  }
  return dates;
}

/**
 * The home's result from its history: FAILED_PRECONDITION when the utility holds no history of it,
 * the event day is not metered yet, or too few eligible days (the baseline's own refusal). Messages
 * never carry a reading or a home id.
 */
export async function computeHomeResult(
  ctx: HemsContext,
  org: string,
  secret: Uint8Array,
  event: DrEventRecord,
  homeId: string,
  accountId: string,
  dates: ReadonlySet<string>,
): Promise<HomeResult> {
  const history = await loadMeterHistory(ctx, org, historyRef(secret, homeId));
  if (history === undefined) {
    throw failedPrecondition('the utility holds no meter history of this home');
  }
  const today = history.days.find((day) => day.date === event.date);
  if (today === undefined) {
    throw failedPrecondition(
      history.days.some((day) => day.date > event.date)
        ? "the event day is no longer in the home's meter history (it keeps 60 days)"
        : "the event day is not in the home's meter history yet",
    );
  }
  if (today.holiday === true) {
    throw failedPrecondition(
      'the meter head-end marked the event day a holiday: the weekday baseline does not apply',
    );
  }
  const before: MeterDay[] = history.days
    .filter((day) => day.date < event.date)
    .map((day) => ({
      date: day.date,
      eventDay: dates.has(day.date),
      intervalsWh: day.intervalsWh,
      ...(day.holiday === true ? { holiday: true } : {}),
    }));
  const baseline = computeBaseline(
    event.method,
    before,
    {
      date: today.date,
      intervalsWh: today.intervalsWh,
      ...(today.holiday === true ? { holiday: true } : {}),
    },
    { start: event.start, end: event.end },
  );
  const meteredWh = today.intervalsWh.slice(event.start, event.end);
  const reward = rewardOf(baseline.intervalsWh, meteredWh, event.ratePriceUnits);
  return {
    eventId: event.eventId,
    bus: history.bus,
    baselineWh: baseline.intervalsWh,
    meteredWh,
    baselineTotalWh: reward.baselineWh,
    meteredTotalWh: reward.meteredWh,
    reductionWh: reward.reductionWh,
    reward: reward.reward.toString(),
    accountId,
    daysUsed: baseline.daysUsed,
  };
}

/**
 * Synthetic meter days for the demand-response benchmark: deterministic daily interval data of
 * bench homes (96 quarter-hour readings, whole Wh), the calendar around the event day, and the
 * budget that surely covers every reward of an event over them.
 */
import { dayNumberOf, INTERVALS_PER_DAY, isWeekdayNumber } from '@hems/protocol';
import { seededRandom } from './random';

const DAY_MS = 86_400_000;

/** The highest reading the generator produces, Wh per quarter hour (2.4 kW). */
export const SYNTHETIC_MAX_WH = 600;

/** An event's 15-minute intervals of the day, [start, end). */
export interface EventWindow {
  readonly start: number;
  readonly end: number;
}

/** The calendar date (YYYY-MM-DD, UTC) `offset` days after `date` (before it when negative). */
export function addDays(date: string, offset: number): string {
  return new Date((dayNumberOf(date, 'date') + offset) * DAY_MS).toISOString().slice(0, 10);
}

/** Whether `date` (YYYY-MM-DD) is a Monday to Friday, as the chaincode's baselines count it. */
export function isWeekday(date: string): boolean {
  return isWeekdayNumber(dayNumberOf(date, 'date'));
}

/**
 * The latest Monday to Friday before the UTC day of `now`: an event day whose meter data can be
 * delivered (a day is delivered once it is over) and whose rewards can be paid (within 3 days
 * after it; the latest weekday before today is at most 3 days back).
 */
export function latestWeekdayBefore(now: Date): string {
  const today = now.toISOString().slice(0, 10);
  for (let back = 1; back <= 7; back += 1) {
    const date = addDays(today, -back);
    if (isWeekday(date)) {
      return date;
    }
  }
  throw new Error('internal: no weekday in a week');
}

/** The `lookbackDays` calendar days before `eventDate`, oldest first, then `eventDate` itself. */
export function historyDates(eventDate: string, lookbackDays: number): string[] {
  if (!Number.isInteger(lookbackDays) || lookbackDays < 0) {
    throw new RangeError('lookbackDays must be a whole number of days, 0 or more');
  }
  return Array.from({ length: lookbackDays + 1 }, (_, index) => addDays(eventDate, index - lookbackDays));
}

/** A 32-bit seed from whole numbers (FNV-1a over their 32-bit values, then a final mix). */
function mix(...parts: readonly number[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    hash = Math.imul(hash ^ (part >>> 0), 0x01000193);
    hash ^= hash >>> 15;
  }
  return hash >>> 0;
}

interface HomeProfile {
  /** Quarter-hour load outside the morning and evening, Wh. */
  readonly baseWh: number;
  /** The morning (07:00-09:00 UTC) and evening (17:00-21:00 UTC) load as multiples of the base. */
  readonly morning: number;
  readonly evening: number;
  /** Share of its load the home sheds in an event's intervals: none for about one home in five. */
  readonly response: number;
}

function homeProfile(seed: number, home: number): HomeProfile {
  const random = seededRandom(mix(seed, home, 0x5eed));
  return {
    baseWh: 60 + Math.floor(random() * 101),
    morning: 1.2 + 0.6 * random(),
    evening: 1.5 + random(),
    response: random() < 0.2 ? 0 : 0.1 + 0.5 * random(),
  };
}

const MORNING = { start: 28, end: 36 };
const EVENING = { start: 68, end: 84 };

/**
 * One day of home `home`'s readings (96 whole Wh, 0 to SYNTHETIC_MAX_WH), the same for the same
 * seed, home and date: the home's base load shaped by a morning and an evening peak, a factor of
 * 0.85-1.15 per day and ±10 % per interval. On an event day, the home sheds its share of the load
 * in the intervals of each of `events`.
 */
export function syntheticDay(
  seed: number,
  home: number,
  date: string,
  events: readonly EventWindow[] = [],
): number[] {
  const profile = homeProfile(seed, home);
  const random = seededRandom(mix(seed, home, dayNumberOf(date, 'date')));
  const dayFactor = 0.85 + 0.3 * random();
  return Array.from({ length: INTERVALS_PER_DAY }, (_, interval) => {
    const shape =
      interval >= EVENING.start && interval < EVENING.end
        ? profile.evening
        : interval >= MORNING.start && interval < MORNING.end
          ? profile.morning
          : 1;
    const shed = events.some((event) => interval >= event.start && interval < event.end)
      ? 1 - profile.response
      : 1;
    const noise = 0.9 + 0.2 * random();
    return Math.min(SYNTHETIC_MAX_WH, Math.round(profile.baseWh * shape * dayFactor * noise * shed));
  });
}

/**
 * An upper bound of one home's reduction in an event of `intervals` intervals, Wh: its baseline is
 * an average of readings of at most SYNTHETIC_MAX_WH, scaled by at most 1 + the method's
 * adjustment cap and rounded once per interval.
 */
export function reductionBoundWh(intervals: number, adjustmentCapPpm: number): number {
  return intervals * (Math.ceil((SYNTHETIC_MAX_WH * (1_000_000 + adjustmentCapPpm)) / 1_000_000) + 1);
}

/** Value units (1e-10 currency) of one currency. */
const VALUE_UNITS_PER_CURRENCY = 10_000_000_000n;

/**
 * An event budget (whole currency, as DeclareEvent takes it) whose allotment to one utility covers
 * `homes` rewards of at most `boundWh` Wh each at `rate` currency per kWh, when the budget is split
 * in proportion to enrolled homes and that utility has `orgHomes` of `totalHomes`.
 */
export function eventBudget(options: {
  readonly homes: number;
  readonly boundWh: number;
  readonly rate: number;
  readonly orgHomes: number;
  readonly totalHomes: number;
}): string {
  const { homes, boundWh, rate, orgHomes, totalHomes } = options;
  if (!Number.isInteger(orgHomes) || orgHomes < 1 || !Number.isInteger(totalHomes) || totalHomes < orgHomes) {
    throw new RangeError('the utility needs enrolled homes, at most the total enrolled');
  }
  if (!Number.isInteger(homes) || homes < 0 || !Number.isInteger(boundWh) || boundWh < 0) {
    throw new RangeError('homes and boundWh must be whole numbers, 0 or more');
  }
  // 1 currency per kWh is 1e7 value units per Wh; the rate has at most 4 decimals.
  const unitsPerWh = BigInt(Math.round(rate * 10_000)) * 1000n;
  const needed = BigInt(homes) * BigInt(boundWh) * unitsPerWh;
  // The allotment is floor(budget × orgHomes ÷ totalHomes): one more currency than the exact share.
  const budget = (needed * BigInt(totalHomes) + BigInt(orgHomes) - 1n) / BigInt(orgHomes);
  return ((budget + VALUE_UNITS_PER_CURRENCY - 1n) / VALUE_UNITS_PER_CURRENCY + 1n).toString();
}

import { invalidArgument } from '../errors';
import { requireArray, requireInteger, requireObject, requireString } from '../validation';

/**
 * A home's private meter history as the demand-response baselines read it: one record per calendar
 * day, 96 readings of whole Wh per 15-minute interval (interval 0 is 00:00-00:15 local time).
 *
 * Days with 92 or 100 intervals (daylight-saving changes) are refused rather than guessed at: a
 * utility that meters in local time passes those days re-cut to 96 intervals or leaves them out.
 * A day that is missing from the history (no data) is simply not a candidate baseline day.
 *
 * Refusals name the field and its position, never a reading: meter data is the home's private data
 * and error messages end up in peer and client logs.
 */

export const INTERVALS_PER_DAY = 96;
export const INTERVALS_PER_HOUR = 4;
/**
 * One 15-minute reading, Wh: 1 GWh, far beyond any home (the same bound as an auction order), so
 * that every sum over a day and ten days stays a safe integer (10 x 96 x 1e9 < 2^53).
 */
export const MAX_INTERVAL_WH = 1_000_000_000;
/** Days of history one baseline computation accepts: two years. */
export const MAX_HISTORY_DAYS = 731;

/** One day of the home's meter history. */
export interface MeterDay {
  /** Calendar date, YYYY-MM-DD. The day of the week is derived from it, never trusted from input. */
  readonly date: string;
  /** A public holiday of the program's calendar: never a weekday baseline day. */
  readonly holiday?: boolean;
  /**
   * A demand-response event day of this home (or any day the program excludes, such as an
   * outage): never a baseline day, since the home's own response would lower its next baseline.
   */
  readonly eventDay: boolean;
  /** 96 readings, whole Wh >= 0. */
  readonly intervalsWh: readonly number[];
}

/** The event day: its date and the readings metered so far (at least up to the event's start). */
export interface EventDayMeter {
  readonly date: string;
  readonly holiday?: boolean;
  /** Readings from interval 0 on; only those of the adjustment window are read. */
  readonly intervalsWh: readonly number[];
}

/** The event's intervals of the day, half-open: [start, end), 0 <= start < end <= 96. */
export interface EventIntervals {
  readonly start: number;
  readonly end: number;
}

/** A validated day: `dayNumber` counts days since 1970-01-01. */
export interface CheckedDay {
  readonly date: string;
  readonly dayNumber: number;
  readonly weekday: boolean;
  readonly holiday: boolean;
  readonly eventDay: boolean;
  readonly intervalsWh: readonly number[];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a real calendar date written YYYY-MM-DD (2026-02-30 is refused). */
export function dayNumberOf(value: unknown, name: string): number {
  const text = requireString(value, name);
  const match = DATE.exec(text);
  if (match === null) {
    throw invalidArgument(`${name} must be a date written YYYY-MM-DD`);
  }
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const millis = Date.UTC(year, month - 1, day);
  const back = new Date(millis);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) {
    throw invalidArgument(`${name} is not a calendar date`);
  }
  return millis / MS_PER_DAY;
}

/** Monday to Friday. 1970-01-01 (day 0) was a Thursday. */
export function isWeekdayNumber(dayNumber: number): boolean {
  const dayOfWeek = (((dayNumber + 4) % 7) + 7) % 7; // 0 = Sunday
  return dayOfWeek >= 1 && dayOfWeek <= 5;
}

function optionalFlag(value: unknown, name: string): boolean {
  if (value === undefined) {
    return false;
  }
  if (typeof value !== 'boolean') {
    throw invalidArgument(`${name} must be true or false`);
  }
  return value;
}

/** Readings: between `minLength` and `maxLength` of them, each a whole Wh in [0, max]. */
export function requireReadings(
  value: unknown,
  name: string,
  minLength: number,
  maxLength: number,
  max = MAX_INTERVAL_WH,
): number[] {
  const readings = requireArray(value, name, maxLength);
  if (readings.length < minLength) {
    throw invalidArgument(
      minLength === maxLength
        ? `${name} must hold exactly ${maxLength} readings`
        : `${name} must hold at least ${minLength} readings`,
    );
  }
  return readings.map((reading, index) => requireInteger(reading, `${name}[${index}]`, 0, max));
}

/** The event day, which must be metered at least up to `readUpTo` (exclusive). */
export function checkEventDay(value: unknown, readUpTo: number): CheckedDay {
  const record = requireObject(value, 'eventDay');
  const dayNumber = dayNumberOf(record.date, 'eventDay.date');
  return {
    date: record.date as string,
    dayNumber,
    weekday: isWeekdayNumber(dayNumber),
    holiday: optionalFlag(record.holiday, 'eventDay.holiday'),
    eventDay: true,
    intervalsWh: requireReadings(record.intervalsWh, 'eventDay.intervalsWh', readUpTo, INTERVALS_PER_DAY),
  };
}

/** The history: strictly increasing dates (no duplicates), all before the event day. */
export function checkHistory(value: unknown, eventDayNumber: number): CheckedDay[] {
  const days = requireArray(value, 'history', MAX_HISTORY_DAYS);
  const checked: CheckedDay[] = [];
  days.forEach((entry, index) => {
    const name = `history[${index}]`;
    const record = requireObject(entry, name);
    const dayNumber = dayNumberOf(record.date, `${name}.date`);
    const previous = checked[checked.length - 1];
    if (previous !== undefined && dayNumber <= previous.dayNumber) {
      throw invalidArgument(
        dayNumber === previous.dayNumber
          ? `${name}.date repeats the date of history[${index - 1}]`
          : `history must be sorted by date, oldest first (${name} is out of order)`,
      );
    }
    if (dayNumber >= eventDayNumber) {
      throw invalidArgument(`${name}.date must be before the event day`);
    }
    if (typeof record.eventDay !== 'boolean') {
      throw invalidArgument(`${name}.eventDay must be true or false`);
    }
    checked.push({
      date: record.date as string,
      dayNumber,
      weekday: isWeekdayNumber(dayNumber),
      holiday: optionalFlag(record.holiday, `${name}.holiday`),
      eventDay: record.eventDay,
      intervalsWh: requireReadings(
        record.intervalsWh,
        `${name}.intervalsWh`,
        INTERVALS_PER_DAY,
        INTERVALS_PER_DAY,
      ),
    });
  });
  return checked;
}

/** The event's interval range: whole indices, 0 <= start < end <= 96. */
export function checkEventIntervals(value: unknown): EventIntervals {
  const record = requireObject(value, 'event');
  const start = requireInteger(record.start, 'event.start', 0, INTERVALS_PER_DAY - 1);
  const end = requireInteger(record.end, 'event.end', 1, INTERVALS_PER_DAY);
  if (end <= start) {
    throw invalidArgument('event.end must be after event.start');
  }
  return { start, end };
}

/** Sum of `readings[from..to)`; the caller has checked the bounds. */
export function sumRange(readings: readonly number[], from: number, to: number): number {
  let total = 0;
  for (let index = from; index < to; index += 1) {
    total += readings[index]!;
  }
  return total;
}

import { invalidArgument } from '../errors';
import { parseTimestamp, requireObject, requireOnlyKeys, requireString } from '../validation';

/**
 * When a slot's energy is delivered and which time-of-use period it belongs to, as the DSO sets
 * them when it opens the slot. Demand-response events run over peak slots only, and their
 * baselines read the same 15-minute intervals of earlier days, so a delivery interval must start
 * and end on a quarter hour (UTC) and last at most a day.
 */
export type TouPeriod = 'peak' | 'mid-peak' | 'off-peak';

export const TOU_PERIODS: readonly TouPeriod[] = ['peak', 'mid-peak', 'off-peak'];

export interface SlotSchedule {
  /** RFC 3339, UTC, on a quarter hour. */
  readonly deliveryStart: string;
  /** RFC 3339, UTC, on a quarter hour, after the start, at most 24 hours later. */
  readonly deliveryEnd: string;
  readonly period: TouPeriod;
}

const QUARTER_HOUR_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;

function quarterHour(value: unknown, name: string): Date {
  const at = parseTimestamp(value, name);
  if (at.getTime() % QUARTER_HOUR_MS !== 0) {
    throw invalidArgument(`${name} must fall on a quarter hour (00, 15, 30 or 45 minutes, whole seconds)`);
  }
  return at;
}

export function parseTouPeriod(value: unknown, name = 'period'): TouPeriod {
  const text = requireString(value, name);
  if (!(TOU_PERIODS as readonly string[]).includes(text)) {
    throw invalidArgument(`${name} must be one of ${TOU_PERIODS.join(', ')}`);
  }
  return text as TouPeriod;
}

/** A slot's schedule: {deliveryStart, deliveryEnd, period}; times are answered in UTC. */
export function parseSlotSchedule(value: unknown): SlotSchedule {
  const record = requireObject(value, 'schedule');
  requireOnlyKeys(record, 'schedule', ['deliveryStart', 'deliveryEnd', 'period']);
  const start = quarterHour(record.deliveryStart, 'schedule.deliveryStart');
  const end = quarterHour(record.deliveryEnd, 'schedule.deliveryEnd');
  if (end <= start) {
    throw invalidArgument('schedule.deliveryEnd must be after schedule.deliveryStart');
  }
  if (end.getTime() - start.getTime() > DAY_MS) {
    throw invalidArgument('schedule.deliveryEnd must be at most 24 hours after schedule.deliveryStart');
  }
  return {
    deliveryStart: start.toISOString(),
    deliveryEnd: end.toISOString(),
    period: parseTouPeriod(record.period, 'schedule.period'),
  };
}

/** The UTC calendar date (YYYY-MM-DD) and the day's 15-minute intervals [start, end) a delivery covers. */
export function deliveryIntervals(schedule: SlotSchedule): { date: string; start: number; end: number } {
  const start = Date.parse(schedule.deliveryStart);
  const end = Date.parse(schedule.deliveryEnd);
  const dayStart = Math.floor(start / DAY_MS) * DAY_MS;
  const last = Math.ceil((end - dayStart) / QUARTER_HOUR_MS);
  if (last > 96) {
    throw invalidArgument(
      'a delivery interval that crosses midnight (UTC) cannot be part of a demand-response event',
    );
  }
  return {
    date: new Date(dayStart).toISOString().slice(0, 10),
    start: (start - dayStart) / QUARTER_HOUR_MS,
    end: last,
  };
}

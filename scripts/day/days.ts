/**
 * The simulated calendar: `--days N` plays the day N times on consecutive UTC dates, each slot
 * with a date-stamped id and a schedule (its 15-minute delivery interval on its date, and its
 * time-of-use period). The dates lie in the past, so that a demand-response event's delivery has
 * ended when its rewards are paid, and the last one (the event day) is a weekday, which the
 * weekday baselines need. The homes' 45 days of metered history lie right before the first date.
 *
 * Slots are also numbered absolutely for the homes' appliance models (home-appliances.ts): day 0
 * of the models is the first history day, so the first played day is day HISTORY_DAYS.
 */
import type { SlotSchedule } from '@hems/protocol';
import { SLOTS_PER_DAY, SLOT_MINUTES } from './appliance-model';
import { HISTORY_DAYS } from './home-appliances';
import { touPeriod } from './tariff';

export const MAX_DAYS = 7;

const MS_PER_DAY = 86_400_000;
const SLOT_MS = SLOT_MINUTES * 60_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** One played day: its position (0: the first), its UTC date and whether it is the last one. */
export interface PlayedDay {
  readonly day: number;
  readonly date: string;
  readonly last: boolean;
}

function dayNumber(date: string): number {
  const match = DATE.exec(date);
  const millis = match === null ? NaN : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(millis) || new Date(millis).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a calendar date YYYY-MM-DD: '${date}'`);
  }
  return millis / MS_PER_DAY;
}

const dateOf = (number: number): string => new Date(number * MS_PER_DAY).toISOString().slice(0, 10);

/** The date `days` days after `date` (before it when negative). */
export function addDays(date: string, days: number): string {
  return dateOf(dayNumber(date) + days);
}

/** Monday to Friday (1970-01-01 was a Thursday). */
export function isWeekday(date: string): boolean {
  const dayOfWeek = (((dayNumber(date) + 4) % 7) + 7) % 7;
  return dayOfWeek >= 1 && dayOfWeek <= 5;
}

/**
 * The dates of `days` played days: consecutive, the last one the latest weekday before `now`'s
 * UTC date (so every delivery interval has ended by the time the day is played).
 */
export function playedDays(days: number, now: Date): PlayedDay[] {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new RangeError(`days must be a whole number from 1 to ${MAX_DAYS}`);
  }
  let last = addDays(now.toISOString().slice(0, 10), -1);
  while (!isWeekday(last)) {
    last = addDays(last, -1);
  }
  return Array.from({ length: days }, (_, day) => ({
    day,
    date: addDays(last, day - days + 1),
    last: day === days - 1,
  }));
}

/** The `count` dates right before `firstDate`, oldest first: the homes' metered history. */
export function historyDates(firstDate: string, count = HISTORY_DAYS): string[] {
  return Array.from({ length: count }, (_, index) => addDays(firstDate, index - count));
}

/** The appliance models' absolute slot of slot `index` (0-95) of played day `day`. */
export function absoluteSlot(day: number, index: number): number {
  return (HISTORY_DAYS + day) * SLOTS_PER_DAY + index;
}

/** The models' day number of played day `day` (history days are 0 to HISTORY_DAYS − 1). */
export function absoluteDay(day: number): number {
  return HISTORY_DAYS + day;
}

/** A slot id stamped with its run and date: `day-<run>-<yyyymmdd>-<NN>`. */
export function slotIdOf(runId: string, date: string, index: number): string {
  dayNumber(date);
  return `day-${runId}-${date.replace(/-/g, '')}-${String(index).padStart(2, '0')}`;
}

/** A slot's schedule: its 15-minute interval on `date` (UTC) and its time-of-use period. */
export function slotSchedule(date: string, index: number): SlotSchedule {
  if (!Number.isInteger(index) || index < 0 || index >= SLOTS_PER_DAY) {
    throw new RangeError(`index must be a slot of the day, 0 to ${SLOTS_PER_DAY - 1}`);
  }
  const start = dayNumber(date) * MS_PER_DAY + index * SLOT_MS;
  return {
    deliveryStart: new Date(start).toISOString(),
    deliveryEnd: new Date(start + SLOT_MS).toISOString(),
    period: touPeriod(index),
  };
}

import { failedPrecondition, invalidArgument } from '../errors';
import { requireInteger, requireObject, requireOnlyKeys } from '../validation';
import {
  type CheckedDay,
  checkEventDay,
  checkEventIntervals,
  checkHistory,
  type EventDayMeter,
  type EventIntervals,
  INTERVALS_PER_HOUR,
  type MeterDay,
  sumRange,
} from './meter-days';

/**
 * Customer baselines for "demand response that pays": the energy a home would have used in a
 * demand-response event's intervals had there been no event, estimated on its utility's peer from
 * its private meter history. A pure, deterministic function of that history, so that an auditor
 * with the same data gets the same Wh. No clock, no floating point.
 *
 * Both methods are day-matching ("X of Y") baselines with a multiplicative same-day adjustment:
 *
 * 'caiso-10-in-10' (CAISO's default Customer Load Baseline for Proxy Demand Resources)
 *   Sources: California ISO, "Business Practice Manual for Metering", section 12 (demand response
 *   performance evaluation: Customer Load Baseline; Load Point Adjustment, 12.9), version 18 of
 *   2018-05-24; Nexant for the California ISO, "California ISO Baseline Accuracy Assessment"
 *   (J. Bode, A. Ciccone, 2017-11-20), "Baselines Included in Testing" and appendix C "Detailed
 *   Day-Matching Calculation Process"; AEMO, "WDR Baseline Methodology Register", whose four
 *   methods are "based on the CAISO '10 of 10' framework".
 *   - Candidate days: weekdays that are not holidays and not event days (of the home), within the
 *     45 calendar days before the event day; the 10 most recent of them.
 *   - Baseline: their average, interval by interval.
 *   - Same-day ("load point") adjustment: ratio of the event day's metered energy to the
 *     unadjusted baseline's energy over the 3 hours that end 1 hour before the event starts,
 *     capped to [0.8, 1.2] (+-20%), multiplied into every event interval.
 *
 * 'residential-5-in-10' (the residential day-matching variant)
 *   Sources: California ISO, "Business Practice Manual for Metering", section 12 as revised for
 *   ESDER phase 2 (2018: day-matching baselines for residential resources, adjustment capped at
 *   +-40%); Nexant, "California ISO Baseline Accuracy Assessment" (2017), "Recommendations: Day
 *   Matching Baselines" (residential customers); Pacific Gas and Electric, "Power Saver
 *   Rewards - FAQ" (https://powersaver.pge.com/faq/): "the 10 previous weekdays ... we choose the 5
 *   days with the highest energy usage ... Only the days that did not experience an event or power
 *   outage are considered", then an adjustment from the hours around the event.
 *   - Candidate days: as above, the 10 most recent (45-day lookback).
 *   - Of those, the 5 with the highest energy over the event's own intervals (the day's total over
 *     the event window, not over the whole day); ties go to the more recent day.
 *   - Baseline: their average; same-day adjustment as above but capped to [0.6, 1.4] (+-40%).
 *
 * Where the sources differ or are silent, this module picks (the numeric choices are options):
 *   - The adjustment window is only before the event (PG&E's FAQ also uses hours after it): the
 *     baseline is then known when the event starts, and post-event rebound cannot move it.
 *   - The adjustment is multiplicative (CAISO's ratio); an additive variant is not offered.
 *   - With fewer eligible days than the method looks at, programs fall back in different ways
 *     (fewer days, a longer lookback); this module refuses (FAILED_PRECONDITION) unless `minDays`
 *     is lowered explicitly, so a thin history never pays silently on a weaker baseline. With
 *     n >= minDays eligible days it averages the min(highestDays, n) highest.
 *   - Events on weekends or holidays are refused (FAILED_PRECONDITION): the programs baseline
 *     them on weekend and holiday days with rules of their own (PG&E: the 3 highest of the 5
 *     previous weekend days or holidays, weighted), which this module does not offer.
 *   - A zero denominator (no energy at all in the candidate days' window) gives the ratio 1 when the
 *     event day's window is also empty, and the upper cap otherwise.
 *
 * Exactness: the baseline of interval i is ratio x S_i / n with S_i the integer sum of the n
 * selected days' readings and the ratio a quotient of integers, computed in bigint and rounded to
 * whole Wh once, half to even (unbiased over many homes and events; deterministic).
 */

export type BaselineMethod = 'caiso-10-in-10' | 'residential-5-in-10';

export const BASELINE_METHODS: readonly BaselineMethod[] = ['caiso-10-in-10', 'residential-5-in-10'];

/** The explicit parameters of a method; every one can be overridden by the caller's options. */
export interface BaselineParameters {
  /** Y: the most recent eligible days looked at. */
  readonly recentDays: number;
  /** X: of those, the ones with the highest energy over the event window are averaged. */
  readonly highestDays: number;
  /** Fewer eligible days than this: refused. */
  readonly minDays: number;
  /** Calendar days before the event day searched for eligible days. */
  readonly lookbackDays: number;
  /** Length of the same-day adjustment window, hours. */
  readonly adjustmentHours: number;
  /** Hours between the adjustment window's end and the event's start. */
  readonly adjustmentGapHours: number;
  /** Cap of the adjustment ratio's distance from 1, parts per million (200000 = +-20%; 0 = off). */
  readonly adjustmentCapPpm: number;
}

export const BASELINE_DEFAULTS: Readonly<Record<BaselineMethod, BaselineParameters>> = {
  'caiso-10-in-10': {
    recentDays: 10,
    highestDays: 10,
    minDays: 10,
    lookbackDays: 45,
    adjustmentHours: 3,
    adjustmentGapHours: 1,
    adjustmentCapPpm: 200_000,
  },
  'residential-5-in-10': {
    recentDays: 10,
    highestDays: 5,
    minDays: 10,
    lookbackDays: 45,
    adjustmentHours: 3,
    adjustmentGapHours: 1,
    adjustmentCapPpm: 400_000,
  },
};

const PARAMETER_KEYS = Object.keys(BASELINE_DEFAULTS['caiso-10-in-10']);
const PPM = 1_000_000n;

/** The same-day adjustment applied: the exact ratio (reduced), and whether the cap cut it. */
export interface BaselineAdjustment {
  readonly numerator: bigint;
  readonly denominator: bigint;
  readonly capped: boolean;
}

export interface BaselineResult {
  readonly method: BaselineMethod;
  readonly parameters: BaselineParameters;
  /** Whole Wh per event interval, in order from `event.start`. */
  readonly intervalsWh: readonly number[];
  /** The days averaged, oldest first. */
  readonly daysUsed: readonly string[];
  readonly adjustment: BaselineAdjustment;
}

export function parseBaselineMethod(value: unknown, name = 'method'): BaselineMethod {
  if (value !== 'caiso-10-in-10' && value !== 'residential-5-in-10') {
    throw invalidArgument(`${name} must be one of ${BASELINE_METHODS.join(', ')}`);
  }
  return value;
}

/** The method's defaults with the caller's overrides, each checked. */
export function baselineParameters(method: BaselineMethod, options: unknown = {}): BaselineParameters {
  const overrides = requireObject(options, 'options');
  requireOnlyKeys(overrides, 'options', PARAMETER_KEYS);
  const merged = { ...BASELINE_DEFAULTS[method], ...overrides };
  const recentDays = requireInteger(merged.recentDays, 'options.recentDays', 1, 60);
  return {
    recentDays,
    highestDays: requireInteger(merged.highestDays, 'options.highestDays', 1, recentDays),
    minDays: requireInteger(merged.minDays, 'options.minDays', 1, recentDays),
    lookbackDays: requireInteger(merged.lookbackDays, 'options.lookbackDays', 1, 366),
    adjustmentHours: requireInteger(merged.adjustmentHours, 'options.adjustmentHours', 1, 12),
    adjustmentGapHours: requireInteger(merged.adjustmentGapHours, 'options.adjustmentGapHours', 0, 12),
    adjustmentCapPpm: requireInteger(merged.adjustmentCapPpm, 'options.adjustmentCapPpm', 0, 1_000_000),
  };
}

/**
 * The baseline of one event for one home.
 *
 * Throws INVALID_ARGUMENT for malformed input (wrong interval counts, readings that are not whole
 * non-negative Wh, unsorted or repeated dates, history on or after the event day, an event that
 * starts too early in the day for the adjustment window, a weekend or holiday event) and
 * FAILED_PRECONDITION when the history holds fewer eligible days than `minDays`.
 */
export function computeBaseline(
  method: BaselineMethod,
  history: readonly MeterDay[],
  eventDay: EventDayMeter,
  event: EventIntervals,
  options: Partial<BaselineParameters> = {},
): BaselineResult {
  const parameters = baselineParameters(parseBaselineMethod(method), options);
  const { start, end } = checkEventIntervals(event);
  const windowEnd = start - parameters.adjustmentGapHours * INTERVALS_PER_HOUR;
  const windowStart = windowEnd - parameters.adjustmentHours * INTERVALS_PER_HOUR;
  if (windowStart < 0) {
    throw invalidArgument(
      `event.start must leave ${parameters.adjustmentHours + parameters.adjustmentGapHours} hours ` +
        'of the same day before it for the adjustment window',
    );
  }
  const today = checkEventDay(eventDay, windowEnd);
  if (!today.weekday || today.holiday) {
    throw invalidArgument(`${method} is a weekday baseline: eventDay must be a weekday that is no holiday`);
  }
  const candidates = eligibleDays(checkHistory(history, today.dayNumber), today.dayNumber, parameters);
  if (candidates.length < parameters.minDays) {
    throw failedPrecondition(
      `${method} needs at least ${parameters.minDays} eligible days (weekdays that are neither ` +
        `holidays nor event days) in the ${parameters.lookbackDays} days before the event; ` +
        `the history holds ${candidates.length}`,
    );
  }
  const selected = highestDays(candidates, parameters.highestDays, start, end);
  const adjustment = sameDayAdjustment(selected, today, windowStart, windowEnd, parameters.adjustmentCapPpm);
  const count = BigInt(selected.length);
  const intervalsWh: number[] = [];
  for (let index = start; index < end; index += 1) {
    const sum = BigInt(selected.reduce((total, day) => total + day.intervalsWh[index]!, 0));
    intervalsWh.push(Number(roundHalfEven(adjustment.numerator * sum, adjustment.denominator * count)));
  }
  return {
    method,
    parameters,
    intervalsWh,
    daysUsed: selected.map((day) => day.date).sort(),
    adjustment,
  };
}

/** The `recentDays` most recent weekdays in the lookback that are neither holidays nor event days. */
function eligibleDays(history: readonly CheckedDay[], eventDay: number, parameters: BaselineParameters) {
  const eligible = history.filter(
    (day) =>
      day.dayNumber >= eventDay - parameters.lookbackDays && day.weekday && !day.holiday && !day.eventDay,
  );
  return eligible.slice(-parameters.recentDays);
}

/** The `count` days with the most energy in [start, end); ties go to the more recent day. */
function highestDays(days: readonly CheckedDay[], count: number, start: number, end: number) {
  return days
    .map((day) => ({ day, energy: sumRange(day.intervalsWh, start, end) }))
    .sort((a, b) => b.energy - a.energy || b.day.dayNumber - a.day.dayNumber)
    .slice(0, count)
    .map(({ day }) => day);
}

/**
 * actual / unadjusted baseline over the window = (n x A) / W, with A the event day's window
 * energy and W the selected days' summed window energy, capped to [1 - cap, 1 + cap].
 */
function sameDayAdjustment(
  selected: readonly CheckedDay[],
  today: CheckedDay,
  windowStart: number,
  windowEnd: number,
  capPpm: number,
): BaselineAdjustment {
  const actual = BigInt(selected.length) * BigInt(sumRange(today.intervalsWh, windowStart, windowEnd));
  const baseline = BigInt(
    selected.reduce((total, day) => total + sumRange(day.intervalsWh, windowStart, windowEnd), 0),
  );
  const cap = BigInt(capPpm);
  if (baseline === 0n) {
    return actual === 0n ? ratio(1n, 1n, false) : ratio(PPM + cap, PPM, true);
  }
  if (actual * PPM > (PPM + cap) * baseline) {
    return ratio(PPM + cap, PPM, true);
  }
  if (actual * PPM < (PPM - cap) * baseline) {
    return ratio(PPM - cap, PPM, true);
  }
  return ratio(actual, baseline, false);
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) {
    [x, y] = [y, x % y];
  }
  return x;
}

function ratio(numerator: bigint, denominator: bigint, capped: boolean): BaselineAdjustment {
  const divisor = numerator === 0n ? denominator : gcd(numerator, denominator);
  return { numerator: numerator / divisor, denominator: denominator / divisor, capped };
}

/** numerator / denominator (both >= 0, denominator > 0) to the nearest integer, ties to even. */
export function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = 2n * (numerator % denominator);
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) {
    return quotient + 1n;
  }
  return quotient;
}

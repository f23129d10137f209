/**
 * The utilities' meter data for demand response: each home's daily meter history on its
 * utility's peer (POST /v1/meter/days as the meter head-end, at most 200 days of homes per post).
 * Before the first event each head-end backfills 45 days per home, generated from the home's
 * appliance model with the day's seed (home-appliances.ts: played unsteered at the tariff's
 * prices, its metered history kept); after every played day it posts that day's metered
 * intervals, the homes' simulated draws. The days are private: only counts leave this module.
 */
import type { NetworkDescription } from '@hems/network-client';
import { callGateway } from '@hems/testkit';
import { SLOTS_PER_DAY, type PriceRange } from './appliance-model';
import { alreadyDone, failure, meterOf, persist } from './auction-calls';
import { HISTORY_DAYS, HomeAppliances } from './home-appliances';

/** Days per POST /v1/meter/days: the chaincode's bound (RecordMeterDays). */
export const MAX_METER_DAYS = 200;
/** Posts of one head-end running at once (each its own private transaction). */
const POST_CONCURRENCY = 2;

/** One day of one home, as the head-end posts it. */
export interface MeterDayItem {
  readonly homeId: string;
  readonly bus: string;
  readonly date: string;
  /** 96 whole Wh, 00:00 (UTC) first. */
  readonly intervalsWh: readonly number[];
  readonly holiday?: boolean;
}

/** A home as its meter head-end knows it. */
export interface MeteredHome {
  readonly homeId: string;
  readonly bus: string;
  /** Seeds the home's appliances (the feeder's home index). */
  readonly index: number;
  /** The tariff of the home's bus in an absolute slot. */
  readonly tariff: (slot: number) => PriceRange | null;
}

/** What the posts of a head-end came to: counts only. */
export interface MeterDaysOutcome {
  readonly posts: number;
  readonly items: number;
  readonly accepted: number;
  readonly refused: number;
  /** The first refusal's code and message (they name a position and a rule, never a reading). */
  readonly firstRefusal?: string;
}

export const NO_METER_DAYS: MeterDaysOutcome = { posts: 0, items: 0, accepted: 0, refused: 0 };

/** `items` in consecutive runs of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError('size must be a whole number ≥ 1');
  }
  const runs: T[][] = [];
  for (let next = 0; next < items.length; next += size) {
    runs.push(items.slice(next, next + size));
  }
  return runs;
}

/**
 * A home's metered history before the first played day: its appliances from the models' day 0,
 * played `count` days unsteered at the tariff's prices; oldest first, 96 whole Wh per day.
 */
export function historyOf(
  seed: number,
  home: Pick<MeteredHome, 'index' | 'tariff'>,
  count = HISTORY_DAYS,
): number[][] {
  if (!Number.isInteger(count) || count < 1 || count > HISTORY_DAYS) {
    throw new RangeError(`count must be a whole number from 1 to ${HISTORY_DAYS}`);
  }
  const appliances = new HomeAppliances(seed, home.index, 0);
  for (let slot = 0; slot < count * SLOTS_PER_DAY; slot += 1) {
    appliances.draw(slot, null, home.tariff(slot));
  }
  return appliances.meteredHistory().map((day) => day.intervalsWh.map((wh) => wh ?? 0));
}

/**
 * The backfill of a utility's homes, home by home: each home's history dated with `dates`
 * (oldest first, one per history day). Generated lazily, so a large feeder's history is never
 * held whole.
 */
export function* backfillItems(
  seed: number,
  homes: readonly MeteredHome[],
  dates: readonly string[],
): Generator<MeterDayItem> {
  for (const home of homes) {
    const days = historyOf(seed, home, dates.length);
    for (const [position, intervalsWh] of days.entries()) {
      yield { homeId: home.homeId, bus: home.bus, date: dates[position]!, intervalsWh };
    }
  }
}

/** Items of an iterable in runs of at most `size`. */
export function* chunked<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let run: T[] = [];
  for (const item of items) {
    run.push(item);
    if (run.length === size) {
      yield run;
      run = [];
    }
  }
  if (run.length > 0) {
    yield run;
  }
}

interface MeterDaysAnswer {
  readonly accepted?: number;
  readonly refused?: readonly { index: number; code: string; message: string }[];
}

/** Sums two outcomes. */
export function addOutcomes(a: MeterDaysOutcome, b: MeterDaysOutcome): MeterDaysOutcome {
  const firstRefusal = a.firstRefusal ?? b.firstRefusal;
  return {
    posts: a.posts + b.posts,
    items: a.items + b.items,
    accepted: a.accepted + b.accepted,
    refused: a.refused + b.refused,
    ...(firstRefusal === undefined ? {} : { firstRefusal }),
  };
}

/**
 * The head-end of `mspId` posts `items` in posts of at most MAX_METER_DAYS on its own gateway.
 * A day already held is replaced (a correction), so a retry after a transient answer is harmless;
 * refused items are counted, not retried.
 */
export async function postMeterDays(
  description: NetworkDescription,
  mspId: string,
  items: Iterable<MeterDayItem>,
): Promise<MeterDaysOutcome> {
  const post = async (days: readonly MeterDayItem[]): Promise<MeterDaysOutcome> => {
    const what = `${mspId}: posting ${days.length} metered days`;
    const answer = await persist(what, () =>
      callGateway<MeterDaysAnswer>(description, mspId, meterOf(mspId), 'POST', '/v1/meter/days', { days }),
    );
    if (alreadyDone(answer)) {
      return { posts: 1, items: days.length, accepted: days.length, refused: 0 };
    }
    if (answer.status < 200 || answer.status > 299) {
      throw failure(what, answer);
    }
    const refused = answer.body.refused ?? [];
    const first = refused[0];
    return {
      posts: 1,
      items: days.length,
      accepted: answer.body.accepted ?? days.length - refused.length,
      refused: refused.length,
      ...(first === undefined ? {} : { firstRefusal: `${first.code}: ${first.message}` }),
    };
  };
  return postInBatches(items, post);
}

/**
 * Posts `items` with `post` in runs of at most `size`, `concurrency` posts at a time, in order;
 * answers the outcomes summed.
 */
export async function postInBatches<T>(
  items: Iterable<T>,
  post: (batch: readonly T[]) => Promise<MeterDaysOutcome>,
  size = MAX_METER_DAYS,
  concurrency = POST_CONCURRENCY,
): Promise<MeterDaysOutcome> {
  let total = NO_METER_DAYS;
  let running: Promise<MeterDaysOutcome>[] = [];
  for (const batch of chunked(items, size)) {
    running.push(post(batch));
    if (running.length === concurrency) {
      total = (await Promise.all(running)).reduce(addOutcomes, total);
      running = [];
    }
  }
  return (await Promise.all(running)).reduce(addOutcomes, total);
}

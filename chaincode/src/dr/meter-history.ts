import {
  collectionOf,
  ContractError,
  dayNumberOf,
  failedPrecondition,
  INTERVALS_PER_DAY,
  invalidArgument,
  parseBusId,
  parseHomeId,
  parseJsonArgument,
  parseStoredJson,
  requireArray,
  requireObject,
  requireOnlyKeys,
  requireReadings,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import { hmacHex } from '../auction/references';
import type { HemsContext } from '../lib/context';
import { readPrivate, writePrivate } from '../lib/state';
import { refusalOf, type ItemRefusal } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import { MAX_READING_WH } from '../timeslot/meter-readings';

/**
 * A home's daily meter history, as the utility's meter data management (the validation authority)
 * delivers it: one day of 96 quarter-hour readings per item. The baselines of demand-response
 * events read it on the utility's own peer; nothing of it is ever public.
 *
 * One private record per home holds its last HISTORY_DAYS days, under an HMAC reference of the
 * home that never changes: a day's delivery reads and writes one key per home, and a reward reads
 * one key per home, where one key per day would cost a reward 46 ledger reads per home. Days
 * older than the retention fall out of the record as newer ones arrive.
 */

/** Days kept per home: the baselines' 45-day lookback, the event day and two weeks' margin. */
export const HISTORY_DAYS = 60;
const DAY_MS = 86_400_000;
/** Items per RecordMeterDays: one day of one home each. */
export const MAX_METER_DAYS = 200;
const MAX_METER_DAYS_BYTES = MAX_METER_DAYS * (INTERVALS_PER_DAY * 9 + 256) + 2;

export interface StoredMeterDay {
  readonly date: string;
  readonly intervalsWh: readonly number[];
  readonly holiday?: true;
}

export interface MeterHistoryRecord {
  /** The feeder bus of the home's meter, as the head-end last reported it. */
  readonly bus: string;
  /** Oldest first, unique dates, at most HISTORY_DAYS. */
  readonly days: readonly StoredMeterDay[];
  /** Random-looking per write: the record's on-chain hash cannot be matched against a guess. */
  readonly salt: string;
  readonly updatedAt: string;
  readonly txId: string;
}

export interface MeterDaysReceipt {
  readonly txId: string;
  readonly recordedAt: string;
  readonly accepted: number;
  readonly refused: readonly ItemRefusal[];
}

/** The home's reference for its meter history: HMAC of the home id under the utility's secret. */
export function historyRef(secret: Uint8Array, homeId: string): string {
  return hmacHex(secret, ['hems.meterhistory', homeId]);
}

export async function loadMeterHistory(
  ctx: HemsContext,
  org: string,
  ref: string,
): Promise<MeterHistoryRecord | undefined> {
  const bytes = await readPrivate(ctx.stub, collectionOf(org), ctx.keys.meterHistory(ref));
  if (bytes === undefined) {
    return undefined;
  }
  const record = requireObject(parseStoredJson(bytes, 'meter history'), 'meter history');
  if (typeof record.bus !== 'string' || !Array.isArray(record.days)) {
    throw new Error('stored meter history is malformed');
  }
  return record as unknown as MeterHistoryRecord;
}

interface MeterDayItem {
  readonly homeId: string;
  readonly bus: string;
  readonly dayNumber: number;
  readonly day: StoredMeterDay;
}

function parseItem(value: unknown, index: number): MeterDayItem {
  const name = `days[${index}]`;
  const item = requireObject(value, name);
  requireOnlyKeys(item, name, ['homeId', 'bus', 'date', 'intervalsWh', 'holiday']);
  const dayNumber = dayNumberOf(item.date, `${name}.date`);
  if (item.holiday !== undefined && typeof item.holiday !== 'boolean') {
    throw invalidArgument(`${name}.holiday must be true or false`);
  }
  return {
    homeId: parseHomeId(item.homeId, `${name}.homeId`),
    bus: parseBusId(item.bus, `${name}.bus`),
    dayNumber,
    day: {
      date: item.date as string,
      intervalsWh: requireReadings(
        item.intervalsWh,
        `${name}.intervalsWh`,
        INTERVALS_PER_DAY,
        INTERVALS_PER_DAY,
        MAX_READING_WH,
      ),
      ...(item.holiday === true ? { holiday: true as const } : {}),
    },
  };
}

/** One home's history as this transaction changes it: read once, written once. */
interface HistoryDraft {
  readonly ref: string;
  bus: string;
  readonly days: Map<number, StoredMeterDay>;
  changed: boolean;
}

/**
 * Merges `item` into the draft: a day already held is replaced (the head-end's correction); a day
 * older than the retention behind the newest day held is refused rather than silently dropped.
 */
function merge(draft: HistoryDraft, item: MeterDayItem): void {
  const newestBefore = Math.max(-Infinity, ...draft.days.keys());
  const newest = Math.max(item.dayNumber, newestBefore);
  if (item.dayNumber <= newest - HISTORY_DAYS) {
    throw failedPrecondition(
      `the date is more than ${HISTORY_DAYS} days older than the newest day of the home's history, which keeps ${HISTORY_DAYS} days`,
    );
  }
  draft.days.set(item.dayNumber, item.day);
  if (item.dayNumber >= newestBefore) {
    // The home's current bus is the one of its newest day, not of a correction of an old one.
    draft.bus = item.bus;
  }
  draft.changed = true;
  for (const dayNumber of [...draft.days.keys()]) {
    if (dayNumber <= newest - HISTORY_DAYS) {
      draft.days.delete(dayNumber);
    }
  }
}

/**
 * Stores the meter head-end's daily readings of `org`'s homes (transient `days`, see parseItem)
 * in the utility's collection. A bad item is refused alone, by position; the rest are kept.
 */
export async function recordMeterDays(ctx: HemsContext, org: string): Promise<MeterDaysReceipt> {
  const list = requireArray(
    parseJsonArgument(requireTransientText(ctx, 'days', MAX_METER_DAYS_BYTES), 'days', MAX_METER_DAYS_BYTES),
    'days',
    MAX_METER_DAYS,
  );
  if (list.length === 0) {
    throw invalidArgument('days must hold at least one day of readings');
  }
  const secret = await loadHomeRefSecret(ctx, org);
  const drafts = new Map<string, HistoryDraft>();
  const refused: ItemRefusal[] = [];
  let accepted = 0;
  for (const [index, value] of list.entries()) {
    try {
      const item = parseItem(value, index);
      if ((item.dayNumber + 1) * DAY_MS > ctx.now.getTime()) {
        throw failedPrecondition(
          `days[${index}] is a day that is not over yet: a day is delivered once it is over`,
        );
      }
      const ref = historyRef(secret, item.homeId);
      let draft = drafts.get(ref);
      if (draft === undefined) {
        const stored = await loadMeterHistory(ctx, org, ref);
        draft = {
          ref,
          bus: stored?.bus ?? item.bus,
          days: new Map((stored?.days ?? []).map((day) => [dayNumberOf(day.date, 'stored date'), day])),
          changed: false,
        };
        drafts.set(ref, draft);
      }
      merge(draft, item);
      accepted += 1;
    } catch (error) {
      if (!(error instanceof ContractError)) {
        throw error;
      }
      refused.push(refusalOf(error, index));
    }
  }
  const txId = ctx.stub.getTxID();
  const recordedAt = isoTime(ctx.now);
  for (const draft of [...drafts.values()].filter((entry) => entry.changed)) {
    const record: MeterHistoryRecord = {
      bus: draft.bus,
      days: [...draft.days].sort(([a], [b]) => a - b).map(([, day]) => day),
      salt: hmacHex(secret, ['hems.meterhistory.salt', txId, draft.ref]),
      updatedAt: recordedAt,
      txId,
    };
    await writePrivate(ctx.stub, collectionOf(org), ctx.keys.meterHistory(draft.ref), record);
  }
  return { txId, recordedAt, accepted, refused };
}

import {
  BASELINE_DEFAULTS,
  canonicalBytes,
  conflict,
  currencyToUnits,
  dayNumberOf,
  deliveryIntervals,
  DR_EVENTS,
  failedPrecondition,
  INTERVALS_PER_HOUR,
  invalidArgument,
  isWeekdayNumber,
  MAX_PRICE_UNITS,
  notFound,
  parseBaselineMethod,
  parseJsonArgument,
  parseSlotId,
  parseStoredRecord,
  poolAccountOf,
  requireArray,
  requireDecimalPlaces,
  requireFiniteNumber,
  requireObject,
  requireOnlyKeys,
  type BaselineMethod,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeOwnedByOrg } from '../lib/ledger';
import { KeyType } from '../lib/keys';
import { drain, readState, writeState } from '../lib/state';
import { loadEnrolment } from '../governance/enrolment';
import { loadSlot } from '../timeslot/records';
import { TokenBook } from '../token/token-ledger';
import { allotmentFromBytes, emptyAllotment, type AllotmentRecord } from './allotments';

/**
 * A demand-response event: the DSO asks for less load over a run of peak slots of one day and
 * pays `rate` per kWh of reduction below each home's baseline, out of a budget it moves from its
 * pool into one allotment per utility (in proportion to the homes each has enrolled). Every
 * utility computes its own homes' rewards on its own peer, from their private meter history, and
 * pays them out of its allotment alone: the allotment bounds what a utility could misstate, and
 * the DSO's money never moves without the majority (the declaration) having set that bound.
 */

export const MAX_EVENT_SLOTS = 96;
const MAX_TERMS_BYTES = 16 * 1024;
/** A rate of 1 currency per kWh in price units: 1,000 currency per MWh, 10,000 units each. */
const PRICE_UNITS_PER_RATE = 1000 * 10_000;

export interface DrEventRecord {
  readonly eventId: string;
  readonly dsoMspId: string;
  /** The UTC date of the event's delivery, YYYY-MM-DD. */
  readonly date: string;
  /** Its 15-minute intervals of the day, [start, end). */
  readonly start: number;
  readonly end: number;
  readonly slotIds: readonly string[];
  readonly method: BaselineMethod;
  /** Price units (1/10000 currency per MWh) per Wh of reduction gives value units. */
  readonly ratePriceUnits: number;
  /** Value units. */
  readonly budget: string;
  /**
   * Value units per utility: the split of the budget as the majority wrote it. An allotment (which
   * its utility's peer alone rewrites) is checked against it, never trusted above it.
   */
  readonly allotted: Readonly<Record<string, string>>;
  readonly declaredAt: string;
  readonly txId: string;
}

export interface DrEventTerms {
  readonly slotIds: readonly string[];
  readonly method: BaselineMethod;
  readonly ratePriceUnits: number;
  readonly budget: bigint;
}

/** `rate` in currency per kWh (at most 4 decimals) as price units: currency per MWh × 10,000. */
function rateToPriceUnits(value: unknown): number {
  const rate = requireDecimalPlaces(
    requireFiniteNumber(value, 'terms.rate', 0, MAX_PRICE_UNITS / PRICE_UNITS_PER_RATE),
    'terms.rate',
    4,
  );
  const units = Math.round(rate * 10_000) * (PRICE_UNITS_PER_RATE / 10_000);
  if (units === 0) {
    throw invalidArgument('terms.rate must be greater than 0');
  }
  return units;
}

export function parseEventTerms(text: string): DrEventTerms {
  const terms = requireObject(parseJsonArgument(text, 'terms', MAX_TERMS_BYTES), 'terms');
  requireOnlyKeys(terms, 'terms', ['slotIds', 'method', 'rate', 'budget']);
  const slotIds = requireArray(terms.slotIds, 'terms.slotIds', MAX_EVENT_SLOTS).map((id, index) =>
    parseSlotId(id, `terms.slotIds[${index}]`),
  );
  if (slotIds.length === 0) {
    throw invalidArgument('terms.slotIds must name at least one slot');
  }
  if (new Set(slotIds).size !== slotIds.length) {
    throw invalidArgument('terms.slotIds names a slot twice');
  }
  const budget = currencyToUnits(terms.budget, 'terms.budget');
  if (budget === 0n) {
    throw invalidArgument('terms.budget must be greater than 0');
  }
  return {
    slotIds,
    method: parseBaselineMethod(terms.method, 'terms.method'),
    ratePriceUnits: rateToPriceUnits(terms.rate),
    budget,
  };
}

export function drEventFromBytes(bytes: Uint8Array): DrEventRecord {
  return parseStoredRecord<DrEventRecord>(bytes, 'demand-response event', [
    'eventId',
    'date',
    'start',
    'end',
    'slotIds',
    'method',
    'ratePriceUnits',
    'budget',
    'allotted',
  ]);
}

/** The events of one day and the intervals each covers (KeyType.drDay). */
export interface DrDayRecord {
  readonly date: string;
  readonly events: readonly { readonly eventId: string; readonly start: number; readonly end: number }[];
}

export async function loadDrDay(ctx: HemsContext, date: string): Promise<DrDayRecord | undefined> {
  const bytes = await readState(ctx.stub, ctx.keys.drDay(date));
  return bytes === undefined
    ? undefined
    : parseStoredRecord<DrDayRecord>(bytes, 'event day', ['date', 'events']);
}

/** Refuses an event whose intervals overlap one already declared on its day: a reduction is paid once. */
function checkNoOverlap(day: DrDayRecord | undefined, span: { start: number; end: number }): void {
  const overlapping = day?.events.find((event) => event.start < span.end && span.start < event.end);
  if (overlapping !== undefined) {
    throw conflict(
      `event ${overlapping.eventId} already covers some of these intervals: a reduction is paid by one event only`,
    );
  }
}

export async function loadDrEvent(ctx: HemsContext, eventId: string): Promise<DrEventRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.drEvent(eventId));
  if (bytes === undefined) {
    throw notFound(`demand-response event ${eventId} does not exist`);
  }
  return drEventFromBytes(bytes);
}

/**
 * The event's day and intervals from its slots: each opened with a peak-period schedule, not yet
 * dispatched (homes must hear of the event before they are told their allowed power), all on one
 * UTC day and together covering one unbroken run of intervals.
 */
async function eventSpan(
  ctx: HemsContext,
  slotIds: readonly string[],
): Promise<{ date: string; start: number; end: number }> {
  const spans: { date: string; start: number; end: number }[] = [];
  for (const slotId of slotIds) {
    const slot = await loadSlot(ctx, slotId);
    if (slot.schedule?.period !== 'peak') {
      throw failedPrecondition(`slot ${slotId} is not scheduled in the peak period`);
    }
    if (slot.dispatch !== undefined || slot.settledAt !== undefined) {
      throw failedPrecondition(`slot ${slotId} is already dispatched; an event must be declared before`);
    }
    if (!sameUtcDay(slot.schedule.deliveryStart, slot.schedule.deliveryEnd)) {
      throw failedPrecondition(`slot ${slotId} delivers across midnight (UTC); an event covers one day`);
    }
    spans.push(deliveryIntervals(slot.schedule));
  }
  spans.sort((a, b) => a.start - b.start);
  const [first] = spans;
  if (first === undefined) {
    throw invalidArgument('terms.slotIds must name at least one slot');
  }
  let end = first.start;
  for (const span of spans) {
    if (span.date !== first.date) {
      throw failedPrecondition('the slots of an event must all deliver on the same day (UTC)');
    }
    if (span.start !== end) {
      throw failedPrecondition(
        'the slots of an event must cover one unbroken run of intervals, without gaps or overlaps',
      );
    }
    end = span.end;
  }
  return { date: first.date, start: first.start, end };
}

/** Whether a delivery from `start` to `end` stays within one UTC day (it may end at midnight). */
function sameUtcDay(start: string, end: string): boolean {
  const day = Math.floor(Date.parse(start) / 86_400_000);
  return Math.floor((Date.parse(end) - 1) / 86_400_000) === day;
}

/** The baselines need a weekday, and the adjustment window's hours before the event's start. */
function checkBaselineFits(method: BaselineMethod, date: string, start: number): void {
  if (!isWeekdayNumber(dayNumberOf(date, 'date'))) {
    throw failedPrecondition(`${method} is a weekday baseline: the event must be on a weekday`);
  }
  const { adjustmentHours, adjustmentGapHours } = BASELINE_DEFAULTS[method];
  if (start < (adjustmentHours + adjustmentGapHours) * INTERVALS_PER_HOUR) {
    throw failedPrecondition(
      `${method} needs the ${adjustmentHours + adjustmentGapHours} hours before the event on the same day`,
    );
  }
}

/** Each utility's share of the budget, in proportion to its enrolled homes; the rest to the largest. */
async function splitBudget(ctx: HemsContext, budget: bigint): Promise<Map<string, bigint>> {
  const utilities = (await ctx.settings()).utilityMspIds;
  const homes = new Map<string, bigint>(utilities.map((org) => [org, 0n]));
  for (const enrolment of await loadEnrolment(ctx)) {
    if (homes.has(enrolment.org)) {
      homes.set(enrolment.org, (homes.get(enrolment.org) ?? 0n) + BigInt(enrolment.homes));
    }
  }
  const total = [...homes.values()].reduce((sum, count) => sum + count, 0n);
  if (total === 0n) {
    throw failedPrecondition('no utility has enrolled homes to reward');
  }
  const shares = new Map([...homes].map(([org, count]) => [org, (budget * count) / total]));
  const largest = [...homes].sort(([a, x], [b, y]) => (x === y ? (a < b ? -1 : 1) : x > y ? -1 : 1))[0]!;
  const rest = budget - [...shares.values()].reduce((sum, share) => sum + share, 0n);
  shares.set(largest[0], (shares.get(largest[0]) ?? 0n) + rest);
  return shares;
}

/** DSO: declares event `eventId`, moving its budget from the DSO's pool into the allotments. */
export async function declareEvent(
  ctx: HemsContext,
  dso: string,
  eventId: string,
  terms: DrEventTerms,
): Promise<{ event: DrEventRecord; allotments: AllotmentRecord[] }> {
  if ((await readState(ctx.stub, ctx.keys.drEvent(eventId))) !== undefined) {
    throw conflict(`demand-response event ${eventId} already exists`);
  }
  const span = await eventSpan(ctx, terms.slotIds);
  checkBaselineFits(terms.method, span.date, span.start);
  const day = await loadDrDay(ctx, span.date);
  checkNoOverlap(day, span);
  const pool = poolAccountOf(dso);
  const book = new TokenBook(ctx);
  const funds = await book.load(pool);
  if (funds === undefined || funds.balance < terms.budget) {
    throw failedPrecondition("the DSO's demand-response pool does not cover the event's budget");
  }
  await book.allot(eventId, pool, dso, terms.budget);
  const split = [...(await splitBudget(ctx, terms.budget))].sort(([a], [b]) => (a < b ? -1 : 1));
  const event: DrEventRecord = {
    eventId,
    dsoMspId: dso,
    ...span,
    slotIds: [...terms.slotIds].sort(),
    method: terms.method,
    ratePriceUnits: terms.ratePriceUnits,
    budget: terms.budget.toString(),
    allotted: Object.fromEntries(split.map(([org, share]) => [org, share.toString()])),
    declaredAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, ctx.keys.drEvent(eventId), event);
  const dayRecord: DrDayRecord = {
    date: span.date,
    events: [...(day?.events ?? []), { eventId, start: span.start, end: span.end }],
  };
  await writeState(ctx.stub, ctx.keys.drDay(span.date), dayRecord);
  const allotments: AllotmentRecord[] = [];
  for (const [org, share] of split) {
    const allotment = emptyAllotment(ctx, eventId, org, share);
    allotments.push(allotment);
    await writeOwnedByOrg(ctx.stub, ctx.keys.drAllotment(eventId, org), allotment, org);
  }
  await book.flush();
  ctx.stub.setEvent(
    DR_EVENTS.declared,
    canonicalBytes({
      eventId,
      date: event.date,
      start: event.start,
      end: event.end,
      slotIds: event.slotIds,
      method: event.method,
      ratePriceUnits: event.ratePriceUnits,
    }),
  );
  return { event, allotments };
}

/**
 * The event's public view: its record, every utility's allotment as stored, and the utilities
 * whose allotment does not parse (a utility's peer alone writes it; a reader tolerates it).
 */
export async function drEventView(
  ctx: HemsContext,
  event: DrEventRecord,
): Promise<{ event: DrEventRecord; allotments: AllotmentRecord[]; unreadable: string[] }> {
  const allotments: AllotmentRecord[] = [];
  const unreadable: string[] = [];
  for (const row of await drain(
    ctx.stub.getStateByPartialCompositeKey(KeyType.drAllotment, [event.eventId]),
  )) {
    const org = ctx.stub.splitCompositeKey(row.key).attributes[1] ?? '';
    try {
      const allotment = allotmentFromBytes(row.value);
      if (allotment.org !== org || allotment.eventId !== event.eventId) {
        throw new TypeError('an allotment does not name its key');
      }
      allotments.push(allotment);
    } catch {
      unreadable.push(org);
    }
  }
  return { event, allotments, unreadable };
}

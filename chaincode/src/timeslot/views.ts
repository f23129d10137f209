import { kwToWatts, wattsToKw } from '@hems/protocol';
import { compareText } from '../lib/ledger';
import type { RecordView } from '../lib/state';
import { slotStatus, type AggregateRecord, type SlotRecord } from './records';

/**
 * A per-bus total over all utilities (P3): the homes whose values are in the sums and the orgs
 * that contributed them; the homes and orgs whose group had fewer than k homes, counted but not
 * summed; the orgs that have published nothing yet.
 */
interface GroupTotal {
  readonly homes: number;
  readonly withheldHomes: number;
  readonly orgs: readonly string[];
  readonly withheldOrgs: readonly string[];
  readonly pendingOrgs: readonly string[];
}

/** Per-bus view over all utilities of their aggregates (ΣLmin, ΣLmax): what the DSO needs to compute λ. */
interface BusTotal extends GroupTotal {
  readonly bus: string;
  readonly lower: number;
  readonly upper: number;
  /** Of the summed homes, those whose forecast their relay vouched for (OpenADR VENs). */
  readonly relayAttested: number;
  /** Σ of the published consumption summaries of the bus; present once the slot is dispatched. */
  readonly consumption?: ConsumptionTotal;
}

/** Per-bus view over all utilities of their consumption summaries (reporting homes). */
interface ConsumptionTotal extends GroupTotal {
  readonly drawnKw: number;
  readonly nonCompliant: number;
  readonly relayAttested: number;
  /** Homes the utilities' meter head-ends read, and how many of their reports disagreed. */
  readonly metered: number;
  readonly mismatched: number;
}

/** A utility's published group on a bus (its home count, whether withheld), undefined while pending. */
type GroupOf = (agg: AggregateRecord) => { readonly homes?: number; readonly withheld?: boolean } | undefined;

/** The group total of one bus's aggregate records, and the records whose values are in its sums. */
function groupTotal(
  ofBus: readonly AggregateRecord[],
  groupOf: GroupOf,
): { total: GroupTotal; summed: AggregateRecord[] } {
  const published = ofBus.filter((agg) => groupOf(agg) !== undefined);
  const withheld = published.filter((agg) => groupOf(agg)?.withheld === true);
  const summed = published.filter((agg) => groupOf(agg)?.withheld !== true);
  const homesOf = (records: readonly AggregateRecord[]): number =>
    records.reduce((total, agg) => total + (groupOf(agg)?.homes ?? 0), 0);
  const total: GroupTotal = {
    homes: homesOf(summed),
    withheldHomes: homesOf(withheld),
    orgs: summed.map((agg) => agg.org),
    withheldOrgs: withheld.map((agg) => agg.org),
    pendingOrgs: ofBus.filter((agg) => groupOf(agg) === undefined).map((agg) => agg.org),
  };
  return { total, summed };
}

/** Σ of `value` over the records, in kW (summed in integer watts, so float noise does not add up). */
function sumOf(
  records: readonly AggregateRecord[],
  value: (agg: AggregateRecord) => number | undefined,
): number {
  return sumKw(records.map((agg) => value(agg) ?? 0));
}

function consumptionTotal(ofBus: readonly AggregateRecord[]): ConsumptionTotal {
  const { total, summed } = groupTotal(ofBus, (agg) => agg.consumption);
  return {
    ...total,
    drawnKw: sumOf(summed, (agg) => agg.consumption?.drawnKw),
    nonCompliant: summed.reduce((count, agg) => count + (agg.consumption?.nonCompliant ?? 0), 0),
    relayAttested: summed.reduce((count, agg) => count + (agg.consumption?.relayAttested ?? 0), 0),
    metered: summed.reduce((count, agg) => count + (agg.consumption?.metered ?? 0), 0),
    mismatched: summed.reduce((count, agg) => count + (agg.consumption?.mismatched ?? 0), 0),
  };
}

/**
 * P3 for every public per-bus summary: the sums of a group of fewer than k homes are withheld,
 * only its size is published.
 */
export function groupSums<T>(
  members: readonly T[],
  minGroupSize: number,
  sums: (members: readonly T[]) => Record<string, number>,
): { homes: number; withheld: boolean; sums: Record<string, number> } {
  const homes = members.length;
  const withheld = homes < minGroupSize;
  return { homes, withheld, sums: withheld ? {} : sums(members) };
}

export function sumKw(values: readonly number[]): number {
  return wattsToKw(values.reduce((total, kw) => total + kwToWatts(kw), 0));
}

function busTotals(aggregates: readonly AggregateRecord[], dispatched: boolean): BusTotal[] {
  const buses = [...new Set(aggregates.map((agg) => agg.bus))].sort();
  return buses.map((bus) => {
    const ofBus = aggregates.filter((agg) => agg.bus === bus);
    const { total, summed } = groupTotal(ofBus, (agg) => (agg.published ? agg : undefined));
    return {
      bus,
      ...total,
      lower: sumOf(summed, (agg) => agg.lower),
      upper: sumOf(summed, (agg) => agg.upper),
      relayAttested: summed.reduce((count, agg) => count + (agg.relayAttested ?? 0), 0),
      // Homes report consumption only after dispatch; before it the total would be noise.
      ...(dispatched ? { consumption: consumptionTotal(ofBus) } : {}),
    };
  });
}

/**
 * The slot's aggregates with every expected one present: an expected (org, bus) without a readable
 * record of its own (see checkedAggregate) shows as not published, like a utility that stayed
 * silent, never as missing from the bus's totals.
 */
function withExpected(slot: SlotRecord, aggregates: readonly AggregateRecord[]): AggregateRecord[] {
  const absent = slot.expected.filter(
    (expected) => !aggregates.some((agg) => agg.org === expected.org && agg.bus === expected.bus),
  );
  const pending = absent.map(({ org, bus, homes }): AggregateRecord => ({
    slotId: slot.slotId,
    org,
    bus,
    expectedHomes: homes,
    published: false,
  }));
  return [...aggregates, ...pending].sort((a, b) => compareText(a.org, b.org) || compareText(a.bus, b.bus));
}

/**
 * Once dispatched, the forecast sums are the ones the dispatch used (copied into the majority-
 * written slot record): a utility rewriting its aggregate later changes only its consumption
 * summary, which speaks for itself alone.
 */
function asDispatched(slot: SlotRecord, aggregates: readonly AggregateRecord[]): AggregateRecord[] {
  const used = slot.dispatch?.aggregates;
  if (used === undefined) {
    return [...aggregates];
  }
  return aggregates.map((agg): AggregateRecord => {
    const copy = used.find((entry) => entry.org === agg.org && entry.bus === agg.bus);
    const kept = {
      slotId: agg.slotId,
      org: agg.org,
      bus: agg.bus,
      expectedHomes: agg.expectedHomes,
      ...(agg.consumption === undefined ? {} : { consumption: agg.consumption }),
    };
    if (copy === undefined) {
      return { ...kept, published: false };
    }
    return {
      ...kept,
      published: true,
      homes: copy.homes,
      withheld: copy.withheld,
      ...(copy.lower === undefined ? {} : { lower: copy.lower }),
      ...(copy.upper === undefined ? {} : { upper: copy.upper }),
      ...(copy.relayAttested === undefined ? {} : { relayAttested: copy.relayAttested }),
      ...(copy.publishTxId === undefined ? {} : { publishTxId: copy.publishTxId }),
    };
  });
}

export function slotView(slot: SlotRecord, loaded: readonly AggregateRecord[], now: Date): RecordView {
  const aggregates = asDispatched(slot, withExpected(slot, loaded));
  return {
    ...slot,
    status: slotStatus(slot, aggregates, now),
    aggregates,
    busTotals: busTotals(aggregates, slot.dispatch !== undefined),
  };
}

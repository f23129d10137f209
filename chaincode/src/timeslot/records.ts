import {
  notFound,
  parseStoredRecord,
  type SlotEmergency,
  type SlotPrices,
  type SlotSchedule,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain, readState } from '../lib/state';
import { checkedAggregate } from './aggregate-check';

export type SlotStatus = 'OPEN' | 'CLOSED' | 'AGGREGATED' | 'DISPATCHED' | 'SETTLED';

/** An aggregate the slot waits for: one per utility org and bus with enrolled homes at opening. */
export interface ExpectedAggregate {
  readonly org: string;
  readonly bus: string;
  readonly homes: number;
}

export interface BusLambda {
  readonly bus: string;
  readonly lambda: number;
}

export interface DispatchRecord {
  readonly lambda: number;
  readonly perBus: readonly BusLambda[];
  /** 0 for the first dispatch; each explicit revision adds one and is kept in the key's history. */
  readonly revision: number;
  readonly reason?: string;
  readonly publishedAt: string;
  readonly txId: string;
  /** Expected aggregates that were not published when the DSO dispatched (after the deadline). */
  readonly missing: readonly { readonly org: string; readonly bus: string }[];
  /**
   * The published aggregates the dispatch used, as read (checked) at dispatch: a utility's
   * aggregate key is under its own peer's policy, so what decided the others' dispatch is copied
   * into this majority-written record. Absent in dispatches stored before it existed.
   */
  readonly aggregates?: readonly DispatchedAggregate[];
}

/** One published aggregate as a dispatch used it. */
export interface DispatchedAggregate {
  readonly org: string;
  readonly bus: string;
  readonly homes: number;
  readonly withheld: boolean;
  readonly lower?: number;
  readonly upper?: number;
  readonly relayAttested?: number;
  readonly publishTxId?: string;
}

/** Public record of one timeslot, written by the DSO. */
export interface SlotRecord {
  readonly slotId: string;
  readonly deadline: string;
  readonly openedAt: string;
  readonly openTxId: string;
  readonly prices: SlotPrices;
  /** Delivery interval and time-of-use period (absent: the DSO set none). */
  readonly schedule?: SlotSchedule;
  readonly expected: readonly ExpectedAggregate[];
  readonly dispatch?: DispatchRecord;
  readonly settledAt?: string;
  /**
   * A grid emergency the DSO declared before the dispatch (DeclareEmergency): every home's
   * allowance shrinks towards its own Lmin. Only its level is public, never an allowance.
   */
  readonly emergency?: SlotEmergency;
  /**
   * The channel's productionTokenRate when the slot opened (currency per MWh; 0: no production
   * minting in the slot): the rate MintForProduction credits and the reconciliation checks each
   * utility's production record against. Kept here because this record is the majority's, while a
   * production record is rewritten by its utility's peer alone. Absent in slots stored before it
   * existed: nothing is minted in those.
   */
  readonly productionTokenRate?: number;
}

/**
 * Public per-org, per-bus summary of the homes' consumption reports after dispatch. Below k
 * reporting homes only the count is public (P3), exactly like an aggregate.
 */
export interface ConsumptionSummary {
  readonly homes: number;
  readonly withheld: boolean;
  /** Σ drawn power in kW; absent when withheld. */
  readonly drawnKw?: number;
  /** Homes that drew more than their allowed power; absent when withheld. */
  readonly nonCompliant?: number;
  /** Reports of those homes their relay vouched for (OpenADR VENs); absent when withheld. */
  readonly relayAttested?: number;
  /** Homes the meter head-end read (their metered energy is what is summed); absent when withheld. */
  readonly metered?: number;
  /** Of those, homes whose own report differs from the reading beyond the tolerance; absent when withheld. */
  readonly mismatched?: number;
  readonly publishedAt: string;
  readonly txId: string;
}

/** Public per-org, per-bus aggregate, written by the utility's peer. */
export interface AggregateRecord {
  readonly slotId: string;
  readonly org: string;
  readonly bus: string;
  readonly expectedHomes: number;
  readonly published: boolean;
  /** Homes that submitted; present once published. */
  readonly homes?: number;
  /** True when fewer than k homes submitted: the sums are withheld (P3). */
  readonly withheld?: boolean;
  /** ΣLmin and ΣLmax in kW; absent while pending or withheld. */
  readonly lower?: number;
  readonly upper?: number;
  /** Forecasts of those homes their relay vouched for (OpenADR VENs); absent when withheld. */
  readonly relayAttested?: number;
  readonly publishedAt?: string;
  readonly publishTxId?: string;
  /** The latest consumption summary of the bus, once the utility published one after dispatch. */
  readonly consumption?: ConsumptionSummary;
}

export function slotFromBytes(bytes: Uint8Array): SlotRecord {
  return parseStoredRecord<SlotRecord>(bytes, 'slot', [
    'slotId',
    'deadline',
    'openedAt',
    'prices',
    'expected',
  ]);
}

export function aggregateFromBytes(bytes: Uint8Array): AggregateRecord {
  return parseStoredRecord<AggregateRecord>(bytes, 'aggregate', [
    'slotId',
    'org',
    'bus',
    'expectedHomes',
    'published',
  ]);
}

/** Every aggregate the slot expects has been published (and it expects at least one). */
export function allAggregatesPublished(slot: SlotRecord, aggregates: readonly AggregateRecord[]): boolean {
  return (
    slot.expected.length > 0 &&
    slot.expected.every((expected) =>
      aggregates.some((agg) => agg.org === expected.org && agg.bus === expected.bus && agg.published),
    )
  );
}

/**
 * The slot's state is derived, not stored: aggregates are written by each utility's peer under
 * their own key-level endorsement policy and cannot also update the DSO's slot record.
 */
export function slotStatus(slot: SlotRecord, aggregates: readonly AggregateRecord[], now: Date): SlotStatus {
  if (slot.settledAt !== undefined) {
    return 'SETTLED';
  }
  if (slot.dispatch !== undefined) {
    return 'DISPATCHED';
  }
  if (allAggregatesPublished(slot, aggregates)) {
    return 'AGGREGATED';
  }
  return now >= new Date(slot.deadline) ? 'CLOSED' : 'OPEN';
}

export async function loadSlot(ctx: HemsContext, slotId: string): Promise<SlotRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.slot(slotId));
  if (bytes === undefined) {
    throw notFound(`slot ${slotId} does not exist`);
  }
  return slotFromBytes(bytes);
}

/**
 * The aggregate records of a slot, or of one org in it, in key order (org, bus). Each speaks only
 * for its own key (see checkedAggregate): a record its utility's peer wrote unreadable, or under
 * another slot, org or bus, is left out, as if that utility had not published the bus.
 */
export async function loadAggregates(
  ctx: HemsContext,
  slotId: string,
  org?: string,
): Promise<AggregateRecord[]> {
  const attributes = org === undefined ? [slotId] : [slotId, org];
  const rows = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.aggregate, attributes));
  return rows.flatMap((row) => {
    const [keySlot = '', keyOrg = '', keyBus = ''] = ctx.stub.splitCompositeKey(row.key).attributes;
    const record = checkedAggregate({ slotId: keySlot, org: keyOrg, bus: keyBus }, row.value);
    return record === undefined ? [] : [record];
  });
}

/** The λ that applies to a bus: its own from `perBus`, else the slot's. */
export function lambdaOfBus(dispatch: DispatchRecord, bus: string): number {
  return dispatch.perBus.find((entry) => entry.bus === bus)?.lambda ?? dispatch.lambda;
}

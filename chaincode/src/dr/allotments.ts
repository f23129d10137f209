import { parseStoredRecord, unitsFromStored } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readState } from '../lib/state';

/**
 * One utility's allotment of an event: the part of the budget its homes' rewards may use, what it
 * paid, and, once it closes its payments, its per-bus totals (sums only from k homes on). Written
 * by the declaration (majority) with a key-level policy naming the utility's peer, then only by
 * that peer: `lastPayments` lists the accounts and amounts of the transaction that wrote the
 * version, so the key's history is the complete list of payments an auditor adds up.
 */
export interface RewardPayment {
  readonly accountId: string;
  /** Value units, > 0. */
  readonly amount: string;
}

export interface BusRewardTotals {
  readonly bus: string;
  /** Homes of the bus whose result was computed (rewarded or not). */
  readonly homes: number;
  /** Fewer than k homes: only the count is public. */
  readonly withheld: boolean;
  readonly baselineWh?: number;
  readonly meteredWh?: number;
  /** Σ of each home's max(0, baseline − metered), Wh. */
  readonly reductionWh?: number;
  /** Value units: reductionWh × rate. */
  readonly reward?: string;
}

export interface AllotmentRecord {
  readonly eventId: string;
  readonly org: string;
  /** Value units. */
  readonly allotted: string;
  readonly paid: string;
  /** Homes whose result was computed. */
  readonly homes: number;
  /** Of those, homes paid more than 0. */
  readonly rewarded: number;
  /** Transaction ids of the reward batches, in order. */
  readonly batches: readonly string[];
  readonly lastPayments: readonly RewardPayment[];
  readonly totals?: readonly BusRewardTotals[];
  readonly totalsPublishedAt?: string;
  readonly updatedAt: string;
  readonly txId: string;
}

export function emptyAllotment(
  ctx: HemsContext,
  eventId: string,
  org: string,
  allotted: bigint,
): AllotmentRecord {
  return {
    eventId,
    org,
    allotted: allotted.toString(),
    paid: '0',
    homes: 0,
    rewarded: 0,
    batches: [],
    lastPayments: [],
    updatedAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
}

export function allotmentFromBytes(bytes: Uint8Array): AllotmentRecord {
  const record = parseStoredRecord<AllotmentRecord>(bytes, 'allotment', [
    'eventId',
    'org',
    'allotted',
    'paid',
    'homes',
    'batches',
    'lastPayments',
  ]);
  unitsFromStored(record.allotted, 'allotted');
  unitsFromStored(record.paid, 'paid');
  if (!Array.isArray(record.batches) || !Array.isArray(record.lastPayments)) {
    throw new Error('stored allotment lists are malformed');
  }
  return record;
}

export async function loadAllotment(
  ctx: HemsContext,
  eventId: string,
  org: string,
): Promise<AllotmentRecord | undefined> {
  const bytes = await readState(ctx.stub, ctx.keys.drAllotment(eventId, org));
  return bytes === undefined ? undefined : allotmentFromBytes(bytes);
}

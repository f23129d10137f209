import { isAccountId, parseStoredRecord, unitsFromStored } from '@hems/protocol';
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

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkPayment(payment: unknown): void {
  const { accountId, amount } = (payment ?? {}) as { accountId?: unknown; amount?: unknown };
  if (typeof accountId !== 'string' || !isAccountId(accountId)) {
    throw new Error('a stored payment names no account');
  }
  unitsFromStored(amount, 'payment');
}

function checkBusTotals(value: unknown): void {
  const totals = (value ?? {}) as Record<string, unknown>;
  if (typeof totals.bus !== 'string' || !isCount(totals.homes) || typeof totals.withheld !== 'boolean') {
    throw new Error('stored bus totals are malformed');
  }
  if (!totals.withheld) {
    if (![totals.baselineWh, totals.meteredWh, totals.reductionWh].every(isCount)) {
      throw new Error('stored bus totals are malformed');
    }
    unitsFromStored(totals.reward, 'bus reward');
  }
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
  // Written by one utility's peer alone: every member an auditor adds up is checked here, so a
  // malformed record is refused as a whole (and reported) rather than breaking a reader.
  (record.lastPayments as unknown[]).forEach(checkPayment);
  ((record.totals ?? []) as unknown[]).forEach(checkBusTotals);
  if (!isCount(record.homes) || !isCount(record.rewarded)) {
    throw new Error('stored allotment counts are malformed');
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

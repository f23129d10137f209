import {
  type ClearingRecord,
  type CommittedOrder,
  type ClearingRule,
  DEFAULT_CLEARING_RULE,
  invalidArgument,
  MAX_REPORT_GRACE_SECONDS,
  parseClearingRule,
  parseSlotId,
  parseStoredRecord,
  parseTimestamp,
  type PoolView,
  requireInteger,
  requireObject,
  requireOnlyKeys,
  type TradeRecord,
  unitsFromStored,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';

/** A trading window of the energy auction: `OPEN → CLOSED → CLEARED → SETTLED`. */
export type WindowStatus = 'OPEN' | 'CLOSED' | 'CLEARED' | 'SETTLED';

/** How far ahead of the transaction a window may close. */
export const MAX_CLOSE_LEAD_MS = 7 * 24 * 3600 * 1000;
/** Longest delivery period of one window. */
export const MAX_DELIVERY_MS = 24 * 3600 * 1000;
/** Time the meter head-ends have after the delivery period before a utility may settle without them. */
export const DEFAULT_REPORT_GRACE_SECONDS = 3600;

/** The terms of a window, from the operator's spec. */
export interface WindowSpec {
  readonly deliverySlotId: string;
  readonly deliveryStart: string;
  readonly deliveryEnd: string;
  readonly closesAt: string;
  readonly pricingRule: ClearingRule;
  /**
   * From then on the operator may clear without the utilities that have not revealed: orders
   * must be known before the energy flows (= deliveryStart).
   */
  readonly revealBy: string;
  /**
   * From then on a utility may settle without the delivery reports still missing (= deliveryEnd +
   * the spec's reportGraceSeconds), so one utility's silence cannot hold the others' payments.
   */
  readonly reportBy: string;
}

/**
 * Public record of one window. Only majority-endorsed transactions of the market operator write it
 * (open, clear, grid share claim); what the utilities do lives in their per-org records, and the
 * window's SETTLED status and pool are derived from those when read.
 */
export interface WindowRecord extends WindowSpec {
  readonly windowId: string;
  readonly openedAt: string;
  readonly openTxId: string;
  /** DSO MSP of the operator who opened it; its grid account receives the grid share. */
  readonly operatorMspId: string;
  /** Utility orgs of the channel at opening: each must reveal before the clearing. */
  readonly orgs: readonly string[];
  /**
   * Set on windows opened since sealed-order commitments exist: a utility's orders trade only if
   * it committed to them before the close (CommitOrders) and its reveal gives that commitment.
   */
  readonly requiresCommitments?: boolean;
  readonly clearedAt?: string;
  /** Set at the clearing: the orgs with a side in at least one trade (they report and settle). */
  readonly tradeOrgs?: readonly string[];
  /** Set by ClaimGridShare: the pool remainder credited to the grid account, value units. */
  /**
   * Set by CloseDeliveryReports (majority-endorsed, from reportBy on): when the delivery reports
   * were closed and the utilities with trades whose reports do not count (missing, or totals
   * beyond what the clearing allows). Every settlement uses this one set; while it is unset, a
   * utility settles only once every utility with trades has a report that counts.
   */
  readonly reportsClosedAt?: string;
  readonly reportsClosedTxId?: string;
  readonly unreportedOrgs?: readonly string[];
  readonly gridShare?: string;
  readonly gridClaimedAt?: string;
  /**
   * Set by a claim made before the window was SETTLED (from SETTLEMENT_GRACE_MS after the reports
   * were closed): what the pool keeps for the sellers of the utilities that had not settled. The
   * rest is claimable once the window is SETTLED; `gridShare` is the total claimed.
   */
  readonly gridReserved?: string;
  readonly gridClaimTxId?: string;
}

export interface RevealRecord {
  readonly count: number;
  /** The exact private bytes of each revealed order, as UTF-8 text, in order-reference order. */
  readonly orders: readonly string[];
  /** The offers withdrawn at the reveal (above their availability), as the commitment covers them. */
  readonly withdrawn?: readonly CommittedOrder[];
  readonly revealedAt: string;
  readonly txId: string;
}

/** Public per-org delivery totals (values in value units as decimal strings). */
export interface DeliveryTotalsRecord {
  readonly deliveredWh: number;
  readonly receivedWh: number;
  readonly sellerValue: string;
  readonly buyerCharge: string;
  readonly reportedAt: string;
  readonly txId: string;
}

/** A utility's commitment to its sealed orders of a window (CommitOrders), majority-endorsed. */
export interface CommitmentRecord {
  readonly windowId: string;
  readonly org: string;
  readonly count: number;
  readonly digest: string;
  /** 0 for the first commitment; a utility may commit again until the close, the last one counts. */
  readonly revision: number;
  readonly committedAt: string;
  readonly txId: string;
}

/** When the escrows of the org's revealed bids were released (ReleaseEscrow or ReportDelivery). */
export interface ReleaseRecord {
  readonly releasedAt: string;
  readonly txId: string;
}

export interface SettlementRecord {
  readonly settledAt: string;
  readonly txId: string;
  /**
   * Only in settlements stored before CloseDeliveryReports existed, when the first settlement
   * without some reports fixed them: informative, never read (a utility's part speaks only for
   * itself; the window record's unreportedOrgs decides).
   */
  readonly unreportedOrgs?: readonly string[];
}

/**
 * One utility's part of a window: everything its transactions write for the window. OpenTradingWindow
 * creates it with a key-level policy naming only that utility's peer, so the utility's single-peer
 * transactions may update it. Amounts are value units as decimal strings.
 */
export interface WindowOrgRecord {
  readonly windowId: string;
  readonly org: string;
  /** Charged to the org's buyers into the window's pool. */
  readonly charged: string;
  /** Paid to the org's sellers out of the window's pool. */
  readonly paid: string;
  /** Escrow refunded to the org's accounts after the clearing. */
  readonly refunded: string;
  readonly revealed?: RevealRecord;
  /** Set at the reveal: offers above their home's current available energy, not revealed. */
  readonly withdrawnOffers?: number;
  readonly released?: ReleaseRecord;
  readonly delivery?: DeliveryTotalsRecord;
  readonly settlement?: SettlementRecord;
}

export function parseWindowSpec(value: unknown, now: Date): WindowSpec {
  const spec = requireObject(value, 'spec');
  requireOnlyKeys(spec, 'spec', [
    'deliverySlotId',
    'deliveryStart',
    'deliveryEnd',
    'closesAt',
    'pricingRule',
    'reportGraceSeconds',
  ]);
  const deliverySlotId = parseSlotId(spec.deliverySlotId, 'spec.deliverySlotId');
  const deliveryStart = parseTimestamp(spec.deliveryStart, 'spec.deliveryStart');
  const deliveryEnd = parseTimestamp(spec.deliveryEnd, 'spec.deliveryEnd');
  const closesAt = parseTimestamp(spec.closesAt, 'spec.closesAt');
  const pricingRule =
    spec.pricingRule === undefined
      ? DEFAULT_CLEARING_RULE
      : parseClearingRule(spec.pricingRule, 'spec.pricingRule');
  const reportGraceSeconds =
    spec.reportGraceSeconds === undefined
      ? DEFAULT_REPORT_GRACE_SECONDS
      : requireInteger(spec.reportGraceSeconds, 'spec.reportGraceSeconds', 0, MAX_REPORT_GRACE_SECONDS);
  if (closesAt <= now) {
    throw invalidArgument('spec.closesAt must be after the transaction time');
  }
  if (closesAt.getTime() - now.getTime() > MAX_CLOSE_LEAD_MS) {
    throw invalidArgument('spec.closesAt must be at most 7 days after the transaction time');
  }
  if (deliveryStart < closesAt) {
    throw invalidArgument('spec.deliveryStart must not be before spec.closesAt');
  }
  if (deliveryEnd <= deliveryStart) {
    throw invalidArgument('spec.deliveryEnd must be after spec.deliveryStart');
  }
  if (deliveryEnd.getTime() - deliveryStart.getTime() > MAX_DELIVERY_MS) {
    throw invalidArgument('a window delivers for at most 24 hours');
  }
  return {
    deliverySlotId,
    deliveryStart: isoTime(deliveryStart),
    deliveryEnd: isoTime(deliveryEnd),
    closesAt: isoTime(closesAt),
    pricingRule,
    revealBy: isoTime(deliveryStart),
    reportBy: isoTime(new Date(deliveryEnd.getTime() + reportGraceSeconds * 1000)),
  };
}

export function isClosed(window: WindowRecord, now: Date): boolean {
  return now >= new Date(window.closesAt);
}

/** Whether the operator may clear without the utilities that have not revealed. */
export function isPastRevealBy(window: WindowRecord, now: Date): boolean {
  return now >= new Date(window.revealBy);
}

/** Whether a utility may settle without the delivery reports still missing. */
export function isPastReportBy(window: WindowRecord, now: Date): boolean {
  return now >= new Date(window.reportBy);
}

/**
 * When the window was settled, derived from the per-org records: at the clearing for a window
 * without trades, else when the last org with trades settled; undefined while it is not.
 */
export function settledAtOf(window: WindowRecord, records: readonly WindowOrgRecord[]): string | undefined {
  if (window.clearedAt === undefined) {
    return undefined;
  }
  let settledAt = window.clearedAt;
  for (const org of window.tradeOrgs ?? []) {
    const settlement = records.find((record) => record.org === org)?.settlement;
    if (settlement === undefined) {
      return undefined;
    }
    settledAt = settlement.settledAt > settledAt ? settlement.settledAt : settledAt;
  }
  return settledAt;
}

export function windowStatus(
  window: WindowRecord,
  records: readonly WindowOrgRecord[],
  now: Date,
): WindowStatus {
  if (settledAtOf(window, records) !== undefined) {
    return 'SETTLED';
  }
  if (window.clearedAt !== undefined) {
    return 'CLEARED';
  }
  return isClosed(window, now) ? 'CLOSED' : 'OPEN';
}

/**
 * The pool: what the org records charged minus what they paid out and what went to the grid.
 * Each part speaks for its utility alone, so a part that misstates its amounts can make this
 * negative: it is shown as it is (the token reconciliation names the utility), never thrown on,
 * so that no utility's record can stop the others' settlement or a window's view.
 */
export function poolOf(window: WindowRecord, records: readonly WindowOrgRecord[]): PoolView {
  let charged = 0n;
  let paid = 0n;
  for (const record of records) {
    charged += unitsFromStored(record.charged, 'charged amount');
    paid += unitsFromStored(record.paid, 'paid amount');
  }
  const toGrid = window.gridShare === undefined ? 0n : unitsFromStored(window.gridShare, 'grid share');
  const amount = charged - paid - toGrid;
  return {
    amount: amount.toString(),
    charged: charged.toString(),
    paid: paid.toString(),
    toGrid: toGrid.toString(),
  };
}

/** A record as stored before fields `K` existed: they may be missing. */
type StoredBefore<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export function windowFromBytes(bytes: Uint8Array): WindowRecord {
  type Stored = StoredBefore<WindowRecord, 'revealBy' | 'reportBy'>;
  const record = parseStoredRecord<Stored>(bytes, 'window', [
    'windowId',
    'deliverySlotId',
    'deliveryStart',
    'deliveryEnd',
    'closesAt',
    'pricingRule',
    'openedAt',
    'operatorMspId',
    'orgs',
  ]);
  // Windows opened before the deadlines existed get the defaults a spec without them gets now.
  const deliveryEnd = new Date(record.deliveryEnd).getTime();
  return {
    ...record,
    revealBy: record.revealBy ?? record.deliveryStart,
    reportBy: record.reportBy ?? isoTime(new Date(deliveryEnd + DEFAULT_REPORT_GRACE_SECONDS * 1000)),
  };
}

export function windowOrgFromBytes(bytes: Uint8Array): WindowOrgRecord {
  return parseStoredRecord<WindowOrgRecord>(bytes, 'window org record', [
    'windowId',
    'org',
    'charged',
    'paid',
    'refunded',
  ]);
}

export function clearingFromBytes(bytes: Uint8Array): ClearingRecord {
  type Stored = StoredBefore<ClearingRecord, 'excludedOrgs' | 'droppedRevoked'>;
  const record = parseStoredRecord<Stored>(bytes, 'clearing', [
    'windowId',
    'pricingRule',
    'clearingPrice',
    'trades',
    'totals',
  ]);
  // Clearings published before exclusions and revocation checks existed had neither.
  return { ...record, excludedOrgs: record.excludedOrgs ?? [], droppedRevoked: record.droppedRevoked ?? 0 };
}

/** The orgs that have a side in at least one trade. */
export function orgsWithTrades(trades: readonly TradeRecord[]): string[] {
  return [...new Set(trades.flatMap((trade) => [trade.sellerOrg, trade.buyerOrg]))].sort();
}

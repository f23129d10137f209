import {
  canonicalBytes,
  canonicalJson,
  clearAuction,
  type ClearingRecord,
  type ClearingResult,
  type ClearingRule,
  type SealedOrderChecks,
  conflict,
  failedPrecondition,
  toEngineOrder,
  type TradeRecord,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState, type RecordView } from '../lib/state';
import { loadRevocations } from '../governance/records';
import { tradeIdOf } from './settlement';
import { isClosed, isPastRevealBy, orgsWithTrades, type WindowRecord } from './window';
import { withReadableOrders } from './org-record-check';
import {
  checksRecord,
  committedParts,
  privateHashOf,
  unfundedBids,
  unverifiedOrders,
  without,
} from './sealed-checks';
import { loadClearing, loadOrgRecords, loadWindow, revealedOrders, type RevealedOrder } from './windows';

type PublishedResult = Pick<ClearingRecord, 'pricingRule' | 'clearingPrice' | 'orders' | 'trades' | 'totals'>;

/** The public part of a clearing result, as ClearWindow publishes it and AuditClearing recomputes it. */
function publishedResult(result: ClearingResult, revealed: readonly RevealedOrder[]): PublishedResult {
  const orgOfRef = new Map(revealed.map((entry) => [entry.orderRef, entry.org]));
  const orgOf = (ref: string): string => {
    const org = orgOfRef.get(ref);
    if (org === undefined) {
      throw new Error('a trade names an order that was not revealed');
    }
    return org;
  };
  const trades = result.trades.map((trade, index): TradeRecord => ({
    tradeId: tradeIdOf(index),
    offerRef: trade.offerId,
    bidRef: trade.bidId,
    sellerAccount: trade.seller,
    buyerAccount: trade.buyer,
    sellerOrg: orgOf(trade.offerId),
    buyerOrg: orgOf(trade.bidId),
    energyWh: trade.quantityWh,
    price: trade.price,
    value: (BigInt(trade.quantityWh) * BigInt(trade.price)).toString(),
  }));
  return {
    pricingRule: result.rule,
    clearingPrice: result.clearingPrice,
    orders: revealed.length,
    trades,
    totals: { ...result.totals },
  };
}

/** The clearing of `orders` under the window's rule, as published. */
function clearOrders(orders: readonly RevealedOrder[], rule: ClearingRule): PublishedResult {
  return publishedResult(
    clearAuction(
      orders.map((entry) => toEngineOrder(entry.order)),
      rule,
    ),
    orders,
  );
}

/**
 * The revealed orders that take part in a clearing at `at`: those whose device certificate was
 * not revoked at or before that time (revocations are public, one list per utility).
 */
async function withoutRevoked(
  ctx: HemsContext,
  window: WindowRecord,
  revealed: readonly RevealedOrder[],
  at: Date,
): Promise<{ cleared: RevealedOrder[]; droppedRevoked: number }> {
  const revokedByOrg = new Map<string, Set<string>>();
  for (const org of new Set(revealed.map((entry) => entry.org))) {
    const { revoked } = await loadRevocations(ctx, org);
    revokedByOrg.set(
      org,
      new Set(revoked.filter((entry) => new Date(entry.revokedAt) <= at).map((entry) => entry.serial)),
    );
  }
  const cleared = revealed.filter((entry) => {
    const serial = entry.order.deviceSerial;
    // Orders stored before serials existed have none; since commitments, an order without its
    // device's serial cannot be checked against revocations and does not take part.
    if (serial === undefined) {
      return window.requiresCommitments !== true;
    }
    return revokedByOrg.get(entry.org)?.has(serial) !== true;
  });
  return { cleared, droppedRevoked: revealed.length - cleared.length };
}

/** What ClearWindow answers: a summary, since the clearing itself may be megabytes. */
export interface ClearingSummary {
  readonly windowId: string;
  readonly pricingRule: ClearingRule;
  readonly clearingPrice: number | null;
  readonly trades: number;
  readonly tradedWh: number;
  readonly excludedOrgs: readonly string[];
  readonly droppedRevoked: number;
  readonly checks?: SealedOrderChecks;
  readonly clearedAt: string;
  readonly txId: string;
}

/**
 * Clears the window over the revealed orders, once every utility revealed or after revealBy
 * without those that have not (excludedOrgs), leaving out those of devices whose certificate was
 * revoked by now, and publishes the trades. Writes only the clearing and the window.
 */
export async function clearWindow(ctx: HemsContext, id: string): Promise<ClearingSummary> {
  ctx.requireTimely('ClearWindow');
  const window = await loadWindow(ctx, id);
  const now = ctx.now;
  if (window.clearedAt !== undefined) {
    throw conflict(`window ${id} is already cleared`);
  }
  if (!isClosed(window, now)) {
    throw failedPrecondition(`window ${id} is open until ${window.closesAt}`);
  }
  const parts = await committedParts(
    ctx,
    window,
    withReadableOrders(window, await loadOrgRecords(ctx, window)),
  );
  const leftOut = [...parts.uncommittedOrgs, ...parts.unmatchedOrgs];
  const pending = parts.records
    .filter((record) => record.revealed === undefined && !leftOut.includes(record.org))
    .map((record) => record.org);
  if (pending.length > 0 && !isPastRevealBy(window, now)) {
    throw failedPrecondition(
      `window ${id} waits for the orders of ${pending.join(', ')} to be revealed (from ${window.revealBy} on it may be cleared without them)`,
    );
  }
  const { cleared: notRevoked, droppedRevoked } = await withoutRevoked(
    ctx,
    window,
    revealedOrders(parts.records),
    now,
  );
  const sealed = window.requiresCommitments === true;
  const unverified = sealed ? await unverifiedOrders(ctx, id, notRevoked) : [];
  const unfunded = sealed ? await unfundedBids(ctx, id, without(notRevoked, unverified)) : [];
  const cleared = without(notRevoked, [...unverified, ...unfunded]);
  const published = clearOrders(cleared, window.pricingRule);

  const clearing: ClearingRecord = {
    windowId: id,
    ...published,
    excludedOrgs: [...pending, ...leftOut].sort(),
    droppedRevoked,
    ...(sealed ? { checks: checksRecord(parts, unverified, unfunded) } : {}),
    clearedAt: isoTime(now),
    txId: ctx.stub.getTxID(),
  };
  // The orgs with trades report and settle; a window without any is settled at once.
  const updated: WindowRecord = {
    ...window,
    clearedAt: clearing.clearedAt,
    tradeOrgs: orgsWithTrades(published.trades),
  };
  await writeState(ctx.stub, ctx.keys.clearing(id), clearing);
  await writeState(ctx.stub, ctx.keys.window(id), updated);
  const summary = {
    windowId: id,
    pricingRule: clearing.pricingRule,
    clearingPrice: clearing.clearingPrice,
    trades: clearing.trades.length,
    tradedWh: clearing.totals.tradedWh,
  };
  ctx.stub.setEvent(WINDOW_EVENTS.cleared, canonicalBytes(summary));
  return {
    ...summary,
    excludedOrgs: clearing.excludedOrgs,
    droppedRevoked,
    ...(clearing.checks === undefined ? {} : { checks: clearing.checks }),
    clearedAt: clearing.clearedAt,
    txId: clearing.txId,
  };
}

/** The published clearing of a window: trades, price, totals. */
export async function clearingOf(ctx: HemsContext, id: string): Promise<ClearingRecord> {
  return loadClearing(ctx, await loadWindow(ctx, id));
}

/**
 * Recomputes the clearing from the revealed orders (with the same parts, and leaving out, as the
 * clearing did, those of devices revoked by the clearing time and those its checks left out),
 * checks every order that took part against the private-data hash Fabric keeps on every peer, and
 * compares with what was published. A hash that is gone although the clearing found it was purged
 * (blockToLive); an order the clearing left out for a missing hash is reported apart
 * (`ordersUnverified`), and must still have no matching hash.
 */
export async function auditClearing(ctx: HemsContext, id: string): Promise<RecordView> {
  const window = await loadWindow(ctx, id);
  const clearing = await loadClearing(ctx, window);
  const parts = await committedParts(
    ctx,
    window,
    withReadableOrders(window, await loadOrgRecords(ctx, window)),
  );
  const revealed = revealedOrders(parts.records);
  const { cleared: notRevoked } = await withoutRevoked(ctx, window, revealed, new Date(clearing.clearedAt));
  const checks = clearing.checks;
  const unverifiedRefs = new Set(checks?.unverifiedOrders ?? []);
  const leftRefs = new Set([...unverifiedRefs, ...(checks?.unfundedBids ?? [])]);
  const used = notRevoked.filter((entry) => !leftRefs.has(entry.orderRef));
  const { mismatched, purged } = await checkRevealedHashes(
    ctx,
    id,
    revealed.filter((entry) => !unverifiedRefs.has(entry.orderRef)),
  );
  // An order the clearing left out for its hash must still have none that matches.
  const leftOutUnverified = revealed.filter((entry) => unverifiedRefs.has(entry.orderRef));
  const verifiedNow = without(leftOutUnverified, await unverifiedOrders(ctx, id, leftOutUnverified));
  const recomputed = {
    ...clearOrders(used, window.pricingRule),
    ...(checks === undefined
      ? {}
      : {
          checks: {
            ...checks,
            uncommittedOrgs: parts.uncommittedOrgs,
            unmatchedOrgs: parts.unmatchedOrgs,
          },
        }),
  };
  const published = {
    pricingRule: clearing.pricingRule,
    clearingPrice: clearing.clearingPrice,
    orders: clearing.orders,
    trades: clearing.trades,
    totals: clearing.totals,
    ...(checks === undefined ? {} : { checks }),
  };
  const sameResult = canonicalJson(recomputed) === canonicalJson(published);
  return {
    windowId: id,
    matches: sameResult && mismatched.length === 0 && verifiedNow.length === 0,
    sameResult,
    ordersVerified: revealed.length - leftOutUnverified.length - mismatched.length - purged,
    ordersMismatched: mismatched,
    ordersPurged: purged,
    ordersUnverified: [...unverifiedRefs].sort(),
    ordersWronglyLeftOut: verifiedNow.map((entry) => entry.orderRef).sort(),
    recomputed,
    published,
  };
}

/** The orders whose bytes differ from the on-chain hash, and how many have no hash left. */
async function checkRevealedHashes(
  ctx: HemsContext,
  id: string,
  revealed: readonly RevealedOrder[],
): Promise<{ mismatched: string[]; purged: number }> {
  const mismatched: string[] = [];
  let purged = 0;
  for (const entry of revealed) {
    const status = await privateHashOf(ctx, id, entry);
    if (status === 'absent') {
      purged += 1;
    } else if (status === 'mismatched') {
      mismatched.push(entry.orderRef);
    }
  }
  return { mismatched, purged };
}

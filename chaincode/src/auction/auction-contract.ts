import { Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, parseJsonArgument } from '@hems/protocol';
import { HemsContext } from '../lib/context';
import { HemsContract } from '../lib/contract';
import { parsePageRequest } from '../lib/paging';
import { postAvailableEnergy } from './availability';
import { auditClearing, clearingOf, clearWindow } from './clear-window';
import { reportDelivery } from './delivery';
import { releaseEscrow } from './escrow';
import { listWindows, MAX_SPEC_BYTES, openTradingWindow, windowViewOf } from './lifecycle';
import { cancelOrder, cancelOrders, orderRefs, submitOrder, submitOrders } from './orders';
import { commitOrders } from './commitments';
import { closeDeliveryReports } from './report-closure';
import { revealOrders } from './reveal';
import { claimGridShare } from './grid-share';
import { settleWindow } from './settle-window';
import { parseWindowSpec } from './window';
import { loadClearedWindow, parseWindowId } from './windows';

/**
 * The peer-to-peer energy auction (docs/auction.md): the market operator opens a trading window per
 * delivery slot; prosumers' offers and consumers' bids, signed by their devices, stay sealed in
 * their utility's collection until the close; then each utility reveals its orders, the operator
 * clears the window in public, the meter head-ends report delivery and the utilities settle on the
 * token ledger (TokenContract).
 */
@Info({
  title: 'AuctionContract',
  description:
    'Sealed-order double auction of energy per trading window, cleared in public and settled in tokens',
})
export class AuctionContract extends HemsContract {
  constructor() {
    super('auction');
  }

  /** Market operator: opens a trading window for a delivery slot. */
  @Transaction()
  @Param('windowId', 'string', 'window identifier, e.g. w-2026-11-21T11:00Z')
  @Param(
    'spec',
    'string',
    'JSON {deliverySlotId, deliveryStart, deliveryEnd, closesAt, pricingRule, reportGraceSeconds}',
  )
  @Returns('string')
  async OpenTradingWindow(ctx: HemsContext, windowId: string, spec: string): Promise<string> {
    const caller = await ctx.requireMarketOperator('OpenTradingWindow');
    const id = parseWindowId(windowId);
    const parsed = parseWindowSpec(parseJsonArgument(spec, 'spec', MAX_SPEC_BYTES), ctx.now);
    return canonicalJson(await openTradingWindow(ctx, caller.mspId, id, parsed));
  }

  /** The window's public record with its status, each utility's part and the derived pool. */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async GetWindow(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('GetWindow');
    return canonicalJson(await windowViewOf(ctx, parseWindowId(windowId)));
  }

  /** Windows in key order, a page at a time. */
  @Transaction(false)
  @Param('pageSize', 'string', 'number of windows per page, 1-100')
  @Param('bookmark', 'string', 'bookmark from the previous page, or empty for the first page')
  @Returns('string')
  async ListWindows(ctx: HemsContext, pageSize: string, bookmark: string): Promise<string> {
    await ctx.requireMember('ListWindows');
    const { items, fetched, bookmark: next } = await listWindows(ctx, parsePageRequest(pageSize, bookmark));
    return canonicalJson({ windows: items, fetched, bookmark: next });
  }

  /**
   * Meter head-end, on its utility's peer: the energy each listed prosumer may offer in the window
   * (transient `availability` = [{homeId, energyKwh}]). A later post for a home replaces the
   * earlier one until the window closes.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the availability is in transient data')
  @Returns('string')
  async PostAvailableEnergy(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PostAvailableEnergy', ['meter']);
    return canonicalJson(await postAvailableEnergy(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /**
   * Relay, on its utility's peer: stores a device-signed order sealed in the utility's collection.
   * Transient `payload` (the exact signed JSON {windowId, side, energyKwh, limitPrice, escrow,
   * nonce}), `signature`, `certificate`. A bid's escrow moves from the account's balance into the
   * account's escrow for the window; a new order of the same home replaces the old one and refunds
   * its escrow. The home's account must exist (opened by token:Deposit). The
   * response says nothing about the order, because a submitted transaction's response is in the block.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the order is in transient data')
  @Returns('string')
  async SubmitOrder(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SubmitOrder', ['relay']);
    return canonicalJson(await submitOrder(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /**
   * Relay, on its utility's peer: withdraws the device's order before the close (transient
   * `payload` = signed {windowId, action: 'cancel', nonce}, `signature`, `certificate`) and refunds
   * its escrow.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the signed cancellation is in transient data')
  @Returns('string')
  async CancelOrder(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('CancelOrder', ['relay']);
    return canonicalJson(await cancelOrder(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /**
   * The relay's batch path for orders: transient `items` = JSON [{payload, signature (base64),
   * certificate (PEM)}], at most 1,000, each verified and refused alone as SubmitOrder verifies
   * one, one item per home. The answer, written into the block, holds counts and the refused
   * items' positions with code and message — never a home, value or nonce.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the signed orders are in transient data')
  @Returns('string')
  async SubmitOrders(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SubmitOrders', ['relay']);
    return canonicalJson(await submitOrders(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /** The relay's batch path for cancellations: transient `items` as SubmitOrders takes them. */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the signed cancellations are in transient data')
  @Returns('string')
  async CancelOrders(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('CancelOrders', ['relay']);
    return canonicalJson(await cancelOrders(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /**
   * Relay or admin, on its utility's peer (evaluate): the references of the utility's orders in
   * the window, and the commitment to them (count, digest) that CommitOrders takes. Fabric refuses writes in a transaction that range-queries private data, so the
   * reveal is this listing, then RevealOrders with the list in transient data.
   */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ListOrderRefs(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListOrderRefs', ['relay', 'admin']);
    const id = parseWindowId(windowId);
    const { refs, commitment } = await orderRefs(ctx, caller.mspId, id);
    return canonicalJson({ windowId: id, org: caller.mspId, refs, ...commitment });
  }

  /**
   * Relay or admin of a utility, before the close, majority-endorsed: fixes the utility's
   * commitment to its sealed orders of the window (count and digest, as ListOrderRefs answers them
   * on its own peer). Its reveal must give this commitment, or none of its orders trade; a utility
   * without a commitment at the close does not trade in the window. It may commit again until the
   * close (the last commitment counts); from the first one on, its homes' orders and cancellations
   * of the window are refused.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Param('count', 'string', 'number of sealed orders, 0-5000')
  @Param('digest', 'string', 'SHA-256 (hex) over the orders, as ListOrderRefs answers it')
  @Returns('string')
  async CommitOrders(ctx: HemsContext, windowId: string, count: string, digest: string): Promise<string> {
    const caller = await ctx.requireUtilityRole('CommitOrders', ['relay', 'admin']);
    return canonicalJson(await commitOrders(ctx, caller.mspId, parseWindowId(windowId), count, digest));
  }

  /**
   * Relay or admin, on its utility's peer, after the close and before the clearing, once per
   * utility: writes every listed order (transient `refs`, from ListOrderRefs) into the utility's
   * window record with its exact private bytes, so anyone can check them against the private-data
   * hashes on the ledger. One key, pre-created with this peer's policy: new keys per order would
   * need the majority policy. An offer above its home's available energy as posted now (the meter
   * head-end may have lowered it after the offer) is withdrawn: not revealed, only counted.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the order references are in transient data')
  @Returns('string')
  async RevealOrders(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RevealOrders', ['relay', 'admin']);
    return canonicalJson(await revealOrders(ctx, caller.mspId, parseWindowId(windowId)));
  }

  /**
   * Market operator, once every utility revealed, or after revealBy without those that have not
   * (excludedOrgs): clears the window over the revealed orders, leaving out those of devices whose
   * certificate was revoked by now, and publishes the trades (GetClearing). It writes only the
   * clearing and the window: escrows above the value of a bid's trades are released by each
   * utility (ReleaseEscrow, or at its delivery report), since accounts may only be changed with
   * their utility's peer among the endorsers. Answers a summary: the clearing itself may be
   * megabytes, and a response travels in the block next to the write.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ClearWindow(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMarketOperator('ClearWindow');
    return canonicalJson(await clearWindow(ctx, parseWindowId(windowId)));
  }

  /** The published clearing of a window: trades, price, totals. */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async GetClearing(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('GetClearing');
    return canonicalJson(await clearingOf(ctx, parseWindowId(windowId)));
  }

  /**
   * Any member: recomputes the clearing from the revealed orders (leaving out, as the clearing
   * did, those of devices revoked by the clearing time), checks every revealed order's bytes
   * against the private-data hash Fabric keeps on every peer, and compares with what was
   * published. An order whose private data was purged (blockToLive) has no hash left: it is
   * counted as purged, not as a mismatch, and the match then rests on the recomputed clearing.
   */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async AuditClearing(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('AuditClearing');
    return canonicalJson(await auditClearing(ctx, parseWindowId(windowId)));
  }

  /**
   * Relay or admin of a utility, on its own peer (its accounts and window record carry policies
   * naming only that peer), after the clearing. Once: refunds the escrow of each of the utility's
   * revealed bids above the value of its trades (all of it for a bid that did not trade). Reads no
   * private data. Optional transient `accounts` (JSON array of account ids of the utility): accounts
   * with an escrow in the window but no revealed order (orders the utility did not reveal, or all
   * of them when it did not reveal by revealBy) are refunded in full; this part may be repeated
   * with other accounts. Once the market operator closed the reports without this utility's
   * (CloseDeliveryReports), a further call refunds what its bids still hold.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; optional account ids are in transient data')
  @Returns('string')
  async ReleaseEscrow(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReleaseEscrow', ['relay', 'admin']);
    const cleared = await loadClearedWindow(ctx, caller.mspId, parseWindowId(windowId));
    return canonicalJson(await releaseEscrow(ctx, cleared));
  }

  /**
   * Meter head-end, on its utility's peer, after the delivery period, once per utility: the metered
   * energy of each of the utility's trade sides (transient `readings` = [{tradeId, side,
   * energyKwh}]). Readings stay private; the per-org totals are public. Each of the utility's
   * buyers pays price x received out of its escrow into the window's pool at once, and the rest of
   * the escrow of every revealed bid of the utility is refunded (ReleaseEscrow's refunds included,
   * if it did not run): so the pool holds every buyer's payment before any seller is paid.
   * Closed once the market operator closed the reports after reportBy (CloseDeliveryReports);
   * ReleaseEscrow then refunds the bids of a utility whose report did not count.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the readings are in transient data')
  @Returns('string')
  async ReportDelivery(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReportDelivery', ['meter']);
    const cleared = await loadClearedWindow(ctx, caller.mspId, parseWindowId(windowId));
    return canonicalJson(await reportDelivery(ctx, cleared));
  }

  /**
   * Market operator, from reportBy on, once (majority-endorsed: it decides whose sellers are
   * paid, so no single utility may): fixes in the window record which utilities with trades have no
   * delivery report that counts — none stored, or totals beyond what the clearing allows them —
   * (`unreportedOrgs`, possibly empty). Every settlement then uses this set; later reports are
   * refused.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async CloseDeliveryReports(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMarketOperator('CloseDeliveryReports');
    return canonicalJson(await closeDeliveryReports(ctx, parseWindowId(windowId)));
  }

  /**
   * Relay or admin, on its utility's peer, once every utility with trades has a delivery report
   * that counts, or once the market operator closed the reports (CloseDeliveryReports), once per
   * utility: pays each of the utility's sellers floor(price x delivered x f), f = min(1, B / S),
   * out of the window's pool, B and S summed over the reports that count. A missing report counts
   * as nothing delivered and nothing received: that utility's buyers are not charged, its sellers
   * get nothing, and if it is the caller's own, what its bids still hold in escrow is refunded
   * here. The window is SETTLED when every utility with trades has settled; what is left in the
   * pool is then the grid's share (ClaimGridShare).
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async SettleWindow(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SettleWindow', ['relay', 'admin']);
    const cleared = await loadClearedWindow(ctx, caller.mspId, parseWindowId(windowId));
    return canonicalJson(await settleWindow(ctx, cleared));
  }

  /**
   * Market operator who opened the window, once it is SETTLED, once: credits what is left in the
   * pool (energy the buyers received that sellers did not deliver, plus rounding) to the grid
   * account `grid:<operator MSP>`. So that a utility that never settles cannot hold it, it may also
   * be claimed from one hour after the delivery reports were closed, keeping in the pool the
   * seller value of each unsettled utility's counted report (`reserved`); the rest is claimed once
   * the window is SETTLED. Majority-endorsed: the grid account has no key-level policy.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ClaimGridShare(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireMarketOperator('ClaimGridShare');
    return canonicalJson(await claimGridShare(ctx, caller.mspId, parseWindowId(windowId)));
  }
}

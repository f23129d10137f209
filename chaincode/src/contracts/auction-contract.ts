import { timingSafeEqual } from 'node:crypto';
import { Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { canonicalBytes, canonicalJson, parseJsonArgument, parseStoredRecord } from '../lib/canonical-json';
import { isoTime } from '../lib/clock';
import { HemsContext } from '../lib/context';
import { conflict, failedPrecondition, forbidden, invalidArgument, notFound } from '../lib/errors';
import { collectionOf, KeyType } from '../lib/keys';
import {
  loadHomeRefSecret,
  peerOfOrgPolicy,
  requireTransientJson,
  sha256Hex,
  verifySignedDevicePayload,
} from '../lib/ledger';
import { drain, drainPage, readPrivate, readState, writePrivate, writeState } from '../lib/state';
import {
  parseHomeId,
  parseHomeRef,
  parseIntegerArgument,
  parseSlotId,
  requireArray,
  requireObject,
  requireOnlyKeys,
} from '../lib/validation';
import { decodeNonce } from '../model/forecast';
import { sumBigint } from '../auction/amounts';
import { clearAuction, type ClearingResult } from '../auction/clearing';
import {
  accountIdOf,
  availabilityReference,
  gridAccountOf,
  isAccountId,
  orderReference,
  readingReference,
} from '../auction/references';
import {
  buyerCharges,
  deliveryTotals,
  MAX_TRADES,
  meteredWh,
  parseReadings,
  sellerPayments,
  sidesOf,
  tradeIdOf,
  tradeValueByBid,
  readingOf,
  sideKey,
} from '../auction/settlement';
import {
  MAX_ORDER_PAYLOAD_BYTES,
  parseCancelPayload,
  parseOrderPayload,
  storedOrderFromBytes,
  storedOrderPayload,
  toEngineOrder,
  type StoredOrder,
} from '../auction/signed-order';
import { TokenBook } from '../auction/token-ledger';
import {
  clearingFromBytes,
  isClosed,
  orgsWithTrades,
  parseWindowSpec,
  poolOf,
  settledAtOf,
  windowFromBytes,
  windowOrgFromBytes,
  windowStatus,
  type ClearingRecord,
  type TradeRecord,
  type WindowOrgRecord,
  type WindowRecord,
} from '../auction/window';

export const MAX_SPEC_BYTES = 4 * 1024;
/** Homes per PostAvailableEnergy call. */
export const MAX_AVAILABILITY_ENTRIES = 1000;
export const MAX_AVAILABILITY_BYTES = MAX_AVAILABILITY_ENTRIES * 256;
/** Orders one utility may reveal for one window (64 hex characters each in `refs`). */
export const MAX_REVEALED_ORDERS = 10000;
export const MAX_REFS_BYTES = MAX_REVEALED_ORDERS * 67 + 2;
/** Trade sides one utility may report for one window. */
export const MAX_READINGS_BYTES = 2 * MAX_TRADES * 64;
export const MAX_PAGE_SIZE = 100;
/** Accounts of orders a utility did not reveal that one ReleaseEscrow call may refund. */
export const MAX_RELEASE_ACCOUNTS = 1000;
export const MAX_RELEASE_ACCOUNTS_BYTES = MAX_RELEASE_ACCOUNTS * 40 + 2;

export const AuctionEvents = {
  opened: 'WindowOpened',
  revealed: 'OrdersRevealed',
  cleared: 'WindowCleared',
  delivery: 'DeliveryReported',
  settled: 'WindowSettled',
  gridClaimed: 'GridShareClaimed',
} as const;

/** Private record of the energy a prosumer may offer in a window; `ref` salts its on-chain hash. */
interface AvailabilityRecord {
  readonly ref: string;
  readonly windowId: string;
  readonly energyWh: number;
}

/** Private record of one meter reading; `ref` salts its on-chain hash. */
interface ReadingRecord {
  readonly ref: string;
  readonly windowId: string;
  readonly tradeId: string;
  readonly side: 'offer' | 'bid';
  readonly energyWh: number;
}

interface RevealedOrder {
  readonly org: string;
  readonly orderRef: string;
  readonly bytes: Uint8Array;
  readonly order: StoredOrder;
}

function parseWindowId(value: unknown): string {
  return parseSlotId(value, 'windowId');
}

/** The public part of a clearing result, as ClearWindow publishes it and AuditClearing recomputes it. */
function publishedResult(
  result: ClearingResult,
  revealed: readonly RevealedOrder[],
): Pick<ClearingRecord, 'pricingRule' | 'clearingPrice' | 'orders' | 'trades' | 'totals'> {
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
export class AuctionContract extends Contract {
  constructor() {
    super('auction');
  }

  override createContext(): HemsContext {
    return new HemsContext();
  }

  /** Market operator: opens a trading window for a delivery slot. */
  @Transaction()
  @Param('windowId', 'string', 'window identifier, e.g. w-2026-11-21T11:00Z')
  @Param('spec', 'string', 'JSON {deliverySlotId, deliveryStart, deliveryEnd, closesAt, pricingRule}')
  @Returns('string')
  async OpenTradingWindow(ctx: HemsContext, windowId: string, spec: string): Promise<string> {
    const caller = await ctx.requireMarketOperator('OpenTradingWindow');
    const id = parseWindowId(windowId);
    const now = ctx.now;
    const parsed = parseWindowSpec(parseJsonArgument(spec, 'spec', MAX_SPEC_BYTES), now);
    const key = ctx.keys.window(id);
    if ((await readState(ctx.stub, key)) !== undefined) {
      throw conflict(`window ${id} already exists`);
    }
    const orgs = [...(await ctx.settings()).utilityMspIds].sort();
    const window: WindowRecord = {
      windowId: id,
      ...parsed,
      openedAt: isoTime(now),
      openTxId: ctx.stub.getTxID(),
      operatorMspId: caller.mspId,
      orgs,
    };
    await writeState(ctx.stub, key, window);
    // Each utility's part is changed only from data its own peer holds (its orders, its meter
    // readings), so only that peer may endorse changes to it, as with the timeslot aggregates. The
    // key must exist with that policy before the utility's single-peer transactions write it: a
    // new key would be checked against the chaincode's majority policy.
    const orgRecords: WindowOrgRecord[] = [];
    for (const org of orgs) {
      const record: WindowOrgRecord = { windowId: id, org, charged: '0', paid: '0', refunded: '0' };
      orgRecords.push(record);
      const orgKey = ctx.keys.windowOrg(id, org);
      await writeState(ctx.stub, orgKey, record);
      await ctx.stub.setStateValidationParameter(orgKey, peerOfOrgPolicy(org));
    }
    ctx.stub.setEvent(
      AuctionEvents.opened,
      canonicalBytes({
        windowId: id,
        deliverySlotId: window.deliverySlotId,
        deliveryStart: window.deliveryStart,
        deliveryEnd: window.deliveryEnd,
        closesAt: window.closesAt,
        pricingRule: window.pricingRule,
      }),
    );
    return canonicalJson(this.view(window, orgRecords, now));
  }

  /** The window's public record with its status, each utility's part and the derived pool. */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async GetWindow(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('GetWindow');
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    return canonicalJson(this.view(window, await this.loadOrgRecords(ctx, window), ctx.now));
  }

  /** Windows in key order, a page at a time. */
  @Transaction(false)
  @Param('pageSize', 'string', 'number of windows per page, 1-100')
  @Param('bookmark', 'string', 'bookmark from the previous page, or empty for the first page')
  @Returns('string')
  async ListWindows(ctx: HemsContext, pageSize: string, bookmark: string): Promise<string> {
    await ctx.requireMember('ListWindows');
    const size = parseIntegerArgument(pageSize, 'pageSize', 1, MAX_PAGE_SIZE);
    if (typeof bookmark !== 'string' || bookmark.length > 1024) {
      throw invalidArgument('bookmark must be a string of at most 1024 characters');
    }
    const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
      KeyType.window,
      [],
      size,
      bookmark,
    );
    const now = ctx.now;
    const windows = [];
    for (const row of await drainPage(iterator)) {
      const window = windowFromBytes(row.value);
      // Only the records of orgs with trades decide whether a cleared window is settled.
      const records: WindowOrgRecord[] = [];
      for (const org of window.tradeOrgs ?? []) {
        records.push(await this.loadOrgRecord(ctx, window, org));
      }
      windows.push({
        windowId: window.windowId,
        deliverySlotId: window.deliverySlotId,
        closesAt: window.closesAt,
        status: windowStatus(window, records, now),
      });
    }
    return canonicalJson({ windows, fetched: metadata.fetchedRecordsCount, bookmark: metadata.bookmark });
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
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    this.requireOpen(window, ctx.now);
    const list = requireArray(
      requireTransientJson(ctx, 'availability', MAX_AVAILABILITY_BYTES),
      'availability',
      MAX_AVAILABILITY_ENTRIES,
    );
    if (list.length === 0) {
      throw invalidArgument('availability must list at least one home');
    }
    const entries = list.map((item, index) => {
      const name = `availability[${index}]`;
      const entry = requireObject(item, name);
      requireOnlyKeys(entry, name, ['homeId', 'energyKwh']);
      return {
        homeId: parseHomeId(entry.homeId, `${name}.homeId`),
        energyWh: meteredWh(entry.energyKwh, `${name}.energyKwh`),
      };
    });
    if (new Set(entries.map((entry) => entry.homeId)).size !== entries.length) {
      throw invalidArgument('availability lists a home twice');
    }
    const secret = await loadHomeRefSecret(ctx, org);
    for (const { homeId, energyWh } of entries) {
      const ref = availabilityReference(secret, id, homeId);
      const record: AvailabilityRecord = { ref, windowId: id, energyWh };
      await writePrivate(ctx.stub, collectionOf(org), ctx.keys.availability(id, ref), record);
    }
    return canonicalJson({ windowId: id, org, homes: entries.length, txId: ctx.stub.getTxID() });
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
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    this.requireOpen(window, now);
    const { device, payload: payloadBytes } = await verifySignedDevicePayload(
      ctx,
      org,
      MAX_ORDER_PAYLOAD_BYTES,
      'order',
    );
    const payload = parseOrderPayload(payloadBytes);
    if (payload.windowId !== id) {
      throw invalidArgument('payload.windowId does not match the windowId argument');
    }
    const collection = collectionOf(org);
    const nonceKey = await this.freshNonceKey(ctx, collection, id, payload.nonce);
    const secret = await loadHomeRefSecret(ctx, org);
    const accountId = accountIdOf(secret, device.homeId);
    const orderRef = orderReference(secret, id, device.homeId);

    if (payload.side === 'offer') {
      const availabilityRef = availabilityReference(secret, id, device.homeId);
      const bytes = await readPrivate(ctx.stub, collection, ctx.keys.availability(id, availabilityRef));
      if (bytes === undefined) {
        throw failedPrecondition(`no available energy is posted for this prosumer in window ${id}`);
      }
      const availability = parseStoredRecord<AvailabilityRecord>(bytes, 'availability', ['energyWh']);
      if (payload.energyWh > availability.energyWh) {
        throw failedPrecondition('offer exceeds the available energy for this window');
      }
    }
    // Offers and bids read the same public key (the account), so the read set does not tell them
    // apart. The account must exist: this single-peer transaction may only update a key that
    // already carries the policy naming this utility's peer, and a seller needs it to be paid.
    const book = new TokenBook(ctx);
    const account = await book.load(accountId);
    if (account === undefined) {
      throw failedPrecondition(
        'the home has no token account: its utility opens one with token:Deposit first',
      );
    }
    if (account.mspId !== org) {
      throw failedPrecondition("the home's account id is held by another organization");
    }
    const previousEscrow = await book.escrowOf(id, accountId, org);
    await book.release(id, accountId, org, previousEscrow, 'refund');
    await book.escrow(id, accountId, org, payload.escrow);

    const stored: StoredOrder = {
      windowId: id,
      orderRef,
      accountId,
      payload: Buffer.from(payloadBytes).toString('utf8'),
      submittedAt: now.getTime(),
    };
    await writePrivate(ctx.stub, collection, ctx.keys.order(id, orderRef), stored);
    await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
    await book.flush();
    return canonicalJson({ windowId: id, txId: ctx.stub.getTxID(), acceptedAt: isoTime(now) });
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
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    this.requireOpen(window, now);
    const { device, payload: payloadBytes } = await verifySignedDevicePayload(
      ctx,
      org,
      MAX_ORDER_PAYLOAD_BYTES,
      'cancellation',
    );
    const payload = parseCancelPayload(payloadBytes);
    if (payload.windowId !== id) {
      throw invalidArgument('payload.windowId does not match the windowId argument');
    }
    const collection = collectionOf(org);
    const nonceKey = await this.freshNonceKey(ctx, collection, id, payload.nonce);
    const secret = await loadHomeRefSecret(ctx, org);
    const orderKey = ctx.keys.order(id, orderReference(secret, id, device.homeId));
    if ((await readPrivate(ctx.stub, collection, orderKey)) === undefined) {
      throw notFound(`the device has no order in window ${id}`);
    }
    // An order exists only for a home whose account existed when it was submitted.
    const accountId = accountIdOf(secret, device.homeId);
    const book = new TokenBook(ctx);
    await book.release(id, accountId, org, await book.escrowOf(id, accountId, org), 'refund');
    await ctx.stub.deletePrivateData(collection, orderKey);
    await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
    await book.flush();
    return canonicalJson({ windowId: id, txId: ctx.stub.getTxID(), cancelledAt: isoTime(now) });
  }

  /**
   * Relay or admin, on its utility's peer (evaluate): the references of the utility's orders in
   * the window. Fabric refuses writes in a transaction that range-queries private data, so the
   * reveal is this listing, then RevealOrders with the list in transient data.
   */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ListOrderRefs(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListOrderRefs', ['relay', 'admin']);
    const id = parseWindowId(windowId);
    await this.loadWindow(ctx, id);
    const rows = await drain(
      ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(caller.mspId), KeyType.order, [id]),
    );
    const refs = rows.map((row) => ctx.stub.splitCompositeKey(row.key).attributes[1]);
    return canonicalJson({ windowId: id, org: caller.mspId, refs });
  }

  /**
   * Relay or admin, on its utility's peer, after the close, once per utility: writes every listed
   * order (transient `refs`, from ListOrderRefs) into the utility's window record with its exact
   * private bytes, so anyone can check them against the private-data hashes on the ledger. One key,
   * pre-created with this peer's policy: new keys per order would need the majority policy.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the order references are in transient data')
  @Returns('string')
  async RevealOrders(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RevealOrders', ['relay', 'admin']);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    if (!isClosed(window, now)) {
      throw failedPrecondition(
        `window ${id} is open until ${window.closesAt}: orders stay sealed until then`,
      );
    }
    const orgRecord = await this.loadOrgRecord(ctx, window, org);
    if (orgRecord.revealed !== undefined) {
      throw conflict(`${org} has already revealed its orders of window ${id}`);
    }
    const list = requireArray(requireTransientJson(ctx, 'refs', MAX_REFS_BYTES), 'refs', MAX_REVEALED_ORDERS);
    const refs = list.map((ref, index) => parseHomeRef(ref, `refs[${index}]`));
    if (new Set(refs).size !== refs.length) {
      throw invalidArgument('refs lists an order twice');
    }
    const collection = collectionOf(org);
    const revealed: { ref: string; bytes: Uint8Array }[] = [];
    for (const ref of [...refs].sort()) {
      const bytes = await readPrivate(ctx.stub, collection, ctx.keys.order(id, ref));
      if (bytes === undefined) {
        throw conflict(`a listed order of window ${id} does not exist (list the orders again)`);
      }
      const order = storedOrderFromBytes(bytes);
      if (order.orderRef !== ref || order.windowId !== id) {
        throw new Error('a stored order does not match its key');
      }
      revealed.push({ ref, bytes });
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      revealed: {
        count: revealed.length,
        // The exact private bytes, not a re-serialization: their SHA-256 is the on-chain hash
        // (orders are UTF-8 text, checked at submission, so the text round-trips to the bytes).
        orders: revealed.map(({ bytes }) => Buffer.from(bytes).toString('utf8')),
        revealedAt: isoTime(now),
        txId: ctx.stub.getTxID(),
      },
    };
    await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
    ctx.stub.setEvent(AuctionEvents.revealed, canonicalBytes({ windowId: id, org, count: revealed.length }));
    return canonicalJson(this.partView(updated));
  }

  /**
   * Market operator, after every utility revealed: clears the window over the revealed orders and
   * publishes the trades. It writes only the clearing and the window: escrows above the value of
   * a bid's trades are released by each utility (ReleaseEscrow, or at its delivery report), since
   * accounts may only be changed with their utility's peer among the endorsers.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ClearWindow(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMarketOperator('ClearWindow');
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    if (window.clearedAt !== undefined) {
      throw conflict(`window ${id} is already cleared`);
    }
    if (!isClosed(window, now)) {
      throw failedPrecondition(`window ${id} is open until ${window.closesAt}`);
    }
    const records = await this.loadOrgRecords(ctx, window);
    const pending = records.filter((record) => record.revealed === undefined).map((record) => record.org);
    if (pending.length > 0) {
      throw failedPrecondition(`window ${id} waits for the orders of ${pending.join(', ')} to be revealed`);
    }
    const revealed = this.revealedOrders(records);
    const published = publishedResult(
      clearAuction(
        revealed.map((entry) => toEngineOrder(entry.order)),
        window.pricingRule,
      ),
      revealed,
    );

    const clearing: ClearingRecord = {
      windowId: id,
      ...published,
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
    ctx.stub.setEvent(
      AuctionEvents.cleared,
      canonicalBytes({
        windowId: id,
        pricingRule: clearing.pricingRule,
        clearingPrice: clearing.clearingPrice,
        trades: clearing.trades.length,
        tradedWh: clearing.totals.tradedWh,
      }),
    );
    return canonicalJson(clearing);
  }

  /** The published clearing of a window: trades, price, totals. */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async GetClearing(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('GetClearing');
    const id = parseWindowId(windowId);
    return canonicalJson(await this.loadClearing(ctx, await this.loadWindow(ctx, id)));
  }

  /**
   * Any member: recomputes the clearing from the revealed orders, checks every revealed order's
   * bytes against the private-data hash Fabric keeps on every peer, and compares with what was
   * published.
   */
  @Transaction(false)
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async AuditClearing(ctx: HemsContext, windowId: string): Promise<string> {
    await ctx.requireMember('AuditClearing');
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const clearing = await this.loadClearing(ctx, window);
    const revealed = this.revealedOrders(await this.loadOrgRecords(ctx, window));
    const mismatched: string[] = [];
    for (const entry of revealed) {
      const onChain = Buffer.from(
        await ctx.stub.getPrivateDataHash(collectionOf(entry.org), ctx.keys.order(id, entry.orderRef)),
      );
      const computed = Buffer.from(sha256Hex(entry.bytes), 'hex');
      if (onChain.length !== computed.length || !timingSafeEqual(onChain, computed)) {
        mismatched.push(entry.orderRef);
      }
    }
    const recomputed = publishedResult(
      clearAuction(
        revealed.map((entry) => toEngineOrder(entry.order)),
        window.pricingRule,
      ),
      revealed,
    );
    const published = {
      pricingRule: clearing.pricingRule,
      clearingPrice: clearing.clearingPrice,
      orders: clearing.orders,
      trades: clearing.trades,
      totals: clearing.totals,
    };
    const sameResult = canonicalJson(recomputed) === canonicalJson(published);
    return canonicalJson({
      windowId: id,
      matches: sameResult && mismatched.length === 0,
      sameResult,
      ordersVerified: revealed.length - mismatched.length,
      ordersMismatched: mismatched,
      recomputed,
      published,
    });
  }

  /**
   * Relay or admin of a utility, on its own peer (its accounts and window record carry policies
   * naming only that peer), after the clearing. Once: refunds the escrow of each of the utility's
   * revealed bids above the value of its trades (all of it for a bid that did not trade). Reads no
   * private data. Optional transient `accounts` (JSON array of account ids of the utility): accounts
   * with an escrow in the window but no revealed order (orders the utility did not reveal) are
   * refunded in full; this part may be repeated with other accounts.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; optional account ids are in transient data')
  @Returns('string')
  async ReleaseEscrow(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReleaseEscrow', ['relay', 'admin']);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    const clearing = await this.loadClearing(ctx, window);
    const orgRecord = await this.loadOrgRecord(ctx, window, org);
    const listed = this.parseReleaseAccounts(ctx);
    if (orgRecord.released !== undefined && listed.length === 0) {
      throw conflict(`${org} has already released the escrows of its revealed bids in window ${id}`);
    }
    const book = new TokenBook(ctx);
    const bids = this.revealedBids(orgRecord);
    let refunded = 0n;
    if (orgRecord.released === undefined) {
      const keep = tradeValueByBid(clearing.trades);
      for (const bid of bids) {
        const escrow = await book.escrowOf(id, bid.accountId, org);
        const kept = keep.get(bid.orderRef) ?? 0n;
        if (kept > escrow) {
          throw new Error('an escrow is smaller than the value of its trades');
        }
        await book.release(id, bid.accountId, org, escrow - kept, 'refund');
        refunded += escrow - kept;
      }
    }
    const revealedAccounts = new Set(this.revealedOrders([orgRecord]).map((entry) => entry.order.accountId));
    for (const [index, accountId] of listed.entries()) {
      const name = `accounts[${index}]`;
      if (revealedAccounts.has(accountId)) {
        throw invalidArgument(`${name} has a revealed order in window ${id}: its escrow follows its trades`);
      }
      const account = await book.load(accountId);
      if (account === undefined) {
        throw notFound(`${name} does not exist`);
      }
      if (account.mspId !== org) {
        throw forbidden(`${name} belongs to another organization`);
      }
      const escrow = await book.escrowOf(id, accountId, org);
      if (escrow === 0n) {
        throw failedPrecondition(`${name} holds no escrow in window ${id}`);
      }
      await book.release(id, accountId, org, escrow, 'refund');
      refunded += escrow;
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
      released: orgRecord.released ?? { releasedAt: isoTime(now), txId: ctx.stub.getTxID() },
    };
    await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
    await book.flush();
    return canonicalJson({
      windowId: id,
      org,
      refunded: refunded.toString(),
      unrevealedAccounts: listed.length,
      txId: ctx.stub.getTxID(),
    });
  }

  /**
   * Meter head-end, on its utility's peer, after the delivery period, once per utility: the metered
   * energy of each of the utility's trade sides (transient `readings` = [{tradeId, side,
   * energyKwh}]). Readings stay private; the per-org totals are public. Each of the utility's
   * buyers pays price x received out of its escrow into the window's pool at once, and the rest of
   * the escrow of every revealed bid of the utility is refunded (ReleaseEscrow's refunds included,
   * if it did not run): so the pool holds every buyer's payment before any seller is paid.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the readings are in transient data')
  @Returns('string')
  async ReportDelivery(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReportDelivery', ['meter']);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    const clearing = await this.loadClearing(ctx, window);
    if (now < new Date(window.deliveryEnd)) {
      throw failedPrecondition(`window ${id} delivers until ${window.deliveryEnd}; report after that`);
    }
    const orgRecord = await this.loadOrgRecord(ctx, window, org);
    if (orgRecord.delivery !== undefined) {
      throw conflict(`${org} has already reported the delivery of window ${id}`);
    }
    if (sidesOf(clearing.trades, org).length === 0) {
      throw failedPrecondition(`${org} has no trades in window ${id}`);
    }
    const readings = parseReadings(
      requireTransientJson(ctx, 'readings', MAX_READINGS_BYTES),
      clearing.trades,
      org,
    );
    const totals = deliveryTotals(clearing.trades, org, readings);

    // Every revealed bid of the org gives up its whole escrow for the window here: the charge for
    // what it received goes to the pool, the rest goes back to its balance.
    const book = new TokenBook(ctx);
    const charges = buyerCharges(clearing.trades, org, readings);
    let refunded = 0n;
    let charged = 0n;
    for (const bid of this.revealedBids(orgRecord)) {
      const escrow = await book.escrowOf(id, bid.accountId, org);
      const charge = charges.get(bid.accountId) ?? 0n;
      if (charge > escrow) {
        throw new Error('a buyer charge exceeds its escrow');
      }
      await book.release(id, bid.accountId, org, charge, 'charge');
      await book.release(id, bid.accountId, org, escrow - charge, 'refund');
      charged += charge;
      refunded += escrow - charge;
    }
    if (charged !== totals.buyerCharge) {
      throw new Error('the buyer charges differ from the delivery totals');
    }

    const secret = await loadHomeRefSecret(ctx, org);
    for (const { trade, side } of sidesOf(clearing.trades, org)) {
      const ref = readingReference(secret, id, trade.tradeId, side);
      const record: ReadingRecord = {
        ref,
        windowId: id,
        tradeId: trade.tradeId,
        side,
        energyWh: readingOf(readings, trade.tradeId, side),
      };
      await writePrivate(ctx.stub, collectionOf(org), ctx.keys.reading(id, ref), record);
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      charged: (BigInt(orgRecord.charged) + charged).toString(),
      refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
      released: orgRecord.released ?? { releasedAt: isoTime(now), txId: ctx.stub.getTxID() },
      delivery: {
        deliveredWh: totals.deliveredWh,
        receivedWh: totals.receivedWh,
        sellerValue: totals.sellerValue.toString(),
        buyerCharge: totals.buyerCharge.toString(),
        reportedAt: isoTime(now),
        txId: ctx.stub.getTxID(),
      },
    };
    await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
    await book.flush();
    ctx.stub.setEvent(
      AuctionEvents.delivery,
      canonicalBytes({
        windowId: id,
        org,
        deliveredWh: totals.deliveredWh,
        receivedWh: totals.receivedWh,
        sellerValue: totals.sellerValue.toString(),
        buyerCharge: totals.buyerCharge.toString(),
      }),
    );
    return canonicalJson(this.partView(updated));
  }

  /**
   * Relay or admin, on its utility's peer, once every utility with trades has reported, once per
   * utility: pays each of the utility's sellers floor(price x delivered x f), f = min(1, B / S),
   * out of the window's pool. The window is SETTLED when every utility with trades has settled;
   * what is left in the pool is then the grid's share (ClaimGridShare).
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async SettleWindow(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SettleWindow', ['relay', 'admin']);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    const clearing = await this.loadClearing(ctx, window);
    const tradeOrgs = orgsWithTrades(clearing.trades);
    if (!tradeOrgs.includes(org)) {
      throw failedPrecondition(`${org} has no trades to settle in window ${id}`);
    }
    const records = await this.loadOrgRecords(ctx, window);
    const orgRecord = records.find((record) => record.org === org);
    if (orgRecord === undefined) {
      throw new Error(`window ${id} lacks the record of ${org}`);
    }
    if (orgRecord.settlement !== undefined) {
      throw conflict(`${org} has already settled window ${id}`);
    }
    const tradeRecords = records.filter((record) => tradeOrgs.includes(record.org));
    const unreported = tradeRecords
      .filter((record) => record.delivery === undefined)
      .map((record) => record.org);
    if (unreported.length > 0) {
      throw failedPrecondition(`window ${id} waits for the delivery reports of ${unreported.join(', ')}`);
    }
    const windowCharge = sumBigint(tradeRecords.map((record) => BigInt(record.delivery?.buyerCharge ?? '0')));
    const windowValue = sumBigint(tradeRecords.map((record) => BigInt(record.delivery?.sellerValue ?? '0')));

    const secret = await loadHomeRefSecret(ctx, org);
    const readings = new Map<string, number>();
    for (const { trade, side } of sidesOf(clearing.trades, org)) {
      const bytes = await readPrivate(
        ctx.stub,
        collectionOf(org),
        ctx.keys.reading(id, readingReference(secret, id, trade.tradeId, side)),
      );
      if (bytes === undefined) {
        throw failedPrecondition(`a meter reading of ${org} for window ${id} is missing from its collection`);
      }
      const record = parseStoredRecord<ReadingRecord>(bytes, 'reading', ['energyWh']);
      readings.set(sideKey(trade.tradeId, side), record.energyWh);
    }
    const payments = sellerPayments(clearing.trades, org, readings, windowCharge, windowValue);
    const paid = sumBigint(payments.values());
    if (BigInt(poolOf(window, records).amount) < paid) {
      throw new Error(`the pool of window ${id} cannot cover the sellers' payments`);
    }
    const book = new TokenBook(ctx);
    for (const [accountId, amount] of payments) {
      await book.pay(id, accountId, org, amount);
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      paid: (BigInt(orgRecord.paid) + paid).toString(),
      settlement: { settledAt: isoTime(now), txId: ctx.stub.getTxID() },
    };
    const after = records.map((record) => (record.org === org ? updated : record));
    const final = settledAtOf(window, after) !== undefined;
    await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
    await book.flush();
    ctx.stub.setEvent(AuctionEvents.settled, canonicalBytes({ windowId: id, org, final }));
    return canonicalJson({
      ...this.partView(updated),
      sellersPaid: paid.toString(),
      final,
      pool: poolOf(window, after),
    });
  }

  /**
   * Market operator who opened the window, once it is SETTLED, once: credits what is left in the
   * pool (energy the buyers received that sellers did not deliver, plus rounding) to the grid
   * account `grid:<operator MSP>`. Majority-endorsed: the grid account has no key-level policy.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async ClaimGridShare(ctx: HemsContext, windowId: string): Promise<string> {
    const caller = await ctx.requireMarketOperator('ClaimGridShare');
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    if (caller.mspId !== window.operatorMspId) {
      throw forbidden(`ClaimGridShare of window ${id} is for the market operator of ${window.operatorMspId}`);
    }
    if (window.gridClaimedAt !== undefined) {
      throw conflict(`the grid share of window ${id} was already claimed`);
    }
    const records = await this.loadOrgRecords(ctx, window);
    if (settledAtOf(window, records) === undefined) {
      throw failedPrecondition(`window ${id} is not settled yet`);
    }
    const share = BigInt(poolOf(window, records).amount);
    const gridAccount = gridAccountOf(window.operatorMspId);
    const book = new TokenBook(ctx);
    if (share > 0n) {
      if ((await book.load(gridAccount)) === undefined) {
        await book.open(gridAccount, window.operatorMspId);
      }
      await book.pay(id, gridAccount, window.operatorMspId, share);
    }
    const now = ctx.now;
    const updated: WindowRecord = {
      ...window,
      gridShare: share.toString(),
      gridClaimedAt: isoTime(now),
      gridClaimTxId: ctx.stub.getTxID(),
    };
    await writeState(ctx.stub, ctx.keys.window(id), updated);
    await book.flush();
    ctx.stub.setEvent(
      AuctionEvents.gridClaimed,
      canonicalBytes({ windowId: id, account: gridAccount, amount: share.toString() }),
    );
    return canonicalJson({
      windowId: id,
      account: gridAccount,
      amount: share.toString(),
      claimedAt: updated.gridClaimedAt,
      txId: updated.gridClaimTxId,
    });
  }

  private view(
    window: WindowRecord,
    orgRecords: readonly WindowOrgRecord[],
    now: Date,
  ): Record<string, unknown> {
    const settledAt = settledAtOf(window, orgRecords);
    return {
      ...window,
      status: windowStatus(window, orgRecords, now),
      ...(settledAt === undefined ? {} : { settledAt }),
      parts: orgRecords.map((record) => this.partView(record)),
      pool: poolOf(window, orgRecords),
    };
  }

  /** An org record as answered: the revealed orders' bytes stay in state, only their count is shown. */
  private partView(record: WindowOrgRecord): Record<string, unknown> {
    if (record.revealed === undefined) {
      return { ...record };
    }
    const { count, revealedAt, txId } = record.revealed;
    return { ...record, revealed: { count, revealedAt, txId } };
  }

  /** Transient `accounts`: optional JSON array of distinct home account ids. */
  private parseReleaseAccounts(ctx: HemsContext): string[] {
    if ((ctx.stub.getTransient().get('accounts')?.length ?? 0) === 0) {
      return [];
    }
    const list = requireArray(
      requireTransientJson(ctx, 'accounts', MAX_RELEASE_ACCOUNTS_BYTES),
      'accounts',
      MAX_RELEASE_ACCOUNTS,
    );
    const accounts = list.map((value, index) => {
      if (typeof value !== 'string' || !value.startsWith('acct-') || !isAccountId(value)) {
        throw invalidArgument(
          `accounts[${index}] must be a home account id (acct- and 32 hexadecimal characters)`,
        );
      }
      return value;
    });
    if (new Set(accounts).size !== accounts.length) {
      throw invalidArgument('accounts lists an account twice');
    }
    return accounts;
  }

  /** The org's revealed bids: account and order reference. */
  private revealedBids(record: WindowOrgRecord): { accountId: string; orderRef: string }[] {
    return this.revealedOrders([record])
      .filter((entry) => storedOrderPayload(entry.order).side === 'bid')
      .map((entry) => ({ accountId: entry.order.accountId, orderRef: entry.orderRef }));
  }

  private requireOpen(window: WindowRecord, now: Date): void {
    if (isClosed(window, now)) {
      throw failedPrecondition(`window ${window.windowId} is closed since ${window.closesAt}`);
    }
  }

  /** The nonce marker key; a nonce already used in this window means a replayed payload. */
  private async freshNonceKey(
    ctx: HemsContext,
    collection: string,
    windowId: string,
    nonce: string,
  ): Promise<string> {
    const key = ctx.keys.orderNonce(windowId, sha256Hex(decodeNonce(nonce)));
    if ((await readPrivate(ctx.stub, collection, key)) !== undefined) {
      throw conflict('the payload nonce was already used: every signed payload needs a fresh random nonce');
    }
    return key;
  }

  private async loadWindow(ctx: HemsContext, windowId: string): Promise<WindowRecord> {
    const bytes = await readState(ctx.stub, ctx.keys.window(windowId));
    if (bytes === undefined) {
      throw notFound(`window ${windowId} does not exist`);
    }
    return windowFromBytes(bytes);
  }

  private async loadOrgRecords(ctx: HemsContext, window: WindowRecord): Promise<WindowOrgRecord[]> {
    const records: WindowOrgRecord[] = [];
    for (const org of window.orgs) {
      records.push(await this.loadOrgRecord(ctx, window, org));
    }
    return records;
  }

  private async loadOrgRecord(ctx: HemsContext, window: WindowRecord, org: string): Promise<WindowOrgRecord> {
    if (!window.orgs.includes(org)) {
      throw forbidden(`${org} was not a utility of the channel when window ${window.windowId} opened`);
    }
    const bytes = await readState(ctx.stub, ctx.keys.windowOrg(window.windowId, org));
    if (bytes === undefined) {
      throw new Error(`window ${window.windowId} lacks the record of ${org}`);
    }
    return windowOrgFromBytes(bytes);
  }

  private async loadClearing(ctx: HemsContext, window: WindowRecord): Promise<ClearingRecord> {
    const bytes = await readState(ctx.stub, ctx.keys.clearing(window.windowId));
    if (bytes === undefined) {
      throw failedPrecondition(`window ${window.windowId} is not cleared yet`);
    }
    return clearingFromBytes(bytes);
  }

  /** Every revealed order of the window, in org then order-reference order. */
  private revealedOrders(records: readonly WindowOrgRecord[]): RevealedOrder[] {
    return records.flatMap((record) =>
      (record.revealed?.orders ?? []).map((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const order = storedOrderFromBytes(bytes);
        return { org: record.org, orderRef: order.orderRef, bytes, order };
      }),
    );
  }
}

import { timingSafeEqual } from 'node:crypto';
import { Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalBytes,
  canonicalJson,
  clearAuction,
  type ClearingResult,
  collectionOf,
  conflict,
  decodeNonce,
  failedPrecondition,
  forbidden,
  gridAccountOf,
  invalidArgument,
  isAccountId,
  MAX_AVAILABILITY_BYTES,
  MAX_AVAILABILITY_ENTRIES,
  MAX_ORDER_PAYLOAD_BYTES,
  MAX_PAGE_SIZE,
  MAX_READINGS_BYTES,
  MAX_RELEASE_ACCOUNTS,
  MAX_RELEASE_ACCOUNTS_BYTES,
  notFound,
  parseCancelPayload,
  parseHomeId,
  parseHomeRef,
  parseIntegerArgument,
  parseJsonArgument,
  parseOrderPayload,
  parseSlotId,
  parseStoredRecord,
  requireArray,
  requireObject,
  requireOnlyKeys,
  type StoredOrder,
  storedOrderFromBytes,
  storedOrderPayload,
  sumBigint,
  toEngineOrder,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import { HemsContext, type HemsRole } from '../lib/context';
import { KeyType } from '../lib/keys';
import {
  loadHomeRefSecret,
  loadRevocations,
  peerOfOrgPolicy,
  requireTransientJson,
  sha256Hex,
  type SignedDevicePayload,
  verifySignedDevicePayload,
} from '../lib/ledger';
import { drain, drainPage, readPrivate, readState, writePrivate, writeState } from '../lib/state';
import {
  accountIdOf,
  availabilityReference,
  availabilityReferenceOfOrder,
  orderReference,
  readingReference,
} from '../auction/references';
import {
  buyerCharges,
  deliveryTotals,
  meteredWh,
  parseReadings,
  sellerPayments,
  sidesOf,
  tradeIdOf,
  tradeValueByBid,
  readingOf,
  sideKey,
} from '../auction/settlement';
import { TokenBook } from '../auction/token-ledger';
import {
  clearingFromBytes,
  isClosed,
  isPastReportBy,
  isPastRevealBy,
  orgsWithTrades,
  parseWindowSpec,
  poolOf,
  settledAtOf,
  unreportedOrgsOf,
  windowFromBytes,
  windowOrgFromBytes,
  windowStatus,
  type ClearingRecord,
  type TradeRecord,
  type WindowOrgRecord,
  type WindowRecord,
} from '../auction/window';

export const MAX_SPEC_BYTES = 4 * 1024;
/**
 * Orders one utility may reveal for one window. Its revealed orders live in one public record
 * written by one transaction, and Fabric refuses blocks above 10 MB: a typical order takes about
 * 0.5 KB there, so 5,000 stay near 2.5 MB. The cap applies at the reveal because the chaincode
 * cannot count submissions: a counter every order writes would be a shared key (all orders of a
 * window would conflict, and its versions would tell when orders arrive).
 */
export const MAX_REVEALED_ORDERS = 5000;
/**
 * Orders of a whole window, shared equally by its utilities (so 5,000 each for two, 2,500 for
 * four): the clearing record holds at most one trade per order, about 0.4 KB each.
 */
export const MAX_WINDOW_ORDERS = 10000;
/** Bytes of one utility's revealed record, whatever the orders' sizes (padded payloads). */
export const MAX_REVEALED_RECORD_BYTES = 4 * 1024 * 1024;
/** 64 hexadecimal characters, quotes and comma per reference in `refs`. */
export const MAX_REFS_BYTES = MAX_REVEALED_ORDERS * 67 + 2;
/** Trade sides one utility may report for one window. */

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
  @Param(
    'spec',
    'string',
    'JSON {deliverySlotId, deliveryStart, deliveryEnd, closesAt, pricingRule, reportGraceSeconds}',
  )
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
    await this.requireUnrevealed(ctx, window, org);
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
    const { org, id, now, device, payloadBytes, payload, collection, nonceKey, secret } =
      await this.acceptSignedWindowAction(ctx, windowId, 'SubmitOrder', 'order', parseOrderPayload);
    const accountId = accountIdOf(secret, device.homeId);
    const orderRef = orderReference(secret, id, device.homeId);

    // Bids read the home's availability key too, so the hashed read set does not tell the sides apart.
    const availabilityBytes = await readPrivate(
      ctx.stub,
      collection,
      ctx.keys.availability(id, availabilityReferenceOfOrder(secret, id, orderRef)),
    );
    if (payload.side === 'offer') {
      if (availabilityBytes === undefined) {
        throw failedPrecondition(`no available energy is posted for this prosumer in window ${id}`);
      }
      const availability = parseStoredRecord<AvailabilityRecord>(availabilityBytes, 'availability', [
        'energyWh',
      ]);
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
      deviceSerial: device.serial,
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
    const { org, id, now, device, collection, nonceKey, secret } = await this.acceptSignedWindowAction(
      ctx,
      windowId,
      'CancelOrder',
      'cancellation',
      parseCancelPayload,
    );
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
    if (window.clearedAt !== undefined) {
      throw failedPrecondition(
        `window ${id} was cleared without the orders of ${org}, which were not revealed by ${window.revealBy}: they do not trade; ReleaseEscrow with transient accounts refunds their escrows`,
      );
    }
    const refs = this.parseRevealRefs(ctx, window);
    const collection = collectionOf(org);
    const secret = await loadHomeRefSecret(ctx, org);
    const revealed: Uint8Array[] = [];
    let withdrawnOffers = 0;
    for (const ref of [...refs].sort()) {
      const bytes = await readPrivate(ctx.stub, collection, ctx.keys.order(id, ref));
      if (bytes === undefined) {
        throw conflict(`a listed order of window ${id} does not exist (list the orders again)`);
      }
      const order = storedOrderFromBytes(bytes);
      if (order.orderRef !== ref || order.windowId !== id) {
        throw new Error('a stored order does not match its key');
      }
      const payload = storedOrderPayload(order);
      if (payload.side === 'offer') {
        const availability = await readPrivate(
          ctx.stub,
          collection,
          ctx.keys.availability(id, availabilityReferenceOfOrder(secret, id, ref)),
        );
        const availableWh =
          availability === undefined
            ? -1
            : parseStoredRecord<AvailabilityRecord>(availability, 'availability', ['energyWh']).energyWh;
        if (payload.energyWh > availableWh) {
          withdrawnOffers += 1;
          continue;
        }
      }
      revealed.push(bytes);
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      revealed: {
        count: revealed.length,
        // The exact private bytes, not a re-serialization: their SHA-256 is the on-chain hash
        // (orders are UTF-8 text, checked at submission, so the text round-trips to the bytes).
        orders: revealed.map((bytes) => Buffer.from(bytes).toString('utf8')),
        revealedAt: isoTime(now),
        txId: ctx.stub.getTxID(),
      },
      withdrawnOffers,
    };
    const size = canonicalBytes(updated).length;
    if (size > MAX_REVEALED_RECORD_BYTES) {
      throw invalidArgument(
        `the listed orders take ${size} bytes in the window record, more than the ${MAX_REVEALED_RECORD_BYTES} one reveal may write (Fabric refuses blocks above 10 MB): list fewer orders; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
      );
    }
    await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
    ctx.stub.setEvent(AuctionEvents.revealed, canonicalBytes({ windowId: id, org, count: revealed.length }));
    return canonicalJson(this.partView(updated));
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
    if (pending.length > 0 && !isPastRevealBy(window, now)) {
      throw failedPrecondition(
        `window ${id} waits for the orders of ${pending.join(', ')} to be revealed (from ${window.revealBy} on it may be cleared without them)`,
      );
    }
    const { cleared, droppedRevoked } = await this.withoutRevoked(ctx, this.revealedOrders(records), now);
    const published = publishedResult(
      clearAuction(
        cleared.map((entry) => toEngineOrder(entry.order)),
        window.pricingRule,
      ),
      cleared,
    );

    const clearing: ClearingRecord = {
      windowId: id,
      ...published,
      excludedOrgs: pending,
      droppedRevoked,
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
    return canonicalJson({
      windowId: id,
      pricingRule: clearing.pricingRule,
      clearingPrice: clearing.clearingPrice,
      trades: clearing.trades.length,
      tradedWh: clearing.totals.tradedWh,
      excludedOrgs: clearing.excludedOrgs,
      droppedRevoked,
      clearedAt: clearing.clearedAt,
      txId: clearing.txId,
    });
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
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const clearing = await this.loadClearing(ctx, window);
    const revealed = this.revealedOrders(await this.loadOrgRecords(ctx, window));
    const mismatched: string[] = [];
    let purged = 0;
    for (const entry of revealed) {
      const onChain = Buffer.from(
        await ctx.stub.getPrivateDataHash(collectionOf(entry.org), ctx.keys.order(id, entry.orderRef)),
      );
      if (onChain.length === 0) {
        purged += 1;
        continue;
      }
      const computed = Buffer.from(sha256Hex(entry.bytes), 'hex');
      if (onChain.length !== computed.length || !timingSafeEqual(onChain, computed)) {
        mismatched.push(entry.orderRef);
      }
    }
    const { cleared } = await this.withoutRevoked(ctx, revealed, new Date(clearing.clearedAt));
    const recomputed = publishedResult(
      clearAuction(
        cleared.map((entry) => toEngineOrder(entry.order)),
        window.pricingRule,
      ),
      cleared,
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
      ordersVerified: revealed.length - mismatched.length - purged,
      ordersMismatched: mismatched,
      ordersPurged: purged,
      recomputed,
      published,
    });
  }

  /**
   * Relay or admin of a utility, on its own peer (its accounts and window record carry policies
   * naming only that peer), after the clearing. Once: refunds the escrow of each of the utility's
   * revealed bids above the value of its trades (all of it for a bid that did not trade). Reads no
   * private data. Optional transient `accounts` (JSON array of account ids of the utility): accounts
   * with an escrow in the window but no revealed order (orders the utility did not reveal, or all
   * of them when it did not reveal by revealBy) are refunded in full; this part may be repeated
   * with other accounts. Once the window was settled without this utility's delivery report
   * (after reportBy), its reports are closed and a further call refunds what its bids still hold.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; optional account ids are in transient data')
  @Returns('string')
  async ReleaseEscrow(ctx: HemsContext, windowId: string): Promise<string> {
    const { org, id, window, now, clearing } = await this.loadClearedWindowForUtility(
      ctx,
      windowId,
      'ReleaseEscrow',
      ['relay', 'admin'],
    );
    const orgRecord = await this.loadOrgRecord(ctx, window, org);
    const listed = this.parseReleaseAccounts(ctx);
    // Other utilities' records are read only once a settlement may have gone without this one's
    // report: before reportBy, releases of different utilities must not conflict.
    const reportsClosed =
      orgRecord.delivery === undefined &&
      isPastReportBy(window, now) &&
      unreportedOrgsOf(await this.loadOrgRecords(ctx, window)).includes(org);
    const alreadyReleased = `${org} has already released the escrows of its revealed bids in window ${id}`;
    if (orgRecord.released !== undefined && !reportsClosed && listed.length === 0) {
      throw conflict(alreadyReleased);
    }
    const book = new TokenBook(ctx);
    let refunded = 0n;
    if (orgRecord.released === undefined || reportsClosed) {
      // With reports closed the bids' trades will never be charged: nothing is kept.
      const keep = reportsClosed ? new Map<string, bigint>() : tradeValueByBid(clearing.trades);
      refunded += await this.refundBids(book, orgRecord, keep);
      if (orgRecord.released !== undefined && refunded === 0n && listed.length === 0) {
        throw conflict(alreadyReleased);
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
   * Closed once a utility settled after reportBy without this report (the settlement fixed which
   * reports count); ReleaseEscrow then refunds the utility's bids.
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier; the readings are in transient data')
  @Returns('string')
  async ReportDelivery(ctx: HemsContext, windowId: string): Promise<string> {
    const { org, id, window, now, clearing } = await this.loadClearedWindowForUtility(
      ctx,
      windowId,
      'ReportDelivery',
      ['meter'],
    );
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
    // Only from reportBy on can a settlement have gone without this report; reading the other
    // utilities' records earlier would make simultaneous reports of different utilities conflict.
    if (isPastReportBy(window, now)) {
      const unreported = unreportedOrgsOf(await this.loadOrgRecords(ctx, window));
      if (unreported.length > 0) {
        throw failedPrecondition(
          `window ${id} was settled without the delivery reports of ${unreported.join(', ')} (due by ${window.reportBy}): reports are closed; ReleaseEscrow refunds the escrows of ${org}'s bids`,
        );
      }
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
   * Relay or admin, on its utility's peer, once every utility with trades has reported (or, from
   * reportBy on, without the reports still missing), once per utility: pays each of the utility's
   * sellers floor(price x delivered x f), f = min(1, B / S), out of the window's pool, B and S
   * summed over the reports that count. A missing report counts as nothing delivered and nothing
   * received: that utility's buyers are not charged, its sellers get nothing, and if it is the
   * caller's own, what its bids still hold in escrow is refunded here. The first settlement without
   * some reports fixes which ones count (`settlement.unreportedOrgs`), so every utility settles on
   * the same factor and later reports are refused. The window is SETTLED when every utility with
   * trades has settled; what is left in the pool is then the grid's share (ClaimGridShare).
   */
  @Transaction()
  @Param('windowId', 'string', 'window identifier')
  @Returns('string')
  async SettleWindow(ctx: HemsContext, windowId: string): Promise<string> {
    const { org, id, window, now, clearing } = await this.loadClearedWindowForUtility(
      ctx,
      windowId,
      'SettleWindow',
      ['relay', 'admin'],
    );
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
    let unreported = unreportedOrgsOf(records);
    if (unreported.length === 0) {
      const missing = tradeRecords
        .filter((record) => record.delivery === undefined)
        .map((record) => record.org);
      if (missing.length > 0 && !isPastReportBy(window, now)) {
        throw failedPrecondition(
          `window ${id} waits for the delivery reports of ${missing.join(', ')} (from ${window.reportBy} on it may be settled without them)`,
        );
      }
      unreported = missing;
    }
    const counted = tradeRecords.filter((record) => !unreported.includes(record.org));
    const windowCharge = sumBigint(counted.map((record) => BigInt(record.delivery?.buyerCharge ?? '0')));
    const windowValue = sumBigint(counted.map((record) => BigInt(record.delivery?.sellerValue ?? '0')));

    const book = new TokenBook(ctx);
    let payments = new Map<string, bigint>();
    let refunded = 0n;
    if (unreported.includes(org)) {
      // Its trades count as undelivered and unreceived: its bids keep nothing in escrow.
      refunded = await this.refundBids(book, orgRecord, new Map());
    } else {
      const readings = await this.loadReadings(ctx, window, clearing, org);
      payments = sellerPayments(clearing.trades, org, readings, windowCharge, windowValue);
    }
    const paid = sumBigint(payments.values());
    if (BigInt(poolOf(window, records).amount) < paid) {
      throw new Error(`the pool of window ${id} cannot cover the sellers' payments`);
    }
    for (const [accountId, amount] of payments) {
      await book.pay(id, accountId, org, amount);
    }
    const updated: WindowOrgRecord = {
      ...orgRecord,
      paid: (BigInt(orgRecord.paid) + paid).toString(),
      refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
      ...(unreported.includes(org) && orgRecord.released === undefined
        ? { released: { releasedAt: isoTime(now), txId: ctx.stub.getTxID() } }
        : {}),
      settlement: {
        settledAt: isoTime(now),
        txId: ctx.stub.getTxID(),
        ...(unreported.length > 0 ? { unreportedOrgs: [...unreported] } : {}),
      },
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

  /** The org's meter readings of its trade sides, from its collection, by side key. */
  private async loadReadings(
    ctx: HemsContext,
    window: WindowRecord,
    clearing: ClearingRecord,
    org: string,
  ): Promise<Map<string, number>> {
    const id = window.windowId;
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
    return readings;
  }

  /**
   * Refunds the escrow each revealed bid of the org holds in the window above `keep` (by bid
   * reference; nothing kept for a bid not listed). Answers the total refunded.
   */
  private async refundBids(
    book: TokenBook,
    record: WindowOrgRecord,
    keep: ReadonlyMap<string, bigint>,
  ): Promise<bigint> {
    let refunded = 0n;
    for (const bid of this.revealedBids(record)) {
      const escrow = await book.escrowOf(record.windowId, bid.accountId, record.org);
      const kept = keep.get(bid.orderRef) ?? 0n;
      if (kept > escrow) {
        throw new Error('an escrow is smaller than the value of its trades');
      }
      await book.release(record.windowId, bid.accountId, record.org, escrow - kept, 'refund');
      refunded += escrow - kept;
    }
    return refunded;
  }

  /**
   * The revealed orders that take part in a clearing at `at`: those whose device certificate was
   * not revoked at or before that time (revocations are public, one list per utility).
   */
  private async withoutRevoked(
    ctx: HemsContext,
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
      return serial === undefined || revokedByOrg.get(entry.org)?.has(serial) !== true;
    });
    return { cleared, droppedRevoked: revealed.length - cleared.length };
  }

  /**
   * Transient `refs` of a reveal: distinct order references, at most the utility's share of the
   * window's orders (MAX_REVEALED_ORDERS, MAX_WINDOW_ORDERS), refused with advice above it.
   */
  private parseRevealRefs(ctx: HemsContext, window: WindowRecord): string[] {
    const cap = Math.min(MAX_REVEALED_ORDERS, Math.floor(MAX_WINDOW_ORDERS / window.orgs.length));
    const tooMany = (what: string): Error =>
      invalidArgument(
        `${what}: one utility may reveal at most ${cap} orders in window ${window.windowId} (its revealed orders are one public record, which must stay well under Fabric's 10 MB block size): list at most ${cap}; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
      );
    // Checked before parsing, so an oversized list gets the advice rather than a size refusal.
    if ((ctx.stub.getTransient().get('refs')?.length ?? 0) > MAX_REFS_BYTES) {
      throw tooMany(`transient field 'refs' is larger than ${MAX_REFS_BYTES} bytes`);
    }
    // The byte limit already bounds the length; the cap below comes with the advice.
    const list = requireArray(requireTransientJson(ctx, 'refs', MAX_REFS_BYTES), 'refs', MAX_REFS_BYTES);
    if (list.length > cap) {
      throw tooMany(`refs lists ${list.length} orders`);
    }
    const refs = list.map((ref, index) => parseHomeRef(ref, `refs[${index}]`));
    if (new Set(refs).size !== refs.length) {
      throw invalidArgument('refs lists an order twice');
    }
    return refs;
  }

  /**
   * Orders and available energy change only while the caller's utility has not revealed and the
   * window is not cleared. The tx time alone cannot ensure it (a transaction endorsed before the
   * close may commit after the reveal); reading the utility's window record and the window key
   * does: the reveal and the clearing write them, so Fabric's MVCC check refuses such a late
   * commit. A utility that joined the channel after the opening has no part in the window.
   */
  private async requireUnrevealed(ctx: HemsContext, window: WindowRecord, org: string): Promise<void> {
    const record = await this.loadOrgRecord(ctx, window, org);
    if (window.clearedAt !== undefined) {
      throw failedPrecondition(`window ${window.windowId} is closed and cleared`);
    }
    if (record.revealed !== undefined) {
      throw failedPrecondition(`window ${window.windowId} is closed: ${org} has revealed its orders`);
    }
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

  /**
   * The checks shared by every device-signed action on an open window, in this order: the caller
   * is a relay on its own utility's peer, the window is open and the utility has not revealed, the
   * device signature verifies, the payload names this window and its nonce is fresh. Returns the
   * parsed payload with the nonce marker key to write and the utility's home-reference secret.
   */
  private async acceptSignedWindowAction<P extends { readonly windowId: string; readonly nonce: string }>(
    ctx: HemsContext,
    windowId: string,
    action: string,
    kind: string,
    parse: (payloadBytes: Uint8Array) => P,
  ): Promise<{
    org: string;
    id: string;
    now: Date;
    device: SignedDevicePayload['device'];
    payloadBytes: Uint8Array;
    payload: P;
    collection: string;
    nonceKey: string;
    secret: Awaited<ReturnType<typeof loadHomeRefSecret>>;
  }> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer(action, ['relay']);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    this.requireOpen(window, now);
    await this.requireUnrevealed(ctx, window, org);
    const { device, payload: payloadBytes } = await verifySignedDevicePayload(
      ctx,
      org,
      MAX_ORDER_PAYLOAD_BYTES,
      kind,
    );
    const payload = parse(payloadBytes);
    if (payload.windowId !== id) {
      throw invalidArgument('payload.windowId does not match the windowId argument');
    }
    const collection = collectionOf(org);
    const nonceKey = await this.freshNonceKey(ctx, collection, id, payload.nonce);
    const secret = await loadHomeRefSecret(ctx, org);
    return { org, id, now, device, payloadBytes, payload, collection, nonceKey, secret };
  }

  /**
   * The window and its clearing for a utility role on its own peer, checked in this order: the
   * caller's role and peer, the window id, the window's existence, the clearing's existence.
   */
  private async loadClearedWindowForUtility(
    ctx: HemsContext,
    windowId: string,
    action: string,
    roles: readonly HemsRole[],
  ): Promise<{ org: string; id: string; window: WindowRecord; now: Date; clearing: ClearingRecord }> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer(action, roles);
    const org = caller.mspId;
    const id = parseWindowId(windowId);
    const window = await this.loadWindow(ctx, id);
    const now = ctx.now;
    const clearing = await this.loadClearing(ctx, window);
    return { org, id, window, now, clearing };
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

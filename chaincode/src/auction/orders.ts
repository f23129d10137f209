import {
  type CancelPayload,
  collectionOf,
  conflict,
  ContractError,
  type DeviceIdentity,
  failedPrecondition,
  forbidden,
  invalidArgument,
  notFound,
  type OrderCommitment,
  orderCommitment,
  orderHashOf,
  type OrderPayload,
  parseCancelPayload,
  parseOrderPayload,
  type StoredOrder,
  verifyDeviceSignature,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { nonceDigest } from '../lib/ledger';
import {
  readEntries,
  refusalOf,
  refusedAsWhole,
  transientEntry,
  type ItemRefusal,
  type SignedBatchEntry,
} from '../lib/signed-batch';
import { drain, readPrivate, unusedNonceKey, writePrivate } from '../lib/state';
import { loadDeviceTrust, verifyDeviceAgainst, type DeviceTrust } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { TokenBook } from '../token/token-ledger';
import { availableWhOfOrder } from './availability';
import { requireUncommitted } from './commitments';
import { accountIdOf, orderReference } from './references';
import { loadWindow, requireOpen, requireUnrevealed } from './windows';

/** What every item of an order or cancellation batch is checked against: read once. */
interface WindowBatch {
  readonly org: string;
  readonly id: string;
  readonly trust: DeviceTrust;
  readonly collection: string;
  /** The utility's home-reference secret. */
  readonly secret: Uint8Array;
  /** Homes and nonce digests with an accepted item in this transaction. */
  readonly homes: Set<string>;
  readonly nonces: Set<string>;
}

/** A device-signed item on an open window, verified: its parsed payload and nonce marker key. */
interface AcceptedWindowItem<P> {
  readonly device: DeviceIdentity;
  readonly payloadBytes: Uint8Array;
  readonly payload: P;
  readonly nonceKey: string;
}

/**
 * The checks that refuse a whole batch, in this order: the window exists and is open, the utility
 * has neither revealed nor committed its orders.
 */
async function openWindowBatch(ctx: HemsContext, org: string, id: string): Promise<WindowBatch> {
  const window = await loadWindow(ctx, id);
  requireOpen(window, ctx.now);
  await requireUnrevealed(ctx, window, org);
  await requireUncommitted(ctx, window, org);
  return {
    org,
    id,
    trust: await loadDeviceTrust(ctx, org),
    collection: collectionOf(org),
    secret: await loadHomeRefSecret(ctx, org),
    homes: new Set(),
    nonces: new Set(),
  };
}

/**
 * One item's own checks: the device's certificate at the transaction time, its signature over the
 * exact payload bytes, the payload naming this window, one item per home and transaction, and a
 * nonce never used in this window (one point read).
 */
async function acceptWindowItem<P extends { readonly windowId: string; readonly nonce: string }>(
  ctx: HemsContext,
  batch: WindowBatch,
  entry: SignedBatchEntry,
  kind: string,
  parse: (payloadBytes: Uint8Array) => P,
): Promise<AcceptedWindowItem<P>> {
  const device = verifyDeviceAgainst(ctx, batch.trust, entry.certificate);
  if (!verifyDeviceSignature(device.publicKey, entry.payload, entry.signature)) {
    throw forbidden(`${kind} signature does not verify against the device certificate`);
  }
  const payload = parse(entry.payload);
  if (payload.windowId !== batch.id) {
    throw invalidArgument('payload.windowId does not match the windowId argument');
  }
  if (batch.homes.has(device.homeId)) {
    throw conflict('the home already has an item in this transaction: its relay sends the later one next');
  }
  const digest = nonceDigest(payload.nonce);
  if (batch.nonces.has(digest)) {
    throw conflict('the payload nonce was already used: every signed payload needs a fresh random nonce');
  }
  // A nonce already used in this window means a replayed payload.
  const nonceKey = await unusedNonceKey(
    ctx.stub,
    batch.collection,
    ctx.keys.orderNonce(batch.id, digest),
    'signed payload',
  );
  return { device, payloadBytes: entry.payload, payload, nonceKey };
}

/** Marks the item's home and nonce as used in this transaction, once its writes are done. */
function markUsed(batch: WindowBatch, item: AcceptedWindowItem<{ readonly nonce: string }>): void {
  batch.homes.add(item.device.homeId);
  batch.nonces.add(nonceDigest(item.payload.nonce));
}

/**
 * Stores one verified order sealed in the utility's collection. Every check comes before the first
 * write, and the token changes are staged in the item's own book, so a refused order writes nothing.
 */
async function placeOrder(
  ctx: HemsContext,
  batch: WindowBatch,
  item: AcceptedWindowItem<OrderPayload>,
): Promise<void> {
  const { id, org, collection, secret } = batch;
  const { device, payload } = item;
  const accountId = accountIdOf(secret, device.homeId);
  const orderRef = orderReference(secret, id, device.homeId);

  // Bids read the home's availability key too, so the hashed read set does not tell the sides apart.
  const availableWh = await availableWhOfOrder(ctx, collection, secret, id, orderRef);
  if (payload.side === 'offer') {
    if (availableWh === undefined) {
      throw failedPrecondition(`no available energy is posted for this prosumer in window ${id}`);
    }
    if (payload.energyWh > availableWh) {
      throw failedPrecondition('offer exceeds the available energy for this window');
    }
  }
  // Offers and bids read the same public key (the account), so the read set does not tell them
  // apart. The account must exist: this single-peer transaction may only update a key that
  // already carries the policy naming this utility's peer, and a seller needs it to be paid.
  const book = new TokenBook(ctx);
  const account = await book.load(accountId);
  if (account === undefined) {
    throw failedPrecondition('the home has no token account: its utility opens one with token:Deposit first');
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
    payload: Buffer.from(item.payloadBytes).toString('utf8'),
    submittedAt: ctx.now.getTime(),
    deviceSerial: device.serial,
  };
  await writePrivate(ctx.stub, collection, ctx.keys.order(id, orderRef), stored);
  await writePrivate(ctx.stub, collection, item.nonceKey, { txId: ctx.stub.getTxID() });
  await book.flush();
}

/** Withdraws one verified cancellation's order and refunds its escrow; checks before writes. */
async function withdrawOrder(
  ctx: HemsContext,
  batch: WindowBatch,
  item: AcceptedWindowItem<CancelPayload>,
): Promise<void> {
  const { id, org, collection, secret } = batch;
  const orderKey = ctx.keys.order(id, orderReference(secret, id, item.device.homeId));
  if ((await readPrivate(ctx.stub, collection, orderKey)) === undefined) {
    throw notFound(`the device has no order in window ${id}`);
  }
  // An order exists only for a home whose account existed when it was submitted.
  const accountId = accountIdOf(secret, item.device.homeId);
  const book = new TokenBook(ctx);
  await book.release(id, accountId, org, await book.escrowOf(id, accountId, org), 'refund');
  await ctx.stub.deletePrivateData(collection, orderKey);
  await writePrivate(ctx.stub, collection, item.nonceKey, { txId: ctx.stub.getTxID() });
  await book.flush();
}

/** What SubmitOrders and CancelOrders answer: counts and per-item refusals, never a home or value. */
export interface WindowBatchReceipt {
  readonly windowId: string;
  readonly txId: string;
  readonly at: string;
  readonly accepted: number;
  readonly refused: readonly ItemRefusal[];
}

/** Runs `apply` on every entry verified on its own; a refused entry is reported by position. */
async function applyWindowBatch<P extends { readonly windowId: string; readonly nonce: string }>(
  ctx: HemsContext,
  org: string,
  id: string,
  entries: readonly (SignedBatchEntry | ContractError)[],
  kind: string,
  parse: (payloadBytes: Uint8Array) => P,
  apply: (batch: WindowBatch, item: AcceptedWindowItem<P>) => Promise<void>,
): Promise<WindowBatchReceipt> {
  const batch = await openWindowBatch(ctx, org, id);
  const refused: ItemRefusal[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      if (entry instanceof ContractError) {
        throw entry;
      }
      const item = await acceptWindowItem(ctx, batch, entry, kind, parse);
      await apply(batch, item);
      markUsed(batch, item);
    } catch (error) {
      refused.push(refusalOf(error, index));
    }
  }
  return {
    windowId: id,
    txId: ctx.stub.getTxID(),
    at: isoTime(ctx.now),
    accepted: entries.length - refused.length,
    refused,
  };
}

/**
 * Stores device-signed orders of `org`'s homes sealed in its collection, each verified and refused
 * alone (transient `items`). A bid's escrow moves from the account's balance into its escrow for
 * the window; a new order of the same home replaces the old one and refunds its escrow. Each order
 * still costs a few point reads (its nonce, availability, account) since every home has its own
 * account and sealed record; the transaction, which costs far more, is shared.
 */
export function submitOrders(
  ctx: HemsContext,
  org: string,
  id: string,
  entries: readonly (SignedBatchEntry | ContractError)[] = readEntries(ctx),
): Promise<WindowBatchReceipt> {
  return applyWindowBatch(ctx, org, id, entries, 'order', parseOrderPayload, (batch, item) =>
    placeOrder(ctx, batch, item),
  );
}

/** Withdraws the orders of device-signed cancellations before the close, each refused alone. */
export function cancelOrders(
  ctx: HemsContext,
  org: string,
  id: string,
  entries: readonly (SignedBatchEntry | ContractError)[] = readEntries(ctx),
): Promise<WindowBatchReceipt> {
  return applyWindowBatch(ctx, org, id, entries, 'cancellation', parseCancelPayload, (batch, item) =>
    withdrawOrder(ctx, batch, item),
  );
}

/** One device-signed order from transient data: a batch of one. */
export async function submitOrder(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<{ windowId: string; txId: string; acceptedAt: string }> {
  const receipt = refusedAsWhole(await submitOrders(ctx, org, id, [transientEntry(ctx)]));
  return { windowId: id, txId: receipt.txId, acceptedAt: receipt.at };
}

/** One device-signed cancellation from transient data: a batch of one. */
export async function cancelOrder(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<{ windowId: string; txId: string; cancelledAt: string }> {
  const receipt = refusedAsWhole(await cancelOrders(ctx, org, id, [transientEntry(ctx)]));
  return { windowId: id, txId: receipt.txId, cancelledAt: receipt.at };
}

/**
 * The references of the orders of `org` in the window and the commitment to them (a private
 * range: evaluate only).
 */
export async function orderRefs(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<{ refs: string[]; commitment: OrderCommitment }> {
  await loadWindow(ctx, id);
  const rows = await drain(
    ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(org), KeyType.order, [id]),
  );
  const orders = rows.map((row) => ({
    orderRef: ctx.stub.splitCompositeKey(row.key).attributes[1] ?? '',
    orderHash: orderHashOf(row.value),
  }));
  return { refs: orders.map((order) => order.orderRef), commitment: orderCommitment(orders) };
}

import {
  collectionOf,
  failedPrecondition,
  invalidArgument,
  MAX_ORDER_PAYLOAD_BYTES,
  notFound,
  type OrderCommitment,
  orderCommitment,
  orderHashOf,
  parseCancelPayload,
  parseOrderPayload,
  type StoredOrder,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { nonceDigest } from '../lib/ledger';
import { drain, readPrivate, unusedNonceKey, writePrivate } from '../lib/state';
import { type SignedDevicePayload, verifySignedDevicePayload } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { TokenBook } from '../token/token-ledger';
import { availableWhOfOrder } from './availability';
import { requireUncommitted } from './commitments';
import { accountIdOf, orderReference } from './references';
import { loadWindow, requireOpen, requireUnrevealed } from './windows';

/** A device-signed action on an open window, accepted: its parsed payload and what it writes with. */
interface SignedWindowAction<P> {
  readonly org: string;
  readonly id: string;
  readonly now: Date;
  readonly device: SignedDevicePayload['device'];
  readonly payloadBytes: Uint8Array;
  readonly payload: P;
  readonly collection: string;
  /** The nonce marker key to write. */
  readonly nonceKey: string;
  /** The utility's home-reference secret. */
  readonly secret: Uint8Array;
}

/**
 * The checks shared by every device-signed action on an open window, after the caller's role and
 * peer, in this order: the window is open and the utility has not revealed, the device signature
 * verifies, the payload names this window and its nonce is fresh.
 */
async function acceptSignedWindowAction<P extends { readonly windowId: string; readonly nonce: string }>(
  ctx: HemsContext,
  org: string,
  id: string,
  kind: string,
  parse: (payloadBytes: Uint8Array) => P,
): Promise<SignedWindowAction<P>> {
  const window = await loadWindow(ctx, id);
  const now = ctx.now;
  requireOpen(window, now);
  await requireUnrevealed(ctx, window, org);
  await requireUncommitted(ctx, window, org);
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
  // A nonce already used in this window means a replayed payload.
  const nonceKey = await unusedNonceKey(
    ctx.stub,
    collection,
    ctx.keys.orderNonce(id, nonceDigest(payload.nonce)),
    'signed payload',
  );
  const secret = await loadHomeRefSecret(ctx, org);
  return { org, id, now, device, payloadBytes, payload, collection, nonceKey, secret };
}

/**
 * Stores a device-signed order sealed in the collection of `org`. A bid's escrow moves from the
 * account's balance into the account's escrow for the window; a new order of the same home
 * replaces the old one and refunds its escrow.
 */
export async function submitOrder(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<{ windowId: string; txId: string; acceptedAt: string }> {
  const { now, device, payloadBytes, payload, collection, nonceKey, secret } = await acceptSignedWindowAction(
    ctx,
    org,
    id,
    'order',
    parseOrderPayload,
  );
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
    payload: Buffer.from(payloadBytes).toString('utf8'),
    submittedAt: now.getTime(),
    deviceSerial: device.serial,
  };
  await writePrivate(ctx.stub, collection, ctx.keys.order(id, orderRef), stored);
  await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
  await book.flush();
  return { windowId: id, txId: ctx.stub.getTxID(), acceptedAt: isoTime(now) };
}

/** Withdraws the device's order before the close and refunds its escrow. */
export async function cancelOrder(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<{ windowId: string; txId: string; cancelledAt: string }> {
  const { now, device, collection, nonceKey, secret } = await acceptSignedWindowAction(
    ctx,
    org,
    id,
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
  return { windowId: id, txId: ctx.stub.getTxID(), cancelledAt: isoTime(now) };
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

import { MAX_SIGNED_PAYLOAD_BYTES } from '../limits';
import { parseStoredRecord } from '../json/canonical-json';
import { invalidArgument } from '../errors';
import { parseSlotId, requireObject, requireOnlyKeys, requireString } from '../validation';
import { decodeNonce } from './forecast';
import { currencyToUnits } from '../auction/amounts';
import { MAX_PRICE } from '../limits';
import { kwhToWh, priceToUnits, type Order, type OrderSide } from '../auction/orders';

/**
 * What a HEMS device signs to trade, and what its utility keeps of it.
 *
 * Order payload: `{windowId, side, energyKwh, limitPrice, escrow, nonce}`; energy in kWh (<= 3
 * decimals), limit price in currency per MWh (>= 0, <= 4 decimals), escrow a currency string.
 * Cancel payload: `{windowId, action: 'cancel', nonce}`. The nonce (16-64 random bytes, base64)
 * salts the stored value's on-chain hash and makes a replayed payload detectable.
 */

export const MAX_ORDER_PAYLOAD_BYTES = MAX_SIGNED_PAYLOAD_BYTES;

export interface OrderPayload {
  readonly windowId: string;
  readonly side: OrderSide;
  readonly energyWh: number;
  /** Price units (1/10000 currency per MWh). */
  readonly limitPrice: number;
  /** Value units. */
  readonly escrow: bigint;
  readonly nonce: string;
}

export interface CancelPayload {
  readonly windowId: string;
  readonly nonce: string;
}

/** The private record of an order, and after the close its public record, byte for byte. */
export interface StoredOrder {
  readonly windowId: string;
  readonly orderRef: string;
  readonly accountId: string;
  /** The exact payload the device signed. */
  readonly payload: string;
  /** Transaction time of the submission, ms since the epoch: the clearing's arrival order. */
  readonly submittedAt: number;
  /**
   * Serial of the device certificate that signed it (normalized hex), so the clearing can leave
   * out the orders of a device revoked after it signed. Absent only in orders stored before the
   * serial was kept.
   */
  readonly deviceSerial?: string;
}

function parsePayloadJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length === 0 || bytes.length > MAX_ORDER_PAYLOAD_BYTES) {
    throw invalidArgument(`${what} must be 1-${MAX_ORDER_PAYLOAD_BYTES} bytes of JSON`);
  }
  const text = Buffer.from(bytes).toString('utf8');
  // Stored as text: bytes that do not survive the UTF-8 round trip could not be proven later.
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) {
    throw invalidArgument(`${what} must be UTF-8 text`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument(`${what} is not valid JSON`);
  }
  return requireObject(parsed, what);
}

function parseNonce(value: unknown): string {
  decodeNonce(value);
  return value as string;
}

/** Checks an order payload: fields, units, and that an offer escrows nothing. */
export function parseOrderPayload(bytes: Uint8Array): OrderPayload {
  const record = parsePayloadJson(bytes, 'payload');
  requireOnlyKeys(record, 'payload', ['windowId', 'side', 'energyKwh', 'limitPrice', 'escrow', 'nonce']);
  const windowId = parseSlotId(record.windowId, 'payload.windowId');
  if (record.side !== 'offer' && record.side !== 'bid') {
    throw invalidArgument('payload.side must be "offer" or "bid"');
  }
  const side: OrderSide = record.side;
  const energyWh = kwhToWh(record.energyKwh, 'payload.energyKwh');
  const limitPrice = priceToUnits(record.limitPrice, 'payload.limitPrice');
  if (limitPrice < 0) {
    throw invalidArgument(`payload.limitPrice must be between 0 and ${MAX_PRICE}`);
  }
  const escrow = currencyToUnits(record.escrow, 'payload.escrow');
  if (side === 'offer' && escrow !== 0n) {
    throw invalidArgument('payload.escrow of an offer must be "0"');
  }
  if (side === 'bid' && escrow < bidValue(energyWh, limitPrice)) {
    throw invalidArgument("payload.escrow does not cover the bid's value (energy x limit price)");
  }
  return { windowId, side, energyWh, limitPrice, escrow, nonce: parseNonce(record.nonce) };
}

export function parseCancelPayload(bytes: Uint8Array): CancelPayload {
  const record = parsePayloadJson(bytes, 'payload');
  requireOnlyKeys(record, 'payload', ['windowId', 'action', 'nonce']);
  const windowId = parseSlotId(record.windowId, 'payload.windowId');
  if (record.action !== 'cancel') {
    throw invalidArgument('payload.action must be "cancel"');
  }
  return { windowId, nonce: parseNonce(record.nonce) };
}

/** The most a bid can be charged: its energy at its limit price, value units. */
export function bidValue(energyWh: number, limitPrice: number): bigint {
  return BigInt(energyWh) * BigInt(limitPrice);
}

export function storedOrderFromBytes(bytes: Uint8Array): StoredOrder {
  const record = parseStoredRecord<StoredOrder>(bytes, 'order', [
    'windowId',
    'orderRef',
    'accountId',
    'payload',
    'submittedAt',
  ]);
  requireString(record.payload, 'stored order payload');
  if (record.deviceSerial !== undefined) {
    requireString(record.deviceSerial, 'stored order device serial');
  }
  return record;
}

/** A stored order's payload, parsed again (it was checked at submission). */
export function storedOrderPayload(order: StoredOrder): OrderPayload {
  return parseOrderPayload(Buffer.from(order.payload, 'utf8'));
}

/** A revealed order as the clearing engine sees it. */
export function toEngineOrder(order: StoredOrder): Order {
  const payload = storedOrderPayload(order);
  return {
    orderId: order.orderRef,
    side: payload.side,
    participant: order.accountId,
    quantityWh: payload.energyWh,
    limitPrice: payload.limitPrice,
    submittedSeq: order.submittedAt,
  };
}

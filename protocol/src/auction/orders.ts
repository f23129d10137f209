import { invalidArgument } from '../errors';
import { MAX_PRICE } from '../limits';
import {
  parseReason,
  requireArray,
  requireFiniteNumber,
  requireInteger,
  requireObject,
  requireOnlyKeys,
  requireString,
} from '../validation';

/**
 * Orders of the peer-to-peer energy auction and their units.
 *
 * Everything the clearing computes with is an exact integer, so that any auditor who recomputes a
 * clearing from the revealed orders gets the very same numbers:
 *
 *   quantity  Wh, a safe integer in [1, MAX_ORDER_WH]. At the edges a quantity is written in kWh
 *             with at most 3 decimals (`kwhToWh` / `whToKwh`).
 *   price     price units of 1/10000 currency per MWh (PRICE_SCALE = 10000), a safe integer in
 *             [-MAX_PRICE_UNITS, MAX_PRICE_UNITS]. At the edges a price is written in currency per
 *             MWh with at most 4 decimals (`priceToUnits` / `unitsToPrice`), the same range and
 *             precision as the slot prices in ../model/prices.ts. Negative prices are allowed (a
 *             prosumer may pay to get rid of surplus energy).
 *   value     Wh x price units, i.e. 1e-10 currency (VALUE_UNITS_PER_CURRENCY = 1e10). It can
 *             exceed 2^53, so it is computed with bigint and published as a decimal integer string
 *             (`formatValue` renders it in currency).
 *
 * Refusals name the field and the allowed form, never the submitted value: orders are sealed until
 * the window closes and error messages end up in peer and client logs.
 */

export type OrderSide = 'offer' | 'bid';

export interface Order {
  /** Unique within one trading window: 1-64 characters of A-Z a-z 0-9 . _ : - */
  readonly orderId: string;
  /** 'offer': a prosumer sells at `limitPrice` or more; 'bid': a consumer buys at `limitPrice` or less. */
  readonly side: OrderSide;
  /** Who stands behind the order; orders of the same participant never trade with each other. */
  readonly participant: string;
  /** Wh, a whole number >= 1. */
  readonly quantityWh: number;
  /** Price units (1/10000 currency per MWh): the offer's minimum or the bid's maximum. */
  readonly limitPrice: number;
  /** Deterministic order of arrival (e.g. the position in the window's order log); breaks price ties. */
  readonly submittedSeq: number;
}

export const WH_PER_KWH = 1000;
/** Price units per currency per MWh. */
export const PRICE_SCALE = 10000;
/** Value units (Wh x price units) per currency: 1e6 Wh/MWh x PRICE_SCALE. */
export const VALUE_UNITS_PER_CURRENCY = 10n ** 10n;
/** 1 GWh per order. With MAX_ORDERS, every sum of quantities stays a safe integer (<= 1e14). */
export const MAX_ORDER_WH = 1_000_000_000;
export const MAX_ORDER_KWH = MAX_ORDER_WH / WH_PER_KWH;
export const MAX_PRICE_UNITS = MAX_PRICE * PRICE_SCALE;
export const MAX_ORDERS = 100_000;
export const MAX_PARTICIPANT_LENGTH = 256;
export const MAX_SUBMITTED_SEQ = Number.MAX_SAFE_INTEGER;

const ORDER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const ORDER_KEYS = ['orderId', 'side', 'participant', 'quantityWh', 'limitPrice', 'submittedSeq'] as const;

/** True when `value * 10^places` is a whole number, exactly (no tolerance). */
function hasAtMostDecimals(value: number, places: number): boolean {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale === value;
}

/** kWh with at most 3 decimals, > 0 and <= MAX_ORDER_KWH, to whole Wh. */
export function kwhToWh(kwh: unknown, name = 'quantity'): number {
  const value = requireFiniteNumber(kwh, name, 0, MAX_ORDER_KWH);
  if (value <= 0) {
    throw invalidArgument(`${name} must be greater than 0 kWh`);
  }
  if (!hasAtMostDecimals(value, 3)) {
    throw invalidArgument(`${name} must have at most 3 decimal places (whole Wh)`);
  }
  return Math.round(value * WH_PER_KWH);
}

export function whToKwh(wh: number): number {
  return wh / WH_PER_KWH;
}

/** Currency per MWh with at most 4 decimals, within +-MAX_PRICE, to price units. */
export function priceToUnits(price: unknown, name = 'price'): number {
  const value = requireFiniteNumber(price, name, -MAX_PRICE, MAX_PRICE);
  if (!hasAtMostDecimals(value, 4)) {
    throw invalidArgument(`${name} must have at most 4 decimal places`);
  }
  // `+ 0` turns -0 into 0 so that the stored integer has one spelling.
  return Math.round(value * PRICE_SCALE) + 0;
}

export function unitsToPrice(units: number): number {
  return units / PRICE_SCALE;
}

/** A value in value units (decimal integer string) as currency, e.g. "-12.5" or "0.0000000001". */
export function formatValue(value: string): string {
  const units = BigInt(value);
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const whole = magnitude / VALUE_UNITS_PER_CURRENCY;
  const fraction = (magnitude % VALUE_UNITS_PER_CURRENCY).toString().padStart(10, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole.toString()}${fraction === '' ? '' : `.${fraction}`}`;
}

function parseOrderId(value: unknown, name: string): string {
  const text = requireString(value, name);
  if (!ORDER_ID.test(text)) {
    throw invalidArgument(
      `${name} must be 1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit`,
    );
  }
  return text;
}

function parseSide(value: unknown, name: string): OrderSide {
  if (value !== 'offer' && value !== 'bid') {
    throw invalidArgument(`${name} must be "offer" or "bid"`);
  }
  return value;
}

/** One order as stored on the ledger (integer units), checked member by member. */
export function parseOrder(value: unknown, name = 'order'): Order {
  const record = requireObject(value, name);
  requireOnlyKeys(record, name, ORDER_KEYS);
  return {
    orderId: parseOrderId(record.orderId, `${name}.orderId`),
    side: parseSide(record.side, `${name}.side`),
    participant: parseReason(record.participant, `${name}.participant`, MAX_PARTICIPANT_LENGTH),
    quantityWh: requireInteger(record.quantityWh, `${name}.quantityWh`, 1, MAX_ORDER_WH),
    limitPrice: requireInteger(record.limitPrice, `${name}.limitPrice`, -MAX_PRICE_UNITS, MAX_PRICE_UNITS),
    submittedSeq: requireInteger(record.submittedSeq, `${name}.submittedSeq`, 0, MAX_SUBMITTED_SEQ),
  };
}

/** A whole order book: at most MAX_ORDERS valid orders with unique order ids. */
export function parseOrders(value: unknown, name = 'orders'): Order[] {
  const items = requireArray(value, name, MAX_ORDERS);
  const seen = new Set<string>();
  return items.map((item, index) => {
    const order = parseOrder(item, `${name}[${index}]`);
    if (seen.has(order.orderId)) {
      throw invalidArgument(`${name}[${index}].orderId repeats the id of an earlier order`);
    }
    seen.add(order.orderId);
    return order;
  });
}

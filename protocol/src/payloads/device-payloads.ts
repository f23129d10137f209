import type { OrderSide } from '../auction/orders';

/*
 * The exact payload texts a HEMS device signs. Their parsers (parseForecastPayload,
 * parseConsumptionPayload, parseOrderPayload, parseCancelPayload) read what these write.
 */

/** A forecast range in kW: 0 ≤ lower ≤ upper, at most three decimals. */
export interface ForecastRange {
  readonly lower: number;
  readonly upper: number;
}

/** What an order's payload says of the order itself (its escrow is settled by the device). */
export interface OrderTerms {
  readonly side: OrderSide;
  /** kWh, > 0, at most 3 decimals. */
  readonly energyKwh: number;
  /** Currency per MWh, ≥ 0, at most 4 decimals. */
  readonly limitPrice: number;
}

/** The exact payload text a device signs, members in this order: slotId, lower, upper, nonce. */
export function forecastPayload(slotId: string, range: ForecastRange, nonce: string): string {
  // -0 serializes as 0; anything else as JSON's shortest round-trip form.
  return JSON.stringify({ slotId, lower: range.lower + 0, upper: range.upper + 0, nonce });
}

/** The exact consumption payload text a device signs, members in this order: slotId, drawnKw, nonce. */
export function consumptionPayload(slotId: string, drawnKw: number, nonce: string): string {
  return JSON.stringify({ slotId, drawnKw: drawnKw + 0, nonce });
}

/**
 * The exact payload text a device signs for an order: canonical JSON (members sorted by name,
 * no spaces), as the chaincode stores and reveals it.
 */
export function orderPayload(windowId: string, order: OrderTerms, escrow: string, nonce: string): string {
  // Written in sorted member order; -0 serializes as 0.
  return JSON.stringify({
    energyKwh: order.energyKwh + 0,
    escrow,
    limitPrice: order.limitPrice + 0,
    nonce,
    side: order.side,
    windowId,
  });
}

/** The canonical payload of a signed cancellation. */
export function cancelPayload(windowId: string, nonce: string): string {
  return JSON.stringify({ action: 'cancel', nonce, windowId });
}

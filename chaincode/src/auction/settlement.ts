import {
  invalidArgument,
  MAX_ORDER_KWH,
  requireArray,
  requireFiniteNumber,
  requireObject,
  requireOnlyKeys,
  type TradeRecord,
  WH_PER_KWH,
} from '@hems/protocol';

/**
 * Delivery and settlement arithmetic of a cleared window: pure functions over the public trades and
 * one org's meter readings, all in integers (Wh, price units, bigint value units).
 *
 * - A reading is clamped to its trade's energy: a seller is never paid, and a buyer never charged,
 *   for more than it traded.
 * - A buyer pays price x received out of its escrow; the escrow kept at the clearing is exactly
 *   price x energy of its trades, so it always covers the charge.
 * - A seller is paid floor(price x delivered x f), f = min(1, B / S) with B the window's buyer
 *   charges and S its seller values: sellers are paid in proportion to what they delivered and
 *   never more, in total, than buyers paid in. The pool keeps the rest.
 */

export type TradeSide = 'offer' | 'bid';

export interface Reading {
  readonly tradeId: string;
  readonly side: TradeSide;
  /** Metered energy, Wh, >= 0 (not yet clamped). */
  readonly energyWh: number;
}

export interface DeliveryTotals {
  readonly deliveredWh: number;
  readonly receivedWh: number;
  /** Σ price x delivered over the org's sales, value units. */
  readonly sellerValue: bigint;
  /** Σ price x received over the org's purchases, value units. */
  readonly buyerCharge: bigint;
}

const TRADE_ID = /^t[1-9][0-9]{0,5}$/;

export function tradeIdOf(index: number): string {
  return `t${index + 1}`;
}

export function sideKey(tradeId: string, side: TradeSide): string {
  return `${tradeId}/${side}`;
}

/** The trade sides whose account belongs to `org`: what its meter head-end must report. */
export function sidesOf(
  trades: readonly TradeRecord[],
  org: string,
): { trade: TradeRecord; side: TradeSide }[] {
  const sides: { trade: TradeRecord; side: TradeSide }[] = [];
  for (const trade of trades) {
    if (trade.sellerOrg === org) {
      sides.push({ trade, side: 'offer' });
    }
    if (trade.buyerOrg === org) {
      sides.push({ trade, side: 'bid' });
    }
  }
  return sides;
}

/**
 * Parses the transient `readings` of `org`: exactly one `{tradeId, side, energyKwh}` for each of
 * its trade sides. Refusals name the position, never a reading.
 */
export function parseReadings(
  value: unknown,
  trades: readonly TradeRecord[],
  org: string,
): Map<string, number> {
  const expected = new Set(sidesOf(trades, org).map(({ trade, side }) => sideKey(trade.tradeId, side)));
  const list = requireArray(value, 'readings', Math.max(expected.size, 1));
  const readings = new Map<string, number>();
  list.forEach((item, index) => {
    const name = `readings[${index}]`;
    const entry = requireObject(item, name);
    requireOnlyKeys(entry, name, ['tradeId', 'side', 'energyKwh']);
    if (typeof entry.tradeId !== 'string' || !TRADE_ID.test(entry.tradeId)) {
      throw invalidArgument(`${name}.tradeId must be a trade id such as t1`);
    }
    if (entry.side !== 'offer' && entry.side !== 'bid') {
      throw invalidArgument(`${name}.side must be "offer" or "bid"`);
    }
    const key = sideKey(entry.tradeId, entry.side);
    if (!expected.has(key)) {
      throw invalidArgument(`${name} names a trade side that is not one of this organization's trades`);
    }
    if (readings.has(key)) {
      throw invalidArgument(`${name} repeats a trade side`);
    }
    readings.set(key, meteredWh(entry.energyKwh, `${name}.energyKwh`));
  });
  if (readings.size !== expected.size) {
    throw invalidArgument(`readings must cover every trade side of this organization (${expected.size})`);
  }
  return readings;
}

/** Metered kWh (>= 0, <= 3 decimals) to Wh. */
export function meteredWh(value: unknown, name: string): number {
  const kwh = requireFiniteNumber(value, name, 0, MAX_ORDER_KWH);
  const wh = Math.round(kwh * WH_PER_KWH);
  if (wh / WH_PER_KWH !== kwh) {
    throw invalidArgument(`${name} must have at most 3 decimal places (whole Wh)`);
  }
  return wh;
}

/** The metered Wh of one trade side, as reported (not clamped). */
export function readingOf(readings: ReadonlyMap<string, number>, tradeId: string, side: TradeSide): number {
  const reading = readings.get(sideKey(tradeId, side));
  if (reading === undefined) {
    throw new Error(`no reading of trade ${tradeId} ${side}`);
  }
  return reading;
}

function clamped(readings: ReadonlyMap<string, number>, trade: TradeRecord, side: TradeSide): number {
  return Math.min(readingOf(readings, trade.tradeId, side), trade.energyWh);
}

export function deliveryTotals(
  trades: readonly TradeRecord[],
  org: string,
  readings: ReadonlyMap<string, number>,
): DeliveryTotals {
  let deliveredWh = 0;
  let receivedWh = 0;
  let sellerValue = 0n;
  let buyerCharge = 0n;
  for (const { trade, side } of sidesOf(trades, org)) {
    const wh = clamped(readings, trade, side);
    if (side === 'offer') {
      deliveredWh += wh;
      sellerValue += BigInt(wh) * BigInt(trade.price);
    } else {
      receivedWh += wh;
      buyerCharge += BigInt(wh) * BigInt(trade.price);
    }
  }
  return { deliveredWh, receivedWh, sellerValue, buyerCharge };
}

/** What each of the org's buyers pays into the pool: Σ price x received, per account. */
export function buyerCharges(
  trades: readonly TradeRecord[],
  org: string,
  readings: ReadonlyMap<string, number>,
): Map<string, bigint> {
  const charges = new Map<string, bigint>();
  for (const { trade, side } of sidesOf(trades, org)) {
    if (side === 'bid') {
      const charge = BigInt(clamped(readings, trade, side)) * BigInt(trade.price);
      charges.set(trade.buyerAccount, (charges.get(trade.buyerAccount) ?? 0n) + charge);
    }
  }
  return charges;
}

/**
 * What each of the org's sellers is paid: Σ floor(price x delivered x f) per account, f = min(1,
 * B / S) for the window's totals B (buyer charges) and S (seller values).
 */
export function sellerPayments(
  trades: readonly TradeRecord[],
  org: string,
  readings: ReadonlyMap<string, number>,
  windowBuyerCharge: bigint,
  windowSellerValue: bigint,
): Map<string, bigint> {
  const payments = new Map<string, bigint>();
  for (const { trade, side } of sidesOf(trades, org)) {
    if (side === 'offer') {
      const value = BigInt(clamped(readings, trade, side)) * BigInt(trade.price);
      const payment =
        windowBuyerCharge >= windowSellerValue ? value : (value * windowBuyerCharge) / windowSellerValue;
      payments.set(trade.sellerAccount, (payments.get(trade.sellerAccount) ?? 0n) + payment);
    }
  }
  return payments;
}

/** Value of each bid's trades, by bid reference: what its escrow keeps after the clearing. */
export function tradeValueByBid(trades: readonly TradeRecord[]): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const trade of trades) {
    values.set(trade.bidRef, (values.get(trade.bidRef) ?? 0n) + BigInt(trade.value));
  }
  return values;
}

/**
 * Whether a utility's published delivery totals are possible under the public clearing: no more
 * delivered, received, valued or charged than its trades hold when every reading equals the traded
 * energy (honest totals clamp each reading to its trade). A utility alone writes its totals, and
 * the others' sellers are paid by them, so totals beyond this bound do not count.
 */
export function deliveryWithinClearing(
  trades: readonly TradeRecord[],
  org: string,
  delivery: {
    readonly deliveredWh: unknown;
    readonly receivedWh: unknown;
    readonly sellerValue: unknown;
    readonly buyerCharge: unknown;
  },
): boolean {
  const full = new Map(
    sidesOf(trades, org).map(({ trade, side }) => [sideKey(trade.tradeId, side), trade.energyWh]),
  );
  const most = deliveryTotals(trades, org, full);
  const whole = (value: unknown, max: number): boolean =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
  const units = (value: unknown, max: bigint): boolean =>
    typeof value === 'string' && /^(0|[1-9][0-9]{0,38})$/.test(value) && BigInt(value) <= max;
  return (
    whole(delivery.deliveredWh, most.deliveredWh) &&
    whole(delivery.receivedWh, most.receivedWh) &&
    units(delivery.sellerValue, most.sellerValue) &&
    units(delivery.buyerCharge, most.buyerCharge)
  );
}

/**
 * The simulated day's side of the energy auction, pure: how much a home offers or bids for a
 * delivery slot and at what limit price, what its meter head-end posts as available, what the
 * meters measure after delivery, when a window closes, and the auction's units (docs/auction.md:
 * energy in whole Wh, prices in 1/10000 currency per MWh, values in 1e-10 currency).
 * Same seed, home and slot: same numbers.
 */
import { slotDemand, surplusKw, SLOT_MINUTES, type HomeProfile, type PriceRange } from './appliance-model';
import { between, createRandom, seedOf } from './prng';

/** Hours in one slot: kW over a slot times this is kWh. */
const SLOT_HOURS = SLOT_MINUTES / 60;
/** Smaller orders are not worth a transaction (10 Wh). */
export const MIN_ORDER_KWH = 0.01;
/** Value units (1e-10 currency) per currency. */
export const VALUE_UNITS_PER_CURRENCY = 10n ** 10n;
/** Price units per currency per MWh. */
const PRICE_UNITS = 10_000;
/** Bids escrow whole currency units, so the public escrow tells only a coarse bound of the bid. */
const ESCROW_STEP = VALUE_UNITS_PER_CURRENCY;

/** Offers ask this share of the slot's lower price; bids offer this share of its upper price. */
const OFFER_PRICE_SHARE = { min: 0.6, max: 0.9 } as const;
const BID_PRICE_SHARE = { min: 0.85, max: 1 } as const;
/** Share of a trade a meter measures as delivered (seller) or received (buyer). */
export const DELIVERY_SHARE = { min: 0.9, max: 1 } as const;

export interface OrderPlan {
  readonly side: 'offer' | 'bid';
  /** kWh, > 0, at most 3 decimals. */
  readonly energyKwh: number;
  /** Currency per MWh, at most 2 decimals: an offer's minimum or a bid's maximum price. */
  readonly limitPrice: number;
}

const floor3 = (value: number): number => Math.floor(value * 1000 + 1e-9) / 1000;
const round2 = (value: number): number => Math.round(value * 100) / 100;

/** A home with PV is a prosumer: it sells its surplus; every other home is a consumer. */
export function isProsumer(profile: HomeProfile): boolean {
  return profile.pv !== null;
}

/**
 * Energy a prosumer can export in the slot, kWh (3 decimals, rounded down so an offer of it is
 * always deliverable by the model): PV minus the home's own wanted load minus battery charging,
 * at the slot's prices. 0 for a consumer. The meter head-end posts it; the home offers it.
 */
export function availableEnergyKwh(
  profile: HomeProfile,
  seed: number,
  homeIndex: number,
  slot: number,
  prices: PriceRange,
): number {
  return isProsumer(profile) ? floor3(surplusKw(profile, seed, homeIndex, slot, prices) * SLOT_HOURS) : 0;
}

/**
 * The home's order for a delivery slot, or null when it has nothing to trade:
 * - a prosumer offers its whole available energy at a minimum price below the slot's lower price
 *   (its PV costs it nothing; it undercuts the grid to sell);
 * - a consumer bids for its flexible demand (ΣLmax − ΣLmin of its own forecast range over the
 *   slot) at a maximum price just below the slot's upper price (what the grid would charge).
 * Prosumers never bid: their accounts hold no balance to escrow.
 */
export function planOrder(
  profile: HomeProfile,
  seed: number,
  homeIndex: number,
  slot: number,
  prices: PriceRange,
): OrderPlan | null {
  const random = createRandom(seedOf('order', seed, homeIndex, slot));
  if (isProsumer(profile)) {
    const energyKwh = availableEnergyKwh(profile, seed, homeIndex, slot, prices);
    if (energyKwh < MIN_ORDER_KWH) {
      return null;
    }
    const limitPrice = round2(prices.lower * between(random, OFFER_PRICE_SHARE.min, OFFER_PRICE_SHARE.max));
    return { side: 'offer', energyKwh, limitPrice };
  }
  const demand = slotDemand(profile, seed, homeIndex, slot, prices);
  const energyKwh = floor3((demand.upper - demand.lower) * SLOT_HOURS);
  if (energyKwh < MIN_ORDER_KWH) {
    return null;
  }
  const limitPrice = round2(prices.upper * between(random, BID_PRICE_SHARE.min, BID_PRICE_SHARE.max));
  return { side: 'bid', energyKwh, limitPrice };
}

/** A bid's value (energy × limit price) in value units, exactly as the chaincode computes it. */
export function orderValueUnits(order: Pick<OrderPlan, 'energyKwh' | 'limitPrice'>): bigint {
  return BigInt(Math.round(order.energyKwh * 1000)) * BigInt(Math.round(order.limitPrice * PRICE_UNITS));
}

/**
 * The escrow a bid locks, in currency: its value rounded up to whole currency units, so the public
 * escrow (the only trace of a bid before the close) does not tell the bid's energy or price.
 */
export function paddedEscrow(order: Pick<OrderPlan, 'energyKwh' | 'limitPrice'>): string {
  const value = orderValueUnits(order);
  const steps = value === 0n ? 1n : (value + ESCROW_STEP - 1n) / ESCROW_STEP;
  return ((steps * ESCROW_STEP) / VALUE_UNITS_PER_CURRENCY).toString();
}

/**
 * What a meter measured for one side of a trade, Wh: between 90 % and 100 % of the traded energy
 * (clouds, a load switching on), drawn per home, slot, trade and side.
 */
export function meteredWh(
  seed: number,
  homeIndex: number,
  slot: number,
  tradeId: string,
  side: 'offer' | 'bid',
  tradedWh: number,
): number {
  if (!Number.isInteger(tradedWh) || tradedWh < 0) {
    throw new RangeError('tradedWh must be a whole number of Wh ≥ 0');
  }
  const random = createRandom(seedOf('meter', seed, homeIndex, slot, tradeId, side));
  return Math.floor(tradedWh * between(random, DELIVERY_SHARE.min, DELIVERY_SHARE.max));
}

/** Bounds of the time a window stays open for orders, ms. */
export const CLOSE_DELAY_MS = { initial: 8_000, min: 4_000, max: 30_000 } as const;

/**
 * How long the next window stays open: long enough for the head-ends to post and the homes to
 * order, judged by how long that took in the previous window (half again, plus 2 s for the
 * reveal's clock margin); the first window gets a fixed allowance.
 */
export function closeDelayMs(previousOrderingMs: number | undefined): number {
  if (previousOrderingMs === undefined) {
    return CLOSE_DELAY_MS.initial;
  }
  if (!Number.isFinite(previousOrderingMs) || previousOrderingMs < 0) {
    throw new RangeError('previousOrderingMs must be a finite duration ≥ 0');
  }
  const wanted = Math.ceil(previousOrderingMs * 1.5 + 2_000);
  return Math.min(CLOSE_DELAY_MS.max, Math.max(CLOSE_DELAY_MS.min, wanted));
}

/** Shortest delivery period of a window on the ledger, ms. */
export const MIN_DELIVERY_MS = 1_000;

export interface WindowTimes {
  readonly closesAt: Date;
  readonly deliveryStart: Date;
  readonly deliveryEnd: Date;
}

/**
 * A window's times on the ledger: it closes `closeDelay` after `now`; delivery covers the delivery
 * slot's wall-clock period when the day is paced, but never starts before the close (the auction
 * may lag behind the slots) and lasts at least MIN_DELIVERY_MS.
 */
export function windowTimes(
  now: number,
  closeDelay: number,
  pacedDelivery: { readonly start: number; readonly end: number } | null,
): WindowTimes {
  const closesAt = now + closeDelay;
  const deliveryStart = Math.max(closesAt, pacedDelivery?.start ?? closesAt);
  const deliveryEnd = Math.max(deliveryStart + MIN_DELIVERY_MS, pacedDelivery?.end ?? 0);
  return {
    closesAt: new Date(closesAt),
    deliveryStart: new Date(deliveryStart),
    deliveryEnd: new Date(deliveryEnd),
  };
}

/** Value units (a decimal integer string) as exact currency: "12345000000" → "1.2345". */
export function formatValue(units: string): string {
  if (!/^-?\d+$/.test(units)) {
    throw new RangeError('a value must be a decimal integer string of value units');
  }
  const value = BigInt(units);
  const sign = value < 0n ? '-' : '';
  const magnitude = value < 0n ? -value : value;
  const whole = magnitude / VALUE_UNITS_PER_CURRENCY;
  const fraction = (magnitude % VALUE_UNITS_PER_CURRENCY).toString().padStart(10, '0').replace(/0+$/, '');
  return `${sign}${whole.toString()}${fraction === '' ? '' : `.${fraction}`}`;
}

/** A clearing price in price units as currency per MWh. */
export function priceFromUnits(units: number): number {
  return units / PRICE_UNITS;
}

/** Wh as kWh (exact to 3 decimals). */
export function kwhFromWh(wh: number): number {
  return wh / 1000;
}

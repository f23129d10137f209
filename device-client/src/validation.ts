/*
 * What the device checks before it signs anything, with the chaincode's own rules, so what passes
 * here passes there. Messages never contain a forecast's, a reading's or an order's values.
 */
import { MAX_ORDER_KWH, MAX_PRICE, SLOT_ID } from '@hems/protocol';
import type { ForecastRange, OrderSpec } from './types';
import { isRecord } from './transport';

const KW_SCALE = 1000;

/** Slot ids have the gateway's and chaincode's pattern (SLOT_ID). */
export function checkSlotId(slotId: string, name = 'slotId'): void {
  if (typeof slotId !== 'string' || !SLOT_ID.test(slotId)) {
    throw new TypeError(`${name} must be 1-64 characters of letters, digits, ".", "_", ":" or "-"`);
  }
}

/** Window ids have the slot ids' form. */
export function checkWindowId(windowId: string): void {
  checkSlotId(windowId, 'windowId');
}

/** True when `value * 10^places` is a whole number, exactly (the chaincode's rule). */
function hasAtMostDecimals(value: number, places: number): boolean {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale === value;
}

/** Price units per currency per MWh, and value units (Wh × price units) per 1e-4 currency. */
const PRICE_SCALE = 10_000n;
const VALUE_UNITS_PER_ESCROW_UNIT = 1_000_000n;
const ESCROW = /^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$/;

/** Currency with at most 4 decimals as a count of 1e-4 units; messages never hold the value. */
function escrowUnits(value: number | string): bigint {
  const text =
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && hasAtMostDecimals(value, 4)
      ? value.toFixed(4)
      : value;
  const match = typeof text === 'string' ? ESCROW.exec(text) : null;
  if (match === null) {
    throw new RangeError('order escrow must be a non-negative currency amount with at most 4 decimals');
  }
  return BigInt(match[1] ?? '0') * 10_000n + BigInt((match[2] ?? '.').slice(1).padEnd(4, '0'));
}

/** 1e-4 currency units as the plain decimal string the chaincode reads ("12.5", "0"). */
function formatEscrow(units: bigint): string {
  const fraction = (units % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return `${(units / 10_000n).toString()}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Escrow units (1e-4 currency) per whole currency unit. */
const ESCROW_UNITS_PER_CURRENCY = 10_000n;

/**
 * The default escrow of a bid covering `covering` escrow units: the next power of two in whole
 * currency units at or above it, at least 1 currency unit, so the public escrow shows only a
 * coarse bucket of the bid's value (its energy × price) rather than the product itself.
 */
export function paddedEscrowUnits(covering: bigint): bigint {
  let whole = 1n;
  while (whole * ESCROW_UNITS_PER_CURRENCY < covering) {
    whole *= 2n;
  }
  return whole * ESCROW_UNITS_PER_CURRENCY;
}

function checkEnergyKwh(energyKwh: number): void {
  if (
    typeof energyKwh !== 'number' ||
    !Number.isFinite(energyKwh) ||
    energyKwh <= 0 ||
    energyKwh > MAX_ORDER_KWH
  ) {
    throw new RangeError(
      `order energyKwh must be a finite number of kWh above 0 and at most ${MAX_ORDER_KWH}`,
    );
  }
  if (!hasAtMostDecimals(energyKwh, 3)) {
    throw new RangeError('order energyKwh must have at most 3 decimals (whole Wh)');
  }
}

function checkLimitPrice(limitPrice: number): void {
  if (
    typeof limitPrice !== 'number' ||
    !Number.isFinite(limitPrice) ||
    limitPrice < 0 ||
    limitPrice > MAX_PRICE
  ) {
    throw new RangeError(`order limitPrice must be a finite price per MWh from 0 to ${MAX_PRICE}`);
  }
  if (!hasAtMostDecimals(limitPrice, 4)) {
    throw new RangeError('order limitPrice must have at most 4 decimals');
  }
}

/**
 * Validates an order (messages never contain its values) and settles its escrow: "0" for offers;
 * for bids the given escrow, which must cover energy × limitPrice, or by default that value
 * padded to the next power of two in whole currency units (paddedEscrowUnits).
 */
export function checkOrder(order: OrderSpec): { escrow: string } {
  if (!isRecord(order)) {
    throw new TypeError('order must be an object {side, energyKwh, limitPrice, escrow?}');
  }
  if (order.side !== 'offer' && order.side !== 'bid') {
    throw new RangeError('order side must be "offer" or "bid"');
  }
  const { energyKwh, limitPrice } = order;
  checkEnergyKwh(energyKwh);
  checkLimitPrice(limitPrice);
  if (order.side === 'offer') {
    if (order.escrow !== undefined && escrowUnits(order.escrow) !== 0n) {
      throw new RangeError('an offer carries no escrow');
    }
    return { escrow: '0' };
  }
  // value units = Wh × price units; one escrow unit (1e-4 currency) is 1e6 value units.
  const value = BigInt(Math.round(energyKwh * 1000)) * BigInt(Math.round(limitPrice * Number(PRICE_SCALE)));
  const covering = (value + VALUE_UNITS_PER_ESCROW_UNIT - 1n) / VALUE_UNITS_PER_ESCROW_UNIT;
  if (order.escrow === undefined) {
    return { escrow: formatEscrow(paddedEscrowUnits(covering)) };
  }
  const given = escrowUnits(order.escrow);
  if (given < covering) {
    throw new RangeError('order escrow must cover energyKwh × limitPrice');
  }
  return { escrow: formatEscrow(given) };
}

/** Checks a kW value without ever putting the value in the message. */
function checkKw(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of kW, at least 0`);
  }
  // The chaincode's own rule (requireDecimalPlaces), so what passes here passes there.
  if (Math.abs(Math.round(value * KW_SCALE) - value * KW_SCALE) > 1e-6) {
    throw new RangeError(`${name} must have at most 3 decimals (watt resolution)`);
  }
}

/** Validates a forecast range (0 ≤ lower ≤ upper, ≤ 3 decimals); messages never contain the values. */
export function checkForecastRange(range: ForecastRange): void {
  if (!isRecord(range)) {
    throw new TypeError('forecast must be an object {lower, upper}');
  }
  checkKw(range.lower, 'forecast lower');
  checkKw(range.upper, 'forecast upper');
  if (range.lower > range.upper) {
    throw new RangeError('forecast lower must not exceed upper');
  }
}

/** Validates a drawn power (finite, ≥ 0, ≤ 3 decimals); messages never contain the value. */
export function checkDrawnKw(drawnKw: number): void {
  checkKw(drawnKw, 'drawnKw');
}

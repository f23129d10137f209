import { invalidArgument } from '../errors';
import { requireString } from '../validation';
import { VALUE_UNITS_PER_CURRENCY } from './orders';

/**
 * Token amounts. Balances, escrows, pools, charges and payments are bigint value units (1e-10
 * currency, the unit of a trade's value: Wh x price units, see ./orders.ts) and are stored as
 * decimal integer strings, so no sum ever loses precision. At the edges an amount is a currency
 * string with at most 4 decimals ("12.5", "0.0001").
 */

/** Largest single deposit or escrow, in currency. */
export const MAX_CURRENCY_AMOUNT = 1_000_000_000;
export const MAX_AMOUNT_UNITS = BigInt(MAX_CURRENCY_AMOUNT) * VALUE_UNITS_PER_CURRENCY;
const CURRENCY = /^(0|[1-9][0-9]{0,9})(\.[0-9]{1,4})?$/;
const UNITS = /^(0|[1-9][0-9]{0,39})$/;

/** A currency amount written as a string, 0 <= amount <= MAX_CURRENCY_AMOUNT, to value units. */
export function currencyToUnits(value: unknown, name: string): bigint {
  const text = requireString(value, name);
  const match = CURRENCY.exec(text);
  if (match === null) {
    throw invalidArgument(
      `${name} must be a currency amount written as a string, e.g. "12.5" (at most 4 decimals)`,
    );
  }
  const [, whole = '0', decimals = '.'] = match;
  const fraction = decimals.slice(1).padEnd(10, '0');
  const units = BigInt(whole) * VALUE_UNITS_PER_CURRENCY + BigInt(fraction);
  if (units > MAX_AMOUNT_UNITS) {
    throw invalidArgument(`${name} must be at most ${MAX_CURRENCY_AMOUNT}`);
  }
  return units;
}

/** A stored amount (non-negative decimal integer string) back to bigint; corrupt state throws. */
export function unitsFromStored(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !UNITS.test(value)) {
    throw new Error(`stored ${what} is not a non-negative decimal integer`);
  }
  return BigInt(value);
}

export function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function sumBigint(values: Iterable<bigint>): bigint {
  let total = 0n;
  for (const value of values) {
    total += value;
  }
  return total;
}

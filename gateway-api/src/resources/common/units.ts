import { HttpError } from '../../http/errors';

/**
 * The auction's units at the API's edges (@hems/protocol's auction units): energy in kWh with at
 * most 3 decimals (whole Wh), currency amounts with at most 4 decimals. Checked here so that a
 * hostile number is refused with a precise 400 before anything reaches a peer; messages name the
 * field, never the value (readings and availabilities are private).
 */

/** The chaincode's largest energy per order or reading: 1 GWh. */
export const MAX_KWH = 1_000_000;
/** The chaincode's largest deposit, in currency. */
export const MAX_DEPOSIT = 1_000_000_000;

/** True when `value * 10^places` is a whole number, exactly: the chaincode's own rule. */
export function hasAtMostDecimals(value: number, places: number): boolean {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale === value;
}

function invalid(message: string): HttpError {
  return new HttpError(400, 'INVALID_REQUEST', message);
}

/** kWh: a finite number in [0, MAX_KWH] with at most 3 decimals; -0 becomes 0. */
export function requireKwh(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_KWH) {
    throw invalid(`${name} must be a finite number of kWh from 0 to ${MAX_KWH}`);
  }
  if (!hasAtMostDecimals(value, 3)) {
    throw invalid(`${name} must have at most 3 decimal places (whole Wh)`);
  }
  return value + 0;
}

const DECIMAL = /^(0|[1-9][0-9]{0,9})(\.[0-9]{1,4})?$/;

/**
 * A positive currency amount (a JSON number or a decimal string) of at most 4 decimals and at
 * most `max`, as the plain decimal string the chaincode reads ("12.5", never "1.25e1").
 */
export function currencyAmount(value: unknown, name: string, max: number): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !hasAtMostDecimals(value, 4)) {
      throw invalid(`${name} must be a finite amount with at most 4 decimal places`);
    }
    text = value.toFixed(4).replace(/\.?0+$/, '');
  } else if (typeof value === 'string') {
    text = value;
  } else {
    throw invalid(`${name} must be a number or a decimal string`);
  }
  if (!DECIMAL.test(text)) {
    throw invalid(`${name} must be a plain decimal with at most 4 decimal places`);
  }
  const amount = Number(text);
  if (amount <= 0 || amount > max) {
    throw invalid(`${name} must be greater than 0 and at most ${max}`);
  }
  // One spelling per amount: no trailing zeros after the point.
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

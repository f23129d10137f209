import { invalidArgument } from './errors';
import { BUS_ID, HOME_ID, HOME_REF, MSP_ID, PROPOSAL_ID, SLOT_ID, TRANSACTION_ID } from './identifiers';

/**
 * Parsers for transaction arguments. Fabric hands every argument over as a string; each parser
 * accepts exactly one spelling and names the argument in its refusal, never the value (which may
 * be private).
 */

const DECIMAL = /^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?$/;
const INTEGER = /^(0|[1-9][0-9]{0,15})$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw invalidArgument(`${name} must be a string`);
  }
  return value;
}

function requirePattern(value: unknown, name: string, pattern: RegExp, form: string): string {
  const text = requireString(value, name);
  if (!pattern.test(text)) {
    throw invalidArgument(`${name} must be ${form}`);
  }
  return text;
}

/** A parser for one kind of identifier: its pattern, its argument's usual name, its form in words. */
function identifierParser(pattern: RegExp, usualName: string, form: string) {
  return (value: unknown, name = usualName): string => requirePattern(value, name, pattern, form);
}

const SLOT_ID_FORM = '1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit';
const BUS_ID_FORM = '1-32 characters of A-Z a-z 0-9 . _ - starting with a letter or digit';
const PROPOSAL_ID_FORM = '1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit';
const MSP_ID_FORM = 'an MSP id (1-64 characters of A-Z a-z 0-9 . _ -)';
const HOME_ID_FORM = '1-128 characters of A-Z a-z 0-9 . _ : @ - starting with a letter or digit';

export const parseSlotId = identifierParser(SLOT_ID, 'slotId', SLOT_ID_FORM);
export const parseBusId = identifierParser(BUS_ID, 'bus', BUS_ID_FORM);
export const parseProposalId = identifierParser(PROPOSAL_ID, 'proposalId', PROPOSAL_ID_FORM);
export const parseMspId = identifierParser(MSP_ID, 'mspId', MSP_ID_FORM);
/** A home id as utilities enrol it (the device certificate's hems.home attribute). */
export const parseHomeId = identifierParser(HOME_ID, 'homeId', HOME_ID_FORM);
export const parseHomeRef = identifierParser(HOME_REF, 'homeRef', '64 lowercase hexadecimal characters');
/** A Fabric transaction id (SHA-256 hex), e.g. the key of a forecast batch. */
export const parseTxId = identifierParser(TRANSACTION_ID, 'txId', '64 lowercase hexadecimal characters');

export function isHomeId(text: string): boolean {
  return HOME_ID.test(text);
}

/** A decimal number written plainly (no exponent, no hex, no spaces, no leading '+'). */
export function parseDecimalArgument(value: unknown, name: string): number {
  const text = requirePattern(value, name, DECIMAL, 'a plain decimal number such as 0.25');
  return Number(text);
}

export function parseIntegerArgument(value: unknown, name: string, min: number, max: number): number {
  const text = requirePattern(value, name, INTEGER, 'a non-negative whole number');
  return requireInteger(Number(text), name, min, max);
}

export function requireInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidArgument(`${name} must be a whole number`);
  }
  if (value < min || value > max) {
    throw invalidArgument(`${name} must be between ${min} and ${max}`);
  }
  return value;
}

/** A finite JSON number within [min, max]; the refusal names the bounds, not the value. */
export function requireFiniteNumber(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw invalidArgument(`${name} must be a number`);
  }
  if (!Number.isFinite(value)) {
    throw invalidArgument(`${name} must be a finite number`);
  }
  if (value < min || value > max) {
    throw invalidArgument(`${name} must be between ${min} and ${max}`);
  }
  return value;
}

/** At most `places` decimal places, so sums can be done exactly in integer units. */
export function requireDecimalPlaces(value: number, name: string, places: number): number {
  const scale = 10 ** places;
  if (Math.abs(Math.round(value * scale) - value * scale) > 1e-6) {
    throw invalidArgument(`${name} must have at most ${places} decimal places`);
  }
  return value;
}

/** An RFC 3339 timestamp with an explicit zone, e.g. 2026-11-21T10:15:00Z. */
export function parseTimestamp(value: unknown, name: string): Date {
  const text = requirePattern(
    value,
    name,
    RFC3339,
    'an RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:15:00Z',
  );
  const millis = Date.parse(text);
  if (Number.isNaN(millis)) {
    throw invalidArgument(`${name} is not a valid date`);
  }
  return new Date(millis);
}

/** Free text such as a revision reason: bounded, printable, single line. */
export function parseReason(value: unknown, name: string, maxLength: number): string {
  const text = requireString(value, name);
  if (text.length === 0 || text.length > maxLength) {
    throw invalidArgument(`${name} must be 1-${maxLength} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw invalidArgument(`${name} must not contain control characters`);
  }
  return text;
}

export function requireObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${name} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function requireArray(value: unknown, name: string, maxItems: number): unknown[] {
  if (!Array.isArray(value)) {
    throw invalidArgument(`${name} must be a JSON array`);
  }
  if (value.length > maxItems) {
    throw invalidArgument(`${name} must have at most ${maxItems} entries`);
  }
  return value;
}

/** Refuses members other than `allowed`, so typos and smuggled fields fail loudly. */
export function requireOnlyKeys(
  record: Record<string, unknown>,
  name: string,
  allowed: readonly string[],
): void {
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw invalidArgument(
      `${name} has unknown field(s): ${unknown.map(describeKey).join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
}

function describeKey(key: string): string {
  // Keys come from the caller: print them only when they are short and tame.
  return /^[A-Za-z0-9_.-]{1,32}$/.test(key) ? key : '(unprintable key)';
}

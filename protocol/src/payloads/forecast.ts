import { MAX_SIGNED_PAYLOAD_BYTES } from '../limits';
import { parseStoredJson } from '../json/canonical-json';
import { invalidArgument } from '../errors';
import {
  parseBusId,
  parseSlotId,
  requireDecimalPlaces,
  requireFiniteNumber,
  requireObject,
  requireOnlyKeys,
  requireString,
} from '../validation';

/**
 * The payload a HEMS device signs: `{slotId, lower, upper, nonce}`, lower/upper in kW.
 * The nonce (>= 16 random bytes, base64) makes the stored value's on-chain hash impossible to
 * brute-force and makes every submission unique, so a replayed payload is detected.
 */
export interface ForecastPayload {
  readonly slotId: string;
  readonly lower: number;
  readonly upper: number;
  readonly nonce: string;
}

/** What the utility's collection stores: the payload plus the bus from the device certificate. */
export interface StoredForecast extends ForecastPayload {
  readonly bus: string;
}

export const MAX_PAYLOAD_BYTES = MAX_SIGNED_PAYLOAD_BYTES;
export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;
/** kW values carry at most three decimals (watt resolution), so sums are exact in integer watts. */
export const KW_DECIMALS = 3;

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function decodeNonce(value: unknown): Buffer {
  const text = requireString(value, 'nonce');
  if (!BASE64.test(text) || text.length > 128) {
    throw invalidArgument('nonce must be base64');
  }
  const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length < MIN_NONCE_BYTES || bytes.length > MAX_NONCE_BYTES) {
    throw invalidArgument(`nonce must decode to ${MIN_NONCE_BYTES}-${MAX_NONCE_BYTES} random bytes`);
  }
  return bytes;
}

function parseKw(value: unknown, name: string, maxKw: number): number {
  return requireDecimalPlaces(requireFiniteNumber(value, name, 0, maxKw), name, KW_DECIMALS);
}

/** Validates the forecast fields of a record (bounds only; the refusal never echoes a value). */
export function parseForecastFields(record: Record<string, unknown>, maxKw: number): ForecastPayload {
  const slotId = parseSlotId(record.slotId, 'payload.slotId');
  const lower = parseKw(record.lower, 'payload.lower', maxKw);
  const upper = parseKw(record.upper, 'payload.upper', maxKw);
  if (lower > upper) {
    throw invalidArgument('payload.lower must not exceed payload.upper');
  }
  decodeNonce(record.nonce);
  return { slotId, lower, upper, nonce: record.nonce as string };
}

/**
 * The JSON object of device-signed payload bytes, holding no member but `members`. Refusals name
 * the rule, never the bytes (they are private).
 */
export function parsePayloadRecord(bytes: Uint8Array, members: readonly string[]): Record<string, unknown> {
  if (bytes.length === 0 || bytes.length > MAX_PAYLOAD_BYTES) {
    throw invalidArgument(`payload must be 1-${MAX_PAYLOAD_BYTES} bytes of JSON`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalidArgument('payload is not valid JSON');
  }
  const record = requireObject(parsed, 'payload');
  requireOnlyKeys(record, 'payload', members);
  return record;
}

/** Parses the device-signed payload bytes. */
export function parseForecastPayload(bytes: Uint8Array, maxKw: number): ForecastPayload {
  const record = parsePayloadRecord(bytes, ['slotId', 'lower', 'upper', 'nonce']);
  return parseForecastFields(record, maxKw);
}

/** Parses a revealed forecast for a proof of submission (same rules as a submission). */
export function parseRevealedForecast(value: unknown, maxKw: number): StoredForecast {
  const record = requireObject(value, 'revealed forecast');
  requireOnlyKeys(record, 'revealed forecast', ['slotId', 'bus', 'lower', 'upper', 'nonce']);
  return { ...parseForecastFields(record, maxKw), bus: parseBusId(record.bus, 'revealed forecast bus') };
}

export function storedForecastFromBytes(bytes: Uint8Array): StoredForecast {
  const record = requireObject(parseStoredJson(bytes, 'forecast'), 'stored forecast');
  return {
    slotId: requireString(record.slotId, 'stored forecast slotId'),
    bus: requireString(record.bus, 'stored forecast bus'),
    lower: requireFiniteNumber(record.lower, 'stored forecast lower', 0, Number.MAX_SAFE_INTEGER),
    upper: requireFiniteNumber(record.upper, 'stored forecast upper', 0, Number.MAX_SAFE_INTEGER),
    nonce: requireString(record.nonce, 'stored forecast nonce'),
  };
}

export function kwToWatts(kw: number): number {
  return Math.round(kw * 1000);
}

export function wattsToKw(watts: number): number {
  return watts / 1000;
}

/** Paper eq. (1): P = λ·Lmax + (1−λ)·Lmin, rounded to the watt. */
export function allowedPowerKw(lambda: number, lower: number, upper: number): number {
  return wattsToKw(Math.round(lambda * kwToWatts(upper) + (1 - lambda) * kwToWatts(lower)));
}

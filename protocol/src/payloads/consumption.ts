import { parseStoredJson } from '../json/canonical-json';
import {
  parseSlotId,
  requireDecimalPlaces,
  requireFiniteNumber,
  requireObject,
  requireString,
} from '../validation';
import { decodeNonce, KW_DECIMALS, parsePayloadRecord } from './forecast';

/**
 * What a HEMS device signs after dispatch: `{slotId, drawnKw, nonce}`, the power it then draws in
 * kW. The nonce plays the same part as in a forecast: it salts the stored value's on-chain hash.
 */
export interface ConsumptionPayload {
  readonly slotId: string;
  readonly drawnKw: number;
  readonly nonce: string;
}

/** One home's report in its utility's collection, with the allowed power it was judged against. */
export interface StoredConsumption extends ConsumptionPayload {
  /** From the home's stored forecast (the device certificate's bus at submission). */
  readonly bus: string;
  readonly allowedKw: number;
  readonly compliant: boolean;
  readonly reportedAt: string;
  /** Relay-attested (an OpenADR VEN's USAGE report), not device-signed; absent for a signed report. */
  readonly attested?: true;
}

/** Drawn power may exceed the allowed power by this much (one watt) and still comply. */
export const COMPLIANCE_TOLERANCE_WATTS = 1;

/** Parses the device-signed consumption payload bytes (refusals never echo a value). */
export function parseConsumptionPayload(bytes: Uint8Array, maxKw: number): ConsumptionPayload {
  const record = parsePayloadRecord(bytes, ['slotId', 'drawnKw', 'nonce']);
  const slotId = parseSlotId(record.slotId, 'payload.slotId');
  const drawnKw = requireDecimalPlaces(
    requireFiniteNumber(record.drawnKw, 'payload.drawnKw', 0, maxKw),
    'payload.drawnKw',
    KW_DECIMALS,
  );
  decodeNonce(record.nonce);
  return { slotId, drawnKw, nonce: record.nonce as string };
}

export function storedConsumptionFromBytes(bytes: Uint8Array): StoredConsumption {
  const record = requireObject(parseStoredJson(bytes, 'consumption report'), 'stored consumption report');
  return {
    slotId: requireString(record.slotId, 'stored consumption report slotId'),
    bus: requireString(record.bus, 'stored consumption report bus'),
    drawnKw: requireFiniteNumber(
      record.drawnKw,
      'stored consumption report drawnKw',
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    allowedKw: requireFiniteNumber(
      record.allowedKw,
      'stored consumption report allowedKw',
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    compliant: record.compliant === true,
    nonce: requireString(record.nonce, 'stored consumption report nonce'),
    reportedAt: requireString(record.reportedAt, 'stored consumption report reportedAt'),
    ...(record.attested === true ? { attested: true as const } : {}),
  };
}

import { parseStoredJson, requireFiniteNumber, requireInteger, requireObject } from '@hems/protocol';
import type { AggregateRecord, ConsumptionSummary } from './records';

/**
 * A utility's aggregate record as another organization may rely on it.
 *
 * Only the utility's own peer can endorse writes to its aggregate keys (a key-level policy), so a
 * utility running modified chaincode on its peer can put any bytes there. A record therefore
 * speaks only for its key: it must parse, name the slot, organization and bus of its key, and hold
 * sums that are finite, non-negative and in order. Anything else counts as that utility not having
 * published the bus, so one member's bad record can never stop or skew the others' sums, the
 * slot's view or the DSO's dispatch.
 */
export interface AggregateKey {
  readonly slotId: string;
  readonly org: string;
  readonly bus: string;
}

const MAX_HOMES = Number.MAX_SAFE_INTEGER;
const MAX_KW = Number.MAX_SAFE_INTEGER / 1000;

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function checkSums(record: Record<string, unknown>): void {
  requireInteger(record.homes, 'homes', 0, MAX_HOMES);
  if (typeof record.withheld !== 'boolean' || !isString(record.publishedAt)) {
    throw new TypeError('a published aggregate names whether it is withheld and when it was published');
  }
  if (!record.withheld) {
    const lower = requireFiniteNumber(record.lower, 'lower', 0, MAX_KW);
    const upper = requireFiniteNumber(record.upper, 'upper', 0, MAX_KW);
    if (lower > upper) {
      throw new RangeError('lower exceeds upper');
    }
    checkAttested(record.relayAttested, record.homes as number);
  }
}

/** A relay-attested count, when present, counts some of the homes (older records have none). */
function checkAttested(value: unknown, homes: number): void {
  if (value !== undefined) {
    requireInteger(value, 'relayAttested', 0, homes);
  }
}

function checkConsumption(value: unknown): void {
  const summary = requireObject(value, 'consumption') as Partial<Record<keyof ConsumptionSummary, unknown>>;
  requireInteger(summary.homes, 'consumption.homes', 0, MAX_HOMES);
  if (typeof summary.withheld !== 'boolean') {
    throw new TypeError('a consumption summary names whether it is withheld');
  }
  if (!summary.withheld) {
    requireFiniteNumber(summary.drawnKw, 'consumption.drawnKw', 0, MAX_KW);
    requireInteger(summary.nonCompliant, 'consumption.nonCompliant', 0, MAX_HOMES);
    checkAttested(summary.relayAttested, summary.homes as number);
    checkAttested(summary.metered, summary.homes as number);
    checkAttested(summary.mismatched, summary.homes as number);
  }
}

/** The aggregate stored under `key`, or undefined when the bytes do not speak for that key. */
export function checkedAggregate(key: AggregateKey, bytes: Uint8Array): AggregateRecord | undefined {
  try {
    const record = requireObject(parseStoredJson(bytes, 'aggregate'), 'aggregate');
    if (record.slotId !== key.slotId || record.org !== key.org || record.bus !== key.bus) {
      return undefined;
    }
    requireInteger(record.expectedHomes, 'expectedHomes', 0, MAX_HOMES);
    if (typeof record.published !== 'boolean') {
      return undefined;
    }
    if (record.published) {
      checkSums(record);
    }
    if (record.consumption !== undefined) {
      checkConsumption(record.consumption);
    }
    return record as unknown as AggregateRecord;
  } catch {
    return undefined;
  }
}

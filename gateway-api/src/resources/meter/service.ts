import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import { auction, dr, timeslot, token } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import { someAccepted } from '../common/answers';
import { requireKwh } from '../common/units';

/** A home's energy available for a window (caps its offer). */
export interface Availability {
  readonly homeId: string;
  readonly energyKwh: number;
}

/** Delivered (offer) or received (bid) energy of one trade side. */
export interface Reading {
  readonly tradeId: string;
  readonly side: 'offer' | 'bid';
  readonly energyKwh: number;
}

const TOTAL_NAMES = ['deliveredWh', 'receivedWh', 'sellerValue', 'buyerCharge'] as const;

/**
 * The public totals in the chaincode's answer: the org's window part `{delivery: {...}}`,
 * `{totals: {...}}`, or the totals themselves.
 */
function totalsOf(answer: unknown): Record<string, unknown> | undefined {
  const record = (answer ?? {}) as Record<string, unknown>;
  const nested = [record.delivery, record.totals].find(
    (candidate): candidate is Record<string, unknown> => typeof candidate === 'object' && candidate !== null,
  );
  const candidate = nested ?? record;
  const totals = Object.fromEntries(
    TOTAL_NAMES.filter((name) => name in candidate).map((name) => [name, candidate[name]]),
  );
  return Object.keys(totals).length === 0 ? undefined : totals;
}

/**
 * The entries of a list with each energy checked as kWh, refusing an entry whose key repeats an
 * earlier one; messages name the entry, never its values.
 */
function checkedEntries<T extends { readonly energyKwh: number }>(
  entries: readonly T[],
  list: string,
  what: string,
  keyOf: (entry: T) => string,
): T[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const key = keyOf(entry);
    if (seen.has(key)) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        `${list}[${index}] repeats the ${what} of an earlier entry`,
      );
    }
    seen.add(key);
    return { ...entry, energyKwh: requireKwh(entry.energyKwh, `${list}[${index}].energyKwh`) };
  });
}

/** Posts each prosumer's available energy in transient data to the utility's own peer. */
export async function postAvailableEnergy(
  ledger: Ledger,
  windowId: string,
  entries: readonly Availability[],
): Promise<{ windowId: string; org: string; homes: number; txId: string }> {
  const availability = checkedEntries(entries, 'availability', 'home', (entry) => entry.homeId).map(
    ({ homeId, energyKwh }) => ({ homeId, energyKwh }),
  );
  const submitted = await auction(ledger, 'meter').PostAvailableEnergy.submit({
    arguments: [windowId],
    transientData: { availability: Buffer.from(JSON.stringify(availability), 'utf8') },
    endorsingOrganizations: [ledger.mspId],
  });
  return { windowId, org: ledger.mspId, homes: availability.length, txId: submitted.transactionId };
}

/** Reports every trade side's metered energy in transient data to the utility's own peer. */
export async function reportDelivery(
  ledger: Ledger,
  windowId: string,
  entries: readonly Reading[],
): Promise<{
  windowId: string;
  org: string;
  readings: number;
  txId: string;
  totals?: Record<string, unknown>;
}> {
  const readings = checkedEntries(
    entries,
    'readings',
    'trade side',
    (entry) => `${entry.tradeId}\n${entry.side}`,
  ).map(({ tradeId, side, energyKwh }) => ({ tradeId, side, energyKwh }));
  const submitted = await auction(ledger, 'meter').ReportDelivery.submit({
    arguments: [windowId],
    transientData: { readings: Buffer.from(JSON.stringify(readings), 'utf8') },
    endorsingOrganizations: [ledger.mspId],
  });
  const totals = totalsOf(decodeJson(submitted.result));
  return {
    windowId,
    org: ledger.mspId,
    readings: readings.length,
    txId: submitted.transactionId,
    ...(totals === undefined ? {} : { totals }),
  };
}

/** RecordMeterReadings' answer: counts and per-item refusals, never a home or a value. */
interface MeterReadingsReceipt {
  readonly accepted: number;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/**
 * Posts the meter head-end's readings of a slot in transient data to the utility's own peer. A
 * post in which every reading is refused is endorsed but not ordered (it would change nothing).
 */
export async function recordSlotReadings(
  ledger: Ledger,
  slotId: string,
  readings: readonly { homeId: string; energyWh: number }[],
): Promise<{
  slotId: string;
  org: string;
  accepted: number;
  refused: MeterReadingsReceipt['refused'];
  txId?: string;
}> {
  const submitted = await timeslot(ledger, 'meter').RecordMeterReadings.submit({
    arguments: [slotId],
    transientData: {
      readings: Buffer.from(
        JSON.stringify(readings.map(({ homeId, energyWh }) => ({ homeId, energyWh }))),
        'utf8',
      ),
    },
    endorsingOrganizations: [ledger.mspId],
    submitIf: (result) => decodeJson<MeterReadingsReceipt>(result).accepted > 0,
  });
  const receipt = decodeJson<MeterReadingsReceipt>(submitted.result);
  return {
    slotId,
    org: ledger.mspId,
    accepted: receipt.accepted,
    refused: receipt.refused,
    ...(submitted.skipped === true ? {} : { txId: submitted.transactionId }),
  };
}

/** One whole metered day of a home (the demand-response meter history). */
export interface MeteredDay {
  readonly homeId: string;
  readonly bus: string;
  readonly date: string;
  readonly intervalsWh: readonly number[];
  readonly holiday?: boolean;
}

/**
 * Records whole metered days in transient data on the utility's own peer, which keeps each home's
 * private history. A post in which every day is refused is endorsed but not ordered.
 */
export function recordMeterDays(ledger: Ledger, days: readonly MeteredDay[]): Promise<SubmitResult> {
  const entries = days.map(({ homeId, bus, date, intervalsWh, holiday }) => ({
    homeId,
    bus,
    date,
    intervalsWh,
    ...(holiday === undefined ? {} : { holiday }),
  }));
  return dr(ledger, 'meter').RecordMeterDays.submit({
    transientData: { days: Buffer.from(JSON.stringify(entries), 'utf8') },
    endorsingOrganizations: [ledger.mspId],
    submitIf: someAccepted,
  });
}

/**
 * Mints each home's metered export of a slot as production tokens, on the utility's own peer: the
 * homes and their exports go in transient data only. A post in which every export is refused (a
 * home named twice, one already minted, one without an account) is endorsed but not ordered.
 */
export function mintForProduction(
  ledger: Ledger,
  slotId: string,
  exports: readonly { homeId: string; exportWh: number }[],
): Promise<SubmitResult> {
  return token(ledger, 'meter').MintForProduction.submit({
    arguments: [slotId],
    transientData: {
      exports: Buffer.from(
        JSON.stringify(exports.map(({ homeId, exportWh }) => ({ homeId, exportWh }))),
        'utf8',
      ),
    },
    endorsingOrganizations: [ledger.mspId],
    submitIf: someAccepted,
  });
}

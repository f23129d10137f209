import {
  collectionOf,
  ContractError,
  conflict,
  invalidArgument,
  parseHomeId,
  parseJsonArgument,
  requireArray,
  requireInteger,
  requireObject,
  requireOnlyKeys,
  type StoredMeterReading,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writePrivate } from '../lib/state';
import { refusalOf, type ItemRefusal } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { hmacHex } from '../auction/references';
import { loadHomeRefSecret } from '../governance/records';
import { openForConsumption } from './consumption-reports';
import { homeReference } from './home-refs';
import { loadSlot } from './records';

/** Readings per RecordMeterReadings: a relay batch's worth. */
export const MAX_METER_READINGS = 1000;
const MAX_READINGS_BYTES = MAX_METER_READINGS * 200 + 2;
/**
 * The largest reading taken: 10,000 kW (the largest per-home maximum the settings allow) over a
 * 15-minute slot. A physical bound, not the home's forecast cap: the meter must be able to show a
 * home that drew more than any forecast allowed.
 */
export const MAX_READING_WH = 10_000 * 250;

/** What RecordMeterReadings answers: counts and per-item refusals, never a home or a value. */
export interface MeterReadingsReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
  readonly accepted: number;
  readonly refused: readonly ItemRefusal[];
}

function parseReading(value: unknown, index: number, maxWh: number): { homeId: string; energyWh: number } {
  const reading = requireObject(value, `readings[${index}]`);
  requireOnlyKeys(reading, `readings[${index}]`, ['homeId', 'energyWh']);
  return {
    homeId: parseHomeId(reading.homeId, `readings[${index}].homeId`),
    energyWh: requireInteger(reading.energyWh, `readings[${index}].energyWh`, 0, maxWh),
  };
}

/**
 * Stores the meter head-end's readings of `org`'s homes in a dispatched slot (transient
 * `readings`: [{homeId, energyWh}], integer Wh over the slot) in the utility's collection, under
 * each home's per-slot reference. The head-end is the validation authority: PublishConsumption
 * compares each device's own report with its reading and sums the metered energy. Per item it
 * costs an HMAC and one private write, no read: a later reading of a home replaces the earlier
 * (a head-end's correction). A bad item is refused alone, by position; two readings of one home in
 * a batch refuse the later one.
 */
export async function recordMeterReadings(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<MeterReadingsReceipt> {
  const slot = await loadSlot(ctx, id);
  openForConsumption(slot);
  const list = requireArray(
    parseJsonArgument(
      requireTransientText(ctx, 'readings', MAX_READINGS_BYTES),
      'readings',
      MAX_READINGS_BYTES,
    ),
    'readings',
    MAX_METER_READINGS,
  );
  if (list.length === 0) {
    throw invalidArgument('readings must hold at least one reading');
  }
  const secret = await loadHomeRefSecret(ctx, org);
  const collection = collectionOf(org);
  const txId = ctx.stub.getTxID();
  const recordedAt = isoTime(ctx.now);
  const refs = new Set<string>();
  const refused: ItemRefusal[] = [];
  let accepted = 0;
  for (const [index, value] of list.entries()) {
    try {
      const { homeId, energyWh } = parseReading(value, index, MAX_READING_WH);
      const ref = homeReference(secret, id, homeId);
      if (refs.has(ref)) {
        throw conflict('the batch holds an earlier reading of the same home; send this one again');
      }
      refs.add(ref);
      const salt = hmacHex(secret, ['hems.meter', txId, ref]);
      const reading: StoredMeterReading = { slotId: id, energyWh, salt, recordedAt, txId };
      await writePrivate(ctx.stub, collection, ctx.keys.meterReading(id, ref), reading);
      accepted += 1;
    } catch (error) {
      if (!(error instanceof ContractError)) {
        throw error;
      }
      refused.push(refusalOf(error, index));
    }
  }
  return { slotId: id, txId, recordedAt, accepted, refused };
}

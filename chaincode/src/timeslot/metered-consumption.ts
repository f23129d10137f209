import {
  collectionOf,
  COMPLIANCE_TOLERANCE_WATTS,
  kwToWatts,
  parseStoredJson,
  reportMismatches,
  type StoredConsumption,
  storedConsumptionFromBytes,
  wattsOfSlotEnergy,
  wattsToKw,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { readPrivate } from '../lib/state';

/** A home's consumption in a slot as its utility sums it: the meter's value where there is one. */
export interface MeteredConsumption {
  readonly report: StoredConsumption;
  /** kW over the slot: the meter head-end's reading, else the device's own report. */
  readonly drawnKw: number;
  readonly compliant: boolean;
  /** The head-end read the home's meter in this slot. */
  readonly metered: boolean;
  /** Its reading and the device's report differ beyond the tolerance (METER_TOLERANCE_*). */
  readonly mismatched: boolean;
}

function meteredWh(bytes: Uint8Array | undefined): number | undefined {
  if (bytes === undefined) {
    return undefined;
  }
  const energy = (parseStoredJson(bytes, 'meter reading') as { energyWh?: unknown }).energyWh;
  return typeof energy === 'number' && Number.isInteger(energy) && energy >= 0 ? energy : undefined;
}

/**
 * The listed reports with their meter readings (one private point read per report, in the
 * transaction that writes the summary). A report is judged against its allowed power with the
 * meter's value when the head-end read the home: the validation authority's value counts, and a
 * device that under-reports is flagged as mismatched.
 */
export async function withMeterReadings(
  ctx: HemsContext,
  org: string,
  slotId: string,
  listed: readonly { readonly ref: string; readonly bytes: Uint8Array }[],
): Promise<MeteredConsumption[]> {
  const collection = collectionOf(org);
  const result: MeteredConsumption[] = [];
  for (const { ref, bytes } of listed) {
    const report = storedConsumptionFromBytes(bytes);
    const energyWh = meteredWh(await readPrivate(ctx.stub, collection, ctx.keys.meterReading(slotId, ref)));
    if (energyWh === undefined) {
      result.push({
        report,
        drawnKw: report.drawnKw,
        compliant: report.compliant,
        metered: false,
        mismatched: false,
      });
      continue;
    }
    const watts = wattsOfSlotEnergy(energyWh);
    result.push({
      report,
      drawnKw: wattsToKw(watts),
      compliant: watts <= kwToWatts(report.allowedKw) + COMPLIANCE_TOLERANCE_WATTS,
      metered: true,
      mismatched: reportMismatches(report.drawnKw, energyWh),
    });
  }
  return result;
}

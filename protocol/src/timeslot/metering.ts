import { kwToWatts } from '../payloads/forecast';

/**
 * A slot's metered energy as the utility's meter head-end (the validation authority) measures it,
 * beside the device's own report of its average power: a slot is 15 minutes, so 1 kW drawn is
 * 250 Wh. Integer watt-hours and integer watts keep every comparison exact.
 */
export const SLOT_HOURS_NUMERATOR = 1;
export const SLOT_HOURS_DENOMINATOR = 4;

/** The average power (watts, integer) of an interval energy in Wh over one 15-minute slot. */
export function wattsOfSlotEnergy(energyWh: number): number {
  return (energyWh * SLOT_HOURS_DENOMINATOR) / SLOT_HOURS_NUMERATOR;
}

/** A device report and its meter reading differ beyond this: max(10 Wh, 2 % of the metered energy). */
export const METER_TOLERANCE_WH = 10;
export const METER_TOLERANCE_PERCENT = 2;

/**
 * Whether a device's reported average power (kW) disagrees with its metered energy (Wh) beyond
 * the tolerance, compared as average watts over the slot.
 */
export function reportMismatches(reportedKw: number, meteredWh: number): boolean {
  const reportedWatts = kwToWatts(reportedKw);
  const meteredWatts = wattsOfSlotEnergy(meteredWh);
  const toleranceWatts = wattsOfSlotEnergy(
    Math.max(METER_TOLERANCE_WH, (meteredWh * METER_TOLERANCE_PERCENT) / 100),
  );
  return Math.abs(reportedWatts - meteredWatts) > toleranceWatts;
}

/** A meter reading as the utility's collection keeps it. */
export interface StoredMeterReading {
  readonly slotId: string;
  readonly energyWh: number;
  /**
   * 32 bytes (hex) no other member can derive: the value's hash goes on every peer, and without it
   * a few thousand guesses of energyWh would find the reading (P2).
   */
  readonly salt: string;
  readonly recordedAt: string;
  readonly txId: string;
}

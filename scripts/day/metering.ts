/**
 * The ledger's metered consumption of a slot against what the simulated homes drew: each device
 * reports its drawn power (signed, private on its utility's peer), each utility publishes per-bus
 * sums, and the day checks the public sums against its own per-bus, per-utility totals.
 */
import type { SlotView } from '@hems/protocol';

/** What one home drew, as the simulation knows it (never put into a result). */
export interface HomeDraw {
  readonly org: string;
  readonly bus: string;
  readonly drawnKw: number;
  readonly overAllowance: boolean;
}

/** The ledger's metered consumption of a bus (GetSlot busTotals[].consumption). */
export interface BusMetering {
  /** Reporting homes whose drawn power is in the ledger's sum. */
  readonly homes: number;
  /** Reporting homes of utilities with fewer than k reports on the bus: counted, not summed. */
  readonly withheldHomes: number;
  readonly drawnKw: number;
  readonly nonCompliant: number;
  /** Homes of the sum whose meter head-end reading was recorded, and of those whose device's report disagreed. */
  readonly metered?: number;
  readonly mismatched?: number;
}

export class MeteringError extends Error {
  override readonly name = 'MeteringError';
}

/** Σ is compared in kW; each home's report is exact to the watt, so this allows rounding only. */
const KW_PER_HOME_TOLERANCE = 0.001;

/**
 * Whether every day bus's published consumption covers all its homes that drew (summed or
 * withheld) and no utility of it is still pending: the DSO peer may lag behind the utilities'.
 */
export function meteringComplete(
  busTotals: SlotView['busTotals'],
  buses: readonly string[],
  draws: readonly HomeDraw[],
): boolean {
  return buses.every((bus) => {
    const consumption = busTotals.find((total) => total.bus === bus)?.consumption;
    const drew = draws.filter((draw) => draw.bus === bus).length;
    if (consumption === undefined) {
      return drew === 0;
    }
    const drewOrgs = new Set(draws.filter((draw) => draw.bus === bus).map((draw) => draw.org));
    return (
      consumption.homes + consumption.withheldHomes === drew &&
      !consumption.pendingOrgs.some((org) => drewOrgs.has(org))
    );
  });
}

/**
 * Checks one bus's ledger sums against the homes' own draws, over the utilities whose sums are
 * published (a withheld utility's homes are only counted): the same homes, Σ drawn within
 * 0.001 kW per home, the same number of homes over their allowance. Throws a MeteringError
 * naming the bus and the two per-bus sums.
 */
export function checkMetering(
  slotId: string,
  bus: string,
  busTotals: SlotView['busTotals'],
  draws: readonly HomeDraw[],
): BusMetering {
  const consumption = busTotals.find((total) => total.bus === bus)?.consumption;
  const onBus = draws.filter((draw) => draw.bus === bus);
  if (consumption === undefined) {
    if (onBus.length > 0) {
      throw new MeteringError(`slot ${slotId} bus ${bus}: the ledger has no metered consumption`);
    }
    return { homes: 0, withheldHomes: 0, drawnKw: 0, nonCompliant: 0 };
  }
  const summedOrgs = new Set(consumption.orgs);
  const summed = onBus.filter((draw) => summedOrgs.has(draw.org));
  const localKw = summed.reduce((total, draw) => total + draw.drawnKw, 0);
  const localOver = summed.filter((draw) => draw.overAllowance).length;
  const problems: string[] = [];
  if (consumption.homes + consumption.withheldHomes !== onBus.length) {
    problems.push(`${consumption.homes + consumption.withheldHomes} homes metered, ${onBus.length} drew`);
  }
  if (consumption.homes !== summed.length) {
    problems.push(`${consumption.homes} homes summed, ${summed.length} drew in the summed utilities`);
  }
  if (Math.abs(consumption.drawnKw - localKw) > KW_PER_HOME_TOLERANCE * Math.max(1, summed.length)) {
    problems.push(`metered Σ ${consumption.drawnKw} kW, drawn Σ ${localKw.toFixed(3)} kW`);
  }
  if (consumption.nonCompliant !== localOver) {
    problems.push(
      `${consumption.nonCompliant} non-compliant homes metered, ${localOver} drew over allowance`,
    );
  }
  if (problems.length > 0) {
    throw new MeteringError(
      `slot ${slotId} bus ${bus}: the ledger's metering disagrees: ${problems.join('; ')}`,
    );
  }
  return {
    homes: consumption.homes,
    withheldHomes: consumption.withheldHomes,
    drawnKw: consumption.drawnKw,
    nonCompliant: consumption.nonCompliant,
    ...(consumption.metered === undefined ? {} : { metered: consumption.metered }),
    ...(consumption.mismatched === undefined ? {} : { mismatched: consumption.mismatched }),
  };
}

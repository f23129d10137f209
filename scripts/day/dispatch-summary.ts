/**
 * The DSO's view of one dispatched slot, per bus of the day's feeder: the published sums against
 * the capacity, λ_b from the same optimizer the DSO gateway runs (gateway-api's planDispatch), the
 * planned load at the published λ and the load the homes then drew.
 */
import type { SlotView } from '@hems/protocol';
import { busLambda } from '@hems/gateway-api';
import type { PriceRange } from './appliance-model';
import type { BusSlotResult } from './day-result';

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

export interface BusInput {
  readonly bus: string;
  readonly capacityKw: number;
  readonly prices: PriceRange;
  /** What the homes on the bus drew, summed by the simulation. */
  readonly drawnKw: number;
}

export function summarizeBuses(
  busTotals: SlotView['busTotals'],
  lambda: number,
  feeder: readonly BusInput[],
): BusSlotResult[] {
  return feeder.map((input) => {
    const total = busTotals.find((candidate) => candidate.bus === input.bus);
    const homes = total?.homes ?? 0;
    const withheldHomes = total?.withheldHomes ?? 0;
    const sumsSeen = total !== undefined && homes > withheldHomes;
    const lowerKw = sumsSeen ? total.lower : null;
    const upperKw = sumsSeen ? total.upper : null;
    return {
      bus: input.bus,
      capacityKw: input.capacityKw,
      prices: input.prices,
      homes,
      withheldHomes,
      lowerKw,
      upperKw,
      busLambda:
        lowerKw === null || upperKw === null
          ? null
          : Math.floor(busLambda(input.capacityKw, lowerKw, upperKw) * 10000) / 10000,
      dispatchedKw:
        lowerKw === null || upperKw === null ? null : round3(lambda * upperKw + (1 - lambda) * lowerKw),
      relayAttested: total?.relayAttested ?? 0,
      drawnKw: round3(input.drawnKw),
      overloadKw: round3(Math.max(0, input.drawnKw - input.capacityKw)),
    };
  });
}

/** The largest overload of any bus, kW. */
export function maxOverload(buses: readonly BusSlotResult[]): number {
  return buses.reduce((worst, bus) => Math.max(worst, bus.overloadKw), 0);
}

/** p-th percentile of the values (nearest rank); 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    return 0;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

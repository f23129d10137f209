/**
 * The simulation's own measures of demand response, pure: per-bus and feeder load over the event
 * day with DR and without it (each home's twin that never heard of the event or the emergency,
 * home-state.ts), the peak-to-average ratio of both, the energy reduced over the event's intervals,
 * the load an emergency shed by class, and the shiftable energy books summed over the homes. Only
 * sums over buses or the feeder come out.
 */
import { planDispatch } from '@hems/gateway-api';
import type { HomeDraw } from './metering';
import { WH_PER_KW_SLOT, type EnergyLedger } from './home-appliances';
import type { EmergencyShed, HomeBooks } from './home-state';
import type { SlotResult } from './day-result';
import type { EmergencyBusResult, ProductionResult, ShiftableBooks } from './dr-result';

/** One home's metered day with DR and its twin's without, 96 whole Wh each. */
export interface HomeDay {
  readonly bus: string;
  readonly withDr: readonly number[];
  readonly withoutDr: readonly number[];
}

/** A bus's load over the day, Wh per interval. */
export interface BusLoad {
  readonly bus: string;
  readonly homes: number;
  readonly withDr: readonly number[];
  readonly withoutDr: readonly number[];
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** Peak over mean of a load curve (3 decimals); 0 for a curve without load. */
export function peakToAverage(values: readonly number[]): number {
  const mean = values.length === 0 ? 0 : sum(values) / values.length;
  return mean <= 0 ? 0 : round3(Math.max(...values) / mean);
}

function addInto(total: number[], values: readonly number[]): void {
  values.forEach((value, index) => {
    total[index] = (total[index] ?? 0) + value;
  });
}

/** Each bus's load (Σ of its homes) with and without DR, in the order of `buses`. */
export function busLoads(days: readonly HomeDay[], buses: readonly string[]): BusLoad[] {
  return buses.map((bus) => {
    const onBus = days.filter((day) => day.bus === bus);
    const length = Math.max(0, ...onBus.map((day) => day.withDr.length));
    const withDr = Array.from({ length }, () => 0);
    const withoutDr = Array.from({ length }, () => 0);
    onBus.forEach((day) => {
      addInto(withDr, day.withDr);
      addInto(withoutDr, day.withoutDr);
    });
    return { bus, homes: onBus.length, withDr, withoutDr };
  });
}

/** The feeder's load: the buses' summed, Wh per interval. */
export function feederLoad(loads: readonly BusLoad[]): { withDr: number[]; withoutDr: number[] } {
  const withDr: number[] = [];
  const withoutDr: number[] = [];
  loads.forEach((load) => {
    addInto(withDr, load.withDr);
    addInto(withoutDr, load.withoutDr);
  });
  return { withDr, withoutDr };
}

/** Energy over the intervals [start, end) with and without DR, and the reduction, Wh. */
export function eventEnergy(
  load: Pick<BusLoad, 'withDr' | 'withoutDr'>,
  start: number,
  end: number,
): { meteredWh: number; withoutDrWh: number; reductionWh: number } {
  const meteredWh = sum(load.withDr.slice(start, end));
  const withoutDrWh = sum(load.withoutDr.slice(start, end));
  return { meteredWh, withoutDrWh, reductionWh: withoutDrWh - meteredWh };
}

/**
 * The λ the DSO's optimizer (the gateway's planDispatch on the feeder's capacities) gives the
 * twins' forecasts: how the homes would have been dispatched without DR.
 */
export function withoutDrLambda(
  forecasts: readonly { readonly bus: string; readonly lower: number; readonly upper: number }[],
  capacities: Readonly<Record<string, number>>,
): number {
  const aggregates = Object.keys(capacities).map((bus) => {
    const onBus = forecasts.filter((forecast) => forecast.bus === bus);
    return {
      bus,
      homes: onBus.length,
      lower: round3(sum(onBus.map((forecast) => forecast.lower))),
      upper: round3(sum(onBus.map((forecast) => forecast.upper))),
      complete: true,
    };
  });
  return planDispatch(aggregates, new Map(Object.entries(capacities))).lambda;
}

/** kW per interval from Wh per 15-minute interval. */
export function kwOf(intervalsWh: readonly number[]): number[] {
  return intervalsWh.map((wh) => round3(wh / WH_PER_KW_SLOT));
}

/** What an emergency made the homes of each bus shed in its slot (draws without a shed are unaffected). */
export function emergencyByBus(
  draws: readonly (HomeDraw & { readonly shed?: EmergencyShed })[],
  buses: readonly string[],
): EmergencyBusResult[] {
  return buses.map((bus) => {
    const shed = draws.flatMap((draw) => (draw.bus === bus && draw.shed !== undefined ? [draw.shed] : []));
    const kw = (pick: (entry: EmergencyShed) => number): number =>
      round3(sum(shed.map(pick)) / WH_PER_KW_SLOT);
    return {
      bus,
      homesShedding: shed.filter((entry) => entry.shedWh > 0).length,
      shedKw: kw((entry) => entry.shedWh),
      curtailedKw: kw((entry) => entry.curtailedWh),
      deferredKw: kw((entry) => entry.deferredWh),
      essentialKw: kw((entry) => entry.essentialWh),
    };
  });
}

function shiftableOf(ledgers: readonly EnergyLedger[]): ShiftableBooks {
  const total = (pick: (ledger: EnergyLedger) => number): number => sum(ledgers.map(pick));
  return {
    demandedWh: total((ledger) => ledger.shiftable.demandedWh),
    servedWh: total((ledger) => ledger.shiftable.servedWh),
    pendingWh: total((ledger) => ledger.shiftable.pendingWh),
    unservedWh: total((ledger) => ledger.shiftable.unservedWh),
  };
}

/** The homes' shiftable books summed, with DR and without. */
export function shiftableTotals(books: readonly HomeBooks[]): {
  withDr: ShiftableBooks;
  withoutDr: ShiftableBooks;
} {
  return {
    withDr: shiftableOf(books.map((entry) => entry.withDr)),
    withoutDr: shiftableOf(books.map((entry) => entry.withoutDr)),
  };
}

/**
 * How far the shiftable energy served (or still pending within its deadline) with DR is from the
 * same homes' without DR, as a share of the latter: deferred load is served later, not lost.
 */
export function shiftedEnergyGap(totals: { withDr: ShiftableBooks; withoutDr: ShiftableBooks }): number {
  const withDr = totals.withDr.servedWh + totals.withDr.pendingWh;
  const withoutDr = totals.withoutDr.servedWh + totals.withoutDr.pendingWh;
  return withoutDr === 0 ? 0 : Math.abs(withDr - withoutDr) / withoutDr;
}

/** The production tokens of the played slots, per utility: slots with exports, exports, Wh, minted. */
export function productionTotals(
  slots: readonly Pick<SlotResult, 'production'>[],
  utilities: readonly string[],
  rate: number,
): ProductionResult {
  return {
    rate,
    utilities: utilities.map((org) => {
      const entries = slots.flatMap((slot) => (slot.production ?? []).filter((entry) => entry.org === org));
      return {
        org,
        slots: entries.filter((entry) => entry.exports > 0).length,
        exports: sum(entries.map((entry) => entry.exports)),
        exportWh: sum(entries.map((entry) => entry.exportWh)),
        minted: entries.reduce((total, entry) => total + BigInt(entry.minted), 0n).toString(),
      };
    }),
  };
}

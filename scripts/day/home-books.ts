/**
 * What a simulated home's appliances (home-appliances.ts) report: a slot's forecast, a slot's
 * draw, an emergency's curtailment, the cumulative energy books and the metered days. Types only.
 */
import type { ByClass, Numbers } from './home-appliance-set';

/**
 * Emergency levels. 0: none; 1: shed curtailable load; 2: also defer all shiftable load no
 * deadline needs in the slot; 3: essential load only (deadline-critical shiftable load deferred).
 */
export type EmergencyLevel = 0 | 1 | 2 | 3;

/**
 * A slot's forecast range (kW, 3 decimals) and the energy behind it, Wh: mandatoryWh is the
 * shiftable energy its deadlines need in this slot, shiftableWh what the home would like to run.
 */
export type SlotForecast = Numbers<
  'slot' | 'lower' | 'upper' | 'essentialWh' | 'mandatoryWh' | 'shiftableWh' | 'curtailableWh'
>;

/** What the home drew in a slot, and the energy it served, deferred, dropped and wrote off. */
export interface SlotDraw {
  readonly slot: number;
  readonly drawnKw: number;
  /** The allowance was below the essential load, which the home drew anyway. */
  readonly overAllowance: boolean;
  readonly servedWh: ByClass;
  /** Shiftable energy wanted in the slot and carried to later slots. */
  readonly deferredWh: number;
  /** Curtailable energy wanted in the slot and dropped. */
  readonly curtailedWh: number;
  /** Pending shiftable energy whose deadline passed at the start of the slot, unserved. */
  readonly missedDeadlineWh: number;
}

export interface EmergencyCurtailment {
  readonly level: EmergencyLevel;
  readonly allowedKw: number;
  /** Energy given up in the slot: shiftable is deferred, curtailable dropped, essential never. */
  readonly shedWh: ByClass;
  /** Level 3: shiftable energy that will miss a deadline, as no later slot runs above rated power. */
  readonly deadlineShortfallWh: number;
}

/** The home's cumulative books, Wh. Shiftable: demandedWh = servedWh + pendingWh + unservedWh exactly. */
export interface EnergyLedger {
  readonly essential: Numbers<'servedWh'>;
  readonly shiftable: Numbers<'demandedWh' | 'servedWh' | 'pendingWh' | 'unservedWh'>;
  readonly curtailable: Numbers<'wantedWh' | 'servedWh' | 'curtailedWh'>;
  readonly overAllowanceSlots: number;
}

/** One day of the home's meter: Wh per 15-minute interval, null where the home was not simulated. */
export interface MeteredDay {
  readonly day: number;
  readonly intervalsWh: readonly (number | null)[];
}

/**
 * What the day's demand response, meter data and production tokens produced, as the report reads
 * it: the ledger's public records (the event view with its per-utility allotments and per-bus
 * totals, the auditor's recomputation) and the simulation's own per-bus and feeder sums. No home
 * id, no home's baseline, reading, draw or reward is ever put here.
 */

/** Sums of the shiftable energy books over the played days, Wh (home-appliances.ts EnergyLedger). */
export interface ShiftableBooks {
  readonly demandedWh: number;
  readonly servedWh: number;
  readonly pendingWh: number;
  readonly unservedWh: number;
}

/** A utility's published totals of one bus (the event view); sums absent where withheld below k. */
export interface DrLedgerBusTotals {
  readonly org: string;
  readonly homes: number;
  readonly withheld: boolean;
  readonly baselineWh?: number;
  readonly meteredWh?: number;
  readonly reductionWh?: number;
  /** Value units. */
  readonly reward?: string;
}

export interface DrBusResult {
  readonly bus: string;
  readonly homes: number;
  /** Each utility's published totals of the bus. */
  readonly ledger: readonly DrLedgerBusTotals[];
  /** The simulation's sums over the event's intervals: drawn with DR, the same homes without DR. */
  readonly simulation: {
    readonly meteredWh: number;
    readonly withoutDrWh: number;
    readonly reductionWh: number;
  };
  /** Peak-to-average ratio of the bus's load over the event day. */
  readonly par: { readonly withDr: number; readonly withoutDr: number };
}

export interface DrUtilityResult {
  readonly org: string;
  /** The event view's allotment, currency; absent when the view has none for the utility. */
  readonly allotted?: string;
  readonly paid?: string;
  /** Homes whose result its utility computed (the allotment's count). */
  readonly homes?: number;
  /** Of those, homes paid more than 0 (the allotment's count). */
  readonly rewarded?: number;
  readonly totalsPublished: boolean;
  /** What the PayRewards receipts said: homes accepted (a result computed, paid 0 or more), refused, value units paid. */
  readonly paidHomes: number;
  readonly refusedHomes: number;
  readonly paidUnits: string;
  /** The first refusal's code and message (a position and a rule, never a value). */
  readonly firstRefusal?: string;
}

export interface EmergencyBusResult {
  readonly bus: string;
  /** Homes that drew less than they would have without the emergency. */
  readonly homesShedding: number;
  /** kW below the allowance without the emergency, Σ over the bus's homes. */
  readonly shedKw: number;
  /** By class, kW: curtailable load dropped, shiftable load deferred, essential load kept. */
  readonly curtailedKw: number;
  readonly deferredKw: number;
  readonly essentialKw: number;
}

export interface EmergencyResult {
  readonly slotId: string;
  readonly startsAt: string;
  readonly level: number;
  /** The DSO's declaration was accepted (false: the slot ran without it on the ledger). */
  readonly declared: boolean;
  readonly buses: readonly EmergencyBusResult[];
}

export interface DrResult {
  readonly eventId: string;
  readonly date: string;
  /** Simulated start and end of the event, HH:MM (UTC). */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly slots: number;
  readonly method: string;
  /** Currency per kWh of reduction. */
  readonly rate: number;
  /** Currency: the pool funding and the event's budget. */
  readonly budget: string;
  readonly declared: boolean;
  readonly buses: readonly DrBusResult[];
  readonly utilities: readonly DrUtilityResult[];
  /** AuditEvent as the auditor read it; null when it could not be read. */
  readonly audit: { readonly consistent: boolean; readonly problems: readonly string[] } | null;
  /** The feeder over the event day: kW per 15-minute interval with and without DR, and the PAR. */
  readonly feeder: {
    readonly withDrKw: readonly number[];
    readonly withoutDrKw: readonly number[];
    readonly par: { readonly withDr: number; readonly withoutDr: number };
    /** First event interval and the one after the last, of the day. */
    readonly start: number;
    readonly end: number;
  };
  /** Shiftable energy over the played days with and without DR: deferred load is served later. */
  readonly shiftable: { readonly withDr: ShiftableBooks; readonly withoutDr: ShiftableBooks };
  readonly emergency: EmergencyResult | null;
}

/** The meter head-ends' daily meter data posts (POST /v1/meter/days): counts only. */
export interface MeterDaysResult {
  readonly backfill: MeterPosts & { readonly days: number };
  readonly daily: MeterPosts;
}

export interface MeterPosts {
  readonly posts: number;
  readonly items: number;
  readonly accepted: number;
  readonly refused: number;
  readonly firstRefusal?: string;
}

/** Production tokens minted over the played slots, per utility. */
export interface ProductionResult {
  /** The channel's productionTokenRate, currency per MWh exported. */
  readonly rate: number;
  readonly utilities: readonly {
    readonly org: string;
    /** Slots in which the utility's prosumers exported (one post each). */
    readonly slots: number;
    /** Prosumer-slots minted. */
    readonly exports: number;
    readonly exportWh: number;
    /** Value units. */
    readonly minted: string;
  }[];
}

/**
 * What a simulated day produced, as the report and the tests read it. It holds only what the DSO
 * and the public ledger see (per-bus sums, metered consumption, home counts, λ, each trading window's public clearing
 * and totals, the demand-response event's view and audit) plus simulation-side totals per bus and
 * counts per window: no home id, no account id, no individual forecast, allowance, order,
 * baseline or reward is ever put here. The one per-home record is the simulation's own meter
 * (`homes`: each home's draw per interval, keyed by its position in the layout, not its id),
 * which the report only ever sums per bus or feeder.
 */
import type { TouPeriod } from '@hems/protocol';
import type { PriceRange } from './appliance-model';
import type { DrResult, EmergencyBusResult, MeterDaysResult, ProductionResult } from './dr-result';
import type { BusMetering } from './metering';
import type { DayOptions } from './options';

export interface BusSlotResult {
  readonly bus: string;
  readonly capacityKw: number;
  readonly prices: PriceRange;
  /** Homes counted by the published aggregates of the bus (withheld ones included). */
  readonly homes: number;
  /** Homes whose sums were withheld because their utility had fewer than k homes on the bus. */
  readonly withheldHomes: number;
  /** ΣLmin and ΣLmax over the aggregates whose sums were published; null when none was. */
  readonly lowerKw: number | null;
  readonly upperKw: number | null;
  /** λ_b of the optimizer; null when the bus has no homes to fit (only unreported homes are bounded by their worst case). */
  readonly busLambda: number | null;
  /** λ·ΣLmax + (1−λ)·ΣLmin: the load the DSO planned on the bus. */
  readonly dispatchedKw: number | null;
  /** Sum of what the homes on the bus drew (the feeder's measurement in the simulation). */
  readonly drawnKw: number;
  /** Forecasts in the published sums that their relay vouched for (OpenADR VENs), from the ledger. */
  readonly relayAttested: number;
  /** max(0, drawn − capacity). */
  readonly overloadKw: number;
  /**
   * The ledger's metered consumption of the bus (the utilities' published sums of the devices'
   * signed reports), checked against drawnKw; absent where a slot's metering was not read.
   */
  readonly metered?: BusMetering;
}

export type SlotClosure = 'all-submitted' | 'deadline';

export interface SlotTiming {
  /** Wall-clock time of each phase of the slot (open, forecast, aggregate, dispatch, deliver, ...). */
  readonly phasesMs: Readonly<Record<string, number>>;
  /** Per-device submit-to-commit latency of the forecasts through the REST gateway. */
  readonly submitP50Ms: number;
  readonly submitMaxMs: number;
  /** From opening the slot until every device had drawn its power. */
  readonly totalMs: number;
}

export interface SlotResult {
  readonly index: number;
  readonly slotId: string;
  /** The simulated UTC date of the slot's delivery (its schedule), YYYY-MM-DD. */
  readonly date?: string;
  /** The slot's time-of-use period (its schedule). */
  readonly period?: TouPeriod;
  /** The slot is part of the day's demand-response event. */
  readonly drEvent?: boolean;
  /** The DSO's emergency in the slot and what the homes shed, per bus. */
  readonly emergency?: { readonly level: number; readonly buses: readonly EmergencyBusResult[] };
  /** Production tokens minted for the slot's prosumer exports, per utility (sums; minted in value units). */
  readonly production?: readonly {
    readonly org: string;
    readonly exports: number;
    readonly exportWh: number;
    readonly minted: string;
  }[];
  /** Simulated start of the slot, HH:MM. */
  readonly startsAt: string;
  readonly defaultPrices: PriceRange;
  /** Homes whose forecast was accepted (device side). */
  readonly homesSubmitted: number;
  /** Of those, homes run by an OpenADR VEN (relay-attested on the ledger). */
  readonly openadrSubmitted: number;
  /** Homes whose forecast was refused or came too late. */
  readonly homesMissed: number;
  readonly closedBy: SlotClosure;
  /** Buses in the slot that are not part of this day (enrolled on the network by others). */
  readonly otherBuses: readonly string[];
  readonly lambda: number;
  readonly buses: readonly BusSlotResult[];
  /** Homes that drew more than their allowed power (must stay 0). */
  readonly allowanceViolations: number;
  readonly timing: SlotTiming;
}

export interface WindowTiming {
  /** Wall-clock time of each phase of the window (open, order, reveal, clear, release, ...). */
  readonly phasesMs: Readonly<Record<string, number>>;
  /** How long the window was open for orders (its closesAt after its opening). */
  readonly closeDelayMs: number;
  /** From opening the window until its grid share was claimed. */
  readonly totalMs: number;
}

/**
 * One trading window of the energy auction, from the public ledger (GetWindow, GetClearing,
 * AuditClearing as the auditor reads them) plus the devices' own counts of what they sent.
 * Energies in Wh, prices in currency per MWh, amounts in value units (1e-10 currency) as decimal
 * strings, exactly as the ledger holds them.
 */
export interface WindowResult {
  readonly windowId: string;
  /** The slot the window trades energy for (the slot after the one it opened in). */
  readonly deliverySlotId: string;
  readonly deliveryIndex: number;
  /** Simulated start of the delivery slot, HH:MM. */
  readonly deliveryStartsAt: string;
  readonly pricingRule: string;
  /** Prosumers whose available energy the meter head-ends posted (private values; count only). */
  readonly availabilityPosted: number;
  /** Orders the devices placed and the gateways accepted, by side, and those refused. */
  readonly offersPlaced: number;
  readonly bidsPlaced: number;
  readonly ordersRefused: number;
  /** Orders the utilities revealed at the close (Σ of the parts' revealed counts). */
  readonly ordersRevealed: number;
  /** Pay-as-clear price, currency per MWh; null without trades. */
  readonly clearingPrice: number | null;
  readonly trades: number;
  readonly offeredWh: number;
  readonly bidWh: number;
  readonly tradedWh: number;
  /** Σ of the utilities' public delivery totals (sellers delivered, buyers received). */
  readonly deliveredWh: number;
  readonly receivedWh: number;
  /** Utilities with a side in a trade: each reported its deliveries and settled. */
  readonly tradeOrgs: number;
  /** Meter readings reported (one per trade side; private values; count only). */
  readonly readings: number;
  /** The pool: charged to buyers, paid to sellers, claimed as the grid share. */
  readonly buyersCharged: string;
  readonly paidToSellers: string;
  readonly gridShare: string;
  readonly status: string;
  /** AuditClearing: the recomputed clearing equals the published one and every order its hash. */
  readonly auditMatches: boolean;
  readonly ordersVerified: number;
  readonly timing: WindowTiming;
}

export interface DayResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The options (as given or defaulted) and the channel's minimum group size k. */
  readonly settings: Omit<DayOptions, 'reportDir' | 'once'> & { readonly minGroupSize: number };
  readonly feeder: readonly {
    readonly bus: string;
    readonly capacityKw: number;
    readonly homes: number;
  }[];
  /** Every played slot, day after day. */
  readonly slots: readonly SlotResult[];
  /** The played days: their simulated dates and slot counts, in order. */
  readonly calendar?: readonly { readonly day: number; readonly date: string; readonly slots: number }[];
  /** The meter head-ends' daily meter history posts (backfill and each played day). */
  readonly meterDays?: MeterDaysResult;
  readonly production?: ProductionResult;
  /**
   * The simulation's meter of every home, per played day: Wh per 15-minute interval with DR and
   * without it (the home's twin). Never printed per home.
   */
  readonly homes?: readonly HomeRecord[];
  /** The last day's demand-response event; absent when the run had none. */
  readonly demandResponse?: DrResult;
  /** The trading windows, in delivery-slot order; every one settled and its grid share claimed. */
  readonly windows: readonly WindowResult[];
  /** Seconds from the first slot's opening until the last slot and the last window were done. */
  readonly wallSeconds: number;
  /** Seconds to open the homes' token accounts and deposit the consumers' starting balances. */
  readonly accountsSeconds: number;
  /** Seconds to enrol the devices (0 when all came from the cache). */
  readonly enrolmentSeconds: number;
}

/** One simulated home's meter over the played days (home-state.ts), keyed by its layout position. */
export interface HomeRecord {
  /** Position in the feeder's layout (feeder-model.ts HomeSpec.index), not the home's id. */
  readonly index: number;
  readonly org: string;
  readonly bus: string;
  readonly days: readonly {
    readonly date: string;
    readonly withDrWh: readonly number[];
    readonly withoutDrWh: readonly number[];
  }[];
}

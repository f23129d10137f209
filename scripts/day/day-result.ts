/**
 * What a simulated day produced, as the report and the tests read it. It holds only what the DSO
 * and the public ledger see (per-bus sums, home counts, λ) plus simulation-side totals per bus:
 * no home id, no individual forecast, allowance or drawn power is ever put here.
 */
import type { PriceRange } from './appliance-model';

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
  /** λ_b of the optimizer; null when the bus gave no sums (does not constrain λ). */
  readonly busLambda: number | null;
  /** λ·ΣLmax + (1−λ)·ΣLmin: the load the DSO planned on the bus. */
  readonly dispatchedKw: number | null;
  /** Sum of what the homes on the bus drew (the feeder's measurement in the simulation). */
  readonly drawnKw: number;
  /** max(0, drawn − capacity). */
  readonly overloadKw: number;
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
  /** Simulated start of the slot, HH:MM. */
  readonly startsAt: string;
  readonly defaultPrices: PriceRange;
  /** Homes whose forecast was accepted (device side). */
  readonly homesSubmitted: number;
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

export interface DayResult {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: {
    readonly homes: number;
    readonly buses: number;
    readonly slots: number;
    readonly speed: number | null;
    readonly seed: number;
    /** The channel's minimum group size k. */
    readonly minGroupSize: number;
  };
  readonly feeder: readonly {
    readonly bus: string;
    readonly capacityKw: number;
    readonly homes: number;
  }[];
  readonly slots: readonly SlotResult[];
  readonly wallSeconds: number;
  /** Seconds to enrol the devices (0 when all came from the cache). */
  readonly enrolmentSeconds: number;
}

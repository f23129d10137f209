/**
 * One slot of the simulated day while it is played: its state, the phases that play it (open →
 * forecast → aggregate → dispatch → deliver → meter → produce) and its result once played.
 */
import type { SlotSchedule, SlotView } from '@hems/protocol';
import type { SlotResult } from './day-result';
import type { DayHome, DrawOutcome, SubmitOutcome } from './devices';
import type { AggregationOutcome, Dispatcher } from './dispatcher';
import { percentile, summarizeBuses } from './dispatch-summary';
import { emergencyByBus, withoutDrLambda } from './dr-metrics';
import { timeOfDay } from './appliance-model';
import type { SlotSignals } from './home-state';
import { checkMetering } from './metering';
import type { MeterHeadEnd, ProductionOutcome } from './meter-slot';
import type { Feeder } from './feeder-model';
import { pricesOnBus, slotPrices, type SlotPrices } from './tariff';

/** Forecast window of a slot when the day runs as fast as possible: early close ends it sooner. */
export const UNPACED_DEADLINE_MS = 15_000;
/** The phase after which the next slot may open. */
const PIPELINE_AFTER = 'forecast';

/** One slot while it is being played. */
export interface SlotRun {
  /** The slot of the day (0: 00:00); it seeds the tariff and the auction's models. */
  readonly index: number;
  /** The appliance models' absolute slot (days.ts absoluteSlot). */
  readonly absolute: number;
  readonly date: string;
  readonly slotId: string;
  readonly prices: SlotPrices;
  readonly schedule: SlotSchedule;
  readonly deadline: Date;
  /** Opened ahead of its turn (a demand-response event's slot): the open phase skips it. */
  readonly preOpened: boolean;
  /** What the homes hear about the slot: a demand-response event, an emergency. */
  readonly signals: SlotSignals;
  readonly phasesMs: Record<string, number>;
  submissions: SubmitOutcome[];
  aggregation: AggregationOutcome | undefined;
  dispatched: SlotView | undefined;
  draws: (DrawOutcome | undefined)[];
  /** The ledger's bus totals with the utilities' consumption summaries, after the draws. */
  metering: SlotView['busTotals'] | undefined;
  production: ProductionOutcome[];
  /** The simulation's counterfactual: λ of the twins' forecasts (dr-metrics.ts withoutDrLambda). */
  withoutDrLambda: number | undefined;
}

export interface SlotPhase {
  readonly name: string;
  run(slot: SlotRun): Promise<void>;
}

/**
 * The phases of every slot, in order; `headEnds` are the utilities' meter head-ends, `capacities`
 * the feeder's (for the simulation's counterfactual dispatch without DR).
 */
export function slotPhases(
  dispatcher: Dispatcher,
  homes: readonly DayHome[],
  headEnds: readonly MeterHeadEnd[],
  capacities: Readonly<Record<string, number>>,
  log: (line: string) => void,
): SlotPhase[] {
  return [
    {
      name: 'open',
      run: async (slot) => {
        if (!slot.preOpened) {
          await dispatcher.openSlot(slot.slotId, slot.deadline, slot.prices, slot.schedule);
        }
      },
    },
    {
      name: 'forecast',
      run: async (slot) => {
        slot.submissions = await Promise.all(
          homes.map((home) => home.submitForecast(slot.slotId, slot.absolute, slot.signals)),
        );
        const refused = slot.submissions.flatMap((outcome) => (outcome.accepted ? [] : [outcome.reason]));
        if (refused.length > 0) {
          // The gateway's refusals name the slot and the rule, never a forecast value.
          log(`slot ${slot.slotId}: ${refused.length} forecasts refused, first: ${refused[0] ?? ''}`);
        }
      },
    },
    {
      name: 'aggregate',
      run: async (slot) => {
        slot.aggregation = await dispatcher.awaitAggregates(slot.slotId, slot.deadline);
      },
    },
    {
      name: 'dispatch',
      run: async (slot) => {
        slot.dispatched = await dispatcher.dispatch(slot.slotId);
        slot.withoutDrLambda = withoutDrLambda(
          homes.flatMap((home) => {
            const forecast = home.state.withoutDrForecast(slot.absolute);
            return forecast === undefined
              ? []
              : [{ bus: home.bus, lower: forecast.lower, upper: forecast.upper }];
          }),
          capacities,
        );
      },
    },
    {
      name: 'deliver',
      run: async (slot) => {
        slot.draws = await Promise.all(homes.map((home) => home.draw(slot.slotId, slot.withoutDrLambda)));
      },
    },
    {
      name: 'meter',
      run: async (slot) => {
        const draws = slot.draws.filter((draw) => draw !== undefined);
        // The head-ends' readings first: each utility's consumption summary judges its devices' reports by them.
        await Promise.all(headEnds.map((headEnd) => headEnd.recordReadings(slot.slotId, draws)));
        slot.metering = await dispatcher.publishConsumption(
          slot.slotId,
          [...new Set(homes.map((home) => home.mspId))],
          draws,
        );
      },
    },
    {
      name: 'produce',
      run: async (slot) => {
        slot.production = await Promise.all(
          headEnds.map((headEnd) => headEnd.mintProduction(slot.slotId, slot.index, slot.prices)),
        );
      },
    },
  ];
}

export function slotResult(slot: SlotRun, feeder: Feeder, totalMs: number): SlotResult {
  const view = slot.dispatched;
  const aggregation = slot.aggregation;
  if (view?.dispatch === undefined || aggregation === undefined) {
    throw new Error(`slot ${slot.slotId} ended without a dispatch`);
  }
  const lambda = view.dispatch.lambda;
  const drawnByBus = new Map<string, number>();
  for (const draw of slot.draws) {
    if (draw !== undefined) {
      drawnByBus.set(draw.bus, (drawnByBus.get(draw.bus) ?? 0) + draw.drawnKw);
    }
  }
  const metering = slot.metering;
  if (metering === undefined) {
    throw new Error(`slot ${slot.slotId} ended without its metered consumption`);
  }
  const draws = slot.draws.filter((draw) => draw !== undefined);
  const buses = summarizeBuses(
    view.busTotals,
    lambda,
    feeder.buses.map((bus) => ({
      bus: bus.bus,
      capacityKw: bus.capacityKw,
      prices: pricesOnBus(slot.prices, bus.bus),
      drawnKw: drawnByBus.get(bus.bus) ?? 0,
    })),
    // Fails the day when the ledger's metered sums disagree with what the homes drew.
  ).map((bus) => ({ ...bus, metered: checkMetering(slot.slotId, bus.bus, metering, draws) }));
  const latencies = slot.submissions.flatMap((outcome) => (outcome.accepted ? [outcome.latencyMs] : []));
  const level = slot.signals.emergencyLevel;
  return {
    index: slot.index,
    slotId: slot.slotId,
    date: slot.date,
    period: slot.schedule.period,
    drEvent: slot.signals.drRate !== undefined,
    ...(level === undefined
      ? {}
      : {
          emergency: {
            level,
            buses: emergencyByBus(
              draws,
              feeder.buses.map((bus) => bus.bus),
            ),
          },
        }),
    production: slot.production.map(({ org, exports, exportWh, minted }) => ({
      org,
      exports,
      exportWh,
      minted,
    })),
    startsAt: timeOfDay(slot.index),
    defaultPrices: slot.prices.default,
    homesSubmitted: latencies.length,
    openadrSubmitted: slot.submissions.filter((outcome) => outcome.accepted && outcome.via === 'openadr')
      .length,
    homesMissed: slot.submissions.length - latencies.length,
    closedBy: aggregation.closedBy,
    otherBuses: aggregation.otherBuses,
    lambda,
    buses,
    allowanceViolations: slot.draws.filter((draw) => draw?.overAllowance === true).length,
    timing: {
      phasesMs: Object.fromEntries(Object.entries(slot.phasesMs).map(([name, ms]) => [name, Math.round(ms)])),
      submitP50Ms: Math.round(percentile(latencies, 50)),
      submitMaxMs: Math.round(percentile(latencies, 100)),
      totalMs: Math.round(totalMs),
    },
  };
}

/** What a slot is opened with, beside its tariff: where it lies in the calendar and what homes hear. */
export interface SlotPlan {
  readonly index: number;
  readonly absolute: number;
  readonly date: string;
  readonly slotId: string;
  readonly schedule: SlotSchedule;
  readonly signals: SlotSignals;
  /** The deadline it was opened with ahead of its turn; undefined: it opens now. */
  readonly preOpenedDeadline?: Date;
}

/** A slot's forecast deadline when opened now: a slot period ahead (UNPACED_DEADLINE_MS unpaced). */
export function slotDeadline(periodMs: number | null, now = Date.now()): Date {
  return new Date(now + (periodMs ?? UNPACED_DEADLINE_MS));
}

/** A slot about to open: its id, tariff, schedule and forecast deadline, no phase played yet. */
export function newSlotRun(plan: SlotPlan, feeder: Feeder, periodMs: number | null): SlotRun {
  return {
    index: plan.index,
    absolute: plan.absolute,
    date: plan.date,
    slotId: plan.slotId,
    prices: busPrices(plan.index, feeder),
    schedule: plan.schedule,
    deadline: plan.preOpenedDeadline ?? slotDeadline(periodMs),
    preOpened: plan.preOpenedDeadline !== undefined,
    signals: plan.signals,
    phasesMs: {},
    submissions: [],
    aggregation: undefined,
    dispatched: undefined,
    draws: [],
    metering: undefined,
    production: [],
    withoutDrLambda: undefined,
  };
}

/** The tariff of the slot of the day `index` on every bus of the feeder. */
export function busPrices(index: number, feeder: Feeder): SlotPrices {
  return slotPrices(
    index,
    feeder.buses.map((bus) => bus.bus),
  );
}

/**
 * Plays the phases of `slot` in order, timing each; `pipelined` is called once the phase after
 * which the next slot may open is done.
 */
export async function playPhases(
  slot: SlotRun,
  phases: readonly SlotPhase[],
  pipelined: () => void,
): Promise<void> {
  for (const phase of phases) {
    const phaseStarted = performance.now();
    await phase.run(slot);
    slot.phasesMs[phase.name] = performance.now() - phaseStarted;
    if (phase.name === PIPELINE_AFTER) {
      pipelined();
    }
  }
}

/**
 * A simulated day on a running network: one REST gateway per org, the simulated HEMS devices
 * enrolled through them, and every slot played as a sequence of phases (open → forecast →
 * aggregate → dispatch → deliver). Slots are pipelined: the next slot opens (at its time in
 * compressed time) once the current one has collected its forecasts, so one slot's aggregation and
 * dispatch overlap with the next one's forecasts; at most two slots are in flight.
 * Every `auctionEvery`-th slot also opens a trading window of the energy auction for the next
 * slot (auction.ts). Windows are their own pipeline: a window outlives the slot it opened in (it
 * settles after its delivery slot was played), so it is queued beside the slots, and the day ends
 * when the last slot and the last window are done.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { connectAs, evaluateJson, type NetworkDescription } from '@hems/network-client';
import { GatewayProcesses } from '../../gateway-api/src/local/gateway-processes';
import type { SlotView } from '../../gateway-api/src/routes/slot-view';
import { Auction, Utility, type WindowPlan } from './auction';
import { createHomeProfile, timeOfDay } from './appliance-model';
import type { DayResult, SlotResult, WindowResult } from './day-result';
import {
  enrolDevices,
  setEnrolledHomes,
  SimulatedHome,
  type DrawOutcome,
  type SubmitOutcome,
} from './devices';
import { Dispatcher, type AggregationOutcome } from './dispatcher';
import { percentile, summarizeBuses } from './dispatch-summary';
import { checkMetering } from './metering';
import { capacities, layoutFeeder, UTILITIES, type Feeder } from './feeder-model';
import { auctionPositions, slotPeriodMs, type DayOptions } from './options';
import { slotPrices, type SlotPrices } from './tariff';

/** Orgs that get a gateway: the DSO, the utilities and the regulator. */
const GATEWAY_ORGS = ['DSOMSP', ...UTILITIES, 'RegulatorMSP'] as const;
/** Forecast window of a slot when the day runs as fast as possible: early close ends it sooner. */
const UNPACED_DEADLINE_MS = 15_000;
/** The phase after which the next slot may open. */
const PIPELINE_AFTER = 'forecast';
const MAX_SLOTS_IN_FLIGHT = 2;

export interface DayObserver {
  /** Progress lines (enrolment, network set-up). */
  readonly log?: (line: string) => void;
  /** Each finished slot, in slot order. */
  readonly slotDone?: (slot: SlotResult) => void;
  /** Each finished trading window (settled, grid share claimed), in delivery order. */
  readonly windowDone?: (window: WindowResult) => void;
}

/** One slot while it is being played. */
export interface SlotRun {
  /** The slot of the day (0: 00:00); it seeds the models and the tariff. */
  readonly index: number;
  readonly slotId: string;
  readonly prices: SlotPrices;
  readonly deadline: Date;
  readonly phasesMs: Record<string, number>;
  submissions: SubmitOutcome[];
  aggregation: AggregationOutcome | undefined;
  dispatched: SlotView | undefined;
  draws: (DrawOutcome | undefined)[];
  /** The ledger's bus totals with the utilities' consumption summaries, after the draws. */
  metering: SlotView['busTotals'] | undefined;
}

export interface SlotPhase {
  readonly name: string;
  run(slot: SlotRun): Promise<void>;
}

/** The phases of every slot, in order. */
export function slotPhases(
  dispatcher: Dispatcher,
  homes: readonly SimulatedHome[],
  log: (line: string) => void,
): SlotPhase[] {
  return [
    { name: 'open', run: (slot) => dispatcher.openSlot(slot.slotId, slot.deadline, slot.prices) },
    {
      name: 'forecast',
      run: async (slot) => {
        slot.submissions = await Promise.all(
          homes.map((home) => home.submitForecast(slot.slotId, slot.index)),
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
      },
    },
    {
      name: 'deliver',
      run: async (slot) => {
        slot.draws = await Promise.all(homes.map((home) => home.draw(slot.slotId)));
      },
    },
    {
      name: 'meter',
      run: async (slot) => {
        slot.metering = await dispatcher.publishConsumption(
          slot.slotId,
          [...new Set(homes.map((home) => home.mspId))],
          slot.draws.filter((draw) => draw !== undefined),
        );
      },
    },
  ];
}

function slotResult(slot: SlotRun, feeder: Feeder, totalMs: number): SlotResult {
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
      prices: slot.prices.buses.find((entry) => entry.bus === bus.bus) ?? slot.prices.default,
      drawnKw: drawnByBus.get(bus.bus) ?? 0,
    })),
    // Fails the day when the ledger's metered sums disagree with what the homes drew.
  ).map((bus) => ({ ...bus, metered: checkMetering(slot.slotId, bus.bus, metering, draws) }));
  const latencies = slot.submissions.flatMap((outcome) => (outcome.accepted ? [outcome.latencyMs] : []));
  return {
    index: slot.index,
    slotId: slot.slotId,
    startsAt: timeOfDay(slot.index),
    defaultPrices: slot.prices.default,
    homesSubmitted: latencies.length,
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

async function minGroupSize(description: NetworkDescription): Promise<number> {
  const dso = connectAs(description, { mspId: 'DSOMSP', identity: 'dso-operator' });
  try {
    return (await evaluateJson<{ minGroupSize: number }>(dso.contract('governance'), 'GetSettings'))
      .minGroupSize;
  } finally {
    dso.close();
  }
}

/** A promise with its resolver, to signal a slot's progress to the loop that opens the next one. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * Plays the day on the network described (its state folder); the gateways are started on the
 * ports set with useGatewayPorts and stopped at the end.
 */
export async function runDay(
  options: DayOptions,
  description: NetworkDescription,
  observer: DayObserver = {},
): Promise<DayResult> {
  const log = observer.log ?? (() => undefined);
  const feeder = layoutFeeder(options.homes, options.buses);
  const startedAt = new Date();
  const k = await minGroupSize(description);
  const gateways = new GatewayProcesses(description.stateDir);
  log(`starting one REST gateway per org (${GATEWAY_ORGS.join(', ')})`);
  await gateways.start(description, GATEWAY_ORGS);
  const homes: SimulatedHome[] = [];
  try {
    const enrolment = await enrolDevices(description, feeder, log);
    await setEnrolledHomes(description, feeder, log);
    homes.push(
      ...enrolment.devices.map(
        ({ device, home }) => new SimulatedHome(description, device, home, options.seed),
      ),
    );
    const dispatcher = new Dispatcher(description, capacities(feeder));
    const phases = slotPhases(dispatcher, homes, log);
    const periodMs = slotPeriodMs(options);
    const runId = Date.now().toString(36);
    const slotIdOf = (index: number): string => `day-${runId}-${String(index).padStart(2, '0')}`;

    let failure: Error | undefined;
    const fail = (error: unknown): void => {
      failure ??= error instanceof Error ? error : new Error(String(error));
    };
    const windowAt = new Set(auctionPositions(options));
    let auction: Auction | undefined;
    let accountsSeconds = 0;
    if (windowAt.size > 0) {
      // Each utility knows its homes (the ids it enrolled) and models their meters.
      const utilities = UTILITIES.map(
        (mspId) =>
          new Utility(
            description,
            mspId,
            enrolment.devices.flatMap(({ device, home }, position) => {
              const simulated = homes[position];
              return home.mspId === mspId && simulated !== undefined
                ? [
                    {
                      homeId: device.homeId,
                      spec: home,
                      profile: createHomeProfile(options.seed, home.index),
                      device: simulated,
                    },
                  ]
                : [];
            }),
            options.seed,
          ),
      );
      auction = new Auction(description, utilities, homes, {
        log,
        windowDone: observer.windowDone,
        failed: fail,
      });
      log(
        'the utility admins open token accounts for their homes and deposit the consumers’ starting balances',
      );
      const accountsStarted = performance.now();
      await auction.openAccounts();
      accountsSeconds = Math.round((performance.now() - accountsStarted) / 100) / 10;
    }
    const dayStart = Date.now();
    // Per slot: resolved once it was played (or the day stopped), for the window delivering in it.
    const delivered = Array.from({ length: options.slots }, () => signal());

    const results: SlotResult[] = [];
    let reported = 0;
    const report = (): void => {
      for (let next = results[reported]; next !== undefined; next = results[reported]) {
        observer.slotDone?.(next);
        reported += 1;
      }
    };
    const running: Promise<void>[] = [];
    let mayOpenNext: Promise<void> = Promise.resolve();

    for (let position = 0; position < options.slots && failure === undefined; position += 1) {
      await mayOpenNext;
      if (position >= MAX_SLOTS_IN_FLIGHT) {
        await running[position - MAX_SLOTS_IN_FLIGHT];
      }
      if (periodMs !== null) {
        await delay(Math.max(0, dayStart + position * periodMs - Date.now()));
      }
      if (failure !== undefined) {
        break;
      }
      const opened = performance.now();
      const index = options.startSlot + position;
      const slot: SlotRun = {
        index,
        slotId: slotIdOf(index),
        prices: slotPrices(
          index,
          feeder.buses.map((bus) => bus.bus),
        ),
        deadline: new Date(Date.now() + (periodMs ?? UNPACED_DEADLINE_MS)),
        phasesMs: {},
        submissions: [],
        aggregation: undefined,
        dispatched: undefined,
        draws: [],
        metering: undefined,
      };
      if (auction !== undefined && windowAt.has(position)) {
        const deliveryIndex = index + 1;
        const plan: WindowPlan = {
          position,
          windowId: `${slotIdOf(deliveryIndex)}-w`,
          deliveryIndex,
          deliverySlotId: slotIdOf(deliveryIndex),
          deliveryStartsAt: timeOfDay(deliveryIndex),
          prices: slotPrices(
            deliveryIndex,
            feeder.buses.map((bus) => bus.bus),
          ),
          pacedDelivery:
            periodMs === null
              ? null
              : { start: dayStart + (position + 1) * periodMs, end: dayStart + (position + 2) * periodMs },
          delivered: delivered[position + 1]?.promise ?? Promise.resolve(),
        };
        auction.schedule(plan);
      }
      const pipelined = signal();
      mayOpenNext = pipelined.promise;
      running[position] = (async () => {
        try {
          for (const phase of phases) {
            const phaseStarted = performance.now();
            await phase.run(slot);
            slot.phasesMs[phase.name] = performance.now() - phaseStarted;
            if (phase.name === PIPELINE_AFTER) {
              pipelined.resolve();
            }
          }
          results[position] = slotResult(slot, feeder, performance.now() - opened);
          report();
        } catch (error) {
          fail(error);
        } finally {
          pipelined.resolve();
          delivered[position]?.resolve();
        }
      })();
    }
    await Promise.all(running);
    if (failure !== undefined) {
      auction?.stop();
    }
    // Slots that never opened (the day stopped) release the windows waiting for them.
    delivered.forEach((entry) => entry.resolve());
    const windows = (await auction?.finished()) ?? [];
    if (failure !== undefined) {
      throw failure;
    }
    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: {
        homes: options.homes,
        buses: options.buses,
        slots: options.slots,
        startSlot: options.startSlot,
        auctionEvery: options.auctionEvery,
        speed: options.speed,
        seed: options.seed,
        minGroupSize: k,
      },
      feeder: feeder.buses.map((bus) => ({
        bus: bus.bus,
        capacityKw: bus.capacityKw,
        homes: Object.values(bus.homesByUtility).reduce((sum, count) => sum + count, 0),
      })),
      slots: results,
      windows,
      wallSeconds: Math.round((Date.now() - dayStart) / 100) / 10,
      enrolmentSeconds: Math.round(enrolment.seconds * 10) / 10,
      accountsSeconds,
    };
  } finally {
    for (const home of homes) {
      home.close();
    }
    await gateways.stop();
  }
}

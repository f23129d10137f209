/**
 * One played day on the network: its slots as a pipeline of phases (open → forecast → aggregate →
 * dispatch → deliver → meter → produce). The next slot opens (at its time in compressed time) once
 * the current one has collected its forecasts, so one slot's aggregation and dispatch overlap with
 * the next one's forecasts; at most two slots are in flight. Every `auctionEvery`-th slot also
 * queues a trading window of the energy auction for the next slot (auction.ts), which outlives the
 * slot it opened in.
 *
 * On the day of a demand-response event, the loop pauses before the event's first slot: the DSO
 * opens all the event's slots, declares the event and the emergency (dr-event.ts), and the pacing
 * resumes from there.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { timeOfDay } from './appliance-model';
import type { Auction, WindowPlan } from './auction';
import type { SlotResult } from './day-result';
import { absoluteSlot, slotIdOf, slotSchedule, type PlayedDay } from './days';
import type { DayHome } from './devices';
import type { Dispatcher } from './dispatcher';
import { signalsOf, type DrEventCalls } from './dr-event';
import type { Feeder } from './feeder-model';
import { auctionPositions, type DayOptions } from './options';
import {
  busPrices,
  newSlotRun,
  playPhases,
  slotResult,
  UNPACED_DEADLINE_MS,
  type SlotPhase,
  type SlotPlan,
} from './slot-run';

const MAX_SLOTS_IN_FLIGHT = 2;
/**
 * Margin of the forecast deadlines of slots opened ahead of their turn: the time the DSO takes to
 * open them and declare the event and emergency, and some lateness of the day's pace after it.
 */
const PRE_OPEN_MARGIN_MS = 120_000;

/** The first failure of the run: a slot's or a trading window's; the day stops opening slots. */
export class Failure {
  error: Error | undefined;
  readonly fail = (error: unknown): void => {
    this.error ??= error instanceof Error ? error : new Error(String(error));
  };
}

/** A promise with its resolver, to signal a slot's progress to the loop that opens the next one. */
interface Signal {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function signal(): Signal {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Wall-clock span of the slot after `position` when the day is paced; null when unpaced. */
function pacedDelivery(
  dayStart: number,
  position: number,
  periodMs: number | null,
): WindowPlan['pacedDelivery'] {
  return periodMs === null
    ? null
    : { start: dayStart + (position + 1) * periodMs, end: dayStart + (position + 2) * periodMs };
}

/** What every played day shares. */
export interface DayContext {
  readonly options: DayOptions;
  readonly feeder: Feeder;
  readonly dispatcher: Dispatcher;
  readonly phases: readonly SlotPhase[];
  readonly homes: readonly DayHome[];
  readonly auction: Auction | undefined;
  readonly periodMs: number | null;
  readonly runId: string;
  readonly failure: Failure;
  readonly log: (line: string) => void;
  readonly slotDone?: (slot: SlotResult) => void;
}

/**
 * The DSO opens every slot of the event ahead of its turn (the event names existing slots only),
 * funds its pool, declares the event and the emergency; answers the deadlines the slots got.
 */
async function prepareEvent(
  context: DayContext,
  day: PlayedDay,
  event: DrEventCalls,
): Promise<{ deadlines: Map<number, Date>; emergency: boolean }> {
  const { feeder, dispatcher, periodMs, runId, log } = context;
  const now = Date.now();
  const deadlines = new Map<number, Date>();
  log(
    `demand response: the DSO opens the ${event.plan.slots.length} slots of event ${event.plan.eventId} ahead, ` +
      `funds its pool with ${event.plan.budget} and declares the event (rate ${event.plan.rate} per kWh)`,
  );
  for (const [offset, index] of event.plan.slots.entries()) {
    const deadline = new Date(now + PRE_OPEN_MARGIN_MS + (offset + 1) * (periodMs ?? UNPACED_DEADLINE_MS));
    await dispatcher.openSlot(
      slotIdOf(runId, day.date, index),
      deadline,
      busPrices(index, feeder),
      slotSchedule(day.date, index),
    );
    deadlines.set(index, deadline);
  }
  await event.declare();
  const emergency = await event.declareEmergency();
  if (emergency && event.plan.emergencySlot !== null) {
    log(
      `emergency: level ${event.plan.emergencyLevel} in the slot at ${timeOfDay(event.plan.emergencySlot)}`,
    );
  }
  return { deadlines, emergency };
}

/** What slot `index` of the day is opened with. */
function slotPlan(
  context: DayContext,
  day: PlayedDay,
  event: DrEventCalls | null,
  index: number,
  preOpenedDeadline: Date | undefined,
): SlotPlan {
  return {
    index,
    absolute: absoluteSlot(day.day, index),
    date: day.date,
    slotId: slotIdOf(context.runId, day.date, index),
    schedule: slotSchedule(day.date, index),
    signals: signalsOf(event?.plan ?? null, index),
    ...(preOpenedDeadline === undefined ? {} : { preOpenedDeadline }),
  };
}

/** The trading window opened in the slot at `position`, delivering in the next slot. */
function windowPlan(
  context: DayContext,
  day: PlayedDay,
  position: number,
  dayStart: number,
  delivered: Signal | undefined,
): WindowPlan {
  const deliveryIndex = context.options.startSlot + position + 1;
  const deliverySlotId = slotIdOf(context.runId, day.date, deliveryIndex);
  return {
    position,
    windowId: `${deliverySlotId}-w`,
    deliveryIndex,
    deliverySlotId,
    deliveryStartsAt: timeOfDay(deliveryIndex),
    prices: busPrices(deliveryIndex, context.feeder),
    pacedDelivery: pacedDelivery(dayStart, position, context.periodMs),
    delivered: delivered?.promise ?? Promise.resolve(),
  };
}

/**
 * Plays the day's slots; answers their results in slot order and whether the event's emergency
 * was declared. Stops opening slots at the run's first failure (the caller throws it).
 */
export async function playDay(
  context: DayContext,
  day: PlayedDay,
  event: DrEventCalls | null,
): Promise<{ slots: SlotResult[]; emergencyDeclared: boolean }> {
  const { options, feeder, phases, homes, auction, periodMs, failure } = context;
  const windowAt = new Set(auctionPositions(options));
  let dayStart = Date.now();
  // Per slot: resolved once it was played (or the day stopped), for the window delivering in it.
  const delivered = Array.from({ length: options.slots }, () => signal());
  const results: SlotResult[] = [];
  let reported = 0;
  const report = (): void => {
    for (let next = results[reported]; next !== undefined; next = results[reported]) {
      context.slotDone?.(next);
      reported += 1;
    }
  };
  const running: Promise<void>[] = [];
  let mayOpenNext: Promise<void> = Promise.resolve();
  let preOpened = new Map<number, Date>();
  let emergencyDeclared = false;
  try {
    for (let position = 0; position < options.slots && failure.error === undefined; position += 1) {
      await mayOpenNext;
      if (position >= MAX_SLOTS_IN_FLIGHT) {
        await running[position - MAX_SLOTS_IN_FLIGHT];
      }
      if (periodMs !== null) {
        await delay(Math.max(0, dayStart + position * periodMs - Date.now()));
      }
      if (failure.error !== undefined) {
        break;
      }
      const index = options.startSlot + position;
      if (event !== null && index === event.plan.slots[0]) {
        const paused = Date.now();
        try {
          const prepared = await prepareEvent(context, day, event);
          preOpened = prepared.deadlines;
          emergencyDeclared = prepared.emergency;
        } catch (error) {
          failure.fail(error);
          break;
        }
        dayStart += Date.now() - paused;
      }
      const opened = performance.now();
      const slot = newSlotRun(slotPlan(context, day, event, index, preOpened.get(index)), feeder, periodMs);
      if (auction !== undefined && windowAt.has(position)) {
        auction.schedule(windowPlan(context, day, position, dayStart, delivered[position + 1]));
      }
      const pipelined = signal();
      mayOpenNext = pipelined.promise;
      running[position] = (async () => {
        try {
          await playPhases(slot, phases, pipelined.resolve);
          results[position] = slotResult(slot, feeder, performance.now() - opened);
          report();
        } catch (error) {
          failure.fail(error);
        } finally {
          pipelined.resolve();
          delivered[position]?.resolve();
          // A slot that failed before its draws frees the homes' later draws.
          homes.forEach((home) => home.state.release(slot.absolute));
        }
      })();
    }
    await Promise.all(running);
  } finally {
    // Slots that never opened (the day stopped) release the windows waiting for them.
    delivered.forEach((entry) => entry.resolve());
  }
  return { slots: results.filter((result) => result !== undefined), emergencyDeclared };
}

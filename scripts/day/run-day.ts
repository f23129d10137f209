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
import { GatewayProcesses } from '@hems/testkit';
import { Auction, type AuctionObserver, type WindowPlan } from './auction';
import { Utility } from './utility';
import { createHomeProfile, timeOfDay } from './appliance-model';
import type { DayResult, SlotResult, WindowResult } from './day-result';
import { enrolDevices, homesOf, setEnrolledHomes, SimulatedHome } from './devices';
import { allowRelayAttestation, issueVens, OpenAdrHome, runsVen, vtnUrl } from './openadr-homes';
import { Dispatcher } from './dispatcher';
import { capacities, layoutFeeder, UTILITIES, type Feeder, type HomeSpec } from './feeder-model';
import { auctionPositions, slotPeriodMs, type DayOptions } from './options';
import { busPrices, newSlotRun, playPhases, slotPhases, slotResult } from './slot-run';

/** Orgs that get a gateway: the DSO, the utilities and the regulator. */
const GATEWAY_ORGS = ['DSOMSP', ...UTILITIES, 'RegulatorMSP'] as const;
const MAX_SLOTS_IN_FLIGHT = 2;

export interface DayObserver {
  /** Progress lines (enrolment, network set-up). */
  readonly log?: (line: string) => void;
  /** Each finished slot, in slot order. */
  readonly slotDone?: (slot: SlotResult) => void;
  /** Each finished trading window (settled, grid share claimed), in delivery order. */
  readonly windowDone?: (window: WindowResult) => void;
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
interface Signal {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

/** The promise of `entry`; resolved already when there is none (past the day's last slot). */
function signalled(entry: Signal | undefined): Promise<void> {
  return entry?.promise ?? Promise.resolve();
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

function daySettings(options: DayOptions): Omit<DayResult['settings'], 'minGroupSize'> {
  const { homes, buses, slots, startSlot, auctionEvery, speed, seed, openadrShare } = options;
  return { homes, buses, slots, startSlot, auctionEvery, speed, seed, openadrShare };
}

function feederSummary(feeder: Feeder): DayResult['feeder'] {
  return feeder.buses.map((bus) => ({
    bus: bus.bus,
    capacityKw: bus.capacityKw,
    homes: Object.values(bus.homesByUtility).reduce((sum, count) => sum + count, 0),
  }));
}

/**
 * The energy auction of the day, with the token accounts of every home opened; returns how long
 * opening the accounts took, s.
 */
async function openAuction(
  description: NetworkDescription,
  enrolled: Awaited<ReturnType<typeof enrolDevices>>['devices'],
  homes: readonly SimulatedHome[],
  seed: number,
  observer: AuctionObserver,
): Promise<{ auction: Auction; accountsSeconds: number }> {
  // Each utility knows its homes (the ids it enrolled) and models their meters.
  const utilities = UTILITIES.map(
    (mspId) =>
      new Utility(
        description,
        mspId,
        enrolled.flatMap(({ device, home }, position) => {
          const simulated = homes[position];
          return home.mspId === mspId && simulated !== undefined
            ? [
                {
                  homeId: device.homeId,
                  spec: home,
                  profile: createHomeProfile(seed, home.index),
                  device: simulated,
                },
              ]
            : [];
        }),
        seed,
      ),
  );
  const auction = new Auction(description, utilities, homes, observer);
  observer.log(
    'the utility admins open token accounts for their homes and deposit the consumers’ starting balances',
  );
  const accountsStarted = performance.now();
  await auction.openAccounts();
  return { auction, accountsSeconds: Math.round((performance.now() - accountsStarted) / 100) / 10 };
}

/** The trading windows of the day once all are done; stops opening new ones when the day failed. */
async function closeWindows(
  auction: Auction | undefined,
  failed: boolean,
  delivered: readonly Signal[],
): Promise<WindowResult[]> {
  if (failed) {
    auction?.stop();
  }
  // Slots that never opened (the day stopped) release the windows waiting for them.
  delivered.forEach((entry) => entry.resolve());
  return (await auction?.finished()) ?? [];
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
  const venHomes: OpenAdrHome[] = [];
  try {
    // A share of the homes runs an OpenADR VEN: no HEMS device, credentials from the utility.
    const isVen = (home: HomeSpec): boolean => runsVen(home.index, options.openadrShare);
    const enrolment = await enrolDevices(description, feeder, log, (home) => !isVen(home));
    await setEnrolledHomes(description, feeder, log);
    homes.push(
      ...enrolment.devices.map(
        ({ device, home }) => new SimulatedHome(description, device, home, options.seed),
      ),
    );
    const venSpecs = homesOf(feeder).filter(({ home }) => isVen(home));
    if (venSpecs.length > 0) {
      await allowRelayAttestation(description, log);
      const vens = await issueVens(description, venSpecs, log);
      venHomes.push(
        ...vens.map(
          (ven, position) => new OpenAdrHome(description, ven, venSpecs[position]!.home, options.seed),
        ),
      );
      log(
        `${venHomes.length} of ${feeder.homes.length} homes run an OpenADR 3 VEN (${vtnUrl('UtilityAMSP')}, ...)`,
      );
    }
    const dispatcher = new Dispatcher(description, capacities(feeder));
    const phases = slotPhases(dispatcher, [...homes, ...venHomes], log);
    const periodMs = slotPeriodMs(options);
    const runId = Date.now().toString(36);
    const slotIdOf = (index: number): string => `day-${runId}-${String(index).padStart(2, '0')}`;

    let failure: Error | undefined;
    const fail = (error: unknown): void => {
      failure ??= error instanceof Error ? error : new Error(String(error));
    };
    const windowAt = new Set(auctionPositions(options));
    const { auction, accountsSeconds } =
      windowAt.size > 0
        ? await openAuction(description, enrolment.devices, homes, options.seed, {
            log,
            windowDone: observer.windowDone,
            failed: fail,
          })
        : { auction: undefined, accountsSeconds: 0 };
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
      const slot = newSlotRun(index, slotIdOf(index), feeder, periodMs);
      if (auction !== undefined && windowAt.has(position)) {
        const deliveryIndex = index + 1;
        auction.schedule({
          position,
          windowId: `${slotIdOf(deliveryIndex)}-w`,
          deliveryIndex,
          deliverySlotId: slotIdOf(deliveryIndex),
          deliveryStartsAt: timeOfDay(deliveryIndex),
          prices: busPrices(deliveryIndex, feeder),
          pacedDelivery: pacedDelivery(dayStart, position, periodMs),
          delivered: signalled(delivered[position + 1]),
        });
      }
      const pipelined = signal();
      mayOpenNext = pipelined.promise;
      running[position] = (async () => {
        try {
          await playPhases(slot, phases, pipelined.resolve);
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
    const windows = await closeWindows(auction, failure !== undefined, delivered);
    if (failure !== undefined) {
      throw failure;
    }
    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: { ...daySettings(options), minGroupSize: k },
      feeder: feederSummary(feeder),
      slots: results,
      windows,
      wallSeconds: Math.round((Date.now() - dayStart) / 100) / 10,
      enrolmentSeconds: Math.round(enrolment.seconds * 10) / 10,
      accountsSeconds,
    };
  } finally {
    for (const home of [...homes, ...venHomes]) {
      home.close();
    }
    await gateways.stop();
  }
}

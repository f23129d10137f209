/**
 * The simulated day on a running network: one REST gateway per org, the simulated HEMS devices
 * enrolled through them (a share run by OpenADR VENs), token accounts for every home, then the
 * day played `--days` times on consecutive simulated dates (play-day.ts), each home's appliances
 * keeping their state from slot to slot and day to day (home-state.ts):
 *
 * 1. before the first day, when a demand-response event is planned: each utility's meter
 *    head-end backfills 45 days of metered history per home (meter-history.ts);
 * 2. each day: the slots before --start and after the last slot are played unsteered (nobody
 *    dispatches them, the homes draw anyway), the slots in between on the network, with their
 *    schedule (date and time-of-use period); after the day, each head-end posts the day's metered
 *    intervals of every home;
 * 3. the last day carries the demand-response event and the emergency (dr-event.ts): after it is
 *    metered, the utilities pay the rewards and publish their totals and the auditor reads the
 *    event's public record and audit (dr-day.ts).
 *
 * The energy auction's trading windows run as their own pipeline beside the slots (auction.ts);
 * the run ends when the last slot and the last window are done.
 */
import { connectAs, evaluateJson, type NetworkDescription } from '@hems/network-client';
import { GatewayProcesses } from '@hems/testkit';
import { Auction } from './auction';
import { createHomeProfile } from './appliance-model';
import type { DayResult, HomeRecord, SlotResult, WindowResult } from './day-result';
import { absoluteDay, absoluteSlot, historyDates, playedDays, slotIdOf, type PlayedDay } from './days';
import { enrolDevices, homesOf, setEnrolledHomes, SimulatedHome, type DayHome } from './devices';
import { Dispatcher } from './dispatcher';
import { settleEvent } from './dr-day';
import { DrEventCalls, planDrEvent, type DrPlan } from './dr-event';
import { productionTotals } from './dr-metrics';
import type { DrResult, MeterDaysResult } from './dr-result';
import { capacities, layoutFeeder, UTILITIES, type Feeder, type HomeSpec } from './feeder-model';
import { HomeState } from './home-state';
import { addOutcomes, backfillItems, NO_METER_DAYS, postMeterDays, type MeterDayItem } from './meter-history';
import { MeterHeadEnd } from './meter-slot';
import { allowRelayAttestation, issueVens, OpenAdrHome, runsVen, vtnUrl } from './openadr-homes';
import { auctionPositions, slotPeriodMs, type DayOptions } from './options';
import { Failure, playDay, type DayContext } from './play-day';
import { busPrices, slotPhases } from './slot-run';
import { pricesOnBus } from './tariff';
import { Utility, type UtilityHome } from './utility';

/** Orgs that get a gateway: the DSO, the utilities and the regulator. */
const GATEWAY_ORGS = ['DSOMSP', ...UTILITIES, 'RegulatorMSP'] as const;

export interface DayObserver {
  /** Progress lines (enrolment, network set-up). */
  readonly log?: (line: string) => void;
  /** Each finished slot, in slot order. */
  readonly slotDone?: (slot: SlotResult) => void;
  /** Each finished trading window (settled, grid share claimed), in delivery order. */
  readonly windowDone?: (window: WindowResult) => void;
}

/** The channel settings the day needs: k and the production token rate (currency per MWh). */
async function channelSettings(
  description: NetworkDescription,
): Promise<{ minGroupSize: number; productionTokenRate: number }> {
  const dso = connectAs(description, { mspId: 'DSOMSP', identity: 'dso-operator' });
  try {
    const settings = await evaluateJson<{ minGroupSize: number; productionTokenRate?: number }>(
      dso.contract('governance'),
      'GetSettings',
    );
    return { minGroupSize: settings.minGroupSize, productionTokenRate: settings.productionTokenRate ?? 0 };
  } finally {
    dso.close();
  }
}

function daySettings(options: DayOptions): Omit<DayResult['settings'], 'minGroupSize'> {
  const { homes, buses, slots, startSlot, auctionEvery, speed, seed, openadrShare, days, drEvent } = options;
  return { homes, buses, slots, startSlot, auctionEvery, speed, seed, openadrShare, days, drEvent };
}

function feederSummary(feeder: Feeder): DayResult['feeder'] {
  return feeder.buses.map((bus) => ({
    bus: bus.bus,
    capacityKw: bus.capacityKw,
    homes: Object.values(bus.homesByUtility).reduce((sum, count) => sum + count, 0),
  }));
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10;

/** Every home of the feeder, devices and VENs, each with its appliances; answers them and the enrolment time. */
async function homesOfDay(
  options: DayOptions,
  description: NetworkDescription,
  feeder: Feeder,
  log: (line: string) => void,
): Promise<{ homes: DayHome[]; devices: SimulatedHome[]; enrolmentSeconds: number }> {
  const stateOf = (spec: HomeSpec): HomeState =>
    new HomeState(options.seed, spec.index, absoluteSlot(0, 0), (slot) =>
      pricesOnBus(busPrices(slot % 96, feeder), spec.bus),
    );
  // A share of the homes runs an OpenADR VEN: no HEMS device, credentials from the utility.
  const isVen = (home: HomeSpec): boolean => runsVen(home.index, options.openadrShare);
  const enrolment = await enrolDevices(description, feeder, log, (home) => !isVen(home));
  await setEnrolledHomes(description, feeder, log);
  const devices = enrolment.devices.map(
    ({ device, home }) => new SimulatedHome(description, device, home, options.seed, stateOf(home)),
  );
  const venSpecs = homesOf(feeder).filter(({ home }) => isVen(home));
  const homes: DayHome[] = [...devices];
  if (venSpecs.length > 0) {
    await allowRelayAttestation(description, log);
    const vens = await issueVens(description, venSpecs, log);
    homes.push(
      ...vens.map((ven, position) => new OpenAdrHome(description, ven, stateOf(venSpecs[position]!.home))),
    );
    log(
      `${vens.length} of ${feeder.homes.length} homes run an OpenADR 3 VEN (${vtnUrl('UtilityAMSP')}, ...)`,
    );
  }
  return { homes, devices, enrolmentSeconds: Math.round(enrolment.seconds * 10) / 10 };
}

/** Each utility's homes as it knows them: id, layout, PV model, device (none for a VEN), meter. */
function utilityHomes(homes: readonly DayHome[], feeder: Feeder, seed: number): Map<string, UtilityHome[]> {
  const specs = new Map(homesOf(feeder).map(({ home, homeId }) => [homeId, home]));
  const byUtility = new Map<string, UtilityHome[]>(UTILITIES.map((mspId) => [mspId, []]));
  for (const home of homes) {
    // A device enrolled by an earlier run may carry a suffixed id: its layout id is its prefix.
    const spec =
      specs.get(home.homeId) ?? [...specs].find(([homeId]) => home.homeId.startsWith(`${homeId}-`))?.[1];
    if (spec !== undefined) {
      byUtility.get(home.mspId)?.push({
        homeId: home.homeId,
        spec,
        profile: createHomeProfile(seed, spec.index),
        device: home instanceof SimulatedHome ? home : undefined,
        meter: home.state,
      });
    }
  }
  return byUtility;
}

/** The head-ends backfill 45 days of history per home before the first played day. */
async function backfill(
  description: NetworkDescription,
  options: DayOptions,
  byUtility: ReadonlyMap<string, readonly UtilityHome[]>,
  first: PlayedDay,
  log: (line: string) => void,
): Promise<MeterDaysResult['backfill']> {
  const dates = historyDates(first.date);
  log(
    `the meter head-ends post ${dates.length} days of metered history per home (${dates[0]} to ${dates.at(-1)})`,
  );
  const outcomes = await Promise.all(
    [...byUtility].map(([mspId, homes]) =>
      postMeterDays(
        description,
        mspId,
        backfillItems(
          options.seed,
          homes.map((home) => ({
            homeId: home.homeId,
            bus: home.spec.bus,
            index: home.spec.index,
            tariff: (slot: number) => home.meter.tariffOf(slot),
          })),
          dates,
        ),
      ),
    ),
  );
  return { ...outcomes.reduce(addOutcomes, NO_METER_DAYS), days: dates.length };
}

/** After a played day, each head-end posts the day's metered intervals of every one of its homes. */
async function postPlayedDay(
  description: NetworkDescription,
  byUtility: ReadonlyMap<string, readonly UtilityHome[]>,
  day: PlayedDay,
): Promise<MeterDaysResult['daily']> {
  const outcomes = await Promise.all(
    [...byUtility].map(([mspId, homes]) => {
      const items: MeterDayItem[] = homes.flatMap((home) => {
        const metered = home.meter.meteredDay(absoluteDay(day.day));
        return metered === undefined
          ? []
          : [{ homeId: home.homeId, bus: home.spec.bus, date: day.date, intervalsWh: metered.withDr }];
      });
      return postMeterDays(description, mspId, items);
    }),
  );
  return outcomes.reduce(addOutcomes, NO_METER_DAYS);
}

/**
 * Plays every day of the calendar in turn, the unsteered slots around each day's played ones,
 * posts each day's metered intervals and settles the event after the last day; stops at the run's
 * first failure.
 */
async function playCalendar(
  context: DayContext,
  calendar: readonly PlayedDay[],
  plan: DrPlan | null,
  description: NetworkDescription,
  byUtility: ReadonlyMap<string, readonly UtilityHome[]>,
  meterDays: { daily: MeterDaysResult['daily'] },
): Promise<{ slots: SlotResult[]; demandResponse: DrResult | undefined; records: HomeRecord[] }> {
  const { homes, options, feeder, runId, failure, log } = context;
  const slots: SlotResult[] = [];
  const records = [...byUtility.values()].flat().map((home) => ({
    home,
    record: {
      index: home.spec.index,
      org: home.spec.mspId,
      bus: home.spec.bus,
      days: [] as HomeRecord['days'][number][],
    },
  }));
  let demandResponse: DrResult | undefined;
  for (const day of calendar) {
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(day.day, options.startSlot)));
    if (calendar.length > 1) {
      log(`day ${day.day + 1} of ${calendar.length}: ${day.date}`);
    }
    const event =
      day.last && plan !== null
        ? new DrEventCalls(description, plan, (index) => slotIdOf(runId, day.date, index))
        : null;
    const played = await playDay(context, day, event);
    slots.push(...played.slots);
    if (failure.error !== undefined) {
      break;
    }
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(day.day + 1, 0)));
    meterDays.daily = addOutcomes(meterDays.daily, await postPlayedDay(description, byUtility, day));
    for (const { home, record } of records) {
      const metered = home.meter.meteredDay(absoluteDay(day.day));
      if (metered !== undefined) {
        record.days.push({ date: day.date, withDrWh: metered.withDr, withoutDrWh: metered.withoutDr });
      }
    }
    if (event !== null) {
      demandResponse = await settleEvent(
        event,
        homes,
        feeder,
        day,
        played.slots,
        played.emergencyDeclared,
        log,
      );
    }
  }
  return {
    slots,
    demandResponse,
    records: records.map(({ record }) => record).sort((a, b) => a.index - b.index),
  };
}

/**
 * Plays the day(s) on the network described (its state folder); the gateways are started on the
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
  const calendar = playedDays(options.days, startedAt);
  const settings = await channelSettings(description);
  const gateways = new GatewayProcesses(description.stateDir);
  log(`starting one REST gateway per org (${GATEWAY_ORGS.join(', ')})`);
  await gateways.start(description, GATEWAY_ORGS);
  const homes: DayHome[] = [];
  try {
    const enrolled = await homesOfDay(options, description, feeder, log);
    homes.push(...enrolled.homes);
    const byUtility = utilityHomes(homes, feeder, options.seed);
    const utilities = UTILITIES.map(
      (mspId) => new Utility(description, mspId, byUtility.get(mspId) ?? [], options.seed),
    );
    // Accounts for the auction, the demand-response rewards and the production tokens.
    log(
      'the utility admins open token accounts for their homes and deposit the consumers’ starting balances',
    );
    const accountsStarted = performance.now();
    await Promise.all(utilities.map((utility) => utility.openAccounts()));
    const accountsSeconds = seconds(accountsStarted);
    const headEnds = UTILITIES.map(
      (mspId) =>
        new MeterHeadEnd(
          description,
          mspId,
          byUtility.get(mspId) ?? [],
          options.seed,
          settings.productionTokenRate,
        ),
    );
    const runId = Date.now().toString(36);
    const last = calendar[calendar.length - 1]!;
    const plan = options.drEvent ? planDrEvent(options, runId, last.date) : null;
    const meterDays: { backfill: MeterDaysResult['backfill']; daily: MeterDaysResult['daily'] } = {
      backfill: { ...NO_METER_DAYS, days: 0 },
      daily: NO_METER_DAYS,
    };
    if (plan !== null) {
      meterDays.backfill = await backfill(description, options, byUtility, calendar[0]!, log);
    }
    const failure = new Failure();
    const auction =
      auctionPositions(options).length > 0
        ? new Auction(description, utilities, enrolled.devices, {
            log,
            windowDone: observer.windowDone,
            failed: failure.fail,
          })
        : undefined;
    const dispatcher = new Dispatcher(description, capacities(feeder));
    const context: DayContext = {
      options,
      feeder,
      dispatcher,
      phases: slotPhases(dispatcher, homes, headEnds, capacities(feeder), log),
      homes,
      auction,
      periodMs: slotPeriodMs(options),
      runId,
      failure,
      log,
      ...(observer.slotDone === undefined ? {} : { slotDone: observer.slotDone }),
    };
    const started = performance.now();
    const { slots, demandResponse, records } = await playCalendar(
      context,
      calendar,
      plan,
      description,
      byUtility,
      meterDays,
    ).catch((error: unknown) => {
      failure.fail(error);
      return { slots: [], demandResponse: undefined, records: [] };
    });
    if (failure.error !== undefined) {
      auction?.stop();
    }
    const windows = (await auction?.finished()) ?? [];
    if (failure.error !== undefined) {
      throw failure.error;
    }
    return {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: { ...daySettings(options), minGroupSize: settings.minGroupSize },
      feeder: feederSummary(feeder),
      slots,
      calendar: calendar.map((day) => ({
        day: day.day,
        date: day.date,
        slots: slots.filter((slot) => slot.date === day.date).length,
      })),
      meterDays,
      production: productionTotals(slots, UTILITIES, settings.productionTokenRate),
      homes: records,
      ...(demandResponse === undefined ? {} : { demandResponse }),
      windows,
      wallSeconds: seconds(started),
      enrolmentSeconds: enrolled.enrolmentSeconds,
      accountsSeconds,
    };
  } finally {
    homes.forEach((home) => home.close());
    await gateways.stop();
  }
}

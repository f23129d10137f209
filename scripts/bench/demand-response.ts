/*
 * Demand-response benchmark (docs/demand-response.md) over the raw Fabric client, for --dr-homes
 * homes of UtilityAMSP on bus `bench-dr`, with ids unique to the run (Date.now in base 36), so it
 * runs again and again on one network. The event day is the latest weekday before today (UTC): a
 * day's meter data is delivered once it is over, and rewards are paid within 3 days after it.
 *
 * 1. Setup (not measured): the DSO funds its pool and declares the run's events — one paying every
 *    home, and one per compared batch size (5) — each over two peak slots of its own (deadline
 *    15 s ahead): events of one day must not overlap, so each takes the first two quarter hours
 *    from 17:00 UTC on that no event declared on the day covers yet.
 * 2. Meter history (measured): the meter head-end backfills the 45 days before the event day with
 *    RecordMeterDays in transactions of 200 days, home by home, in --batches-in-flight lanes (a
 *    home's history is one private record that every transaction naming the home rewrites, so the
 *    transactions of one home run in turn); then it delivers the event day, 200 homes per
 *    transaction, --batches-in-flight in flight — each of those rewrites a record of 45 days.
 * 3. Setup (not measured): the utility admin opens an account for every home (GetAccountId on its
 *    own peer, then Deposit "0", majority-endorsed), --concurrency at a time; the DSO dispatches
 *    the slots once their deadline has passed.
 * 4. PayRewards (measured) of every home in transactions of 500 homes, one in flight: every batch
 *    rewrites the utility's allotment of the event, so batches of one event and utility are
 *    ordered one after another.
 * 5. The same with --dr-sizes homes per transaction (1, 100, 500), each size on its own event over
 *    the same homes (a home is paid once per event), --dr-batches transactions each: the cost per
 *    transaction against the cost per home, with a least-squares fit of the two.
 *
 * The readings are synthetic and deterministic for a date (lib/meter-days.ts).
 */
import type { Contract } from '@hyperledger/fabric-gateway';
import type { FabricConnection } from '@hems/network-client';
import { BASELINE_DEFAULTS } from '@hems/protocol';
import type { BenchContext } from './lib/context';
import { backfillLanes, nextFreeWindow, rewardBatches, type ChannelRoster } from './lib/dr-batches';
import {
  channelRoster,
  declaredWindows,
  declareEvent,
  dispatchAfter,
  enrolledShare,
  fundPool,
  openAccounts,
  openPeakSlots,
  payRewards,
  recordMeterDays,
  type MeterDayItem,
  type PeakSlot,
} from './lib/dr-ledger';
import { fittedCost, itemsResult, ItemTally, type DrComparison, type DrSummary } from './lib/dr-results';
import { chunked } from './lib/forecasts';
import {
  eventBudget,
  historyDates,
  latestWeekdayBefore,
  reductionBoundWh,
  syntheticDay,
  type EventWindow,
} from './lib/meter-days';
import { CpuMeter, type BenchResult } from './lib/results';
import { runLanes, runPool } from './lib/runner';
import { round, summarize } from './lib/stats';

export const DR_BENCHMARK = 'dr';
export const DR_ORG = 'UtilityAMSP';
export const DR_BUS = 'bench-dr';
const LOOKBACK_DAYS = 45;
/** Each event: two slots of 15 minutes, from 17:00 UTC on (interval 68) or the next free ones. */
const EVENT_INTERVALS = 2;
/** Events start at least 4 hours into the day (the baseline's adjustment window precedes them). */
const WINDOW_BOUNDS = { first: 16, preferred: 68, last: 96 };
/** Windows tried per event when declarations find them taken. */
const MAX_WINDOW_ATTEMPTS = 20;
const INTERVAL_MS = 15 * 60_000;
const METHOD = 'residential-5-in-10';
/** Currency per kWh of reduction. */
const RATE = 0.5;
/** RecordMeterDays' and PayRewards' bounds per transaction. */
const METER_BATCH_ITEMS = 200;
const REWARD_BATCH_HOMES = 500;
/** The slots' forecast deadline: the dispatch follows it. */
const DEADLINE_SECONDS = 15;
/** Seed of the synthetic readings: the same readings for the same home number and date. */
const SEED = 46;

/** What every step of a run needs. */
interface DrRun {
  readonly context: BenchContext;
  readonly prefix: string;
  readonly eventDate: string;
  readonly homeIds: readonly string[];
  /** The 45 days before the event day, then the event day. */
  readonly dates: readonly string[];
  readonly meter: Contract;
  readonly admin: FabricConnection;
  readonly dso: FabricConnection;
  readonly cpu: CpuMeter;
}

/** An event of the run: the homes it pays, in batches of home indexes. */
interface PlannedEvent {
  readonly eventId: string;
  readonly homesPerTransaction: number;
  readonly batches: readonly (readonly number[])[];
  readonly homes: number;
}

/** A declared event: its intervals, slots and budget. */
interface DeclaredEvent extends PlannedEvent {
  readonly window: EventWindow;
  readonly slotIds: readonly string[];
  readonly budget: string;
}

function plannedEvent(eventId: string, homesPerTransaction: number, batches: number[][]): PlannedEvent {
  const homes = batches.reduce((sum, batch) => sum + batch.length, 0);
  return { eventId, homesPerTransaction, batches, homes };
}

function meterDay(run: DrRun, home: number, date: string, events: readonly EventWindow[] = []): MeterDayItem {
  return {
    homeId: run.homeIds[home] ?? '',
    bus: DR_BUS,
    date,
    intervalsWh: syntheticDay(SEED, home, date, events),
  };
}

/** The 45 days before the event day, home by home, in lanes. */
async function backfill(run: DrRun): Promise<BenchResult> {
  const homes = run.homeIds.length;
  const lanes = backfillLanes(homes, LOOKBACK_DAYS, METER_BATCH_ITEMS, run.context.options.batchesInFlight);
  console.log(`dr: backfilling ${LOOKBACK_DAYS} days of ${homes} homes in ${lanes.length} lanes ...`);
  const tally = new ItemTally();
  const { result: outcome, cpu } = await run.cpu.measure(() =>
    runLanes(lanes, async (batch) => {
      const days = batch.map(({ home, day }) => meterDay(run, home, run.dates[day] ?? ''));
      tally.add(await recordMeterDays(run.meter, DR_ORG, days));
    }),
  );
  return itemsResult(
    DR_BENCHMARK,
    `RecordMeterDays backfill, ${LOOKBACK_DAYS} days/home, ${METER_BATCH_ITEMS} days/tx`,
    outcome,
    cpu,
    tally,
    homes * LOOKBACK_DAYS,
    { homes, batchItems: METER_BATCH_ITEMS, lanes: lanes.length },
  );
}

/**
 * The event day of every home (shedding load in the events' intervals): 200 homes per transaction,
 * each rewriting a 45-day record.
 */
async function deliverEventDay(run: DrRun, events: readonly EventWindow[]): Promise<BenchResult> {
  const { batchesInFlight } = run.context.options;
  const batches = chunked(
    run.homeIds.map((_, home) => home),
    METER_BATCH_ITEMS,
  );
  console.log(`dr: delivering the event day of ${run.homeIds.length} homes ...`);
  const tally = new ItemTally();
  const { result: outcome, cpu } = await run.cpu.measure(() =>
    runPool(batches, batchesInFlight, async (batch) => {
      const days = batch.map((home) => meterDay(run, home, run.eventDate, events));
      tally.add(await recordMeterDays(run.meter, DR_ORG, days));
    }),
  );
  return itemsResult(
    DR_BENCHMARK,
    `RecordMeterDays event day, ${METER_BATCH_ITEMS} homes/tx`,
    outcome,
    cpu,
    tally,
    run.homeIds.length,
    { batchItems: METER_BATCH_ITEMS, batchesInFlight },
  );
}

/** One event's PayRewards batches, one transaction in flight. */
async function payEvent(
  run: DrRun,
  mode: string,
  event: PlannedEvent,
): Promise<{ result: BenchResult; comparison: DrComparison }> {
  const rewards = run.admin.contract('dr');
  const tally = new ItemTally();
  const endorseMs: number[] = [];
  const commitMs: number[] = [];
  let paid = 0n;
  console.log(
    `dr: PayRewards of ${event.homes} homes, ${event.homesPerTransaction} per transaction (event ${event.eventId}) ...`,
  );
  const { result: outcome, cpu } = await run.cpu.measure(() =>
    runPool(event.batches, 1, async (batch) => {
      const homeIds = batch.map((home) => run.homeIds[home] ?? '');
      const submitted = await payRewards(rewards, DR_ORG, event.eventId, homeIds);
      endorseMs.push(submitted.endorseMs);
      commitMs.push(submitted.commitMs);
      tally.add(submitted.result);
      paid += BigInt(submitted.result.paid ?? '0');
    }),
  );
  const latency = summarize(outcome.latenciesMs);
  const endorseP50Ms = summarize(endorseMs).p50Ms;
  const commitP50Ms = summarize(commitMs).p50Ms;
  const result = itemsResult(DR_BENCHMARK, mode, outcome, cpu, tally, event.homes, {
    eventId: event.eventId,
    homesPerTransaction: event.homesPerTransaction,
    endorseP50Ms,
    commitP50Ms,
    paidCurrency: Number(paid) / 1e10,
  });
  return {
    result,
    comparison: {
      homesPerTransaction: event.homesPerTransaction,
      eventId: event.eventId,
      transactions: outcome.items,
      homes: tally.accepted,
      p50Ms: latency.p50Ms,
      p95Ms: latency.p95Ms,
      endorseP50Ms,
      commitP50Ms,
      msPerHome: round(latency.p50Ms / event.homesPerTransaction, 2),
      homesPerSecond: result.itemsPerSecond,
    },
  };
}

/** An event's slots: one per interval of its window on the event day. */
function peakSlots(run: DrRun, window: EventWindow): PeakSlot[] {
  const day = Date.parse(`${run.eventDate}T00:00:00Z`);
  const slots: PeakSlot[] = [];
  for (let interval = window.start; interval < window.end; interval += 1) {
    const start = new Date(day + interval * INTERVAL_MS);
    slots.push({
      slotId: `${run.prefix}-${start.toISOString().slice(11, 16).replace(':', '')}`,
      deliveryStart: start,
      deliveryEnd: new Date(start.getTime() + INTERVAL_MS),
    });
  }
  return slots;
}

/**
 * The DSO's setup: a pool covering every event's rewards, then each event over two peak slots of
 * its own, in the first intervals no event of the day covers (those a declaration finds taken are
 * skipped). Answers the events, every slot opened and the latest deadline.
 */
async function declareRunEvents(
  run: DrRun,
  roster: ChannelRoster,
  events: readonly PlannedEvent[],
): Promise<{ declared: DeclaredEvent[]; slotIds: string[]; deadline: Date }> {
  const share = await enrolledShare(run.context, run.dso, roster, DR_ORG);
  const boundWh = reductionBoundWh(EVENT_INTERVALS, BASELINE_DEFAULTS[METHOD].adjustmentCapPpm);
  const budgets = events.map((event) => eventBudget({ homes: event.homes, boundWh, rate: RATE, ...share }));
  await fundPool(run.dso, budgets.reduce((sum, budget) => sum + BigInt(budget), 0n).toString());
  const occupied = await declaredWindows(run.dso, run.eventDate);
  const declared: DeclaredEvent[] = [];
  const slotIds: string[] = [];
  let deadline = new Date(0);
  for (const [index, event] of events.entries()) {
    for (let attempt = 1; declared.length === index; attempt += 1) {
      const window = nextFreeWindow(occupied, EVENT_INTERVALS, WINDOW_BOUNDS);
      if (window === undefined || attempt > MAX_WINDOW_ATTEMPTS) {
        throw new Error(`no free intervals left on ${run.eventDate} for event ${event.eventId}`);
      }
      occupied.push(window);
      const slots = peakSlots(run, window);
      const slotDeadline = await openPeakSlots(run.dso, slots, DEADLINE_SECONDS);
      deadline = slotDeadline > deadline ? slotDeadline : deadline;
      slotIds.push(...slots.map((slot) => slot.slotId));
      const budget = budgets[index] ?? '0';
      const eventSlots = slots.map((slot) => slot.slotId);
      if (
        await declareEvent(run.dso, {
          eventId: event.eventId,
          slotIds: eventSlots,
          method: METHOD,
          rate: RATE,
          budget,
        })
      ) {
        declared.push({ ...event, window, slotIds: eventSlots, budget });
      } else {
        console.log(
          `dr: intervals ${window.start}-${window.end - 1} of ${run.eventDate} are taken; trying others`,
        );
      }
    }
  }
  return { declared, slotIds, deadline };
}

/**
 * The whole benchmark; each measured row goes to `record` as soon as it is measured, so a later
 * failure keeps it. Days or homes not accepted are counted in the rows and named in `firstFailure`.
 */
export async function benchDemandResponse(
  context: BenchContext,
  record: (result: BenchResult) => void,
): Promise<DrSummary> {
  const { connections, options } = context;
  const runId = Date.now().toString(36);
  const prefix = `bench-dr-${runId}`;
  const homes = options.drHomes;
  const eventDate = latestWeekdayBefore(new Date());
  const run: DrRun = {
    context,
    prefix,
    eventDate,
    homeIds: Array.from({ length: homes }, (_, index) => `${prefix}-${index}`),
    dates: historyDates(eventDate, LOOKBACK_DAYS),
    meter: connections.as(DR_ORG, 'meter-headend').contract('dr'),
    admin: connections.as(DR_ORG, 'orgadmin'),
    dso: connections.as('DSOMSP', 'dso-operator'),
    cpu: new CpuMeter(context.description.stateDir),
  };
  for (const size of options.drSizes.filter((candidate) => candidate > homes)) {
    console.log(`dr: PayRewards with ${size} homes per transaction skipped: only ${homes} homes`);
  }
  const allHomes = run.homeIds.map((_, home) => home);
  const mainEvent = plannedEvent(
    prefix,
    Math.min(REWARD_BATCH_HOMES, homes),
    chunked(allHomes, REWARD_BATCH_HOMES),
  );
  const compared = options.drSizes
    .filter((size) => size <= homes)
    .map((size) => plannedEvent(`${prefix}-s${size}`, size, rewardBatches(homes, size, options.drBatches)));
  const setupSeconds: Record<string, number> = {};
  const setup = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    setupSeconds[name] = round((performance.now() - started) / 1000, 2);
    return result;
  };

  console.log(`dr: run ${runId}, ${homes} homes of ${DR_ORG}, event day ${eventDate} ...`);
  const roster = await channelRoster(run.dso);
  const { declared, slotIds, deadline } = await setup('poolSlotsEvents', () =>
    declareRunEvents(run, roster, [mainEvent, ...compared]),
  );
  const rows: BenchResult[] = [];
  const keep = (result: BenchResult): void => {
    rows.push(result);
    record(result);
  };
  keep(await backfill(run));
  keep(
    await deliverEventDay(
      run,
      declared.map((event) => event.window),
    ),
  );
  console.log(`dr: opening ${homes} accounts ...`);
  await setup('accounts', () => openAccounts(run.admin, DR_ORG, roster, run.homeIds, options.concurrency));
  await setup('dispatch', () => dispatchAfter(run.dso, slotIds, deadline));

  const [declaredMain, ...declaredCompared] = declared;
  if (declaredMain === undefined) {
    throw new Error('internal: no event declared');
  }
  const mode = `PayRewards, ${declaredMain.homesPerTransaction} homes/tx, one in flight`;
  keep((await payEvent(run, mode, declaredMain)).result);
  const comparison: DrComparison[] = [];
  for (const event of declaredCompared) {
    const paid = await payEvent(run, `PayRewards compared, ${event.homesPerTransaction} homes/tx`, event);
    keep(paid.result);
    comparison.push(paid.comparison);
  }
  const failed = rows.find((row) => row.failures > 0);
  return {
    runId,
    org: DR_ORG,
    bus: DR_BUS,
    eventDate,
    homes,
    slotIds,
    events: declared.map((event) => ({
      eventId: event.eventId,
      start: event.window.start,
      end: event.window.end,
      slotIds: event.slotIds,
      budget: event.budget,
      homesPerTransaction: event.homesPerTransaction,
    })),
    setupSeconds,
    comparison,
    payRewardsCost: fittedCost(comparison, (row) => row.p50Ms),
    payRewardsEndorseCost: fittedCost(comparison, (row) => row.endorseP50Ms),
    firstFailure:
      failed === undefined
        ? null
        : `${failed.failures} of ${failed.items} items not accepted in "${failed.mode}", first: ${failed.firstError ?? ''}`,
  };
}

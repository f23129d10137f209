/*
 * Full slot cycle through the REST gateways, for N homes spread over both utilities and both
 * feeder buses, each device holding its own mutual-TLS connection (connected before the clock
 * starts, as always-on devices are): the DSO operator opens the slot on the DSO gateway; every
 * device submits its signed forecast to its utility gateway, which batches them (201 after
 * commit); the DSO asks for the aggregates (the DSO gateway fans out to each utility gateway,
 * which lists its batches and publishes its per-bus sums); the DSO gateway computes λ from a
 * feeder model and publishes it; every device reads its allowed power, which its gateway answers
 * from memory. Each phase is timed from its first request to its last answer, and each device
 * checks that its allowed power is λ·upper + (1−λ)·lower of the range it submitted.
 *
 * The slot also expects the aggregates of every other bus enrolled when it opens; the bench homes
 * live on the sample feeder buses (bus-1, bus-2), whose enrolled counts they cover, so the
 * aggregates close early. A bus enrolled by someone else at that moment would keep λ waiting for
 * the deadline: the run then fails and says so.
 */
import type { ForecastRange } from '@hems/protocol';
import { callGateway } from '@hems/testkit';
import { FEEDER_PAIRS, requireFeederEnrolment, type BenchContext } from './lib/context';
import { spreadDevices } from './lib/devices';
import { benchSlotId, FEEDER_BUSES } from './lib/fabric';
import { connectFleet, DeviceFleet, unexpectedAnswer } from './lib/fleet';
import { randomRange, signDeviceForecast } from './lib/forecasts';
import { seededRandom } from './lib/random';
import { runPool, timed, type PoolOutcome } from './lib/runner';
import { round, summarize } from './lib/stats';
import type { Cell } from './lib/table';

export interface CyclePhase {
  readonly phase: string;
  readonly ms: number;
  readonly requests: number;
  readonly failures: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
}

/** A phase of many requests (runPool): its time, counts and latency percentiles. */
function poolPhase(phase: string, outcome: PoolOutcome): CyclePhase {
  const latency = summarize(outcome.latenciesMs);
  return {
    phase,
    ms: round(outcome.seconds * 1000),
    requests: outcome.items,
    failures: outcome.failures,
    p50Ms: latency.p50Ms,
    p95Ms: latency.p95Ms,
  };
}

export interface CycleResult {
  readonly homes: number;
  readonly concurrency: number;
  readonly slotId: string;
  readonly lambda: number | null;
  readonly phases: readonly CyclePhase[];
  readonly totalMs: number;
  /** Seconds the devices took to open their connections, before the clock started. */
  readonly connectSeconds: number | null;
  /** The allowed-power reads phase as a pool (for the results list). */
  readonly reads: PoolOutcome | null;
  /** The same reads again after the cycle with UNQUEUED_READS in flight: the answer time. */
  readonly unqueuedReads: PoolOutcome | null;
  readonly firstError: string | null;
}

export const CYCLE_HEADERS = ['phase', 'ms', 'requests', 'failures', 'p50 ms', 'p95 ms'];

export function cycleRows(result: CycleResult): Cell[][] {
  return [
    ...result.phases.map((phase) => [
      phase.phase,
      phase.ms,
      phase.requests,
      phase.failures,
      phase.p50Ms,
      phase.p95Ms,
    ]),
    ['total', result.totalMs, null, null, null, null],
  ];
}

/** Reads in flight when measuring the gateway's answer time without a queue. */
export const UNQUEUED_READS = 4;

/** λ within [0, 1] can differ from the chaincode's rounding by at most a watt per home. */
const ALLOWED_KW_TOLERANCE = 0.0015;

function expectStatus(response: { status: number; body: unknown }, status: number, what: string): void {
  if (response.status !== status) {
    throw new Error(`${what} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
}

/** Capacities that make bus-1 bind at λ ≈ 0.6 and bus-2 at λ ≈ 0.4 (so λ ≈ 0.4). */
function feederCapacities(ranges: readonly { bus: string; range: ForecastRange }[]): Record<string, number> {
  return Object.fromEntries(
    FEEDER_BUSES.map((bus, index) => {
      const onBus = ranges.filter((entry) => entry.bus === bus);
      const lower = onBus.reduce((sum, entry) => sum + entry.range.lower, 0);
      const upper = onBus.reduce((sum, entry) => sum + entry.range.upper, 0);
      return [bus, round(lower + (index === 0 ? 0.6 : 0.4) * (upper - lower), 3)];
    }),
  );
}

export async function benchSlotCycle(context: BenchContext): Promise<CycleResult> {
  await requireFeederEnrolment(context);
  const { description, options } = context;
  const homes = options.cycleHomes;
  const devices = await spreadDevices(description, options.issuer, FEEDER_PAIRS, homes);
  const random = seededRandom(homes + 7);
  const ranges = devices.map((device) => ({ bus: device.bus, range: randomRange(random) }));
  const fleet = new DeviceFleet(description, devices, 'keep-alive');
  const indexes = [...devices.keys()];
  const concurrency = options.restConcurrency;
  const operator = { mspId: 'DSOMSP', name: 'dso-operator' };
  const slotId = benchSlotId(`cycle-${homes}`);
  const phases: CyclePhase[] = [];
  let lambda: number | null = null;
  let firstError: string | null = null;
  let connectSeconds: number | null = null;
  let readsOutcome: PoolOutcome | null = null;
  let unqueuedReads: PoolOutcome | null = null;
  const single = (phase: string, ms: number): void => {
    phases.push({ phase, ms: round(ms), requests: 1, failures: 0, p50Ms: null, p95Ms: null });
  };
  let started = performance.now();
  try {
    // Always-on devices hold their connections: open them (one authenticated read each) first.
    connectSeconds = await connectFleet(fleet, 256, runPool);
    started = performance.now();
    console.log(`cycle: ${homes} homes connected in ${connectSeconds} s, slot ${slotId} ...`);
    const opened = await timed(() =>
      callGateway(description, 'DSOMSP', operator, 'POST', '/v1/slots', {
        slotId,
        deadline: new Date(Date.now() + 60 * 60_000).toISOString(),
        prices: { default: { lower: 20, upper: 80 } },
      }),
    );
    expectStatus(opened.result, 201, 'opening the slot');
    single('open slot (DSO)', opened.ms);

    const forecasts = await runPool(indexes, concurrency, async (index) => {
      const range = ranges[index]?.range;
      if (range === undefined) {
        throw new Error('internal: no range');
      }
      const { payload, signature } = signDeviceForecast(fleet.device(index), slotId, range);
      const answer = await fleet.request(index, 'POST', `/v1/slots/${slotId}/forecast`, {
        payload: payload.toString('utf8'),
        signature: signature.toString('base64'),
      });
      const error = unexpectedAnswer(answer, 201, 'the forecast POST');
      if (error !== undefined) {
        throw error;
      }
    });
    phases.push(poolPhase('forecasts (devices)', forecasts));
    if (forecasts.firstError !== undefined) {
      throw new Error(`${forecasts.failures} forecasts failed, first: ${forecasts.firstError}`);
    }

    const aggregated = await timed(() =>
      callGateway<{ utilities: { org: string; statusCode: number; result: unknown }[] }>(
        description,
        'DSOMSP',
        operator,
        'POST',
        `/v1/slots/${slotId}/aggregates`,
      ),
    );
    expectStatus(aggregated.result, 200, 'the aggregation fan-out');
    for (const utility of aggregated.result.body.utilities) {
      const buses = (utility.result as { buses?: { bus: string; outcome: string }[] }).buses ?? [];
      const open = buses.filter((bus) => bus.outcome !== 'published' && bus.outcome !== 'already published');
      if (utility.statusCode !== 200 || open.length > 0) {
        throw new Error(`aggregation of ${utility.org} incomplete: ${JSON.stringify(utility.result)}`);
      }
    }
    single('aggregates (fan-out)', aggregated.ms);

    const dispatched = await timed(() =>
      callGateway<{ dispatch?: { lambda?: number } }>(
        description,
        'DSOMSP',
        operator,
        'POST',
        `/v1/slots/${slotId}/dispatch`,
        { capacities: feederCapacities(ranges) },
      ),
    );
    expectStatus(dispatched.result, 201, 'publishing λ');
    single('λ (optimizer + PublishDispatch)', dispatched.ms);

    const reads = await runPool(indexes, concurrency, async (index) => {
      const answer = await fleet.request(index, 'GET', `/v1/slots/${slotId}/dispatch`);
      const error = unexpectedAnswer(answer, 200, 'the dispatch read');
      if (error !== undefined) {
        throw error;
      }
      const dispatch = answer.body as { lambda: number; allowedKw: number };
      const range = ranges[index]?.range;
      if (range === undefined || !(dispatch.lambda >= 0 && dispatch.lambda <= 1)) {
        throw new Error('the dispatch answer has no λ between 0 and 1');
      }
      lambda = dispatch.lambda;
      const expected = dispatch.lambda * range.upper + (1 - dispatch.lambda) * range.lower;
      if (Math.abs(dispatch.allowedKw - expected) > ALLOWED_KW_TOLERANCE) {
        throw new Error('a home got an allowed power that does not follow from its range and λ');
      }
    });
    phases.push(poolPhase('allowed power reads (devices)', reads));
    readsOutcome = reads;
    if (reads.firstError !== undefined) {
      firstError = `${reads.failures} dispatch reads failed, first: ${reads.firstError}`;
    }
    // After the cycle (not in its total): the same reads with few in flight, so their latency is
    // the gateway's answer time rather than the queue of a saturated run.
    const unqueued = await runPool(indexes, UNQUEUED_READS, async (index) => {
      const error = unexpectedAnswer(
        await fleet.request(index, 'GET', `/v1/slots/${slotId}/dispatch`),
        200,
        'read',
      );
      if (error !== undefined) {
        throw error;
      }
    });
    unqueuedReads = unqueued;
  } catch (error) {
    firstError = error instanceof Error ? error.message : String(error);
  } finally {
    fleet.close();
  }
  if (firstError !== null) {
    console.error(`cycle: ${firstError}`);
  }
  return {
    homes,
    concurrency,
    slotId,
    lambda,
    phases,
    totalMs: round(performance.now() - started),
    connectSeconds,
    reads: readsOutcome,
    unqueuedReads,
    firstError,
  };
}

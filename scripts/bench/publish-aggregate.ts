/*
 * PublishAggregate benchmark: n homes of UtilityAMSP on one bus (`bench-agg`), for n in --homes.
 * Per repetition: the utility admin enrols n homes on the bus, the DSO opens a fresh slot (which
 * snapshots the enrolment), the enrolment is set back to 0 at once (so slots others open meanwhile
 * do not wait for this bus), the relay submits the n device-signed forecasts in SubmitForecasts
 * batches (raw fabric-gateway, --batch-items per transaction), then ListForecastBatches (evaluate)
 * and PublishAggregate (endorse, then order and commit) are timed separately. PublishAggregate
 * point-reads every forecast batch of the org's slot — O(batches), not O(homes) — hence a fresh
 * slot per repetition. Medians over --repeat repetitions.
 */
import { evaluateJson } from '@hems/network-client';
import type { BenchContext } from './lib/context';
import { benchDevices } from './lib/devices';
import { benchSlotId, openSlot, setEnrolledHomes, submitPhased } from './lib/fabric';
import { batchItem, chunked, randomRange, relaySubmitBatch } from './lib/forecasts';
import { seededRandom } from './lib/random';
import { runPool, timed } from './lib/runner';
import { median, round } from './lib/stats';
import type { Cell } from './lib/table';

export const AGGREGATE_ORG = 'UtilityAMSP';
export const AGGREGATE_BUS = 'bench-agg';

export interface AggregateRun {
  readonly slotId: string;
  readonly submitSeconds: number;
  readonly submitForecastsPerSecond: number;
  readonly listMs: number;
  readonly publishMs: number;
  readonly publishEndorseMs: number;
  readonly publishCommitMs: number;
}

export interface AggregateResult {
  readonly homes: number;
  readonly runs: readonly AggregateRun[];
  readonly medianListMs: number;
  readonly medianPublishMs: number;
  readonly medianPublishEndorseMs: number;
  readonly medianPublishCommitMs: number;
  readonly medianSubmitForecastsPerSecond: number;
}

export const AGGREGATE_HEADERS = [
  'homes',
  'runs',
  'List ms',
  'Publish ms',
  'endorse ms',
  'commit ms',
  'submitted forecasts/s',
];

export function aggregateRow(result: AggregateResult): Cell[] {
  return [
    result.homes,
    result.runs.length,
    result.medianListMs,
    result.medianPublishMs,
    result.medianPublishEndorseMs,
    result.medianPublishCommitMs,
    result.medianSubmitForecastsPerSecond,
  ];
}

async function aggregateRun(context: BenchContext, homes: number, repetition: number): Promise<AggregateRun> {
  const { connections, options } = context;
  const admin = connections.as(AGGREGATE_ORG, 'orgadmin');
  const relay = connections.as(AGGREGATE_ORG, 'relay').contract();
  const dso = connections.as('DSOMSP', 'dso-operator');
  const devices = await benchDevices(
    context.description,
    options.issuer,
    AGGREGATE_ORG,
    AGGREGATE_BUS,
    homes,
  );

  const slotId = benchSlotId(`agg-${homes}`);
  await setEnrolledHomes(admin, AGGREGATE_BUS, homes);
  try {
    await openSlot(dso, slotId);
  } finally {
    await setEnrolledHomes(admin, AGGREGATE_BUS, 0);
  }

  const random = seededRandom(homes * 100 + repetition);
  const batches = chunked(
    devices.map((device) => batchItem(device, slotId, randomRange(random))),
    options.batchItems,
  );
  const submitted = await runPool(batches, options.batchesInFlight, async (items) => {
    await relaySubmitBatch(relay, AGGREGATE_ORG, slotId, items);
  });
  if (submitted.failures > 0) {
    throw new Error(
      `${submitted.failures} of ${batches.length} forecast batches failed in slot ${slotId}, first: ${submitted.firstError ?? ''}`,
    );
  }

  const listed = await timed(() =>
    evaluateJson<{ batches: string[]; items: number }>(relay, 'ListForecastBatches', [slotId]),
  );
  if (listed.result.items !== homes) {
    throw new Error(`ListForecastBatches counted ${listed.result.items} forecasts, expected ${homes}`);
  }
  const published = await submitPhased<{ homes: number; withheld: boolean }>(relay, 'PublishAggregate', {
    args: [slotId, AGGREGATE_BUS],
    transientData: { batches: Buffer.from(JSON.stringify(listed.result.batches)) },
    endorsingOrganizations: [AGGREGATE_ORG],
  });
  if (published.result.homes !== homes) {
    throw new Error(`PublishAggregate counted ${published.result.homes} homes, expected ${homes}`);
  }
  return {
    slotId,
    submitSeconds: round(submitted.seconds, 2),
    submitForecastsPerSecond: round(homes / submitted.seconds),
    listMs: round(listed.ms),
    publishMs: round(published.totalMs),
    publishEndorseMs: round(published.endorseMs),
    publishCommitMs: round(published.commitMs),
  };
}

export async function benchPublishAggregate(context: BenchContext): Promise<AggregateResult[]> {
  const results: AggregateResult[] = [];
  for (const homes of context.options.homes) {
    const runs: AggregateRun[] = [];
    for (let repetition = 0; repetition < context.options.repeat; repetition += 1) {
      console.log(`aggregate: ${homes} homes, run ${repetition + 1} of ${context.options.repeat} ...`);
      runs.push(await aggregateRun(context, homes, repetition));
    }
    results.push({
      homes,
      runs,
      medianListMs: round(median(runs.map((run) => run.listMs))),
      medianPublishMs: round(median(runs.map((run) => run.publishMs))),
      medianPublishEndorseMs: round(median(runs.map((run) => run.publishEndorseMs))),
      medianPublishCommitMs: round(median(runs.map((run) => run.publishCommitMs))),
      medianSubmitForecastsPerSecond: round(median(runs.map((run) => run.submitForecastsPerSecond))),
    });
  }
  return results;
}

/*
 * `npm run bench`: the platform's benchmarks (not tests). Prints a table per benchmark and writes
 * one JSON report per run to reports/bench-<time>.json. See docs/benchmarks.md.
 *
 *   npm run bench                                    # everything at full size
 *   npm run bench -- --only ingestion --devices 1000
 *   npm run bench -- --only aggregate --homes 100 --repeat 1
 *   npm run bench -- --only clearing --orders 1000,10000
 *   npm run bench -- --only dr --dr-homes 2000
 *
 * The on-chain benchmarks transact on the running network (network/.state, `npm run network:up`)
 * and start their own gateway processes on ports 29443-29446. Benchmark devices skip Fabric CA
 * registration by default (--issuer direct): their certificates are signed with the org CA's key
 * in the CA's format, and the gateway and chaincode checks are identical (lib/pki.ts).
 */
import { loadNetworkDescription } from '@hems/network-client';
import {
  benchAuctionClearing,
  CLEARING_HEADERS,
  clearingRow,
  type ClearingBenchResult,
} from './auction-clearing';
import { benchDemandResponse } from './demand-response';
import { benchIngestion } from './forecast-ingestion';
import type { BareTlsResult } from './lib/bare-tls';
import { FEEDER_PAIRS } from './lib/context';
import { DR_COMPARE_HEADERS, drComparisonRow, type DrSummary } from './lib/dr-results';
import { benchDevices, spreadDevices } from './lib/devices';
import { Connections, UTILITIES, withBenchGateways } from './lib/fabric';
import { poolResult, RESULT_HEADERS, resultRow, type BenchResult } from './lib/results';
import { parseOptions, USAGE, type BenchOptions } from './lib/options';
import { describeMachine, writeReport } from './lib/report';
import { errorMessage } from './lib/runner';
import { formatTable } from './lib/table';
import {
  AGGREGATE_BUS,
  AGGREGATE_HEADERS,
  AGGREGATE_ORG,
  aggregateRow,
  benchPublishAggregate,
  type AggregateResult,
} from './publish-aggregate';
import { benchSlotCycle, CYCLE_HEADERS, cycleRows, type CycleResult, UNQUEUED_READS } from './slot-cycle';

interface Report {
  readonly startedAt: string;
  finishedAt?: string;
  readonly machine: ReturnType<typeof describeMachine>;
  readonly options: BenchOptions;
  readonly network?: { readonly peers: number; readonly orderers: number; readonly channel: string };
  /** Every figure, one row each: benchmark, mode, items, committed, failures, items/s, p50, p95, CPU. */
  readonly results: BenchResult[];
  /** The bare Node.js mutual-TLS server (new connection per request), and the gateway's share of it. */
  bareTls?: { result: BareTlsResult; gatewayShare: number | null };
  aggregate?: { org: string; bus: string; results: AggregateResult[] };
  /** The cycle's phases; its reads are summarized in `results`. */
  cycle?: CycleResult;
  clearing?: ClearingBenchResult[];
  /** The demand-response run's ids, setup times and PayRewards comparison; its rows are in `results`. */
  demandResponse?: DrSummary;
  errors: { benchmark: string; message: string }[];
}

/** The gateways' batching, as the bench starts them for the batched runs and the cycle. */
function batchingEnv(options: BenchOptions): Record<string, string> {
  return {
    HEMS_GATEWAY_FORECAST_BATCH_ITEMS: String(options.batchItems),
    HEMS_GATEWAY_FORECAST_BATCH_WAIT_MS: String(options.batchWaitMs),
  };
}

/** With --issuer ca, enrols every device the run needs through the gateways first (then cached). */
async function enrolThroughCa(
  description: ReturnType<typeof loadNetworkDescription>,
  options: BenchOptions,
): Promise<void> {
  await withBenchGateways(description, UTILITIES, {}, async () => {
    const feeder = Math.max(
      ...options.devices,
      options.singleItems,
      options.cycleHomes,
      options.newConnectionRequests,
    );
    await spreadDevices(description, 'ca', FEEDER_PAIRS, feeder);
    if (options.only.includes('aggregate')) {
      await benchDevices(description, 'ca', AGGREGATE_ORG, AGGREGATE_BUS, Math.max(...options.homes));
    }
  });
}

/** The aggregate runs as result rows: homes summed per second of PublishAggregate. */
function aggregateResults(results: readonly AggregateResult[]): BenchResult[] {
  return results.map((result) => ({
    benchmark: 'aggregate',
    mode: 'PublishAggregate, one bus',
    items: result.homes,
    committed: result.homes,
    failures: 0,
    firstError: null,
    seconds: Math.round(result.medianPublishMs) / 1000,
    itemsPerSecond: Math.round(result.homes / (result.medianPublishMs / 1000)),
    p50Ms: result.medianPublishMs,
    p95Ms: Math.max(...result.runs.map((run) => run.publishMs)),
    cpuSecondsPerItem: null,
    loadgenCpuSecondsPerItem: null,
    details: {
      runs: result.runs.length,
      endorseMs: result.medianPublishEndorseMs,
      listMs: result.medianListMs,
    },
  }));
}

/** The cycle as result rows: the whole cycle, and its allowed-power reads. */
function cycleResults(cycle: CycleResult): BenchResult[] {
  const rows: BenchResult[] = [
    {
      benchmark: 'cycle',
      mode: 'REST, devices holding connections',
      items: cycle.homes,
      committed: cycle.firstError === null ? cycle.homes : 0,
      failures: cycle.phases.reduce((sum, phase) => sum + phase.failures, 0),
      firstError: cycle.firstError,
      seconds: Math.round(cycle.totalMs) / 1000,
      itemsPerSecond: Math.round(cycle.homes / (cycle.totalMs / 1000)),
      p50Ms: null,
      p95Ms: null,
      cpuSecondsPerItem: null,
      loadgenCpuSecondsPerItem: null,
      details: { phases: cycle.phases, connectSeconds: cycle.connectSeconds },
    },
  ];
  if (cycle.reads !== null) {
    rows.push(
      poolResult(
        'allowed-power-reads',
        `REST from memory, ${cycle.concurrency} in flight`,
        cycle.reads,
        undefined,
        {
          details: { concurrency: cycle.concurrency },
        },
      ),
    );
  }
  if (cycle.unqueuedReads !== null) {
    rows.push(
      poolResult(
        'allowed-power-reads',
        `REST from memory, ${UNQUEUED_READS} in flight`,
        cycle.unqueuedReads,
        undefined,
        {
          details: { concurrency: UNQUEUED_READS },
        },
      ),
    );
  }
  return rows;
}

async function attempt(report: Report, benchmark: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    const message = errorMessage(error);
    report.errors.push({ benchmark, message });
    console.error(`${benchmark} failed: ${message}`);
  }
}

async function onChain(report: Report, options: BenchOptions): Promise<void> {
  const description = loadNetworkDescription();
  Object.assign(report, {
    network: {
      peers: description.peers.length,
      orderers: description.orderers.length,
      channel: description.channel,
    },
  });
  const connections = new Connections(description);
  const context = { description, options, connections };
  try {
    if (options.issuer === 'ca') {
      await enrolThroughCa(description, options);
    }
    if (options.only.includes('ingestion')) {
      await attempt(report, 'ingestion', async () => {
        const { results, bareTls } = await benchIngestion(context);
        report.results.push(...results);
        const newConnection = results.find((result) => result.mode === 'rest-new-connection');
        if (bareTls !== null) {
          report.results.push({
            benchmark: 'bare-tls',
            mode: 'bare Node.js mTLS server, full handshake per request',
            items: bareTls.requests + bareTls.failures,
            committed: bareTls.requests,
            failures: bareTls.failures,
            firstError: bareTls.firstError ?? null,
            seconds: bareTls.seconds,
            itemsPerSecond: bareTls.requestsPerSecond,
            p50Ms: bareTls.p50Ms,
            p95Ms: bareTls.p95Ms,
            cpuSecondsPerItem: null,
            loadgenCpuSecondsPerItem: null,
          });
          report.bareTls = {
            result: bareTls,
            gatewayShare:
              newConnection === undefined || bareTls.requestsPerSecond <= 0
                ? null
                : Math.round((newConnection.itemsPerSecond / bareTls.requestsPerSecond) * 100) / 100,
          };
          console.log(
            `new connection per request: gateway / bare mTLS server = ${report.bareTls.gatewayShare}`,
          );
        }
        console.log(
          `\nForecast ingestion (submit-to-commit):\n${formatTable(RESULT_HEADERS, results.map(resultRow))}`,
        );
      });
    }
    if (options.only.includes('aggregate')) {
      await attempt(report, 'aggregate', async () => {
        const results = await benchPublishAggregate(context);
        report.aggregate = { org: AGGREGATE_ORG, bus: AGGREGATE_BUS, results };
        report.results.push(...aggregateResults(results));
        console.log(
          `\nPublishAggregate on one bus (medians, fresh slot per run):\n${formatTable(AGGREGATE_HEADERS, results.map(aggregateRow))}`,
        );
      });
    }
    if (options.only.includes('cycle')) {
      await attempt(report, 'cycle', async () => {
        const result = await withBenchGateways(
          description,
          ['DSOMSP', ...UTILITIES],
          batchingEnv(options),
          () => benchSlotCycle(context),
        );
        // The reads' latencies are summarized in the results; the report keeps the phases.
        report.cycle = { ...result, reads: null, unqueuedReads: null };
        report.results.push(...cycleResults(result));
        console.log(
          `\nFull slot cycle, ${result.homes} homes through the REST gateways (λ = ${result.lambda ?? '-'}):\n${formatTable(CYCLE_HEADERS, cycleRows(result))}`,
        );
        if (result.firstError !== null) {
          throw new Error(result.firstError);
        }
      });
    }
    if (options.only.includes('dr')) {
      await attempt(report, 'dr', async () => {
        const summary = await benchDemandResponse(context, (result) => {
          report.results.push(result);
          console.log(`\n${formatTable(RESULT_HEADERS, [resultRow(result)])}`);
        });
        report.demandResponse = summary;
        const cost = summary.payRewardsCost;
        const endorseCost = summary.payRewardsEndorseCost;
        console.log(
          `\nPayRewards by homes per transaction (${summary.homes} homes of ${summary.org}, one event per size, one transaction in flight):\n${formatTable(DR_COMPARE_HEADERS, summary.comparison.map(drComparisonRow))}`,
        );
        if (cost !== null && endorseCost !== null) {
          console.log(
            `PayRewards ≈ ${cost.fixedMs} ms per transaction + ${cost.perItemMs} ms per home (endorsement: ${endorseCost.fixedMs} ms + ${endorseCost.perItemMs} ms per home), least squares over the p50s`,
          );
        }
        if (summary.firstFailure !== null) {
          throw new Error(summary.firstFailure);
        }
      });
    }
  } finally {
    connections.close();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const startedAt = new Date();
  const report: Report = {
    startedAt: startedAt.toISOString(),
    machine: describeMachine(),
    options,
    results: [],
    errors: [],
  };
  console.log(
    `bench: ${options.only.join(', ')} on ${report.machine.cores} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}`,
  );
  try {
    if (options.only.some((benchmark) => benchmark !== 'clearing')) {
      await attempt(report, 'network', () => onChain(report, options));
    }
    if (options.only.includes('clearing')) {
      await attempt(report, 'clearing', () => {
        const results = benchAuctionClearing(options);
        report.clearing = results;
        console.log(
          `\nAuction clearing, clearAuction in process:\n${formatTable(CLEARING_HEADERS, results.map(clearingRow))}`,
        );
        return Promise.resolve();
      });
    }
  } finally {
    report.finishedAt = new Date().toISOString();
    if (report.results.length > 0) {
      console.log(`\nAll results:\n${formatTable(RESULT_HEADERS, report.results.map(resultRow))}`);
    }
    console.log(`\nreport: ${writeReport(report, startedAt)}`);
  }
  if (report.errors.length > 0) {
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${errorMessage(error)}`);
  process.exitCode = 1;
});

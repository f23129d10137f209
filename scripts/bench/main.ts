/*
 * `npm run bench`: the platform's benchmarks (not tests). Prints a table per benchmark and writes
 * one JSON report per run to reports/bench-<time>.json. See docs/benchmarks.md.
 *
 *   npm run bench                                    # everything at full size
 *   npm run bench -- --only ingestion --devices 1000
 *   npm run bench -- --only aggregate --homes 100 --repeat 1
 *   npm run bench -- --only clearing --orders 1000,10000
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
import {
  benchIngestion,
  gatewayOverhead,
  INGESTION_HEADERS,
  ingestionRow,
  type IngestionResult,
} from './forecast-ingestion';
import { Connections, UTILITIES, withBenchGateways } from './lib/fabric';
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
import { benchSlotCycle, CYCLE_HEADERS, cycleRows, type CycleResult } from './slot-cycle';

interface Report {
  readonly startedAt: string;
  finishedAt?: string;
  readonly machine: ReturnType<typeof describeMachine>;
  readonly options: BenchOptions;
  readonly network?: { readonly peers: number; readonly orderers: number; readonly channel: string };
  ingestion?: { results: IngestionResult[]; gatewayOverhead: ReturnType<typeof gatewayOverhead> };
  aggregate?: { org: string; bus: string; results: AggregateResult[] };
  cycle?: CycleResult;
  clearing?: ClearingBenchResult[];
  errors: { benchmark: string; message: string }[];
}

/** Gateways the selected on-chain benchmarks need. */
function gatewayOrgs(options: BenchOptions): string[] {
  const orgs = new Set<string>();
  if ((options.only.includes('ingestion') && options.modes.includes('gateway')) || options.issuer === 'ca') {
    UTILITIES.forEach((org) => orgs.add(org));
  }
  if (options.only.includes('cycle')) {
    ['DSOMSP', ...UTILITIES].forEach((org) => orgs.add(org));
  }
  return [...orgs];
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
    await withBenchGateways(description, gatewayOrgs(options), async () => {
      if (options.only.includes('ingestion')) {
        await attempt(report, 'ingestion', async () => {
          const results = await benchIngestion(context);
          report.ingestion = { results, gatewayOverhead: gatewayOverhead(results) };
          console.log(
            `\nForecast ingestion (one slot per run, submit-to-commit):\n${formatTable(INGESTION_HEADERS, results.map(ingestionRow))}`,
          );
          for (const { devices, ratio } of report.ingestion.gatewayOverhead) {
            console.log(`gateway overhead at ${devices} devices: raw / gateway throughput = ${ratio}`);
          }
        });
      }
      if (options.only.includes('aggregate')) {
        await attempt(report, 'aggregate', async () => {
          const results = await benchPublishAggregate(context);
          report.aggregate = { org: AGGREGATE_ORG, bus: AGGREGATE_BUS, results };
          console.log(
            `\nPublishAggregate on one bus (medians, fresh slot per run):\n${formatTable(AGGREGATE_HEADERS, results.map(aggregateRow))}`,
          );
        });
      }
      if (options.only.includes('cycle')) {
        await attempt(report, 'cycle', async () => {
          const result = await benchSlotCycle(context);
          report.cycle = result;
          console.log(
            `\nFull slot cycle, ${result.homes} homes through the REST gateways (λ = ${result.lambda ?? '-'}):\n${formatTable(CYCLE_HEADERS, cycleRows(result))}`,
          );
          if (result.firstError !== null) {
            throw new Error(result.firstError);
          }
        });
      }
    });
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

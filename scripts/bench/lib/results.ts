/**
 * One benchmark figure as every report lists it, and the CPU accounting around a measured phase.
 */
import path from 'node:path';
import { cpuSecondsBetween, findNetworkProcesses, sampleCpu, type CpuUsage } from './cpu';
import type { PoolOutcome } from './runner';
import { round, summarize } from './stats';
import type { Cell } from './table';

/** A result row of reports/bench-*.json: the fields the issue asks of every benchmark. */
export interface BenchResult {
  readonly benchmark: string;
  readonly mode: string;
  /** Items attempted (forecasts, reads, homes summed). */
  readonly items: number;
  readonly committed: number;
  readonly failures: number;
  readonly firstError: string | null;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  /** CPU seconds of the network's processes (peers, orderers, CAs, chaincode servers, gateways) per item. */
  readonly cpuSecondsPerItem: number | null;
  /** CPU seconds of the load generator (the devices' side) per item. */
  readonly loadgenCpuSecondsPerItem: number | null;
  /** Platform CPU seconds by process kind over the phase. */
  readonly cpuByKind?: Readonly<Record<string, number>>;
  /** Anything else worth keeping: devices, concurrency, batch size, how devices connect. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export const RESULT_HEADERS = [
  'benchmark',
  'mode',
  'items',
  'committed',
  'failures',
  'seconds',
  'items/s',
  'p50 ms',
  'p95 ms',
  'CPU s/item',
  'loadgen CPU s/item',
];

export function resultRow(result: BenchResult): Cell[] {
  return [
    result.benchmark,
    result.mode,
    result.items,
    result.committed,
    result.failures,
    result.seconds,
    result.itemsPerSecond,
    result.p50Ms,
    result.p95Ms,
    result.cpuSecondsPerItem,
    result.loadgenCpuSecondsPerItem,
  ];
}

/** Tracks the network's processes (found once the bench gateways run) and this load generator. */
export class CpuMeter {
  private readonly tracked;

  constructor(stateDir: string) {
    const repository = path.join(__dirname, '..', '..', '..');
    this.tracked = findNetworkProcesses({ loadgenPid: process.pid, cwdWithin: [repository, stateDir] });
  }

  /** Runs `work` and answers its result with the CPU every tracked process spent meanwhile. */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; cpu: CpuUsage }> {
    const before = sampleCpu(this.tracked);
    const result = await work();
    return { result, cpu: cpuSecondsBetween(before, sampleCpu(this.tracked)) };
  }
}

/** A result from a pool of timed items and the CPU spent on them. */
export function poolResult(
  benchmark: string,
  mode: string,
  outcome: PoolOutcome,
  cpu: CpuUsage | undefined,
  options: { committed?: number; latenciesMs?: readonly number[]; details?: Record<string, unknown> } = {},
): BenchResult {
  const committed = options.committed ?? outcome.succeeded;
  const latency = summarize(options.latenciesMs ?? outcome.latenciesMs);
  const perItem = (seconds: number): number | null => (committed > 0 ? round(seconds / committed, 5) : null);
  return {
    benchmark,
    mode,
    items: options.committed === undefined ? outcome.items : Math.max(outcome.items, committed),
    committed,
    failures: outcome.failures,
    firstError: outcome.firstError ?? null,
    seconds: round(outcome.seconds, 2),
    itemsPerSecond: round(committed / outcome.seconds),
    p50Ms: latency.count > 0 ? latency.p50Ms : null,
    p95Ms: latency.count > 0 ? latency.p95Ms : null,
    cpuSecondsPerItem: cpu === undefined ? null : perItem(cpu.platformSeconds),
    loadgenCpuSecondsPerItem: cpu === undefined ? null : perItem(cpu.loadgenSeconds),
    ...(cpu === undefined
      ? {}
      : {
          cpuByKind: Object.fromEntries(
            Object.entries(cpu.byKind).map(([kind, seconds]) => [kind, round(seconds, 2)]),
          ),
        }),
    ...(options.details === undefined ? {} : { details: options.details }),
  };
}

/*
 * Auction clearing benchmark (pure, in process): clearAuction from @hems/protocol (protocol/src/auction/clearing.ts)
 * over synthetic crossing order books of --orders sizes, for both pricing rules. One warm-up run,
 * then --clearing-runs timed runs; the median is reported. The on-chain ClearWindow transaction
 * adds reading the revealed orders and writing the result around this computation.
 */
import { clearAuction, CLEARING_RULES, type ClearingRule } from '@hems/protocol';
import type { BenchOptions } from './lib/options';
import { syntheticOrderBook } from './lib/order-book';
import { median, round } from './lib/stats';
import type { Cell } from './lib/table';

export interface ClearingBenchResult {
  readonly orders: number;
  readonly rule: ClearingRule;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly trades: number;
  readonly tradedWh: number;
  readonly clearingPrice: number | null;
}

export const CLEARING_HEADERS = [
  'orders',
  'rule',
  'runs',
  'median ms',
  'min ms',
  'max ms',
  'trades',
  'traded kWh',
];

export function clearingRow(result: ClearingBenchResult): Cell[] {
  return [
    result.orders,
    result.rule,
    result.runs,
    result.medianMs,
    result.minMs,
    result.maxMs,
    result.trades,
    round(result.tradedWh / 1000, 3),
  ];
}

export function benchAuctionClearing(
  options: Pick<BenchOptions, 'orders' | 'clearingRuns'>,
): ClearingBenchResult[] {
  const results: ClearingBenchResult[] = [];
  for (const count of options.orders) {
    const book = syntheticOrderBook(count);
    for (const rule of CLEARING_RULES) {
      // Warm-up: lets the JIT compile the clearing before it is timed.
      const reference = clearAuction(book, rule);
      const times: number[] = [];
      for (let run = 0; run < options.clearingRuns; run += 1) {
        const t0 = performance.now();
        const result = clearAuction(book, rule);
        times.push(performance.now() - t0);
        // Deterministic: every run must clear the same trades.
        if (
          result.trades.length !== reference.trades.length ||
          result.totals.value !== reference.totals.value
        ) {
          throw new Error(`clearing ${count} orders (${rule}) gave a different result on run ${run + 1}`);
        }
      }
      results.push({
        orders: count,
        rule,
        runs: times.length,
        medianMs: round(median(times), 2),
        minMs: round(Math.min(...times), 2),
        maxMs: round(Math.max(...times), 2),
        trades: reference.trades.length,
        tradedWh: reference.totals.tradedWh,
        clearingPrice: reference.clearingPrice,
      });
    }
  }
  return results;
}

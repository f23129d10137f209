/**
 * The demand-response benchmark's figures: rows whose items are meter days or homes (however many
 * transactions carried them), the PayRewards comparison by batch size and the run's summary.
 */
import type { CpuUsage } from './cpu';
import { poolResult, type BenchResult } from './results';
import type { PoolOutcome } from './runner';
import { fitLinearCost, round, type LinearCost } from './stats';
import type { Cell } from './table';

/** What RecordMeterDays and PayRewards answer: counts and per-item refusals, by position. */
export interface ItemReceipt {
  readonly accepted: number;
  /** PayRewards: value units paid by the transaction. */
  readonly paid?: string;
  readonly refused: readonly { readonly index: number; readonly code: string; readonly message: string }[];
}

/** One compared PayRewards batch size. */
export interface DrComparison {
  readonly homesPerTransaction: number;
  readonly eventId: string;
  readonly transactions: number;
  readonly homes: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly endorseP50Ms: number;
  readonly commitP50Ms: number;
  /** p50 per transaction ÷ homes per transaction. */
  readonly msPerHome: number;
  readonly homesPerSecond: number;
}

export interface DrSummary {
  readonly runId: string;
  readonly org: string;
  readonly bus: string;
  readonly eventDate: string;
  readonly homes: number;
  /** Every slot the run opened (and dispatched), including any whose intervals were taken. */
  readonly slotIds: readonly string[];
  /** Each event: its intervals of the event day [start, end), slots, budget (currency). */
  readonly events: readonly {
    eventId: string;
    start: number;
    end: number;
    slotIds: readonly string[];
    budget: string;
    homesPerTransaction: number;
  }[];
  /** Setup phases, wall seconds (not measured figures). */
  readonly setupSeconds: Readonly<Record<string, number>>;
  readonly comparison: readonly DrComparison[];
  /** PayRewards ≈ fixedMs + perItemMs × homes, fitted over the compared sizes' p50s. */
  readonly payRewardsCost: LinearCost | null;
  /** The same for its endorsement alone (the chaincode on the utility's peer). */
  readonly payRewardsEndorseCost: LinearCost | null;
  /** The first row with days or homes not accepted, described; null when everything was. */
  readonly firstFailure: string | null;
}

export const DR_COMPARE_HEADERS = [
  'homes/tx',
  'transactions',
  'homes',
  'p50 ms/tx',
  'p95 ms/tx',
  'endorse p50 ms',
  'commit p50 ms',
  'ms/home (p50)',
  'homes/s',
];

export function drComparisonRow(row: DrComparison): Cell[] {
  return [
    row.homesPerTransaction,
    row.transactions,
    row.homes,
    row.p50Ms,
    row.p95Ms,
    row.endorseP50Ms,
    row.commitP50Ms,
    row.msPerHome,
    row.homesPerSecond,
  ];
}

/** The items the receipts of a run accepted, and the first refusal. */
export class ItemTally {
  accepted = 0;
  firstRefusal: string | undefined;

  add(receipt: ItemReceipt): void {
    this.accepted += receipt.accepted;
    const [first] = receipt.refused;
    if (first !== undefined) {
      this.firstRefusal ??= `item ${first.index} refused: ${first.code} ${first.message}`;
    }
  }
}

/**
 * A row whose items are days or homes: `items` attempted, the tally's accepted ones committed (a
 * refused item, or every item of a failed transaction, is a failure), items per second over the
 * run, latencies per transaction.
 */
export function itemsResult(
  benchmark: string,
  mode: string,
  outcome: PoolOutcome,
  cpu: CpuUsage | undefined,
  tally: ItemTally,
  items: number,
  details: Record<string, unknown>,
): BenchResult {
  return poolResult(
    benchmark,
    mode,
    {
      ...outcome,
      items,
      failures: items - tally.accepted,
      firstError: outcome.firstError ?? tally.firstRefusal,
    },
    cpu,
    {
      committed: tally.accepted,
      details: { ...details, transactions: outcome.items, failedTransactions: outcome.failures },
    },
  );
}

/** The per-transaction and per-home cost fitted over the compared sizes (rounded), or null. */
export function fittedCost(
  comparison: readonly DrComparison[],
  pick: (row: DrComparison) => number,
): LinearCost | null {
  const cost = fitLinearCost(comparison.map((row) => ({ items: row.homesPerTransaction, ms: pick(row) })));
  return cost === null ? null : { fixedMs: round(cost.fixedMs), perItemMs: round(cost.perItemMs, 3) };
}

/** The soak's report: the figures it prints, and its JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatTable, type Cell } from '../bench/lib/table';
import type { MachineDescription } from '../bench/lib/report';
import type { FaultRecord } from './fault-runner';
import type { SoakOptions } from './options';
import type { FaultUnavailability, Gap } from './unavailability';
import type { TokenCheck } from './token-check';
import type { AggregateCheck, KindFigures } from './verify';

export interface FaultFigures extends FaultRecord, FaultUnavailability {}

export interface SoakReport {
  readonly startedAt: string;
  finishedAt?: string;
  readonly machine: MachineDescription;
  readonly options: SoakOptions;
  readonly stateDir: string;
  readonly homes: number;
  slots: number;
  windows: number;
  /** Windows cleared whose escrows every utility released. */
  windowsReleased: number;
  kinds: KindFigures[];
  aggregates: {
    checked: number;
    published: number;
    mismatched: number;
    unpublished: number;
    details: AggregateCheck[];
  };
  tokens: TokenCheck | null;
  /** Longest time without a commit per utility before the first fault: what "normal" looks like. */
  baseline: Readonly<Record<string, Gap>> | null;
  faults: FaultFigures[];
  errors: string[];
  /** True when nothing acknowledged was lost or duplicated, the aggregates match and tokens are conserved. */
  passed: boolean;
}

const seconds = (ms: number | null | undefined): number | null =>
  ms === null || ms === undefined ? null : Math.round(ms / 100) / 10;

export const KIND_HEADERS = [
  'items',
  'sent',
  'acknowledged',
  'committed',
  'lost',
  'duplicated',
  'refused',
  'unacknowledged',
];

export function kindRows(kinds: readonly KindFigures[]): Cell[][] {
  return kinds.map((kind) => [
    kind.kind,
    kind.sent,
    kind.acknowledged,
    kind.committed,
    kind.lost,
    kind.duplicated,
    kind.refused,
    kind.unacknowledged,
  ]);
}

export const FAULT_HEADERS = [
  'fault',
  'target',
  'down s',
  'restart s',
  'longest gap s',
  'gap UtilityA s',
  'gap UtilityB s',
  'failed requests',
  'error',
];

export function faultRows(faults: readonly FaultFigures[]): Cell[][] {
  return faults.map((fault) => [
    `${fault.number} ${fault.kind}`,
    fault.target,
    seconds(fault.restoredAt === null ? null : fault.restoredAt - fault.startAt),
    seconds(fault.restartMs),
    seconds(fault.longestMs),
    seconds(fault.byOrg.UtilityAMSP?.longestMs) ?? null,
    seconds(fault.byOrg.UtilityBMSP?.longestMs) ?? null,
    Object.values(fault.failures).reduce((sum, count) => sum + count, 0),
    fault.error ?? '',
  ]);
}

/** The tables and verdicts as printed at the end of a run. */
export function formatReport(report: SoakReport): string {
  const lines = [
    `\nItems (${report.homes} homes, ${report.slots} slots, ${report.windows} windows):`,
    formatTable(KIND_HEADERS, kindRows(report.kinds)),
    `\nUnavailability per fault (longest time without a commit, per utility):`,
    formatTable(FAULT_HEADERS, faultRows(report.faults)),
  ];
  if (report.baseline !== null) {
    const base = Object.entries(report.baseline).map(([org, gap]) => `${org} ${seconds(gap.longestMs)} s`);
    lines.push(`baseline before the first fault: ${base.join(', ')}`);
  }
  const { aggregates, tokens } = report;
  lines.push(
    `\nAggregates: ${aggregates.published} published of ${aggregates.checked}, ${aggregates.mismatched} not the sum of the forecasts in effect, ${aggregates.unpublished} never published`,
    tokens === null
      ? 'Tokens: not checked'
      : `Tokens: ${tokens.conserved ? 'conserved' : 'NOT conserved'} (reconciled before ${tokens.reconciledBefore}, after ${tokens.reconciledAfter}; soak accounts ${tokens.heldBefore} → ${tokens.heldAfter} value units)`,
  );
  const problems = [
    ...report.kinds.flatMap((kind) => kind.problems),
    ...(tokens?.problems ?? []),
    ...report.errors,
  ];
  if (problems.length > 0) {
    lines.push(`\nProblems (${problems.length}):`, ...problems.slice(0, 40).map((problem) => `  ${problem}`));
  }
  lines.push(
    `\n${report.passed ? 'PASSED' : 'FAILED'}: lost ${sum(report, 'lost')}, duplicated ${sum(report, 'duplicated')}`,
  );
  return lines.join('\n');
}

function sum(report: SoakReport, field: 'lost' | 'duplicated'): number {
  return report.kinds.reduce((total, kind) => total + kind[field], 0);
}

/** The report's verdict: nothing lost or duplicated, aggregates as summed, tokens conserved. */
export function verdict(report: Pick<SoakReport, 'kinds' | 'aggregates' | 'tokens'>): boolean {
  return (
    report.kinds.every((kind) => kind.lost === 0 && kind.duplicated === 0) &&
    report.aggregates.mismatched === 0 &&
    report.tokens?.conserved === true
  );
}

/** Default report file: reports/soak-<ISO time>.json at the repository root. */
export function defaultReportPath(startedAt: Date, root = path.join(__dirname, '..', '..')): string {
  return path.join(root, 'reports', `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
}

export function writeSoakReport(report: SoakReport, file: string): string {
  const absolute = path.resolve(file);
  mkdirSync(path.dirname(absolute), { recursive: true });
  writeFileSync(absolute, `${JSON.stringify(report, null, 2)}\n`);
  return absolute;
}

/**
 * How the demand-response benchmark cuts its work into transactions: the meter history backfill
 * in lanes (transactions that touch the same home never in flight together), the reward batches,
 * and the endorsers of a majority-endorsed deposit.
 */
import { chunked } from './forecasts';
import type { EventWindow } from './meter-days';

/** One day of one home: indexes into the run's homes and its dates. */
export interface DayRef {
  readonly home: number;
  readonly day: number;
}

function requireWhole(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive whole number`);
  }
}

/**
 * The backfill of `days` days of `homes` homes as lanes of transactions of at most `batchItems`
 * days each. Each home's history is one private record that every transaction naming the home
 * reads and rewrites, so two transactions naming the same home must not be in flight together
 * (the later would fail validation). The homes are split into at most `lanes` contiguous groups of
 * near-equal size, one lane each; within a lane the days go home by home, oldest first, so a home
 * spans at most two consecutive transactions of its lane, which run one after the other.
 */
export function backfillLanes(homes: number, days: number, batchItems: number, lanes: number): DayRef[][][] {
  requireWhole(homes, 'homes');
  requireWhole(days, 'days');
  requireWhole(batchItems, 'batchItems');
  requireWhole(lanes, 'lanes');
  const count = Math.min(lanes, homes);
  return Array.from({ length: count }, (_, lane) => {
    const first = Math.floor((lane * homes) / count);
    const end = Math.floor(((lane + 1) * homes) / count);
    const items: DayRef[] = [];
    for (let home = first; home < end; home += 1) {
      for (let day = 0; day < days; day += 1) {
        items.push({ home, day });
      }
    }
    return chunked(items, batchItems);
  });
}

/**
 * `transactions` batches of `size` consecutive home indexes from 0, as many as `homes` homes fill
 * (none when `size` exceeds `homes`): each home in at most one batch.
 */
export function rewardBatches(homes: number, size: number, transactions: number): number[][] {
  requireWhole(size, 'size');
  requireWhole(transactions, 'transactions');
  if (!Number.isInteger(homes) || homes < 0) {
    throw new RangeError('homes must be a whole number, 0 or more');
  }
  const count = Math.min(transactions, Math.floor(homes / size));
  return Array.from({ length: count }, (_, batch) =>
    Array.from({ length: size }, (_, index) => batch * size + index),
  );
}

/** Where events of one day may lie: intervals [first, last), scanned from `preferred` on. */
export interface WindowBounds {
  readonly first: number;
  readonly preferred: number;
  readonly last: number;
}

/**
 * The first window of `length` intervals that overlaps none of `occupied` (the events already
 * declared on the day: DeclareEvent refuses an overlap, since a reduction is paid by one event
 * only), scanning from `bounds.preferred` to the end of the bounds, then from `bounds.first`;
 * undefined when the day is full.
 */
export function nextFreeWindow(
  occupied: readonly EventWindow[],
  length: number,
  bounds: WindowBounds,
): EventWindow | undefined {
  requireWhole(length, 'length');
  const free = (start: number): boolean =>
    !occupied.some((window) => window.start < start + length && start < window.end);
  const starts = [
    ...Array.from(
      { length: Math.max(0, bounds.last - length - bounds.preferred + 1) },
      (_, i) => bounds.preferred + i,
    ),
    ...Array.from(
      { length: Math.max(0, Math.min(bounds.preferred, bounds.last - length + 1) - bounds.first) },
      (_, i) => bounds.first + i,
    ),
  ];
  const start = starts.find(free);
  return start === undefined ? undefined : { start, end: start + length };
}

/** The channel's peer orgs, as governance:GetSettings lists them. */
export interface ChannelRoster {
  readonly dsoMspIds: readonly string[];
  readonly utilityMspIds: readonly string[];
  readonly auditorMspIds: readonly string[];
}

/**
 * The endorsers of a majority-endorsed transaction that must include `own` (token:Deposit: a new
 * account is checked against the chaincode's majority policy, an existing one against a key-level
 * policy naming its utility's peer): `own` plus DSOs, then auditors, then the other utilities, up
 * to a majority of the channel's orgs — the gateway's choice (gateway-api/src/ledger/endorsement.ts).
 */
export function majorityWithOwnOrg(own: string, roster: ChannelRoster): string[] {
  const orgs = new Set([...roster.dsoMspIds, ...roster.utilityMspIds, ...roster.auditorMspIds]);
  if (!orgs.has(own)) {
    throw new Error(`${own} is not a peer org of the channel settings`);
  }
  const needed = Math.floor(orgs.size / 2) + 1;
  const others = [...roster.dsoMspIds, ...roster.auditorMspIds, ...roster.utilityMspIds].filter(
    (org) => org !== own,
  );
  return [...new Set([own, ...others])].slice(0, needed);
}

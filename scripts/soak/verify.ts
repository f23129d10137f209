/**
 * The soak's verification arithmetic, pure: what the ledger holds against what the devices sent
 * and were told. Per kind of item: sent, acknowledged, committed (found on the ledger,
 * acknowledged or not), lost (acknowledged but not found where its receipt says) and duplicated
 * (stored more than once); per slot and bus: the published aggregate against the sum of the
 * forecasts in effect. The tokens are checked in ./token-check.ts.
 */
import { createHash } from 'node:crypto';
import { decodeNonce, forecastLeaf, kwToWatts, wattsToKw } from '@hems/protocol';
import { groupByOrgAndKey, type ItemKind, type SentItem } from './item-log';

/** One batch of ListForecastNonces: per item, 128-bit prefixes of SHA-256(nonce) and of its leaf. */
export interface BatchNonces {
  readonly txId: string;
  readonly at: string;
  readonly items: readonly (readonly [string, string])[];
}

/** A utility's aggregate of a slot as GetSlot shows it. */
export interface LedgerAggregate {
  readonly org: string;
  readonly bus: string;
  readonly published: boolean;
  readonly homes?: number;
  readonly withheld?: boolean;
  readonly lower?: number;
  readonly upper?: number;
}

export interface KindFigures {
  readonly kind: ItemKind;
  readonly sent: number;
  readonly acknowledged: number;
  readonly committed: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly refused: number;
  readonly unacknowledged: number;
  /** What was wrong, one line each (no values of a home). */
  readonly problems: readonly string[];
}

export interface AggregateCheck {
  readonly slotId: string;
  readonly org: string;
  readonly bus: string;
  readonly published: boolean;
  /** Homes with a forecast in effect on the bus, from the ledger's batches. */
  readonly homesInEffect: number;
  readonly matches: boolean;
}

/** The first 128 bits (hex) of SHA-256 of a nonce's bytes, as ListForecastNonces gives them. */
export function nonceDigest(nonce: string): string {
  return createHash('sha256').update(decodeNonce(nonce)).digest('hex').slice(0, 32);
}

/** The first 128 bits (hex) of a stored forecast's Merkle leaf, as ListForecastNonces gives them. */
export function leafDigest(slotId: string, bus: string, forecast: NonNullable<SentItem['forecast']>): string {
  const { lower, upper, nonce } = forecast;
  return forecastLeaf({ slotId, bus, lower, upper, nonce }).toString('hex').slice(0, 32);
}

function outcomes(
  items: readonly SentItem[],
): Pick<KindFigures, 'sent' | 'acknowledged' | 'refused' | 'unacknowledged'> {
  const count = (outcome: SentItem['outcome']): number =>
    items.filter((item) => item.outcome === outcome).length;
  return {
    sent: items.length,
    acknowledged: count('acknowledged'),
    refused: count('refused'),
    // Items still pending at verification time were never answered.
    unacknowledged: count('unacknowledged') + count('pending'),
  };
}

const sortBatches = (batches: readonly BatchNonces[]): BatchNonces[] =>
  [...batches].sort((a, b) =>
    a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.txId < b.txId ? -1 : a.txId > b.txId ? 1 : 0,
  );

interface Effective {
  readonly bus: string;
  readonly lower: number;
  readonly upper: number;
}

interface Stored {
  readonly txId: string;
  readonly leaf: string;
}

/**
 * Where each nonce digest is stored in the batches, and each soak home's forecast in effect (its
 * item in the latest batch, a reused nonce never counting again); counts items nobody here sent.
 */
function storedForecasts(
  byDigest: ReadonlyMap<string, SentItem>,
  batches: readonly BatchNonces[],
): { stored: Map<string, Stored[]>; effective: Map<string, Effective>; foreign: number } {
  const stored = new Map<string, Stored[]>();
  const effective = new Map<string, Effective>();
  let foreign = 0;
  for (const batch of sortBatches(batches)) {
    for (const [digest, leaf] of batch.items) {
      const seen = stored.get(digest);
      stored.set(digest, [...(seen ?? []), { txId: batch.txId, leaf }]);
      const forecast = byDigest.get(digest);
      if (forecast?.forecast === undefined) {
        foreign += 1;
      } else if (seen === undefined) {
        const { lower, upper } = forecast.forecast;
        effective.set(forecast.homeId, { bus: forecast.bus, lower, upper });
      }
    }
  }
  return { stored, effective, foreign };
}

/**
 * Forecasts of one utility in one slot against its batches: committed (stored at least once),
 * duplicated (stored more than once), lost (acknowledged but not in the batch its receipt names,
 * with the values its home signed).
 */
function checkForecastGroup(
  items: readonly SentItem[],
  batches: readonly BatchNonces[],
  problems: string[],
): { committed: number; lost: number; duplicated: number; effective: Map<string, Effective> } {
  const signed = items.filter((item) => item.forecast !== undefined);
  const byDigest = new Map(signed.map((item) => [nonceDigest(item.forecast?.nonce ?? ''), item]));
  const { stored, effective, foreign } = storedForecasts(byDigest, batches);
  if (foreign > 0) {
    problems.push(
      `${foreign} stored forecast(s) in ${items[0]?.key ?? '?'} were not sent by the soak's homes`,
    );
  }
  let committed = 0;
  let lost = 0;
  let duplicated = 0;
  for (const item of signed) {
    const [digest, leaf] =
      item.forecast === undefined
        ? ['', '']
        : [nonceDigest(item.forecast.nonce), leafDigest(item.key, item.bus, item.forecast)];
    const found = stored.get(digest) ?? [];
    if (found.some((entry) => entry.leaf !== leaf)) {
      problems.push(`forecast #${item.id} is stored with other values than its home signed`);
    }
    committed += found.length > 0 ? 1 : 0;
    duplicated += found.length > 1 ? 1 : 0;
    const inItsBatch = found.some((entry) => entry.txId === item.txId && entry.leaf === leaf);
    if (item.outcome === 'acknowledged' && !inItsBatch) {
      lost += 1;
      problems.push(`forecast #${item.id} was acknowledged in batch ${item.txId ?? '?'} but is not in it`);
    }
  }
  return { committed, lost, duplicated, effective };
}

/** Sums of the forecasts in effect per bus against the published aggregates of one utility and slot. */
function checkAggregates(
  slotId: string,
  org: string,
  effective: ReadonlyMap<string, Effective>,
  aggregates: readonly LedgerAggregate[],
  problems: string[],
): AggregateCheck[] {
  return aggregates
    .filter((aggregate) => aggregate.org === org)
    .map((aggregate) => {
      const onBus = [...effective.values()].filter((forecast) => forecast.bus === aggregate.bus);
      const lower = wattsToKw(onBus.reduce((sum, forecast) => sum + kwToWatts(forecast.lower), 0));
      const upper = wattsToKw(onBus.reduce((sum, forecast) => sum + kwToWatts(forecast.upper), 0));
      const sumsMatch =
        aggregate.withheld === true || (aggregate.lower === lower && aggregate.upper === upper);
      const matches = !aggregate.published || (aggregate.homes === onBus.length && sumsMatch);
      if (!matches) {
        problems.push(
          `aggregate ${slotId} ${org} ${aggregate.bus}: ${aggregate.homes ?? '?'} homes published, ${onBus.length} forecasts in effect${sumsMatch ? '' : ', sums differ'}`,
        );
      }
      return {
        slotId,
        org,
        bus: aggregate.bus,
        published: aggregate.published,
        homesInEffect: onBus.length,
        matches,
      };
    });
}

/** (a) and (b): every forecast against the batches of its utility and slot, every aggregate against its sums. */
export function verifyForecasts(
  items: readonly SentItem[],
  batches: ReadonlyMap<string, readonly BatchNonces[]>,
  aggregates: ReadonlyMap<string, readonly LedgerAggregate[]>,
): { figures: KindFigures; aggregates: AggregateCheck[] } {
  const problems: string[] = [];
  const checks: AggregateCheck[] = [];
  let committed = 0;
  let lost = 0;
  let duplicated = 0;
  for (const [group, ofGroup] of groupByOrgAndKey(items)) {
    const [org = '', slotId = ''] = group.split(' ');
    const result = checkForecastGroup(ofGroup, batches.get(group) ?? [], problems);
    committed += result.committed;
    lost += result.lost;
    duplicated += result.duplicated;
    checks.push(...checkAggregates(slotId, org, result.effective, aggregates.get(slotId) ?? [], problems));
  }
  return {
    figures: { kind: 'forecast', ...outcomes(items), committed, lost, duplicated, problems },
    aggregates: checks,
  };
}

/**
 * Consumption reports against ListConsumptionRefs of their utility and slot: a home's report is
 * stored under its per-slot home reference (from GetHomeRefs), once.
 */
export function verifyConsumption(
  items: readonly SentItem[],
  refs: ReadonlyMap<string, readonly string[]>,
  homeRefs: ReadonlyMap<string, ReadonlyMap<string, string | null>>,
): KindFigures {
  const problems: string[] = [];
  let committed = 0;
  let lost = 0;
  let duplicated = 0;
  for (const [group, ofGroup] of groupByOrgAndKey(items)) {
    const stored = refs.get(group) ?? [];
    const refOf = homeRefs.get(group) ?? new Map<string, string | null>();
    for (const item of ofGroup) {
      const ref = refOf.get(item.homeId);
      const found = ref === undefined || ref === null ? 0 : stored.filter((entry) => entry === ref).length;
      committed += found > 0 ? 1 : 0;
      duplicated += found > 1 ? 1 : 0;
      if (item.outcome === 'acknowledged' && found === 0) {
        lost += 1;
        problems.push(
          `consumption report #${item.id} was acknowledged (${item.txId ?? '?'}) but is not stored`,
        );
      }
    }
  }
  return { kind: 'consumption', ...outcomes(items), committed, lost, duplicated, problems };
}

/**
 * Orders against ListOrderRefs' count of their utility and window. Order references are HMACs
 * under the utility's secret, so orders are checked by count: one order per home and window (a
 * later one replaces it), so the count must cover every home told its order committed and may not
 * exceed the homes that sent one.
 */
export function verifyOrders(items: readonly SentItem[], counts: ReadonlyMap<string, number>): KindFigures {
  const problems: string[] = [];
  let committed = 0;
  let lost = 0;
  let duplicated = 0;
  for (const [group, ofGroup] of groupByOrgAndKey(items)) {
    const count = counts.get(group) ?? 0;
    const homesSent = new Set(ofGroup.map((item) => item.homeId)).size;
    const homesAcknowledged = new Set(
      ofGroup.filter((item) => item.outcome === 'acknowledged').map((item) => item.homeId),
    ).size;
    committed += Math.min(count, homesSent);
    if (count < homesAcknowledged) {
      lost += homesAcknowledged - count;
      problems.push(`${group}: ${homesAcknowledged} orders acknowledged, ${count} stored`);
    }
    if (count > homesSent) {
      duplicated += count - homesSent;
      problems.push(`${group}: ${count} orders stored for ${homesSent} homes that sent one`);
    }
  }
  return { kind: 'order', ...outcomes(items), committed, lost, duplicated, problems };
}

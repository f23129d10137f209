import { createHash } from 'node:crypto';
import { canonicalBytes, parseStoredJson } from '../json/canonical-json';
import type { StoredForecast } from '../payloads/forecast';
import { invalidArgument } from '../errors';
import { requireArray, requireFiniteNumber, requireObject, requireString } from '../validation';

/**
 * Forecasts are stored one private record per relay transaction (a batch), not one per home: a
 * transaction then costs O(1) ledger writes whatever its size, and aggregation reads O(batches)
 * records. A home's forecast in a slot is its item in the latest batch that holds one; an item
 * whose nonce the home already used in an earlier batch is a replay and never counts.
 *
 * Beside each batch a second private record holds only the Merkle root of its items' hashes. Its
 * hash is on every peer, so a home proves its submission (P4) with its own forecast and a Merkle
 * path, never with the other homes' items.
 */

/** One accepted item of a batch: a home (by its per-slot reference) and its signed range. */
export interface ForecastBatchItem {
  readonly ref: string;
  readonly bus: string;
  readonly lower: number;
  readonly upper: number;
  readonly nonce: string;
  /** Relay-attested (an OpenADR VEN's report), not device-signed; absent for a signed item. */
  readonly attested?: true;
}

/** A batch's private record. */
export interface ForecastBatchRecord {
  readonly slotId: string;
  readonly txId: string;
  /** The transaction time (RFC 3339): later batches replace a home's earlier forecast. */
  readonly at: string;
  readonly items: readonly ForecastBatchItem[];
}

/** The private record beside each batch whose on-chain hash anchors proofs of submission. */
export interface ForecastBatchRoot {
  readonly slotId: string;
  readonly txId: string;
  readonly count: number;
  readonly root: string;
}

/** The stored forecast of a batch item, as a home reveals it for its proof. */
export function storedForecastOf(slotId: string, item: ForecastBatchItem): StoredForecast {
  return { slotId, bus: item.bus, lower: item.lower, upper: item.upper, nonce: item.nonce };
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/**
 * Leaf of a forecast: SHA-256 of a 0x00 tag and the canonical stored forecast. Inner nodes hash a
 * 0x01 tag and their two children, so a leaf can never pass for an inner node. The nonce (>= 16
 * random bytes) makes a leaf impossible to guess from a range.
 */
export function forecastLeaf(forecast: StoredForecast): Buffer {
  return sha256(Buffer.concat([Buffer.from([0]), canonicalBytes(forecast)]));
}

function parent(left: Buffer, right: Buffer): Buffer {
  return sha256(Buffer.concat([Buffer.from([1]), left, right]));
}

/** The next level up; an odd last node is carried up unchanged. */
function levelAbove(level: readonly Buffer[]): Buffer[] {
  const above: Buffer[] = [];
  for (let index = 0; index < level.length; index += 2) {
    const left = level[index]!;
    const right = level[index + 1];
    above.push(right === undefined ? left : parent(left, right));
  }
  return above;
}

/** Merkle root (hex) over leaves in order. */
export function merkleRoot(leaves: readonly Buffer[]): string {
  if (leaves.length === 0) {
    throw invalidArgument('a Merkle root needs at least one leaf');
  }
  let level = [...leaves];
  while (level.length > 1) {
    level = levelAbove(level);
  }
  return level[0]!.toString('hex');
}

/** The sibling hashes (hex, bottom up; empty where the node was carried up) of leaf `index`. */
export function merklePath(leaves: readonly Buffer[], index: number): string[] {
  const path: string[] = [];
  let level = [...leaves];
  let position = index;
  while (level.length > 1) {
    const sibling = level[position % 2 === 0 ? position + 1 : position - 1];
    path.push(sibling === undefined ? '' : sibling.toString('hex'));
    level = levelAbove(level);
    position = Math.floor(position / 2);
  }
  return path;
}

/** The root a leaf at `index` of `count` leaves leads to along `path`. */
export function rootFromPath(leaf: Buffer, index: number, count: number, path: readonly string[]): string {
  let node = leaf;
  let position = index;
  let width = count;
  for (const sibling of path) {
    const isLeft = position % 2 === 0;
    const carried = isLeft && position === width - 1;
    if (carried !== (sibling === '')) {
      return '';
    }
    if (!carried) {
      const other = Buffer.from(sibling, 'hex');
      node = isLeft ? parent(node, other) : parent(other, node);
    }
    position = Math.floor(position / 2);
    width = Math.ceil(width / 2);
  }
  return width === 1 ? node.toString('hex') : '';
}

/** The root record of a batch's items. */
export function batchRootOf(record: ForecastBatchRecord): ForecastBatchRoot {
  const leaves = record.items.map((item) => forecastLeaf(storedForecastOf(record.slotId, item)));
  return { slotId: record.slotId, txId: record.txId, count: leaves.length, root: merkleRoot(leaves) };
}

export function forecastBatchFromBytes(bytes: Uint8Array): ForecastBatchRecord {
  const record = requireObject(parseStoredJson(bytes, 'forecast batch'), 'forecast batch');
  const items = requireArray(record.items, 'forecast batch items', Number.MAX_SAFE_INTEGER).map((value) => {
    const item = requireObject(value, 'forecast batch item');
    return {
      ref: requireString(item.ref, 'forecast batch item ref'),
      bus: requireString(item.bus, 'forecast batch item bus'),
      lower: requireFiniteNumber(item.lower, 'forecast batch item lower', 0, Number.MAX_SAFE_INTEGER),
      upper: requireFiniteNumber(item.upper, 'forecast batch item upper', 0, Number.MAX_SAFE_INTEGER),
      nonce: requireString(item.nonce, 'forecast batch item nonce'),
      ...(item.attested === true ? { attested: true as const } : {}),
    };
  });
  return {
    slotId: requireString(record.slotId, 'forecast batch slotId'),
    txId: requireString(record.txId, 'forecast batch txId'),
    at: requireString(record.at, 'forecast batch at'),
    items,
  };
}

/** A home's forecast in effect, and where it is stored. */
export interface EffectiveForecast {
  readonly item: ForecastBatchItem;
  readonly batch: string;
  readonly index: number;
}

/** Batches in the order they replace each other: by transaction time, then transaction id. */
export function compareBatches(a: ForecastBatchRecord, b: ForecastBatchRecord): number {
  if (a.at !== b.at) {
    return a.at < b.at ? -1 : 1;
  }
  return a.txId < b.txId ? -1 : a.txId > b.txId ? 1 : 0;
}

/**
 * Every home's forecast in effect: its item in the latest batch, unless that item reuses a nonce
 * the home already used (a replayed payload, which must not bring an older range back).
 */
export function effectiveForecasts(batches: readonly ForecastBatchRecord[]): Map<string, EffectiveForecast> {
  const effective = new Map<string, EffectiveForecast>();
  const usedNonces = new Map<string, Set<string>>();
  for (const batch of [...batches].sort(compareBatches)) {
    batch.items.forEach((item, index) => {
      const used = usedNonces.get(item.ref) ?? new Set<string>();
      if (used.has(item.nonce)) {
        return;
      }
      used.add(item.nonce);
      usedNonces.set(item.ref, used);
      effective.set(item.ref, { item, batch: batch.txId, index });
    });
  }
  return effective;
}

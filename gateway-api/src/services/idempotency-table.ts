import type { IdempotencyRecord, StoredResponse } from './idempotency-store';

export interface IdempotencyTableOptions {
  /** How long a completed response (or an in-doubt key) is kept; default 24 h. */
  readonly ttlMs?: number;
  /** Most records kept; the oldest are dropped first. Default 100 000. */
  readonly maxEntries?: number;
  /**
   * Most bytes of records kept (about: keys, hashes and stored responses); the oldest are dropped
   * first. Default 64 MiB, so a flood of large answers cannot exhaust memory or the journal.
   */
  readonly maxBytes?: number;
  /**
   * How long a running claim holds its key. Longer than any submit (endorse + order + commit
   * deadlines are under 2 minutes), so only a request that never answered loses its claim.
   */
  readonly leaseMs?: number;
  readonly now?: () => number;
}

/** A record with when it was put and when it is forgotten (epoch milliseconds). */
export interface IdempotencyEntry {
  readonly record: IdempotencyRecord;
  readonly since: number;
  readonly expiresAt: number;
}

interface Slot extends IdempotencyEntry {
  readonly bytes: number;
}

/** Fixed cost of a record besides its strings: the map entry, its objects and numbers. */
const RECORD_OVERHEAD_BYTES = 128;

function bytesOf(key: string, record: IdempotencyRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + key.length + record.bodyHash.length;
  if (record.state === 'completed') {
    bytes += Buffer.byteLength(record.response.body, 'utf8');
    for (const [name, value] of Object.entries(record.response.headers)) {
      bytes += name.length + value.length;
    }
  }
  return bytes;
}

/**
 * The idempotency records of one gateway, synchronous and bounded: TTL, lease of running claims,
 * most entries and most bytes. The stores build on it; a synchronous core keeps `claim` atomic
 * per key whatever a store then awaits.
 */
export class IdempotencyTable {
  readonly ttlMs: number;
  readonly leaseMs: number;
  readonly now: () => number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;

  constructor(options: IdempotencyTableOptions = {}) {
    this.ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.leaseMs = options.leaseMs ?? 5 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Bytes of the records held, as counted against maxBytes. */
  get byteSize(): number {
    return this.bytes;
  }

  /** The unexpired entry of `key`. */
  find(key: string): IdempotencyEntry | undefined {
    const slot = this.slots.get(key);
    return slot !== undefined && slot.expiresAt > this.now() ? slot : undefined;
  }

  /** The record holding `key`, or undefined after claiming it for a running request. */
  claim(key: string, bodyHash: string): IdempotencyRecord | undefined {
    const existing = this.find(key);
    if (existing !== undefined) {
      return existing.record;
    }
    const now = this.now();
    this.put(key, { state: 'running', bodyHash }, now, now + this.leaseMs);
    return undefined;
  }

  /** Stores the response of the request holding `key`; the new entry, if the key was held. */
  complete(key: string, response: StoredResponse): IdempotencyEntry | undefined {
    const existing = this.slots.get(key);
    if (existing === undefined) {
      return undefined;
    }
    const now = this.now();
    const record = { state: 'completed', bodyHash: existing.record.bodyHash, response } as const;
    return this.put(key, record, now, now + this.ttlMs);
  }

  /** Re-inserts at the end, so map order is (roughly) expiry order for cheap eviction. */
  put(key: string, record: IdempotencyRecord, since: number, expiresAt: number): IdempotencyEntry {
    this.delete(key);
    const slot: Slot = { record, since, expiresAt, bytes: bytesOf(key, record) };
    this.slots.set(key, slot);
    this.bytes += slot.bytes;
    const now = this.now();
    for (const [oldest, entry] of this.slots) {
      const withinBounds = this.slots.size <= this.maxEntries && this.bytes <= this.maxBytes;
      if (withinBounds && entry.expiresAt > now) {
        break;
      }
      this.delete(oldest);
    }
    return slot;
  }

  /** Forgets `key`; whether it was held. */
  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      return false;
    }
    this.slots.delete(key);
    this.bytes -= slot.bytes;
    return true;
  }

  /** The unexpired entries, oldest first. */
  *entries(): IterableIterator<[string, IdempotencyEntry]> {
    const now = this.now();
    for (const [key, slot] of this.slots) {
      if (slot.expiresAt > now) {
        yield [key, { record: slot.record, since: slot.since, expiresAt: slot.expiresAt }];
      }
    }
  }
}

import { IdempotencyJournal, readJournalLines } from './idempotency-journal';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from './idempotency-store';
import { IdempotencyTable, type IdempotencyEntry, type IdempotencyTableOptions } from './idempotency-table';

export interface FileIdempotencyStoreOptions extends IdempotencyTableOptions {
  /** The journal, in the gateway's state folder: `path.join(config.stateDir, 'idempotency.jsonl')`. */
  readonly file: string;
  /** fdatasync each write before the request goes on (default true); see IdempotencyJournal. */
  readonly fsync?: boolean;
  /**
   * The journal is compacted once it is larger than this and than twice its size after the last
   * compaction (default 8 MiB), so compaction costs stay proportional to the records written.
   */
  readonly compactBytes?: number;
}

/** What a start found in the journal. */
export interface IdempotencyRecovery {
  /** Records kept (unexpired, within the bounds). */
  readonly records: number;
  /** Keys that were running when the gateway stopped: answered 409 IDEMPOTENCY_KEY_IN_DOUBT. */
  readonly inDoubt: number;
  /** Lines that were not records (a line torn by a crash mid-write); skipped. */
  readonly skippedLines: number;
}

/**
 * One journal line: a key's whole record (so replaying a line twice changes nothing) or its
 * removal. Request bodies are never written, only the keyed hash of one.
 */
type JournalLine =
  | {
      readonly key: string;
      readonly state: 'running' | 'in-doubt';
      readonly bodyHash: string;
      readonly since: number;
      readonly expiresAt: number;
    }
  | {
      readonly key: string;
      readonly state: 'completed';
      readonly bodyHash: string;
      readonly since: number;
      readonly expiresAt: number;
      readonly response: StoredResponse;
    }
  | { readonly key: string; readonly state: 'released' };

function lineOf(key: string, entry: IdempotencyEntry): string {
  const { record, since, expiresAt } = entry;
  const line: JournalLine =
    record.state === 'completed'
      ? { key, state: record.state, bodyHash: record.bodyHash, since, expiresAt, response: record.response }
      : { key, state: record.state, bodyHash: record.bodyHash, since, expiresAt };
  return JSON.stringify(line);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isStoredResponse(value: unknown): value is StoredResponse {
  return (
    isRecord(value) &&
    Number.isInteger(value.statusCode) &&
    typeof value.body === 'string' &&
    isRecord(value.headers) &&
    Object.values(value.headers).every((header) => typeof header === 'string')
  );
}

/** A journal line as written by lineOf, or undefined for anything else (a torn line). */
function parseLine(text: string): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.key !== 'string') {
    return undefined;
  }
  if (value.state === 'released') {
    return { key: value.key, state: 'released' };
  }
  const { state, bodyHash, since, expiresAt, response } = value;
  if (typeof bodyHash !== 'string' || !Number.isFinite(since) || !Number.isFinite(expiresAt)) {
    return undefined;
  }
  const times = { key: value.key, bodyHash, since: since as number, expiresAt: expiresAt as number };
  if (state === 'running' || state === 'in-doubt') {
    return { ...times, state };
  }
  return state === 'completed' && isStoredResponse(response) ? { ...times, state, response } : undefined;
}

/** Replays the journal into `table`; claims without an answer become in-doubt. */
function recover(table: IdempotencyTable, lines: readonly string[]): IdempotencyRecovery {
  let skippedLines = 0;
  for (const text of lines) {
    if (text.trim() === '') {
      continue;
    }
    const line = parseLine(text);
    if (line === undefined) {
      skippedLines += 1;
    } else if (line.state === 'released') {
      table.delete(line.key);
    } else if (line.state === 'completed') {
      const { bodyHash, response } = line;
      table.put(line.key, { state: 'completed', bodyHash, response }, line.since, line.expiresAt);
    } else {
      // The process that ran it is gone: whether its transaction was submitted is unknown. Kept
      // as long as its answer would have been, so the device's retries all meet it.
      const record = { state: 'in-doubt', bodyHash: line.bodyHash } as const;
      table.put(line.key, record, line.since, line.since + table.ttlMs);
    }
  }
  let inDoubt = 0;
  for (const [, entry] of table.entries()) {
    inDoubt += entry.record.state === 'in-doubt' ? 1 : 0;
  }
  return { records: [...table.entries()].length, inDoubt, skippedLines };
}

/**
 * Idempotency records that survive a restart: the in-memory table, plus an append-only journal
 * of JSON lines (mode 0600) under the gateway's state folder, replayed at start.
 *
 * - A claim is on disk before the handler runs, so a crash mid-request leaves an in-doubt key
 *   rather than nothing (a retry that finds nothing would submit a second time).
 * - A response is on disk before it is sent (the plugin awaits `complete` in onSend), so a client
 *   that got an answer gets the same one on retry after any crash.
 * - Expired records are dropped and the journal rewritten atomically at start and when it grew
 *   past `compactBytes` and twice its compacted size; the table bounds entries and bytes, so the
 *   file stays bounded too.
 *
 * One gateway process per journal: two would interleave their claims.
 */
export class FileIdempotencyStore implements IdempotencyStore {
  private readonly compactBytes: number;
  private compacting = false;

  private constructor(
    private readonly table: IdempotencyTable,
    private readonly journal: IdempotencyJournal,
    readonly recovery: IdempotencyRecovery,
    options: FileIdempotencyStoreOptions,
  ) {
    this.compactBytes = options.compactBytes ?? 8 * 1024 * 1024;
  }

  /** Loads the journal (creating it if missing) and rewrites it without expired records. */
  static async open(options: FileIdempotencyStoreOptions): Promise<FileIdempotencyStore> {
    const table = new IdempotencyTable(options);
    const recovery = recover(table, await readJournalLines(options.file));
    const journal = await IdempotencyJournal.open({
      file: options.file,
      snapshot: () => FileIdempotencyStore.snapshotOf(table),
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
    });
    return new FileIdempotencyStore(table, journal, recovery, options);
  }

  private static snapshotOf(table: IdempotencyTable): string {
    let text = '';
    for (const [key, entry] of table.entries()) {
      text += `${lineOf(key, entry)}\n`;
    }
    return text;
  }

  /** Records held (unexpired ones and those not yet swept). */
  get size(): number {
    return this.table.size;
  }

  /** Bytes in the journal file. */
  get journalBytes(): number {
    return this.journal.size;
  }

  async claim(key: string, bodyHash: string): Promise<IdempotencyRecord | undefined> {
    const existing = this.table.claim(key, bodyHash);
    if (existing !== undefined) {
      return existing;
    }
    const entry = this.table.find(key);
    if (entry === undefined) {
      return undefined;
    }
    try {
      await this.write(lineOf(key, entry));
    } catch (error) {
      // Not on disk, so the request must not run: free the key (unless something replaced the
      // claim meanwhile) and have the journal rewritten without it.
      if (this.table.find(key) === entry) {
        this.table.delete(key);
      }
      this.journal.compact().catch(() => undefined);
      throw error;
    }
    return undefined;
  }

  async complete(key: string, response: StoredResponse): Promise<void> {
    const entry = this.table.complete(key, response);
    if (entry !== undefined) {
      await this.write(lineOf(key, entry));
    }
  }

  async release(key: string): Promise<void> {
    // Written even when the table already dropped the key (its bounds): the claim is on disk.
    this.table.delete(key);
    const line: JournalLine = { key, state: 'released' };
    await this.write(JSON.stringify(line));
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  /** Rewrites the journal from the live records now (also done at open and as it grows). */
  compact(): Promise<void> {
    return this.journal.compact();
  }

  private async write(line: string): Promise<void> {
    await this.journal.append(line);
    const threshold = Math.max(this.compactBytes, 2 * this.journal.sizeAfterRewrite);
    if (!this.compacting && this.journal.size > threshold) {
      // In the background: this request's line is already on disk.
      this.compacting = true;
      this.journal
        .compact()
        .catch(() => undefined)
        .finally(() => {
          this.compacting = false;
        });
    }
  }
}

import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from './idempotency-store';
import { IdempotencyTable, type IdempotencyTableOptions } from './idempotency-table';

export type MemoryIdempotencyStoreOptions = IdempotencyTableOptions;

/**
 * Idempotency records in process memory, with TTL and size bounds. A restart forgets them: a
 * device's retry after a crash may then run again, so production gateways use the file store.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly table: IdempotencyTable;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.table = new IdempotencyTable(options);
  }

  get size(): number {
    return this.table.size;
  }

  claim(key: string, bodyHash: string): Promise<IdempotencyRecord | undefined> {
    return Promise.resolve(this.table.claim(key, bodyHash));
  }

  complete(key: string, response: StoredResponse): Promise<void> {
    this.table.complete(key, response);
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.table.delete(key);
    return Promise.resolve();
  }
}

import type { ChaincodeStub, Iterators } from 'fabric-shim-api';
import { canonicalBytes, conflict } from '@hems/protocol';

/**
 * Thin helpers over the stub: every value is written as canonical JSON, and every iterator is
 * drained and closed (an unclosed iterator leaks a peer-side query).
 */

export async function readState(stub: ChaincodeStub, key: string): Promise<Uint8Array | undefined> {
  const bytes = await stub.getState(key);
  return bytes.length > 0 ? bytes : undefined;
}

export async function writeState(stub: ChaincodeStub, key: string, value: unknown): Promise<void> {
  await stub.putState(key, canonicalBytes(value));
}

export async function readPrivate(
  stub: ChaincodeStub,
  collection: string,
  key: string,
): Promise<Uint8Array | undefined> {
  const bytes = await stub.getPrivateData(collection, key);
  return bytes.length > 0 ? bytes : undefined;
}

export async function writePrivate(
  stub: ChaincodeStub,
  collection: string,
  key: string,
  value: unknown,
): Promise<void> {
  await stub.putPrivateData(collection, key, canonicalBytes(value));
}

/**
 * Collects a range or history query. The shim's results are async iterables that close the
 * peer-side iterator when exhausted; they also hide that private-data ranges resolve to
 * `{iterator}` while public ones resolve to the iterator itself.
 */
export async function drain<T>(results: AsyncIterable<T>): Promise<T[]> {
  const rows: T[] = [];
  for await (const row of results) {
    rows.push(row);
  }
  return rows;
}

/** Collects a page of a paginated query (its iterator is not wrapped as an async iterable). */
export async function drainPage(iterator: Iterators.StateQueryIterator): Promise<Iterators.KV[]> {
  const rows: Iterators.KV[] = [];
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      rows.push(next.value);
    }
  } finally {
    await iterator.close();
  }
  return rows;
}

/** A record as a transaction answers it: its stored fields and what is derived from them. */
export type RecordView = Record<string, unknown>;

/**
 * The key of the marker of a signed payload's nonce, refused when the marker exists: a used nonce
 * means a replayed payload. `what` names the payloads in the refusal.
 */
export async function unusedNonceKey(
  stub: ChaincodeStub,
  collection: string,
  key: string,
  what: string,
): Promise<string> {
  if ((await readPrivate(stub, collection, key)) !== undefined) {
    throw conflict(`the payload nonce was already used: every ${what} needs a fresh random nonce`);
  }
  return key;
}

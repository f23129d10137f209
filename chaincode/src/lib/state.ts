import type { ChaincodeStub, Iterators } from 'fabric-shim-api';
import { canonicalBytes } from './canonical-json';

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

export async function drain(iterator: Promise<Iterators.StateQueryIterator>): Promise<Iterators.KV[]> {
  const results: Iterators.KV[] = [];
  const it = await iterator;
  try {
    for (let next = await it.next(); !next.done; next = await it.next()) {
      results.push(next.value);
    }
  } finally {
    await it.close();
  }
  return results;
}

export async function drainHistory(
  iterator: Promise<Iterators.HistoryQueryIterator>,
): Promise<Iterators.KeyModification[]> {
  const results: Iterators.KeyModification[] = [];
  const it = await iterator;
  try {
    for (let next = await it.next(); !next.done; next = await it.next()) {
      results.push(next.value);
    }
  } finally {
    await it.close();
  }
  return results;
}

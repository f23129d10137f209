import type { ChaincodeStub, Timestamp } from 'fabric-shim-api';

/**
 * Transaction time is the only clock the contracts read: it is fixed in the proposal, so every
 * endorser computes the same result. The machine clock would differ between peers.
 */
export function transactionTime(stub: ChaincodeStub): Date {
  return stub.getDateTimestamp();
}

export function isoTime(date: Date): string {
  return date.toISOString();
}

export function timestampToIso(timestamp: Timestamp): string {
  const seconds = Number(timestamp.seconds.toString());
  return new Date(seconds * 1000 + Math.floor(timestamp.nanos / 1e6)).toISOString();
}

import { HttpError } from '../http/errors';
import type { Ledger, ServiceIdentity } from './ports';

const utf8 = new TextDecoder();

/** Parses a chaincode answer (every HEMS transaction answers JSON). */
export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  try {
    return JSON.parse(utf8.decode(bytes)) as T;
  } catch {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'the chaincode answered something that is not JSON');
  }
}

/** The identity a gateway reads public data with: its most specific one. */
export function readerIdentity(ledger: Ledger): ServiceIdentity {
  const identity = ledger.identities[0];
  if (identity === undefined) {
    throw new HttpError(503, 'UNAVAILABLE', 'this gateway holds no Fabric identity');
  }
  return identity;
}

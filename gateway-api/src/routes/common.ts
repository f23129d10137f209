import type { FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger, ServiceIdentity } from '../ledger/ports';

export const slotId = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$',
  description: 'Slot identifier, e.g. 2026-11-21T10:15Z',
} as const;

export const busId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$' } as const;

export const slotIdParams = {
  type: 'object',
  required: ['slotId'],
  additionalProperties: false,
  properties: { slotId },
} as const;

export interface SlotIdParams {
  slotId: string;
}

/** Same form as slot ids (the chaincode's id pattern). */
export const windowId = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$',
  description: 'Trading window identifier, e.g. w-2026-11-21T10:15Z',
} as const;

export const windowIdParams = {
  type: 'object',
  required: ['windowId'],
  additionalProperties: false,
  properties: { windowId },
} as const;

export interface WindowIdParams {
  windowId: string;
}

/** Home ids as the chaincode and device certificates spell them (hems.home). */
export const homeId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$' } as const;

/** Room for the body's own members and braces around a list (a few names and a window id). */
const LIST_BODY_ENVELOPE_BYTES = 4096;
/** Extra bytes per entry for a number spelled longer than needed ("2.5000", "1.5e3"). */
const ENTRY_SPELLING_SLACK_BYTES = 16;

/**
 * A request body limit for a route whose body is one list of up to `maxEntries` entries, none
 * larger than `largestEntry`: each entry counted as a client may format it (pretty-printed with
 * four-space indents inside the list inside the body, with its separating comma), so the
 * chaincode's own bound on entries is what refuses a list, never the body size. Routes with such
 * lists set it per route; every other route keeps the gateway's small global limit.
 */
export function listBodyLimit(largestEntry: unknown, maxEntries: number): number {
  const empty = JSON.stringify({ list: [] }, null, 4).length;
  const pretty = JSON.stringify({ list: [largestEntry] }, null, 4).length - empty;
  // `pretty` holds the entry with its indent and line break, and the list's closing line break:
  // more than the comma each further entry adds.
  const entryBytes = pretty + ENTRY_SPELLING_SLACK_BYTES;
  return maxEntries * entryBytes + LIST_BODY_ENVELOPE_BYTES;
}

/** A public JSON object of the chaincode, passed on as it is. */
export const publicObject = { type: 'object', additionalProperties: true } as const;

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

/** Operations that need a service identity this gateway's org does not hold belong elsewhere. */
export function requireIdentity(ledger: Ledger, identity: ServiceIdentity, what: string): void {
  if (!ledger.identities.includes(identity)) {
    throw new HttpError(403, 'FORBIDDEN', `${what} goes through a gateway of a different organization`);
  }
}

/**
 * The gateway acts as one of its own org's service identities only for that org's people: a
 * market operator of another DSO, or a utility's meter head-end at another utility's gateway, is
 * refused here even though its role is right.
 */
export function requireOwnOperator(
  ledger: Ledger,
  request: FastifyRequest,
  identity: ServiceIdentity,
  what: string,
): void {
  requireIdentity(ledger, identity, what);
  if (request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `${what} on this gateway is for operators of ${ledger.mspId}`);
  }
}

/** HEMS devices are served only by their own utility's gateway, which relays for them. */
export function requireOwnDevice(ledger: Ledger, request: FastifyRequest): { homeId: string; bus: string } {
  const caller = request.caller;
  if (caller.mspId !== ledger.mspId || caller.homeId === undefined || caller.bus === undefined) {
    throw new HttpError(403, 'FORBIDDEN', `this gateway serves HEMS devices of ${ledger.mspId} only`);
  }
  requireIdentity(ledger, 'relay', 'relaying device requests');
  return { homeId: caller.homeId, bus: caller.bus };
}

/** Devices may read public data only at their own utility's gateway; other roles anywhere. */
export function requireDeviceAtHome(ledger: Ledger, request: FastifyRequest): void {
  if (request.caller.role === 'hems') {
    requireOwnDevice(ledger, request);
  }
}

/** The device's certificate as the chaincode reads it from transient data. */
export function certificateTransient(request: FastifyRequest): Uint8Array {
  return Buffer.from(request.caller.certificatePem, 'utf8');
}

/** A base64 or base64url signature as bytes. */
export function signatureBytes(signature: string): Buffer {
  return Buffer.from(signature.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The JSON schema of a device-signed request body. */
export interface SignedBodySchema {
  readonly type: 'object';
  readonly required: readonly ['payload', 'signature'];
  readonly additionalProperties: false;
  readonly properties: {
    readonly payload: {
      readonly type: 'string';
      readonly minLength: 2;
      readonly maxLength: number;
      readonly description: string;
    };
    readonly signature: {
      readonly type: 'string';
      readonly pattern: string;
      readonly maxLength: 200;
      readonly description: string;
    };
  };
}

/** The body of a device-signed request: the exact JSON text signed, and its signature. */
export function signedBody(payloadDescription: string, maxLength = 1024): SignedBodySchema {
  return {
    type: 'object',
    required: ['payload', 'signature'],
    additionalProperties: false,
    properties: {
      payload: { type: 'string', minLength: 2, maxLength, description: payloadDescription },
      signature: {
        type: 'string',
        pattern: '^[A-Za-z0-9+/_-]+={0,2}$',
        maxLength: 200,
        description: 'ECDSA P-256 SHA-256 signature over payload by the device key, base64 (DER or P1363)',
      },
    },
  } as const;
}

export interface SignedBody {
  payload: string;
  signature: string;
}

import { BUS_ID_PATTERN, HOME_ID_PATTERN, MAX_SIGNED_PAYLOAD_BYTES, SLOT_ID_PATTERN } from '@hems/protocol';

/** JSON schemas several resources share: identifiers, device-signed bodies, list body limits. */

export const slotId = {
  type: 'string',
  pattern: SLOT_ID_PATTERN,
  description: 'Slot identifier, e.g. 2026-11-21T10:15Z',
} as const;

export const busId = { type: 'string', pattern: BUS_ID_PATTERN } as const;

export const slotIdParams = {
  type: 'object',
  required: ['slotId'],
  additionalProperties: false,
  properties: { slotId },
} as const;

/** Same form as slot ids (the chaincode's id pattern). */
export const windowId = {
  type: 'string',
  pattern: SLOT_ID_PATTERN,
  description: 'Trading window identifier, e.g. w-2026-11-21T10:15Z',
} as const;

export const windowIdParams = {
  type: 'object',
  required: ['windowId'],
  additionalProperties: false,
  properties: { windowId },
} as const;

/** Home ids as the chaincode and device certificates spell them (hems.home). */
export const homeId = { type: 'string', pattern: HOME_ID_PATTERN } as const;

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
export function signedBody(
  payloadDescription: string,
  maxLength = MAX_SIGNED_PAYLOAD_BYTES,
): SignedBodySchema {
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

/** Members of answer schemas. */
export const text = { type: 'string' } as const;
export const integer = { type: 'integer' } as const;
export const number = { type: 'number' } as const;
export const boolean = { type: 'boolean' } as const;

/**
 * The schema of an answer object: its `required` members, then its `optional` ones. Fastify's
 * serializer holds answers to it (and the OpenAPI document shows it); no request is typed by it.
 */
export function answerObject(
  required: Readonly<Record<string, object>>,
  optional: Readonly<Record<string, object>> = {},
): Record<string, unknown> {
  return { type: 'object', required: Object.keys(required), properties: { ...required, ...optional } };
}

import { BUS_ID_PATTERN, HOME_ID_PATTERN, MAX_SIGNED_PAYLOAD_BYTES, SLOT_ID_PATTERN } from '@hems/protocol';

/** JSON schemas several resources share: identifiers, device-signed bodies, list body limits. */

export const slotId = {
  type: 'string',
  pattern: SLOT_ID_PATTERN,
  description: 'Slot identifier, e.g. 2026-11-21T10:15Z',
} as const;

export const busId = { type: 'string', pattern: BUS_ID_PATTERN } as const;

/** The JSON schema of path params holding one id, `name`, of the schema `id`. */
export interface IdParamsSchema<Name extends string, Id> {
  readonly type: 'object';
  readonly required: readonly [Name];
  readonly additionalProperties: false;
  readonly properties: Readonly<Record<Name, Id>>;
}

/** Path params of one id: `/v1/slots/:slotId` has idParams('slotId', slotId). */
export function idParams<const Name extends string, const Id>(name: Name, id: Id): IdParamsSchema<Name, Id> {
  return {
    type: 'object',
    required: [name],
    additionalProperties: false,
    properties: { [name]: id } as Readonly<Record<Name, Id>>,
  };
}

export const slotIdParams = idParams('slotId', slotId);

/** Same form as slot ids (the chaincode's id pattern). */
export const windowId = {
  type: 'string',
  pattern: SLOT_ID_PATTERN,
  description: 'Trading window identifier, e.g. w-2026-11-21T10:15Z',
} as const;

export const windowIdParams = idParams('windowId', windowId);

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

/** The refusal of a route, documented: the error handler's ErrorResponse schema. */
export const errorResponse = { $ref: 'ErrorResponse#' } as const;

/** Documented refusals of a route: each code answers an ErrorResponse. */
export function errorResponses<const Code extends number>(
  ...codes: Code[]
): Readonly<Record<Code, typeof errorResponse>> {
  return Object.fromEntries(codes.map((code) => [code, errorResponse])) as Record<Code, typeof errorResponse>;
}

/** The JSON schema of an object of exactly these members, the `required` ones among them. */
export type ClosedObjectSchema<Properties, Required extends readonly string[]> = {
  readonly type: 'object';
  readonly additionalProperties: false;
  readonly properties: Properties;
} & (Required extends readonly [] ? unknown : { readonly required: Required });

/**
 * A request object: these members and no others (a misspelt member is a 400, not ignored),
 * `required` among them. Literal types are kept, so the type provider infers the request from it.
 */
export function closedObject<
  const Properties extends object,
  const Required extends readonly (keyof Properties & string)[],
>(properties: Properties, ...required: Required): ClosedObjectSchema<Properties, Required> {
  return {
    type: 'object',
    ...(required.length === 0 ? {} : { required }),
    additionalProperties: false,
    properties,
  } as ClosedObjectSchema<Properties, Required>;
}

/**
 * The query of a paged list (ListWindows, ListEvents): the page size and the opaque bookmark the
 * previous page answered (ledger/paging.ts listedPage).
 */
export const pageQuery = closedObject({
  pageSize: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1-100, default 50' },
  bookmark: {
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{0,1364}$',
    description: 'The opaque bookmark (base64url) the previous page answered; none for the first page',
  },
});

/**
 * An answer object of the chaincode with the members it is known to have, `required` among them;
 * it lets members it does not name through, so a field the chaincode adds is never dropped.
 */
export function openObject(
  properties: Readonly<Record<string, object>>,
  ...required: string[]
): Record<string, unknown> {
  return {
    type: 'object',
    ...(required.length === 0 ? {} : { required }),
    additionalProperties: true,
    properties,
  };
}

/** An answer object whose members are all optional (the serializer drops any other). */
export function optionalMembers(properties: Readonly<Record<string, object>>): Record<string, unknown> {
  return { type: 'object', properties };
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

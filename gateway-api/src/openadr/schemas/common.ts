import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { idParams } from '../../resources/common/schemas';

/**
 * JSON schemas OpenADR 3.1.0 and 3.0.1 share, translated from the public OpenAPI 3.0 documents into
 * plain JSON Schema draft-07 for the gateway's Ajv (no coercion, no removal of members, defaults
 * applied: Fastify keeps Ajv's `useDefaults: true`):
 * - `nullable: true` is `type: [X, 'null']`: an explicit JSON null is accepted, and means absent;
 * - no `$ref` (shared pieces are TypeScript constants), no `discriminator`, no `example`;
 * - no `default`: Ajv would write it into every request it validates (e.g. `randomizeStart: 'PT0S'`
 *   into each intervalPeriod), so a spec default is stated in the description and applied by the VTN;
 * - OpenAPI `format: int32` is `minimum`/`maximum`; `format: float` is dropped (any JSON number);
 * - `exclusiveMaximum: true` is draft-07's numeric `exclusiveMaximum`;
 * - objects stay open where the spec leaves them open; query strings and path params are closed.
 * Ajv knows `date-time` and `uri`: Fastify's @fastify/ajv-compiler adds ajv-formats.
 * Every bound the spec leaves out and the VTN adds to stay safe says "bound added by the VTN".
 */

/**
 * The TypeScript type of what a schema validates: json-schema-to-ts's FromSchema, exactly as the
 * routes' type provider (@fastify/type-provider-json-schema-to-ts) applies it. json-schema-to-ts is
 * not a dependency of gateway-api of its own, so its FromSchema is reached through the provider.
 */
export type FromSchema<Schema> = (JsonSchemaToTsProvider & { readonly schema: Schema })['validator'];

/** Bound added by the VTN: most items of a list the spec leaves unbounded. */
export const MAX_ITEMS = 1000;
/** Bound added by the VTN: longest string the spec leaves unbounded (the 3.1.0 bound on URLs). */
export const MAX_TEXT = 8000;
/**
 * Bound added by the VTN: most values of one query parameter (repeated: `?targets=a&targets=b`),
 * so that a query with every filter at its bounds, percent-encoded, stays well within the request
 * line and headers the VTN's HTTP parser takes (VTN_MAX_HEADER_BYTES; beyond it: 431).
 */
export const MAX_QUERY_VALUES = 20;
/** Bound added by the VTN: longest date-time or duration string. */
const MAX_TIME_TEXT = 64;

/** OpenAPI `format: int32`. */
export const int32 = { type: 'integer', minimum: -2147483648, maximum: 2147483647 } as const;

export const dateTime = {
  type: 'string',
  format: 'date-time',
  maxLength: MAX_TIME_TEXT, // bound added by the VTN
  description: 'RFC 3339 date-time, e.g. 2023-06-15T09:30:00Z',
} as const;

/** The ISO 8601 duration pattern exactly as both specs give it. */
export const DURATION_PATTERN =
  '^(-?)P(?=\\d|T\\d)(?:(\\d+)Y)?(?:(\\d+)M)?(?:(\\d+)([DW]))?(?:T(?:(\\d+)H)?(?:(\\d+)M)?(?:(\\d+(?:\\.\\d+)?)S)?)?$';

export const duration = {
  type: 'string',
  pattern: DURATION_PATTERN,
  maxLength: MAX_TIME_TEXT, // bound added by the VTN
  description: 'ISO 8601 duration, e.g. PT1H (spec default PT0S)',
} as const;

export const objectID = {
  type: 'string',
  pattern: '^[a-zA-Z0-9_-]*$',
  minLength: 1,
  maxLength: 128,
  description: 'URL safe VTN assigned object ID',
} as const;

/** The spec's 1 to 128 character identifiers: names, targets (3.1.0), clientID, payload types. */
export const name128 = { type: 'string', minLength: 1, maxLength: 128 } as const;

/** A free string. */
export const text = { type: 'string', maxLength: MAX_TEXT } as const; // bound added by the VTN

/** A free string the spec marks nullable. */
export const nullableText = { type: ['string', 'null'], maxLength: MAX_TEXT } as const; // bound added by the VTN

export const nullableBoolean = { type: ['boolean', 'null'] } as const;

/** A URI as 3.1.0 bounds it (3.0.1 gives only `format: uri`; the VTN adds the same bounds there). */
export const uri = { type: 'string', format: 'uri', minLength: 2, maxLength: MAX_TEXT } as const;

/** The JSON schema of a list of at most MAX_ITEMS items (bound added by the VTN). */
export interface ListSchema<Items> {
  readonly type: 'array';
  readonly maxItems: typeof MAX_ITEMS;
  readonly items: Items;
}

/** A list of `items`, at most MAX_ITEMS of them (bound added by the VTN). */
export function listOf<const Items>(items: Items): ListSchema<Items> {
  return { type: 'array', maxItems: MAX_ITEMS, items };
}

/** The JSON schema of a list the spec marks nullable, of at most MAX_ITEMS items. */
export interface NullableListSchema<Items> {
  readonly type: readonly ['array', 'null'];
  readonly maxItems: typeof MAX_ITEMS;
  readonly items: Items;
}

/** A nullable list of `items` (null means absent), at most MAX_ITEMS of them (bound added by the VTN). */
export function nullableListOf<const Items>(items: Items): NullableListSchema<Items> {
  return { type: ['array', 'null'], maxItems: MAX_ITEMS, items };
}

export const point = {
  type: 'object',
  description: 'A pair of floats typically used as a point on a 2 dimensional grid',
  required: ['x', 'y'],
  properties: { x: { type: 'number' }, y: { type: 'number' } },
} as const;

export const valuesMap = {
  type: 'object',
  description: 'One or more values associated with a type, e.g. PRICE',
  required: ['type', 'values'],
  properties: {
    type: name128,
    values: listOf({
      anyOf: [{ type: 'number' }, { type: 'integer' }, text, { type: 'boolean' }, point],
    }),
  },
} as const;

/** A nullable list of valuesMap objects (attributes in both versions, targets in 3.0.1). */
export const nullableValuesMaps = nullableListOf(valuesMap);

export const OBJECT_TYPES = ['PROGRAM', 'EVENT', 'REPORT', 'SUBSCRIPTION', 'VEN', 'RESOURCE'] as const;

export const objectTypes = {
  type: 'string',
  enum: OBJECT_TYPES,
  description: 'Types of objects addressable through the API',
} as const;

/** Operations a subscription's objectOperations name (the same four in both versions). */
export const subscriptionOperation = {
  type: 'string',
  // The specs name READ/CREATE/UPDATE/DELETE; deployed VENs (e.g. ElaadNL's openadr3-client) send
  // the HTTP verbs GET/POST/PUT/DELETE. Both are taken, and notifications echo the word sent.
  enum: ['READ', 'CREATE', 'UPDATE', 'DELETE', 'GET', 'POST', 'PUT'],
} as const;

/** The VTN provisioned members of each object; each object adds its own objectType. */
export const metadataProperties = {
  id: objectID,
  createdDateTime: dateTime,
  modificationDateTime: dateTime,
} as const;

/** The schema of a response object's objectType: the one value of its kind. */
export interface ObjectTypeSchema<Type extends string> {
  readonly type: 'string';
  readonly enum: readonly [Type];
}

/** An object's objectType, the one value `type`. */
export function objectType<const Type extends string>(type: Type): ObjectTypeSchema<Type> {
  return { type: 'string', enum: [type] };
}

/**
 * Members of intervalPeriod in both versions. It differs by version (3.0.1 requires start; 3.1.0
 * requires nothing and lets start be '0001-01-01' for now), as do interval and the descriptors.
 */
export const intervalPeriodProperties = { start: dateTime, duration, randomizeStart: duration } as const;

/** Members of a reportPayloadDescriptor in both versions, besides payloadType, readingType and units. */
export const payloadQualityProperties = {
  accuracy: { type: ['number', 'null'], description: 'Accuracy of a set of payload values' },
  confidence: { type: ['integer', 'null'], minimum: 0, maximum: 100, description: 'Confidence, 0 to 100' },
} as const;

/** Members of a reportDescriptor in both versions (3.0.1 and 3.1.0 differ in targets, units, reportIntervals). */
export const reportDescriptorProperties = {
  payloadType: name128,
  aggregate: { type: 'boolean', description: 'Aggregate all targeted resources (spec default false)' },
  startInterval: { ...int32, description: 'Interval to report on; -1 the end of the last (spec default -1)' },
  numIntervals: { ...int32, description: 'Intervals to include; -1 all (spec default -1)' },
  historical: {
    type: 'boolean',
    description: 'Report on intervals before startInterval (spec default true)',
  },
  frequency: { ...int32, description: 'Intervals between reports; -1 as numIntervals (spec default -1)' },
  repeat: { ...int32, description: 'Times to repeat the report; -1 indefinitely (spec default 1)' },
} as const;

/** The problem object (Zalando) of every error answer; bounds of 3.1.0 (3.0.1 has none). */
export const problem = {
  type: 'object',
  description: 'Reusable error response, from https://opensource.zalando.com/problem/schema.yaml',
  properties: {
    type: { ...uri, description: 'Absolute URI identifying the problem type (spec default about:blank)' },
    title: text,
    status: { type: 'integer', minimum: 100, maximum: 599 },
    detail: text,
    instance: { ...uri, minLength: 3 },
  },
} as const;

/**
 * The body of POST /auth/token (application/x-www-form-urlencoded, parsed into an object of
 * strings). Open: RFC 6749 has the server ignore parameters it does not know. A repeated parameter
 * parses to an array and fails `type: string` (RFC 6749: invalid_request).
 */
export const clientCredentialRequest = {
  type: 'object',
  required: ['grant_type', 'client_id', 'client_secret'],
  properties: {
    grant_type: { type: 'string', enum: ['client_credentials'] },
    client_id: { type: 'string', minLength: 1, maxLength: 4096 },
    client_secret: { type: 'string', minLength: 1, maxLength: 4096 },
    scope: { type: 'string', minLength: 0, maxLength: 4096 },
  },
} as const;

export const clientCredentialResponse = {
  type: 'object',
  required: ['access_token', 'token_type'],
  properties: {
    access_token: { type: 'string', minLength: 1, maxLength: 4096 },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Expiration period in seconds' },
    refresh_token: { type: 'string', minLength: 1, maxLength: 4096 },
    scope: { type: 'string', minLength: 0, maxLength: 4096 },
  },
} as const;

export const AUTH_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'invalid_scope',
  'unauthorized_client',
  'unsupported_grant_type',
] as const;

/** The RFC 6749 error object (3.0.1 answers it on a 400 of /auth/token; 3.1.0 defines it unused). */
export const authError = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', enum: AUTH_ERRORS },
    error_description: text,
    error_uri: uri,
  },
} as const;

/** Query values are strings (Ajv does not coerce them): skip, 0 to 2147483647 (int32), in decimal. */
export const skip = {
  type: 'string',
  pattern:
    '^(0|[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|' +
    '21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$',
  description: 'Number of records to skip for pagination: 0 to 2147483647',
} as const;

/** Query values are strings (Ajv does not coerce them): limit, 0 to 50, in decimal. */
export const limit = {
  type: 'string',
  pattern: '^([0-9]|[1-4][0-9]|50)$',
  description: 'Maximum number of records to return: 0 to 50',
} as const;

/** The JSON schema of a list query parameter: an array, as the specs define it. */
export interface QueryListSchema<Item> {
  readonly type: 'array';
  readonly minItems: 1;
  readonly maxItems: typeof MAX_QUERY_VALUES;
  readonly items: Item;
}

/**
 * A list query parameter (`style: form, explode: true`): `?targets=a&targets=b`. The query parser
 * leaves a single value a string; the routes' preValidation makes it a list of one (LIST_QUERY_PARAMETERS),
 * so the schema, and the OpenAPI document, say array as the specs do. At most MAX_QUERY_VALUES
 * values (bound added by the VTN).
 */
export function queryListOf<const Item>(item: Item): QueryListSchema<Item> {
  return { type: 'array', minItems: 1, maxItems: MAX_QUERY_VALUES, items: item };
}

/** The list query parameters of both versions. */
export const LIST_QUERY_PARAMETERS: ReadonlySet<string> = new Set(['targets', 'targetValues', 'objects']);

/** The object types a subscription search filters on (`objects`), in both versions. */
export const objectsFilter = queryListOf(objectTypes);

/** Path params of one object, the same in both versions. */
export const programIdParams = idParams('programID', objectID);
export const eventIdParams = idParams('eventID', objectID);
export const reportIdParams = idParams('reportID', objectID);
export const subscriptionIdParams = idParams('subscriptionID', objectID);
export const venIdParams = idParams('venID', objectID);

export type DateTime = FromSchema<typeof dateTime>;
export type Duration = FromSchema<typeof duration>;
export type ObjectID = FromSchema<typeof objectID>;
export type Point = FromSchema<typeof point>;
export type ValuesMap = FromSchema<typeof valuesMap>;
export type ObjectTypes = FromSchema<typeof objectTypes>;
export type Problem = FromSchema<typeof problem>;
export type ClientCredentialRequest = FromSchema<typeof clientCredentialRequest>;
export type ClientCredentialResponse = FromSchema<typeof clientCredentialResponse>;
export type AuthError = FromSchema<typeof authError>;
export type ProgramIdParams = FromSchema<typeof programIdParams>;
export type EventIdParams = FromSchema<typeof eventIdParams>;
export type ReportIdParams = FromSchema<typeof reportIdParams>;
export type SubscriptionIdParams = FromSchema<typeof subscriptionIdParams>;
export type VenIdParams = FromSchema<typeof venIdParams>;

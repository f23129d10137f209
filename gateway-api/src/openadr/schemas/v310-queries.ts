import { idParams } from '../../resources/common/schemas';
import { type FromSchema, limit, name128, objectID, objectsFilter, queryListOf, skip } from './common';

/**
 * Query strings of the OpenADR 3.1.0 list endpoints, and path params. Query values are strings or,
 * repeated, arrays of strings: the gateway's Ajv does not coerce, so skip, limit and active are
 * decimal or boolean strings the route parses. Closed: a filter the spec does not define is a 400,
 * never silently ignored (which would answer more than the client asked for).
 */

export { eventIdParams, programIdParams, reportIdParams, subscriptionIdParams, venIdParams } from './common';

/** targets: `?targets=a&targets=b`, each a target string; an object matches if it has them all. */
export const targetsFilter = queryListOf(name128);

/** GET /programs. */
export const searchProgramsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { targets: targetsFilter, skip, limit },
} as const;

/** GET /reports. */
export const searchReportsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { programID: objectID, eventID: objectID, clientName: name128, skip, limit },
} as const;

/** GET /events; active=true ignores events that have transpired. */
export const searchEventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    programID: objectID,
    targets: targetsFilter,
    skip,
    limit,
    active: { type: 'string', enum: ['true', 'false'], description: 'Ignore events that have transpired' },
  },
} as const;

/** GET /subscriptions (no targets filter in 3.1.0). */
export const searchSubscriptionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { programID: objectID, clientName: name128, objects: objectsFilter, skip, limit },
} as const;

/** GET /vens. */
export const searchVensQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { venName: name128, targets: targetsFilter, skip, limit },
} as const;

/** GET /resources (top level in 3.1.0, filtered by venID). */
export const searchResourcesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { resourceName: name128, venID: objectID, targets: targetsFilter, skip, limit },
} as const;

/** /resources/{resourceID}. */
export const resourceIdParams = idParams('resourceID', objectID);

export type SearchProgramsQuery = FromSchema<typeof searchProgramsQuery>;
export type SearchReportsQuery = FromSchema<typeof searchReportsQuery>;
export type SearchEventsQuery = FromSchema<typeof searchEventsQuery>;
export type SearchSubscriptionsQuery = FromSchema<typeof searchSubscriptionsQuery>;
export type SearchVensQuery = FromSchema<typeof searchVensQuery>;
export type SearchResourcesQuery = FromSchema<typeof searchResourcesQuery>;
export type ResourceIdParams = FromSchema<typeof resourceIdParams>;

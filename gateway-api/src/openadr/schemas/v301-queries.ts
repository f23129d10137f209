import { type FromSchema, limit, objectID, objectsFilter, queryListOf, skip } from './common';

/**
 * Query strings of the OpenADR 3.0.1 list endpoints, and path params. Query values are strings or,
 * repeated, arrays of strings: the gateway's Ajv does not coerce, so skip and limit are decimal
 * strings the route parses. Closed: a filter the spec does not define is a 400, never silently
 * ignored (which would answer more than the client asked for).
 */

export { eventIdParams, programIdParams, reportIdParams, subscriptionIdParams, venIdParams } from './common';

/** A name filter: the spec gives a plain string; 128, the names' own bound, is added by the VTN. */
const nameFilter = { type: 'string', maxLength: 128 } as const;

/** The targeting filters of 3.0.1: a target type (e.g. GROUP) and the values of that type. */
const targetFilters = {
  targetType: { ...nameFilter, description: 'Targeting type, e.g. GROUP' },
  targetValues: {
    ...queryListOf(nameFilter),
    description: 'Target values, e.g. group names (128 characters each: bound added by the VTN)',
  },
} as const;

/** GET /programs. */
export const searchProgramsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { ...targetFilters, skip, limit },
} as const;

/** GET /reports. */
export const searchReportsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { programID: objectID, eventID: objectID, clientName: nameFilter, skip, limit },
} as const;

/** GET /events. */
export const searchEventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { programID: objectID, ...targetFilters, skip, limit },
} as const;

/** GET /subscriptions. */
export const searchSubscriptionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    programID: objectID,
    clientName: nameFilter,
    ...targetFilters,
    objects: objectsFilter,
    skip,
    limit,
  },
} as const;

/** GET /vens. */
export const searchVensQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { venName: nameFilter, ...targetFilters, skip, limit },
} as const;

/** GET /vens/{venID}/resources (with venIdParams). */
export const searchResourcesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { resourceName: nameFilter, ...targetFilters, skip, limit },
} as const;

/** /vens/{venID}/resources/{resourceID}. */
export const venResourceIdParams = {
  type: 'object',
  required: ['venID', 'resourceID'],
  additionalProperties: false,
  properties: { venID: objectID, resourceID: objectID },
} as const;

export type SearchProgramsQuery = FromSchema<typeof searchProgramsQuery>;
export type SearchReportsQuery = FromSchema<typeof searchReportsQuery>;
export type SearchEventsQuery = FromSchema<typeof searchEventsQuery>;
export type SearchSubscriptionsQuery = FromSchema<typeof searchSubscriptionsQuery>;
export type SearchVensQuery = FromSchema<typeof searchVensQuery>;
export type SearchResourcesQuery = FromSchema<typeof searchResourcesQuery>;
export type VenResourceIdParams = FromSchema<typeof venResourceIdParams>;

import {
  type FromSchema,
  dateTime,
  duration,
  int32,
  intervalPeriodProperties,
  listOf,
  metadataProperties,
  name128,
  nullableListOf,
  nullableText,
  nullableValuesMaps,
  objectID,
  objectType,
  objectTypes,
  payloadQualityProperties,
  reportDescriptorProperties,
  subscriptionOperation,
  uri,
  valuesMap,
} from './common';

/**
 * OpenADR 3.1.0 objects, request bodies and answers (see v301.ts for how 3.0.1 differs). A response
 * object is objectMetadata (id, createdDateTime, modificationDateTime, objectType) and its request's
 * members, all listed: Fastify's serializer drops any member a response schema does not name. Its
 * objectType is the one value of its kind (objectMetadata allows any objectTypes value); ven and
 * resource answer VEN and RESOURCE, since the spec's allOf would also ask BL_VEN_REQUEST or
 * BL_RESOURCE_REQUEST of the same member, which no object can satisfy.
 */

export * from './v310-queries';
export * from './v310-notifiers';

/** A target: a user generated string (3.0.1: a valuesMap). */
export const target = { ...name128, description: 'User generated target string, e.g. group-1' } as const;
export const targets = nullableListOf(target);

/** units and readingType: nullable, 1 to 128 characters. */
const units = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 128,
  description: 'Units, e.g. KWH',
} as const;
const readingType = { ...units, description: 'Type of reading, e.g. DIRECT_READ' } as const;

/** The start that means now, as the spec's intervalPeriod describes it (not RFC 3339 date-times). */
const nowStart = { type: 'string', enum: ['0001-01-01', '0001-01-01T00:00:00'] } as const;

export const intervalPeriod = {
  type: 'object',
  description:
    'Temporal aspects of intervals; a start of 0001-01-01 may mean now, a duration of P9999Y infinity',
  properties: { ...intervalPeriodProperties, start: { anyOf: [dateTime, nowStart] } },
} as const;

export const interval = {
  type: 'object',
  description: 'A temporal window and a list of valuesMaps',
  required: ['id', 'payloads'],
  properties: {
    id: { ...int32, description: 'A client generated number, not a sequence number' },
    intervalPeriod,
    payloads: listOf(valuesMap),
  },
} as const;

export const eventPayloadDescriptor = {
  type: 'object',
  description: 'Context of event valuesMap values, e.g. units and currency of a PRICE',
  required: ['objectType', 'payloadType'],
  properties: {
    objectType: objectType('EVENT_PAYLOAD_DESCRIPTOR'),
    payloadType: name128,
    units,
    currency: nullableText,
  },
} as const;

export const reportPayloadDescriptor = {
  type: 'object',
  description: 'Context of report payload values, e.g. units and data quality of a USAGE',
  required: ['objectType', 'payloadType'],
  properties: {
    objectType: objectType('REPORT_PAYLOAD_DESCRIPTOR'),
    payloadType: name128,
    readingType,
    units,
    ...payloadQualityProperties,
  },
} as const;

export const reportDescriptor = {
  type: 'object',
  description: 'A request for a report from a VEN',
  required: ['payloadType'],
  properties: {
    ...reportDescriptorProperties,
    readingType,
    units,
    targets,
    reportIntervals: {
      type: 'string',
      enum: ['INTERVALS', 'SUB_INTERVALS', 'OPEN_INTERVALS'],
      description: 'VEN report interval options (spec default INTERVALS)',
    },
  },
} as const;

const programRequestProperties = {
  programName: { ...name128, description: 'Short name to uniquely identify the program' },
  intervalPeriod,
  programDescriptions: nullableListOf({
    // The spec gives the item no type; it is an object with a URL.
    type: 'object',
    required: ['URL'],
    properties: { URL: { ...uri, description: 'A human or machine readable program description' } },
  }),
  payloadDescriptors: nullableListOf({ anyOf: [eventPayloadDescriptor, reportPayloadDescriptor] }),
  attributes: nullableValuesMaps,
  targets,
} as const;

export const programRequest = {
  type: 'object',
  description: 'Client provided description of a program',
  required: ['programName'],
  properties: programRequestProperties,
} as const;

export const program = {
  type: 'object',
  description: 'Server provided representation of a program',
  required: ['id', 'createdDateTime', 'modificationDateTime', 'objectType', 'programName'],
  properties: { ...metadataProperties, objectType: objectType('PROGRAM'), ...programRequestProperties },
} as const;

const eventRequestProperties = {
  programID: objectID,
  eventName: nullableText,
  duration: { ...duration, description: 'Duration of the event; may loop intervals' },
  priority: { type: ['integer', 'null'], minimum: 0, description: 'A lower number is a higher priority' },
  targets,
  reportDescriptors: nullableListOf(reportDescriptor),
  payloadDescriptors: nullableListOf(eventPayloadDescriptor),
  intervalPeriod,
  intervals: listOf(interval),
} as const;

export const eventRequest = {
  type: 'object',
  description: 'An event: a Demand Response request to VENs',
  required: ['programID'],
  properties: eventRequestProperties,
} as const;

export const event = {
  type: 'object',
  description: 'Server provided representation of an event',
  required: ['id', 'createdDateTime', 'modificationDateTime', 'objectType', 'programID'],
  properties: { ...metadataProperties, objectType: objectType('EVENT'), ...eventRequestProperties },
} as const;

const reportRequestProperties = {
  eventID: objectID,
  clientName: name128,
  reportName: nullableText,
  payloadDescriptors: nullableListOf(reportPayloadDescriptor),
  resources: listOf({
    type: 'object',
    description: 'Report data of one resource; resourceName AGGREGATED_REPORT aggregates several',
    required: ['resourceName', 'intervals'],
    properties: { resourceName: name128, intervalPeriod, intervals: listOf(interval) },
  }),
} as const;

export const reportRequest = {
  type: 'object',
  description: 'A report of a VEN on an event',
  required: ['eventID', 'clientName', 'resources'],
  properties: reportRequestProperties,
} as const;

/** clientID: as the authentication service provisioned it with the client's bearer token. */
const clientID = { ...name128, description: "ClientID associated with the client's bearer token" } as const;

export const report = {
  type: 'object',
  description: 'Server provided representation of a report',
  required: [
    'id',
    'createdDateTime',
    'modificationDateTime',
    'objectType',
    'eventID',
    'clientName',
    'resources',
    'clientID',
  ],
  properties: {
    ...metadataProperties,
    objectType: objectType('REPORT'),
    ...reportRequestProperties,
    clientID,
  },
} as const;

const subscriptionRequestProperties = {
  clientName: name128,
  programID: objectID,
  objectOperations: listOf({
    type: 'object',
    description: 'Object types, operations and callbackUrl',
    required: ['objects', 'operations', 'callbackUrl'],
    properties: {
      objects: listOf(objectTypes),
      operations: listOf(subscriptionOperation),
      callbackUrl: { ...uri, description: 'User provided webhook URL' },
      bearerToken: { ...nullableText, description: 'Token the VTN presents to the callback' },
    },
  }),
  targets,
} as const;

export const subscriptionRequest = {
  type: 'object',
  description: 'A client created object to be notified of operations on objects',
  required: ['clientName', 'objectOperations'],
  properties: subscriptionRequestProperties,
} as const;

export const subscription = {
  type: 'object',
  description: 'Server provided representation of a subscription',
  required: [
    'id',
    'createdDateTime',
    'modificationDateTime',
    'objectType',
    'clientName',
    'objectOperations',
    'clientID',
  ],
  properties: {
    ...metadataProperties,
    objectType: objectType('SUBSCRIPTION'),
    ...subscriptionRequestProperties,
    clientID,
  },
} as const;

const venName = { ...name128, description: 'User generated identifier, unique within the VTN' } as const;

/** The members of a ven a business logic (BL) client gives, and the VTN answers. */
const venProperties = { clientID, targets, venName, attributes: nullableValuesMaps } as const;

/** A ven as a business logic (BL) client gives it: with its clientID and targets. */
export const blVenRequest = {
  type: 'object',
  description: 'Business Logic provided representation of a ven',
  required: ['objectType', 'clientID', 'venName'],
  properties: { objectType: objectType('BL_VEN_REQUEST'), ...venProperties },
} as const;

/** A ven as a VEN client gives it: no clientID, no targets. */
export const venVenRequest = {
  type: 'object',
  description: 'VEN provided representation of a ven',
  required: ['objectType', 'venName'],
  properties: { objectType: objectType('VEN_VEN_REQUEST'), venName, attributes: nullableValuesMaps },
} as const;

/** The body of POST /vens and PUT /vens/{venID}: one of the two, told apart by objectType. */
export const venRequest = { oneOf: [venVenRequest, blVenRequest] } as const;

/** objectMetadata and BlVenRequest's members; objectType VEN (see above). */
export const ven = {
  type: 'object',
  description: 'Server provided representation of a ven',
  required: ['id', 'createdDateTime', 'modificationDateTime', 'objectType', 'clientID', 'venName'],
  properties: { ...metadataProperties, objectType: objectType('VEN'), ...venProperties },
} as const;

const resourceName = { ...name128, description: 'User generated identifier of a resource' } as const;

/** The members of a resource a business logic (BL) client gives, and the VTN answers. */
const resourceProperties = {
  clientID,
  targets,
  resourceName,
  venID: objectID,
  attributes: nullableValuesMaps,
} as const;

export const blResourceRequest = {
  type: 'object',
  description: 'Business Logic provided representation of a ven resource',
  required: ['objectType', 'clientID', 'resourceName', 'venID'],
  properties: { objectType: objectType('BL_RESOURCE_REQUEST'), ...resourceProperties },
} as const;

export const venResourceRequest = {
  type: 'object',
  description: 'VEN provided representation of a ven resource',
  required: ['objectType', 'resourceName', 'venID'],
  properties: {
    objectType: objectType('VEN_RESOURCE_REQUEST'),
    resourceName,
    venID: objectID,
    attributes: nullableValuesMaps,
  },
} as const;

/** The body of POST /resources and PUT /resources/{resourceID}, told apart by objectType. */
export const resourceRequest = { oneOf: [blResourceRequest, venResourceRequest] } as const;

/** objectMetadata and BlResourceRequest's members; objectType RESOURCE (see above). */
export const resource = {
  type: 'object',
  description: 'Server provided representation of a ven resource',
  required: [
    'id',
    'createdDateTime',
    'modificationDateTime',
    'objectType',
    'clientID',
    'resourceName',
    'venID',
  ],
  properties: { ...metadataProperties, objectType: objectType('RESOURCE'), ...resourceProperties },
} as const;

/** The answer of GET /auth/server (3.1.0 only). */
export const authServerInfo = {
  type: 'object',
  required: ['tokenURL'],
  properties: { tokenURL: { ...uri, description: 'URL of the token endpoint' } },
} as const;

/** The body the VTN posts to a subscription's callbackUrl. */
export const notification = {
  type: 'object',
  description: 'VTN generated object included in the request to a subscription callbackUrl',
  required: ['objectType', 'operation', 'object'],
  properties: {
    objectType: objectTypes,
    operation: { type: 'string', enum: ['CREATE', 'READ', 'UPDATE', 'DELETE'] },
    object: { type: 'object', oneOf: [program, report, event, subscription, ven, resource] },
    targets,
  },
} as const;

export type Target = FromSchema<typeof target>;
export type IntervalPeriod = FromSchema<typeof intervalPeriod>;
export type Interval = FromSchema<typeof interval>;
export type EventPayloadDescriptor = FromSchema<typeof eventPayloadDescriptor>;
export type ReportPayloadDescriptor = FromSchema<typeof reportPayloadDescriptor>;
export type ReportDescriptor = FromSchema<typeof reportDescriptor>;
export type ProgramRequest = FromSchema<typeof programRequest>;
export type Program = FromSchema<typeof program>;
export type EventRequest = FromSchema<typeof eventRequest>;
export type Event = FromSchema<typeof event>;
export type ReportRequest = FromSchema<typeof reportRequest>;
export type Report = FromSchema<typeof report>;
export type SubscriptionRequest = FromSchema<typeof subscriptionRequest>;
export type Subscription = FromSchema<typeof subscription>;
export type BlVenRequest = FromSchema<typeof blVenRequest>;
export type VenVenRequest = FromSchema<typeof venVenRequest>;
export type VenRequest = FromSchema<typeof venRequest>;
export type Ven = FromSchema<typeof ven>;
export type BlResourceRequest = FromSchema<typeof blResourceRequest>;
export type VenResourceRequest = FromSchema<typeof venResourceRequest>;
export type ResourceRequest = FromSchema<typeof resourceRequest>;
export type Resource = FromSchema<typeof resource>;
export type AuthServerInfo = FromSchema<typeof authServerInfo>;
export type Notification = FromSchema<typeof notification>;

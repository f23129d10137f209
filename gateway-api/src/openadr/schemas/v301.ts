import {
  type FromSchema,
  MAX_TEXT,
  duration,
  int32,
  intervalPeriodProperties,
  listOf,
  metadataProperties,
  name128,
  nullableBoolean,
  nullableListOf,
  nullableText,
  nullableValuesMaps,
  objectID,
  objectType,
  objectTypes,
  payloadQualityProperties,
  reportDescriptorProperties,
  subscriptionOperation,
  valuesMap,
} from './common';

/**
 * OpenADR 3.0.1 objects, request bodies and answers. 3.0.1 has one schema per object: its request
 * body is the object itself, with id, createdDateTime, modificationDateTime and objectType optional.
 *
 * How 3.0.1 differs from 3.1.0 (the two are not compatible):
 * - targets: 3.0.1 a list of valuesMap {type, values}; 3.1.0 a list of strings (1-128 characters).
 *   Lists filter by targetType (one string) and targetValues (strings); 3.1.0 by targets (strings).
 * - requests: 3.0.1 bodies are the objects; 3.1.0 has programRequest, eventRequest, reportRequest,
 *   subscriptionRequest, and venRequest/resourceRequest as oneOf a BL or a VEN request told apart by
 *   objectType (BL_VEN_REQUEST / VEN_VEN_REQUEST, BL_RESOURCE_REQUEST / VEN_RESOURCE_REQUEST).
 * - 3.1.0 answers require id, createdDateTime, modificationDateTime and objectType (3.0.1: optional).
 * - resources: 3.0.1 under /vens/{venID}/resources[/{resourceID}], resourceName required, venID
 *   optional; 3.1.0 top level /resources[/{resourceID}] (list filtered by venID), venID required.
 * - ven: 3.0.1 has a resources list, no clientID; 3.1.0 drops resources and has clientID (BL sets it).
 * - clientID: 3.1.0 report, subscription, ven and resource answers carry it (required); 3.0.1 none.
 * - program: 3.0.1 has programLongName, retailerName, retailerLongName, programType, country,
 *   principalSubdivision, timeZoneOffset, bindingEvents, localPrice; 3.1.0 drops them and adds
 *   attributes. programDescriptions URL: 3.1.0 bounds it 2-8000 characters.
 * - event: 3.0.1 requires intervals; 3.1.0 does not, and adds duration.
 * - report: 3.0.1 requires programID; 3.1.0 has no programID.
 * - subscription: 3.0.1 requires programID; 3.1.0 does not. 3.1.0 bounds callbackUrl 2-8000.
 * - intervalPeriod: 3.0.1 requires start; 3.1.0 requires nothing, start '0001-01-01' may mean now.
 * - payload descriptors: 3.1.0 requires objectType (EVENT_/REPORT_PAYLOAD_DESCRIPTOR); 3.0.1 does not.
 *   3.1.0 bounds units and readingType to 1-128 characters. reportDescriptor: 3.1.0 adds
 *   reportIntervals (INTERVALS, SUB_INTERVALS, OPEN_INTERVALS).
 * - notification.operation: 3.0.1 GET, POST, PUT, DELETE; 3.1.0 CREATE, READ, UPDATE, DELETE.
 * - query filters: 3.1.0 events add active; 3.1.0 subscriptions drop targetType/targetValues;
 *   3.1.0 bounds clientName, venName and resourceName filters to 1-128 characters (3.0.1: strings).
 * - endpoints: 3.1.0 adds GET /auth/server (authServerInfo {tokenURL}), GET /notifiers and the
 *   /notifiers/mqtt/topics/... endpoints (notifiersResponse, notifierTopicsResponse).
 * - /auth/token: a 400 answers authError in 3.0.1, a problem in 3.1.0 (which adds 401 and 501).
 *   3.1.0 bounds problem.type/instance and authError.error_uri (2 or 3 to 8000 characters).
 * - scopes: 3.0.1 read_all for every read; 3.1.0 read_targets (programs, events), read_ven_objects
 *   (reports, subscriptions, vens, resources), read_all and read_bl (notifier topics; read_bl is
 *   not among its declared scopes).
 * - answers: 3.1.0 lists 401 on every object endpoint but PUT /programs/{programID}; 3.0.1 lists
 *   none. 3.1.0 drops 409 from POST /vens. Both mark the body required only on POST /subscriptions,
 *   /vens and /resources (a missing body fails `type: object` on every route here).
 * - servers: 3.0.1 declares base path /openadr3/3.0.1; 3.1.0 declares only a mock server.
 */

export * from './v301-queries';

/** A 3.0.1 target: a valuesMap, e.g. {type: 'GROUP', values: ['group-1']}. */
export const targets = nullableValuesMaps;

export const intervalPeriod = {
  type: 'object',
  description: 'Temporal aspects of intervals; duration PT0S instantaneous or infinity by payloadType',
  required: ['start'],
  properties: intervalPeriodProperties,
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
  required: ['payloadType'],
  properties: {
    objectType: objectType('EVENT_PAYLOAD_DESCRIPTOR'),
    payloadType: name128,
    units: nullableText,
    currency: nullableText,
  },
} as const;

export const reportPayloadDescriptor = {
  type: 'object',
  description: 'Context of report payload values, e.g. units and data quality of a USAGE',
  required: ['payloadType'],
  properties: {
    objectType: objectType('REPORT_PAYLOAD_DESCRIPTOR'),
    payloadType: name128,
    readingType: nullableText,
    units: nullableText,
    ...payloadQualityProperties,
  },
} as const;

export const reportDescriptor = {
  type: 'object',
  description: 'A request for a report from a VEN',
  required: ['payloadType'],
  properties: { ...reportDescriptorProperties, readingType: nullableText, units: nullableText, targets },
} as const;

export const program = {
  type: 'object',
  description: 'Program specific metadata from VTN to VEN',
  required: ['programName'],
  properties: {
    ...metadataProperties,
    objectType: objectType('PROGRAM'),
    programName: { ...name128, description: 'Short name to uniquely identify the program' },
    programLongName: nullableText,
    retailerName: nullableText,
    retailerLongName: nullableText,
    programType: nullableText,
    country: { ...nullableText, description: 'Alpha-2 code per ISO 3166-1' },
    principalSubdivision: { ...nullableText, description: 'Coding per ISO 3166-2, e.g. a US state' },
    timeZoneOffset: duration,
    intervalPeriod,
    programDescriptions: nullableListOf({
      // The spec gives the item no type; it is an object with a URL.
      type: 'object',
      required: ['URL'],
      properties: { URL: { type: 'string', format: 'uri', maxLength: MAX_TEXT } }, // bound added by the VTN
    }),
    bindingEvents: { ...nullableBoolean, description: 'True if events are fixed once transmitted' },
    localPrice: { ...nullableBoolean, description: 'True if events have been adapted from a grid event' },
    payloadDescriptors: nullableListOf({ anyOf: [eventPayloadDescriptor, reportPayloadDescriptor] }),
    targets,
  },
} as const;

export const event = {
  type: 'object',
  description: 'An event: a Demand Response request to VENs',
  required: ['programID', 'intervals'],
  properties: {
    ...metadataProperties,
    objectType: objectType('EVENT'),
    programID: objectID,
    eventName: nullableText,
    priority: { type: ['integer', 'null'], minimum: 0, description: 'A lower number is a higher priority' },
    targets,
    reportDescriptors: nullableListOf(reportDescriptor),
    payloadDescriptors: nullableListOf(eventPayloadDescriptor),
    intervalPeriod,
    intervals: listOf(interval),
  },
} as const;

export const report = {
  type: 'object',
  description: 'A report of a VEN on an event',
  required: ['programID', 'eventID', 'clientName', 'resources'],
  properties: {
    ...metadataProperties,
    objectType: objectType('REPORT'),
    programID: objectID,
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
  },
} as const;

export const subscription = {
  type: 'object',
  description: 'A client created object to be notified of operations on objects',
  required: ['clientName', 'programID', 'objectOperations'],
  properties: {
    ...metadataProperties,
    objectType: objectType('SUBSCRIPTION'),
    clientName: name128,
    programID: objectID,
    objectOperations: listOf({
      type: 'object',
      description: 'Object types, operations and callbackUrl',
      required: ['objects', 'operations', 'callbackUrl'],
      properties: {
        objects: listOf(objectTypes),
        operations: listOf(subscriptionOperation),
        // bound added by the VTN
        callbackUrl: { type: 'string', format: 'uri', maxLength: MAX_TEXT, description: 'Webhook URL' },
        bearerToken: { ...nullableText, description: 'Token the VTN presents to the callback' },
      },
    }),
    targets,
  },
} as const;

export const resource = {
  type: 'object',
  description: 'An energy device or system subject to control by a VEN',
  required: ['resourceName'],
  properties: {
    ...metadataProperties,
    objectType: objectType('RESOURCE'),
    resourceName: { ...name128, description: 'User generated identifier, unique within its VEN' },
    venID: objectID,
    attributes: nullableValuesMaps,
    targets,
  },
} as const;

export const ven = {
  type: 'object',
  description: 'A client with the ven role',
  required: ['venName'],
  properties: {
    ...metadataProperties,
    objectType: objectType('VEN'),
    venName: { ...name128, description: 'User generated identifier, unique within the VTN' },
    attributes: nullableValuesMaps,
    targets,
    resources: nullableListOf(resource),
  },
} as const;

/** Request bodies: the objects themselves (POST and PUT of each object). */
export const programRequest = program;
export const eventRequest = event;
export const reportRequest = report;
export const subscriptionRequest = subscription;
export const venRequest = ven;
export const resourceRequest = resource;

/** The body the VTN posts to a subscription's callbackUrl. */
export const notification = {
  type: 'object',
  description: 'VTN generated object included in the request to a subscription callbackUrl',
  required: ['objectType', 'operation', 'object'],
  properties: {
    objectType: objectTypes,
    operation: { type: 'string', enum: ['GET', 'POST', 'PUT', 'DELETE'] },
    object: { type: 'object', oneOf: [program, report, event, subscription, ven, resource] },
    targets,
  },
} as const;

export type Targets = FromSchema<typeof targets>;
export type IntervalPeriod = FromSchema<typeof intervalPeriod>;
export type Interval = FromSchema<typeof interval>;
export type EventPayloadDescriptor = FromSchema<typeof eventPayloadDescriptor>;
export type ReportPayloadDescriptor = FromSchema<typeof reportPayloadDescriptor>;
export type ReportDescriptor = FromSchema<typeof reportDescriptor>;
export type Program = FromSchema<typeof program>;
export type Event = FromSchema<typeof event>;
export type Report = FromSchema<typeof report>;
export type Subscription = FromSchema<typeof subscription>;
export type Resource = FromSchema<typeof resource>;
export type Ven = FromSchema<typeof ven>;
export type ProgramRequest = Program;
export type EventRequest = Event;
export type ReportRequest = Report;
export type SubscriptionRequest = Subscription;
export type VenRequest = Ven;
export type ResourceRequest = Resource;
export type Notification = FromSchema<typeof notification>;

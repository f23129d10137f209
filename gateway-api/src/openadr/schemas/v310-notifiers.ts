import { type FromSchema, text, uri } from './common';

/** Answers of the OpenADR 3.1.0 notifier endpoints (3.0.1 has none): GET /notifiers and its MQTT topics. */

const mqttAnonymous = {
  type: 'object',
  required: ['method'],
  properties: { method: { type: 'string', enum: ['ANONYMOUS'] } },
} as const;

const mqttOauth2BearerToken = {
  type: 'object',
  required: ['method', 'username'],
  properties: {
    method: { type: 'string', enum: ['OAUTH2_BEARER_TOKEN'] },
    username: { ...text, description: 'The distinguished string "{clientID}", or any other literal string' },
  },
} as const;

const mqttCertificate = {
  type: 'object',
  required: ['method', 'caCert', 'clientCert', 'clientKey'],
  properties: {
    method: { type: 'string', enum: ['CERTIFICATE'] },
    caCert: text,
    clientCert: text,
    clientKey: text,
  },
} as const;

export const mqttNotifierBindingObject = {
  type: 'object',
  description: 'Details of the MQTT notifier binding',
  required: ['URIS', 'serialization', 'authentication'],
  properties: {
    URIS: { type: 'array', items: { ...uri, description: 'URI of the MQTT broker' } },
    serialization: { type: 'string', enum: ['JSON'] },
    authentication: { oneOf: [mqttAnonymous, mqttOauth2BearerToken, mqttCertificate] },
  },
} as const;

/** GET /notifiers: WEBHOOK is currently always true. */
export const notifiersResponse = {
  type: 'object',
  required: ['WEBHOOK'],
  properties: { WEBHOOK: { type: 'boolean' }, MQTT: mqttNotifierBindingObject },
} as const;

/** GET /notifiers/mqtt/topics/...: topic names per operation (CREATE not for one object). */
export const notifierTopicsResponse = {
  type: 'object',
  required: ['topics'],
  properties: {
    topics: {
      type: 'object',
      required: ['UPDATE', 'DELETE'],
      properties: { CREATE: text, UPDATE: text, DELETE: text, ALL: text },
    },
  },
} as const;

export type MqttNotifierBindingObject = FromSchema<typeof mqttNotifierBindingObject>;
export type NotifiersResponse = FromSchema<typeof notifiersResponse>;
export type NotifierTopicsResponse = FromSchema<typeof notifierTopicsResponse>;

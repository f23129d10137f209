import { resourceRoutes } from '../../http/routes';
import { answerObject, busId, integer, number, slotIdParams, text } from '../common/schemas';

const route = resourceRoutes('slots');

export const dispatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    lambda: { type: 'number', minimum: 0, maximum: 1 },
    perBus: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['bus', 'lambda'],
        additionalProperties: false,
        properties: { bus: busId, lambda: { type: 'number', minimum: 0, maximum: 1 } },
      },
    },
    capacities: {
      type: 'object',
      description:
        'Feeder model: capacity in kW per bus; λ is then computed by the DSO optimizer, which reserves maxHomeKw (channel settings) of a bus for each of its homes whose sums are withheld or missing',
      maxProperties: 1000,
      additionalProperties: { type: 'number', minimum: 0, maximum: 1000000 },
    },
    revisionReason: { type: 'string', minLength: 1, maxLength: 500 },
  },
  oneOf: [{ required: ['lambda'] }, { required: ['capacities'] }],
} as const;

/** The optimizer's plan as the dispatch answer carries it (services/dispatch-optimizer.ts). */
const dispatchPlanSchema = {
  type: 'object',
  description: 'The DSO optimizer’s plan; present when λ was computed from capacities',
  required: ['lambda', 'buses', 'assumedWorstCase'],
  additionalProperties: false,
  properties: {
    lambda: { type: 'number' },
    maxHomeKw: {
      type: 'number',
      description: 'Per-home maximum (channel settings) used to bound unreported homes',
    },
    assumedWorstCase: {
      type: 'array',
      description: 'Buses with homes whose sums are withheld (below k) or missing, bounded by maxHomeKw each',
      items: { type: 'string' },
    },
    buses: {
      type: 'array',
      items: {
        type: 'object',
        required: ['bus', 'capacityKw', 'lambda', 'dispatchedKw', 'unreportedHomes', 'assumedKw'],
        additionalProperties: false,
        properties: {
          bus: { type: 'string' },
          capacityKw: { type: ['number', 'null'], description: 'null: no capacity given for the bus' },
          lambda: { type: ['number', 'null'], description: 'λ_b; null: the bus has no homes' },
          dispatchedKw: {
            type: ['number', 'null'],
            description: 'Load at λ; with unreported homes an upper bound including assumedKw',
          },
          unreportedHomes: { type: 'integer' },
          assumedKw: { type: 'number', description: 'unreportedHomes × maxHomeKw' },
        },
      },
    },
  },
} as const;

export const dispatchResponse = {
  type: 'object',
  additionalProperties: true,
  properties: { plan: dispatchPlanSchema },
} as const;

export const publishDispatchRoute = route(
  'DSO: publish λ, explicit or computed by the optimizer from a feeder model (buses with withheld or missing sums bounded by their worst case)',
  { roles: ['dso'], params: slotIdParams, body: dispatchBody, response: { 201: dispatchResponse } },
);

/** A HEMS device's own allowed power (GET /v1/slots/:slotId/dispatch). */
export const allowedPower = answerObject({
  slotId: text,
  lambda: number,
  allowedKw: number,
  revision: integer,
});

export const allowedPowerRoute = route(
  'HEMS device: its own allowed power for the slot (λ·Lmax + (1−λ)·Lmin)',
  { roles: ['hems'], params: slotIdParams, response: { 200: allowedPower } },
);

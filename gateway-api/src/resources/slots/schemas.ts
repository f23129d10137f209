import { answerObject, busId, slotIdParams, text } from '../common/schemas';
import { MAX_PRICED_BUSES } from '@hems/protocol';

const priceRange = {
  type: 'object',
  required: ['lower', 'upper'],
  additionalProperties: false,
  properties: { lower: { type: 'number' }, upper: { type: 'number' } },
} as const;

export const openSlotBody = {
  type: 'object',
  required: ['slotId', 'deadline', 'prices'],
  additionalProperties: false,
  properties: {
    slotId: slotIdParams.properties.slotId,
    deadline: {
      type: 'string',
      format: 'date-time',
      description: 'RFC 3339 time when forecast submission closes',
    },
    prices: {
      type: 'object',
      additionalProperties: false,
      description: 'Price ranges per MWh: a default and/or per bus',
      properties: {
        default: priceRange,
        buses: {
          type: 'array',
          maxItems: MAX_PRICED_BUSES,
          items: {
            type: 'object',
            required: ['bus', 'lower', 'upper'],
            additionalProperties: false,
            properties: { bus: busId, lower: { type: 'number' }, upper: { type: 'number' } },
          },
        },
      },
    },
  },
} as const;

export const slotResponse = { type: 'object', additionalProperties: true } as const;

/** A HEMS device's home reference for a slot (GET /v1/slots/:slotId/receipt). */
export const homeReceipt = answerObject({ slotId: text, org: text, bus: text, homeRef: text });

export const slotRoute = {
  tags: ['slots'],
  summary: "A slot: prices, state and λ (HEMS devices see their own bus's prices and λ)",
  params: slotIdParams,
  response: { 200: slotResponse },
} as const;

export const receiptRoute = {
  tags: ['slots'],
  summary: 'HEMS device: its home reference for this slot, to prove its submission to an auditor',
  params: slotIdParams,
  response: { 200: homeReceipt },
} as const;

export const openSlotRoute = {
  tags: ['slots'],
  summary: 'DSO: open a slot with its deadline and price ranges',
  body: openSlotBody,
  response: { 201: slotResponse },
} as const;

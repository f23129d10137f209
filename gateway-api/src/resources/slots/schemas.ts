import { resourceRoutes } from '../../http/routes';
import {
  answerObject,
  busId,
  closedObject,
  integer,
  number,
  slotId,
  slotIdParams,
  text,
} from '../common/schemas';
import { MAX_PRICED_BUSES } from '@hems/protocol';

const route = resourceRoutes('slots');

const priceRange = closedObject({ lower: number, upper: number }, 'lower', 'upper');

/** Price ranges per MWh: a default and/or per bus. */
const prices = {
  ...closedObject({
    default: priceRange,
    buses: {
      type: 'array',
      maxItems: MAX_PRICED_BUSES,
      items: closedObject({ bus: busId, lower: number, upper: number }, 'bus', 'lower', 'upper'),
    },
  }),
  description: 'Price ranges per MWh: a default and/or per bus',
} as const;

export const openSlotBody = closedObject(
  {
    slotId,
    deadline: {
      type: 'string',
      format: 'date-time',
      description: 'RFC 3339 time when forecast submission closes',
    },
    prices,
    schedule: {
      ...closedObject(
        {
          deliveryStart: {
            type: 'string',
            format: 'date-time',
            description: 'RFC 3339 start of delivery, on a quarter hour',
          },
          deliveryEnd: {
            type: 'string',
            format: 'date-time',
            description: 'RFC 3339 end of delivery, on a quarter hour, at most 24 hours after the start',
          },
          period: { type: 'string', enum: ['peak', 'mid-peak', 'off-peak'] },
        },
        'deliveryStart',
        'deliveryEnd',
        'period',
      ),
      description: 'Delivery interval and time-of-use period of the slot (demand-response events need them)',
    },
  },
  'slotId',
  'deadline',
  'prices',
);

export const slotResponse = { type: 'object', additionalProperties: true } as const;

export const openSlotRoute = route('DSO: open a slot with its deadline and price ranges', {
  roles: ['dso'],
  body: openSlotBody,
  response: { 201: slotResponse },
});

export const slotRoute = route(
  "A slot: prices, state and λ (HEMS devices see their own bus's prices and λ)",
  {
    params: slotIdParams,
    response: { 200: slotResponse },
  },
);

/**
 * A HEMS device's proof of submission for a slot (GET /v1/slots/:slotId/receipt): its forecast in
 * effect, the batch holding it, and the Merkle path (hashes only) from it to the batch's root.
 */
export const homeReceipt = answerObject({
  slotId: text,
  org: text,
  bus: text,
  homeRef: text,
  batch: text,
  index: integer,
  count: integer,
  path: { type: 'array', items: text },
  forecast: answerObject({ slotId: text, bus: text, lower: number, upper: number, nonce: text }),
});

export const receiptRoute = route(
  'HEMS device: its forecast in effect for this slot with the batch and Merkle path that prove its submission to an auditor',
  { roles: ['hems'], params: slotIdParams, response: { 200: homeReceipt } },
);

export const emergencyBody = closedObject(
  {
    level: {
      type: 'integer',
      enum: [1, 2, 3],
      description:
        "1, 2 or 3: each home's allowance becomes its minimum plus 1/2, 1/4 or none of the rest of its allowed power",
    },
  },
  'level',
);

export const emergencyRoute = resourceRoutes('slots', 'dr')(
  'DSO: declare a grid emergency for a slot before its dispatch (majority-endorsed)',
  { roles: ['dso'], params: slotIdParams, body: emergencyBody, response: { 200: slotResponse } },
);

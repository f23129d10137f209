import { resourceRoutes } from '../../http/routes';
import { answerObject, busId, closedObject, number, slotId, slotIdParams, text } from '../common/schemas';
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

/** A HEMS device's home reference for a slot (GET /v1/slots/:slotId/receipt). */
export const homeReceipt = answerObject({ slotId: text, org: text, bus: text, homeRef: text });

export const receiptRoute = route(
  'HEMS device: its home reference for this slot, to prove its submission to an auditor',
  { roles: ['hems'], params: slotIdParams, response: { 200: homeReceipt } },
);

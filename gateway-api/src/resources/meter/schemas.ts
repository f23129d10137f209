import { answerObject, homeId, integer, listBodyLimit, text, windowIdParams } from '../common/schemas';
import { MAX_AVAILABILITY_ENTRIES, MAX_READINGS } from '@hems/protocol';
import { MAX_KWH } from '../common/units';

/** Trade ids as the clearing numbers them (t1, t2, ...; the chaincode's TRADE_ID). */
const tradeId = {
  type: 'string',
  pattern: '^t[1-9][0-9]{0,5}$',
  description: 'Trade id of the clearing, e.g. t1',
} as const;
const kwh = {
  type: 'number',
  minimum: 0,
  maximum: MAX_KWH,
  description: 'kWh, at most 3 decimals',
} as const;

export const availabilityBody = {
  type: 'object',
  required: ['availability'],
  additionalProperties: false,
  properties: {
    availability: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_AVAILABILITY_ENTRIES,
      items: {
        type: 'object',
        required: ['homeId', 'energyKwh'],
        additionalProperties: false,
        properties: { homeId, energyKwh: kwh },
      },
    },
  },
} as const;

export const readingsBody = {
  type: 'object',
  required: ['readings'],
  additionalProperties: false,
  properties: {
    readings: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_READINGS,
      description: "One reading for every trade side of this utility's accounts",
      items: {
        type: 'object',
        required: ['tradeId', 'side', 'energyKwh'],
        additionalProperties: false,
        properties: { tradeId, side: { type: 'string', enum: ['offer', 'bid'] }, energyKwh: kwh },
      },
    },
  },
} as const;

/** The largest energy as a JSON number (all digits a kWh with 3 decimals may have). */
const LONGEST_KWH = 999_999.999;

/**
 * Per-route body limits from the largest entry each list may hold (the global limit is far
 * smaller). Only meter identities get this far: roles are checked before the body is read.
 */
export const AVAILABILITY_BODY_LIMIT = listBodyLimit(
  { homeId: 'h'.repeat(128), energyKwh: LONGEST_KWH },
  MAX_AVAILABILITY_ENTRIES,
);
export const READINGS_BODY_LIMIT = listBodyLimit(
  { tradeId: 't999999', side: 'offer', energyKwh: LONGEST_KWH },
  MAX_READINGS,
);

/** The per-org public totals of a delivery report. */
export const deliveryTotals = {
  type: 'object',
  properties: {
    deliveredWh: { type: 'integer' },
    receivedWh: { type: 'integer' },
    sellerValue: { type: 'string' },
    buyerCharge: { type: 'string' },
  },
} as const;

export const availabilityAnswer = answerObject({ windowId: text, org: text, homes: integer, txId: text });

export const deliveryAnswer = answerObject(
  { windowId: text, org: text, readings: integer, txId: text },
  { totals: deliveryTotals },
);

export const availableEnergyRoute = {
  tags: ['meter'],
  summary: "Meter head-end: each prosumer's energy available for the window (caps its offer)",
  params: windowIdParams,
  body: availabilityBody,
  response: { 200: availabilityAnswer },
} as const;

export const meterReportRoute = {
  tags: ['meter'],
  summary:
    "Meter head-end: delivered (offer) and received (bid) energy of each of its org's trade sides after delivery " +
    '(one report per window, every trade side at once)',
  params: windowIdParams,
  body: readingsBody,
  response: { 200: deliveryAnswer },
} as const;

import { resourceRoutes } from '../../http/routes';
import {
  answerObject,
  busId,
  closedObject,
  homeId,
  optionalMembers,
  integer,
  listBodyLimit,
  text,
  slotIdParams,
  windowIdParams,
} from '../common/schemas';
import { INTERVALS_PER_DAY, MAX_AVAILABILITY_ENTRIES, MAX_READINGS } from '@hems/protocol';
import { MAX_KWH } from '../common/units';

const route = resourceRoutes('meter');

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

export const availabilityBody = closedObject(
  {
    availability: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_AVAILABILITY_ENTRIES,
      items: closedObject({ homeId, energyKwh: kwh }, 'homeId', 'energyKwh'),
    },
  },
  'availability',
);

const side = { type: 'string', enum: ['offer', 'bid'] } as const;

export const readingsBody = closedObject(
  {
    readings: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_READINGS,
      description: "One reading for every trade side of this utility's accounts",
      items: closedObject({ tradeId, side, energyKwh: kwh }, 'tradeId', 'side', 'energyKwh'),
    },
  },
  'readings',
);

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
export const deliveryTotals = optionalMembers({
  deliveredWh: integer,
  receivedWh: integer,
  sellerValue: text,
  buyerCharge: text,
});

export const availabilityAnswer = answerObject({ windowId: text, org: text, homes: integer, txId: text });

export const deliveryAnswer = answerObject(
  { windowId: text, org: text, readings: integer, txId: text },
  { totals: deliveryTotals },
);

export const availableEnergyRoute = route(
  "Meter head-end: each prosumer's energy available for the window (caps its offer)",
  {
    roles: ['meter'],
    bodyLimit: AVAILABILITY_BODY_LIMIT,
    params: windowIdParams,
    body: availabilityBody,
    response: { 200: availabilityAnswer },
  },
);

export const meterReportRoute = route(
  "Meter head-end: delivered (offer) and received (bid) energy of each of its org's trade sides after delivery " +
    '(one report per window, every trade side at once)',
  {
    roles: ['meter'],
    bodyLimit: READINGS_BODY_LIMIT,
    params: windowIdParams,
    body: readingsBody,
    response: { 200: deliveryAnswer },
  },
);

/** Readings per slot post: the chaincode's bound (RecordMeterReadings). */
export const MAX_SLOT_READINGS = 1000;
/** The most a home can use in a 15-minute slot at the largest per-home maximum the settings allow. */
const MAX_SLOT_WH = 10_000 * 250;

export const slotReadingsBody = closedObject(
  {
    readings: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_SLOT_READINGS,
      description: "Each home's metered energy over the slot, integer Wh",
      items: closedObject(
        { homeId, energyWh: { type: 'integer', minimum: 0, maximum: MAX_SLOT_WH } },
        'homeId',
        'energyWh',
      ),
    },
  },
  'readings',
);

export const SLOT_READINGS_BODY_LIMIT = listBodyLimit(
  { homeId: 'h'.repeat(128), energyWh: MAX_SLOT_WH },
  MAX_SLOT_READINGS,
);

const itemRefusal = answerObject({ index: integer, code: text, message: text });

export const slotReadingsAnswer = answerObject(
  {
    slotId: text,
    org: text,
    accepted: integer,
    refused: { type: 'array', items: itemRefusal },
  },
  { txId: text },
);

export const slotReadingsRoute = route(
  "Meter head-end (validation authority): each home's metered energy in a dispatched slot; the utility's " +
    'consumption summary sums these and counts the device reports that disagree',
  {
    roles: ['meter'],
    bodyLimit: SLOT_READINGS_BODY_LIMIT,
    params: slotIdParams,
    body: slotReadingsBody,
    response: { 200: slotReadingsAnswer },
  },
);

/** Meter days per post: the chaincode's bound (RecordMeterDays). */
export const MAX_METER_DAYS = 200;

const calendarDate = {
  type: 'string',
  pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$',
  description: 'Calendar date, YYYY-MM-DD (UTC day)',
} as const;

export const meterDaysBody = closedObject(
  {
    days: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_METER_DAYS,
      description: "Whole metered days of the utility's homes (each home's private daily history)",
      items: closedObject(
        {
          homeId,
          bus: busId,
          date: calendarDate,
          intervalsWh: {
            type: 'array',
            minItems: INTERVALS_PER_DAY,
            maxItems: INTERVALS_PER_DAY,
            items: { type: 'integer', minimum: 0, maximum: MAX_SLOT_WH },
            description: 'Metered energy of each 15-minute interval of the day from 00:00, integer Wh',
          },
          holiday: { type: 'boolean', description: "A public holiday of the program's calendar" },
        },
        'homeId',
        'bus',
        'date',
        'intervalsWh',
      ),
    },
  },
  'days',
);

export const METER_DAYS_BODY_LIMIT = listBodyLimit(
  {
    homeId: 'h'.repeat(128),
    bus: 'b'.repeat(32),
    date: '2030-01-01',
    intervalsWh: Array.from({ length: INTERVALS_PER_DAY }, () => MAX_SLOT_WH),
    holiday: false,
  },
  MAX_METER_DAYS,
);

export const meterDaysAnswer = answerObject(
  { accepted: integer, refused: { type: 'array', items: itemRefusal } },
  {
    recordedAt: text,
    txId: { type: 'string', description: 'Absent when every day was refused (nothing was ordered)' },
  },
);

export const meterDaysRoute = resourceRoutes('meter', 'dr')(
  "Meter head-end: whole metered days of the utility's homes, kept on its own peer as each home's private " +
    'history (the demand-response baselines read it)',
  {
    roles: ['meter'],
    bodyLimit: METER_DAYS_BODY_LIMIT,
    body: meterDaysBody,
    response: { 200: meterDaysAnswer },
  },
);

/** Exports per production post: the chaincode's bound (MintForProduction). */
export const MAX_PRODUCTION_EXPORTS = 1000;

export const productionBody = closedObject(
  {
    exports: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_PRODUCTION_EXPORTS,
      description:
        "Each home's metered export to the grid over the slot, integer Wh (a home that exported nothing is left out)",
      items: closedObject(
        { homeId, exportWh: { type: 'integer', minimum: 1, maximum: MAX_SLOT_WH } },
        'homeId',
        'exportWh',
      ),
    },
  },
  'exports',
);

export const PRODUCTION_BODY_LIMIT = listBodyLimit(
  { homeId: 'h'.repeat(128), exportWh: MAX_SLOT_WH },
  MAX_PRODUCTION_EXPORTS,
);

/** MintForProduction's receipt: counts and the minted total, never a home or an export. */
export const productionReceipt = answerObject(
  {
    slotId: text,
    accepted: integer,
    minted: { type: 'string', description: 'Value units (1e-10 currency) minted by this post' },
    refused: { type: 'array', items: itemRefusal },
  },
  { txId: { type: 'string', description: 'Absent when every export was refused (nothing was ordered)' } },
);

export const productionRoute = route(
  "Meter head-end: each home's metered export in a slot, minted as production tokens into its account (once per slot)",
  {
    roles: ['meter'],
    bodyLimit: PRODUCTION_BODY_LIMIT,
    params: slotIdParams,
    body: productionBody,
    response: { 200: productionReceipt },
  },
);

import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import {
  decodeJson,
  homeId,
  listBodyLimit,
  requireOwnOperator,
  windowIdParams,
  type WindowIdParams,
} from './common';
import { MAX_KWH, requireKwh } from './units';
import { MAX_AVAILABILITY_ENTRIES, MAX_READINGS } from '@hems/protocol';

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

const availabilityBody = {
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

const readingsBody = {
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

interface AvailabilityBody {
  availability: { homeId: string; energyKwh: number }[];
}

interface ReadingsBody {
  readings: { tradeId: string; side: 'offer' | 'bid'; energyKwh: number }[];
}

/** The per-org public totals of a delivery report. */
const deliveryTotals = {
  type: 'object',
  properties: {
    deliveredWh: { type: 'integer' },
    receivedWh: { type: 'integer' },
    sellerValue: { type: 'string' },
    buyerCharge: { type: 'string' },
  },
} as const;

const TOTAL_NAMES = ['deliveredWh', 'receivedWh', 'sellerValue', 'buyerCharge'] as const;

/**
 * The public totals in the chaincode's answer: the org's window part `{delivery: {...}}`,
 * `{totals: {...}}`, or the totals themselves.
 */
function totalsOf(answer: unknown): Record<string, unknown> | undefined {
  const record = (answer ?? {}) as Record<string, unknown>;
  const nested = [record.delivery, record.totals].find(
    (candidate): candidate is Record<string, unknown> => typeof candidate === 'object' && candidate !== null,
  );
  const candidate = nested ?? record;
  const totals = Object.fromEntries(
    TOTAL_NAMES.filter((name) => name in candidate).map((name) => [name, candidate[name]]),
  );
  return Object.keys(totals).length === 0 ? undefined : totals;
}

function refuseRepeat(name: string, index: number, what: string): never {
  throw new HttpError(400, 'INVALID_REQUEST', `${name}[${index}] repeats the ${what} of an earlier entry`);
}

/**
 * The meter head-end's posts on its own utility's gateway: per-home available energy before
 * trading, per-trade delivered and received energy after delivery. Both are private: they go to
 * the utility's peer in transient data only, and no message repeats a home id or a reading.
 */
export function meterRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.post<{ Params: WindowIdParams; Body: AvailabilityBody }>(
      '/v1/windows/:windowId/available-energy',
      {
        config: { roles: ['meter'] },
        bodyLimit: AVAILABILITY_BODY_LIMIT,
        schema: {
          tags: ['meter'],
          summary: "Meter head-end: each prosumer's energy available for the window (caps its offer)",
          params: windowIdParams,
          body: availabilityBody,
          response: {
            200: {
              type: 'object',
              required: ['windowId', 'org', 'homes', 'txId'],
              properties: {
                windowId: { type: 'string' },
                org: { type: 'string' },
                homes: { type: 'integer' },
                txId: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'meter', 'posting available energy');
        const seen = new Set<string>();
        const availability = request.body.availability.map((entry, index) => {
          if (seen.has(entry.homeId)) {
            refuseRepeat('availability', index, 'home');
          }
          seen.add(entry.homeId);
          return {
            homeId: entry.homeId,
            energyKwh: requireKwh(entry.energyKwh, `availability[${index}].energyKwh`),
          };
        });
        const submitted = await ledger.contract('meter', 'auction').submit('PostAvailableEnergy', {
          arguments: [request.params.windowId],
          transientData: { availability: Buffer.from(JSON.stringify(availability), 'utf8') },
          endorsingOrganizations: [ledger.mspId],
        });
        void reply.header('x-transaction-id', submitted.transactionId);
        return {
          windowId: request.params.windowId,
          org: ledger.mspId,
          homes: availability.length,
          txId: submitted.transactionId,
        };
      },
    );

    app.post<{ Params: WindowIdParams; Body: ReadingsBody }>(
      '/v1/windows/:windowId/meter-reports',
      {
        config: { roles: ['meter'] },
        bodyLimit: READINGS_BODY_LIMIT,
        schema: {
          tags: ['meter'],
          summary:
            "Meter head-end: delivered (offer) and received (bid) energy of each of its org's trade sides after delivery " +
            '(one report per window, every trade side at once)',
          params: windowIdParams,
          body: readingsBody,
          response: {
            200: {
              type: 'object',
              required: ['windowId', 'org', 'readings', 'txId'],
              properties: {
                windowId: { type: 'string' },
                org: { type: 'string' },
                readings: { type: 'integer' },
                txId: { type: 'string' },
                totals: deliveryTotals,
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'meter', 'reporting delivery');
        const seen = new Set<string>();
        const readings = request.body.readings.map((entry, index) => {
          const key = `${entry.tradeId}\n${entry.side}`;
          if (seen.has(key)) {
            refuseRepeat('readings', index, 'trade side');
          }
          seen.add(key);
          return {
            tradeId: entry.tradeId,
            side: entry.side,
            energyKwh: requireKwh(entry.energyKwh, `readings[${index}].energyKwh`),
          };
        });
        const submitted = await ledger.contract('meter', 'auction').submit('ReportDelivery', {
          arguments: [request.params.windowId],
          transientData: { readings: Buffer.from(JSON.stringify(readings), 'utf8') },
          endorsingOrganizations: [ledger.mspId],
        });
        void reply.header('x-transaction-id', submitted.transactionId);
        const totals = totalsOf(decodeJson(submitted.result));
        return {
          windowId: request.params.windowId,
          org: ledger.mspId,
          readings: readings.length,
          txId: submitted.transactionId,
          ...(totals === undefined ? {} : { totals }),
        };
      },
    );

    done();
  };
}

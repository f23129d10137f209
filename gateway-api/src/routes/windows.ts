import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import {
  decodeJson,
  publicObject,
  readerIdentity,
  requireDeviceAtHome,
  requireOwnOperator,
  slotId,
  windowId,
  windowIdParams,
  type WindowIdParams,
} from './common';

export const PRICING_RULES = ['pay-as-clear', 'pay-as-bid'] as const;

/** The chaincode's bound on a window's report grace: 7 days. */
export const MAX_REPORT_GRACE_SECONDS = 604_800;

const openWindowBody = {
  type: 'object',
  required: ['windowId', 'deliverySlotId', 'deliveryStart', 'deliveryEnd', 'closesAt'],
  additionalProperties: false,
  properties: {
    windowId,
    deliverySlotId: { ...slotId, description: 'The delivery slot the window trades energy for' },
    deliveryStart: { type: 'string', format: 'date-time', description: 'RFC 3339 start of delivery' },
    deliveryEnd: { type: 'string', format: 'date-time', description: 'RFC 3339 end of delivery' },
    closesAt: {
      type: 'string',
      format: 'date-time',
      description: 'RFC 3339 time when orders close (after now, at most deliveryStart)',
    },
    pricingRule: { type: 'string', enum: PRICING_RULES, description: 'Default pay-as-clear' },
    reportGraceSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: MAX_REPORT_GRACE_SECONDS,
      description:
        'Seconds after deliveryEnd within which every utility with trades reports its deliveries (reportBy); ' +
        `after it the window settles without the missing reports. 0 to ${MAX_REPORT_GRACE_SECONDS}, default 3600`,
    },
  },
} as const;

interface OpenWindowBody {
  windowId: string;
  deliverySlotId: string;
  deliveryStart: string;
  deliveryEnd: string;
  closesAt: string;
  pricingRule?: (typeof PRICING_RULES)[number];
  reportGraceSeconds?: number;
}

const isoTime = { type: 'string', format: 'date-time' } as const;
const valueUnits = { type: 'string', description: 'Value units (1e-10 currency), decimal integer' } as const;
const transactionRecord = {
  type: 'object',
  additionalProperties: true,
  properties: { txId: { type: 'string' } },
} as const;

/**
 * A utility's part of a window (docs/auction.md, GetWindow). Every object here lets members it
 * does not name through (additionalProperties), so a field the chaincode adds is never dropped.
 */
const windowPart = {
  type: 'object',
  additionalProperties: true,
  properties: {
    windowId: { type: 'string' },
    org: { type: 'string' },
    charged: valueUnits,
    paid: valueUnits,
    refunded: valueUnits,
    revealed: transactionRecord,
    released: transactionRecord,
    delivery: transactionRecord,
    settlement: transactionRecord,
    withdrawnOffers: {
      description: "This utility's offers withdrawn from the clearing, as the chaincode reports them",
    },
  },
} as const;

/** The clearing's public result (GetClearing) as GET /v1/windows/{windowId} shows it. */
const clearingResult = {
  type: 'object',
  additionalProperties: true,
  properties: {
    windowId: { type: 'string' },
    pricingRule: { type: 'string' },
    clearingPrice: {
      type: ['number', 'null'],
      description: 'Price units (1e-4 currency per MWh); null for pay-as-bid or without trades',
    },
    orders: { type: 'integer' },
    trades: {
      type: 'array',
      items: { type: 'object', additionalProperties: true },
      description:
        '{tradeId, offerRef, bidRef, sellerAccount, buyerAccount, sellerOrg, buyerOrg, energyWh, price, value}',
    },
    totals: { type: 'object', additionalProperties: true },
    excludedOrgs: {
      type: 'array',
      items: { type: 'string' },
      description: 'Utilities that had not revealed by revealBy: cleared without their orders',
    },
    droppedRevoked: {
      type: 'integer',
      description: 'Revealed orders left out because their device was revoked',
    },
    clearedAt: isoTime,
    txId: { type: 'string' },
  },
} as const;

/** GET /v1/windows/{windowId}: the window (GetWindow) with its clearing once cleared. */
const windowView = {
  type: 'object',
  required: ['windowId', 'status'],
  additionalProperties: true,
  properties: {
    windowId: { type: 'string' },
    deliverySlotId: { type: 'string' },
    deliveryStart: isoTime,
    deliveryEnd: isoTime,
    closesAt: isoTime,
    revealBy: {
      ...isoTime,
      description: 'After it the window may be cleared without the utilities that have not revealed',
    },
    reportBy: {
      ...isoTime,
      description: 'deliveryEnd + reportGraceSeconds: after it the window may settle without missing reports',
    },
    pricingRule: { type: 'string' },
    status: { type: 'string', enum: ['OPEN', 'CLOSED', 'CLEARED', 'SETTLED'] },
    orgs: { type: 'array', items: { type: 'string' } },
    tradeOrgs: { type: 'array', items: { type: 'string' } },
    parts: { type: 'array', items: windowPart },
    pool: { type: 'object', additionalProperties: true },
    clearing: clearingResult,
  },
} as const;

/** What ClearWindow answers: a summary (the trades themselves are in GET /v1/windows/{windowId}). */
const clearingSummary = {
  type: 'object',
  required: ['windowId', 'pricingRule', 'clearingPrice', 'trades', 'tradedWh', 'clearedAt', 'txId'],
  additionalProperties: true,
  properties: {
    windowId: { type: 'string' },
    pricingRule: { type: 'string' },
    clearingPrice: clearingResult.properties.clearingPrice,
    trades: { type: 'integer', description: 'Number of trades' },
    tradedWh: { type: 'integer', description: 'Energy traded, Wh' },
    excludedOrgs: clearingResult.properties.excludedOrgs,
    droppedRevoked: clearingResult.properties.droppedRevoked,
    clearedAt: isoTime,
    txId: { type: 'string' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pageSize: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1-100, default 50' },
    bookmark: { type: 'string', maxLength: 1024, description: 'From the previous page' },
  },
} as const;

/**
 * The public window record (GetWindow: spec, status, each utility's part, the pool) with its
 * clearing (GetClearing: price, trades, totals) once it was cleared.
 */
export async function loadWindow(ledger: Ledger, id: string): Promise<Record<string, unknown>> {
  const auction = ledger.contract(readerIdentity(ledger), 'auction');
  const window = decodeJson<Record<string, unknown>>(
    await auction.evaluate('GetWindow', { arguments: [id] }),
  );
  if (typeof window.clearedAt !== 'string') {
    return window;
  }
  return { ...window, clearing: decodeJson(await auction.evaluate('GetClearing', { arguments: [id] })) };
}

/**
 * Trading windows of the energy auction: the market operator opens and clears them and claims
 * their grid shares on its DSO gateway; everyone reads them (devices at their own utility's gateway) and may audit a clearing.
 */
export function windowRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.post<{ Body: OpenWindowBody }>(
      '/v1/windows',
      {
        config: { roles: ['market'] },
        schema: {
          tags: ['windows'],
          summary: 'Market operator: open a trading window for a delivery slot',
          body: openWindowBody,
          response: { 201: publicObject },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'market', 'opening a trading window');
        const { windowId: id, pricingRule, reportGraceSeconds, ...times } = request.body;
        const closesAt = Date.parse(times.closesAt);
        const start = Date.parse(times.deliveryStart);
        const end = Date.parse(times.deliveryEnd);
        if (!(closesAt <= start && start < end)) {
          throw new HttpError(
            400,
            'INVALID_REQUEST',
            'the window must close at or before deliveryStart, and deliveryStart must precede deliveryEnd',
          );
        }
        // Options left out are left to the chaincode's defaults.
        const spec = {
          ...times,
          ...(pricingRule === undefined ? {} : { pricingRule }),
          ...(reportGraceSeconds === undefined ? {} : { reportGraceSeconds }),
        };
        const submitted = await ledger
          .contract('market', 'auction')
          .submit('OpenTradingWindow', { arguments: [id, JSON.stringify(spec)] });
        void reply
          .status(201)
          .header('x-transaction-id', submitted.transactionId)
          .header('location', `/v1/windows/${encodeURIComponent(id)}`);
        return decodeJson(submitted.result);
      },
    );

    app.get<{ Querystring: { pageSize?: string; bookmark?: string } }>(
      '/v1/windows',
      {
        schema: {
          tags: ['windows'],
          summary: 'Trading windows, a page at a time, with their status',
          querystring: listQuery,
          response: { 200: publicObject },
        },
      },
      async (request) => {
        requireDeviceAtHome(ledger, request);
        return decodeJson(
          await ledger.contract(readerIdentity(ledger), 'auction').evaluate('ListWindows', {
            arguments: [request.query.pageSize ?? '50', request.query.bookmark ?? ''],
          }),
        );
      },
    );

    app.get<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId',
      {
        schema: {
          tags: ['windows'],
          summary: 'A trading window: spec, status, clearing result and public totals when present',
          params: windowIdParams,
          response: { 200: windowView },
        },
      },
      async (request) => {
        requireDeviceAtHome(ledger, request);
        return loadWindow(ledger, request.params.windowId);
      },
    );

    app.post<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId/clearing',
      {
        config: { roles: ['market'] },
        schema: {
          tags: ['windows'],
          summary:
            'Market operator: clear a closed window once every utility revealed its orders, or after revealBy ' +
            'without those that did not; answers a summary (the trades are in GET /v1/windows/{windowId})',
          params: windowIdParams,
          response: { 200: clearingSummary },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'market', 'clearing a trading window');
        const submitted = await ledger
          .contract('market', 'auction')
          .submit('ClearWindow', { arguments: [request.params.windowId] });
        void reply.header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    app.post<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId/grid-share',
      {
        config: { roles: ['market'] },
        schema: {
          tags: ['windows'],
          summary:
            "Market operator of the window's DSO: credit what is left in a settled window's pool to its grid account (once)",
          params: windowIdParams,
          response: {
            200: {
              type: 'object',
              required: ['windowId', 'account', 'amount', 'claimedAt', 'txId'],
              properties: {
                windowId: { type: 'string' },
                account: { type: 'string', description: 'grid:<DSO MSP id>' },
                amount: { type: 'string', description: 'Value units credited (may be "0")' },
                claimedAt: { type: 'string' },
                txId: { type: 'string' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        requireOwnOperator(ledger, request, 'market', "claiming a window's grid share");
        // Majority-endorsed (default plan): the grid account and the window key have no
        // key-level policy.
        const submitted = await ledger
          .contract('market', 'auction')
          .submit('ClaimGridShare', { arguments: [request.params.windowId] });
        void reply.header('x-transaction-id', submitted.transactionId);
        return decodeJson(submitted.result);
      },
    );

    app.get<{ Params: WindowIdParams }>(
      '/v1/windows/:windowId/audit',
      {
        schema: {
          tags: ['windows', 'audit'],
          summary:
            'Recompute the clearing from the revealed orders and check each against its private-data hash',
          params: windowIdParams,
          response: {
            200: {
              type: 'object',
              required: ['matches'],
              additionalProperties: true,
              description:
                '{matches, sameResult, ordersVerified, ordersMismatched, ordersPurged, recomputed, published} as the chaincode answers it',
              properties: {
                matches: { type: 'boolean' },
                sameResult: { type: 'boolean' },
                ordersVerified: { type: 'integer' },
                ordersMismatched: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Order references whose revealed bytes do not match their private-data hash',
                },
                ordersPurged: {
                  description:
                    'Revealed orders whose private data is purged, so their bytes cannot be checked',
                },
                recomputed: { type: 'object', additionalProperties: true },
                published: { type: 'object', additionalProperties: true },
              },
            },
          },
        },
      },
      async (request) => {
        requireDeviceAtHome(ledger, request);
        return decodeJson(
          await ledger
            .contract(readerIdentity(ledger), 'auction')
            .evaluate('AuditClearing', { arguments: [request.params.windowId] }),
        );
      },
    );

    done();
  };
}

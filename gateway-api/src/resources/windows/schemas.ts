import { answerObject, publicObject, slotId, text, windowId, windowIdParams } from '../common/schemas';
import { CLEARING_RULES, MAX_REPORT_GRACE_SECONDS } from '@hems/protocol';

export const openWindowBody = {
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
    pricingRule: { type: 'string', enum: CLEARING_RULES, description: 'Default pay-as-clear' },
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
export const windowView = {
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
export const clearingSummary = {
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

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pageSize: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1-100, default 50' },
    bookmark: { type: 'string', maxLength: 1024, description: 'From the previous page' },
  },
} as const;

/** What ClaimGridShare answers. */
export const gridShareClaim = answerObject({
  windowId: text,
  account: { type: 'string', description: 'grid:<DSO MSP id>' },
  amount: { type: 'string', description: 'Value units credited (may be "0")' },
  claimedAt: text,
  txId: text,
});

/** What AuditClearing answers. */
export const clearingAudit = {
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
      description: 'Revealed orders whose private data is purged, so their bytes cannot be checked',
    },
    recomputed: { type: 'object', additionalProperties: true },
    published: { type: 'object', additionalProperties: true },
  },
} as const;

export const openWindowRoute = {
  tags: ['windows'],
  summary: 'Market operator: open a trading window for a delivery slot',
  body: openWindowBody,
  response: { 201: publicObject },
} as const;

export const listWindowsRoute = {
  tags: ['windows'],
  summary: 'Trading windows, a page at a time, with their status',
  querystring: listQuery,
  response: { 200: publicObject },
} as const;

export const windowRoute = {
  tags: ['windows'],
  summary: 'A trading window: spec, status, clearing result and public totals when present',
  params: windowIdParams,
  response: { 200: windowView },
} as const;

export const clearWindowRoute = {
  tags: ['windows'],
  summary:
    'Market operator: clear a closed window once every utility revealed its orders, or after revealBy ' +
    'without those that did not; answers a summary (the trades are in GET /v1/windows/{windowId})',
  params: windowIdParams,
  response: { 200: clearingSummary },
} as const;

export const gridShareRoute = {
  tags: ['windows'],
  summary:
    "Market operator of the window's DSO: credit what is left in a settled window's pool to its grid account (once)",
  params: windowIdParams,
  response: { 200: gridShareClaim },
} as const;

export const auditClearingRoute = {
  tags: ['windows', 'audit'],
  summary: 'Recompute the clearing from the revealed orders and check each against its private-data hash',
  params: windowIdParams,
  response: { 200: clearingAudit },
} as const;

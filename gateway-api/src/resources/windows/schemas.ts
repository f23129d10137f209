import { resourceRoutes } from '../../http/routes';
import {
  answerObject,
  boolean,
  closedObject,
  integer,
  openObject,
  pageQuery,
  publicObject,
  slotId,
  text,
  windowId,
  windowIdParams,
} from '../common/schemas';
import { CLEARING_RULES, MAX_REPORT_GRACE_SECONDS } from '@hems/protocol';

const route = resourceRoutes('windows');

const isoTime = { type: 'string', format: 'date-time' } as const;

/** An RFC 3339 time a client names, described. */
function timeOf<const Description extends string>(description: Description) {
  return { ...isoTime, description } as const;
}

export const openWindowBody = closedObject(
  {
    windowId,
    deliverySlotId: { ...slotId, description: 'The delivery slot the window trades energy for' },
    deliveryStart: timeOf('RFC 3339 start of delivery'),
    deliveryEnd: timeOf('RFC 3339 end of delivery'),
    closesAt: timeOf('RFC 3339 time when orders close (after now, at most deliveryStart)'),
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
  'windowId',
  'deliverySlotId',
  'deliveryStart',
  'deliveryEnd',
  'closesAt',
);

export const openWindowRoute = route('Market operator: open a trading window for a delivery slot', {
  roles: ['market'],
  body: openWindowBody,
  response: { 201: publicObject },
});

const valueUnits = { type: 'string', description: 'Value units (1e-10 currency), decimal integer' } as const;
const transactionRecord = openObject({ txId: text });
const texts = { type: 'array', items: text } as const;

/**
 * A utility's part of a window (docs/auction.md, GetWindow). Every object here lets members it
 * does not name through (additionalProperties), so a field the chaincode adds is never dropped.
 */
const windowPart = openObject({
  windowId: text,
  org: text,
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
});

/** Members of the clearing's result that its summary repeats. */
const clearingPrice = {
  type: ['number', 'null'],
  description: 'Price units (1e-4 currency per MWh); null for pay-as-bid or without trades',
} as const;
const excludedOrgs = {
  ...texts,
  description: 'Utilities that had not revealed by revealBy: cleared without their orders',
} as const;
const droppedRevoked = {
  type: 'integer',
  description: 'Revealed orders left out because their device was revoked',
} as const;

/** The clearing's public result (GetClearing) as GET /v1/windows/{windowId} shows it. */
const clearingResult = openObject({
  windowId: text,
  pricingRule: text,
  clearingPrice,
  orders: integer,
  trades: {
    type: 'array',
    items: publicObject,
    description:
      '{tradeId, offerRef, bidRef, sellerAccount, buyerAccount, sellerOrg, buyerOrg, energyWh, price, value}',
  },
  totals: publicObject,
  excludedOrgs,
  droppedRevoked,
  clearedAt: isoTime,
  txId: text,
});

/** GET /v1/windows/{windowId}: the window (GetWindow) with its clearing once cleared. */
export const windowView = openObject(
  {
    windowId: text,
    deliverySlotId: text,
    deliveryStart: isoTime,
    deliveryEnd: isoTime,
    closesAt: isoTime,
    revealBy: timeOf('After it the window may be cleared without the utilities that have not revealed'),
    reportBy: timeOf(
      'deliveryEnd + reportGraceSeconds: after it the market operator may close the delivery reports',
    ),
    reportsClosedAt: timeOf('When the market operator closed the delivery reports (CloseDeliveryReports)'),
    unreportedOrgs: {
      ...texts,
      description:
        'Fixed by the closure: utilities with trades whose delivery report does not count (missing, or totals beyond the clearing)',
    },
    pricingRule: text,
    status: { type: 'string', enum: ['OPEN', 'CLOSED', 'CLEARED', 'SETTLED'] },
    orgs: texts,
    tradeOrgs: texts,
    parts: { type: 'array', items: windowPart },
    pool: publicObject,
    clearing: clearingResult,
  },
  'windowId',
  'status',
);

export const windowRoute = route(
  'A trading window: spec, status, clearing result and public totals when present',
  { params: windowIdParams, response: { 200: windowView } },
);

/** What ClearWindow answers: a summary (the trades themselves are in GET /v1/windows/{windowId}). */
export const clearingSummary = openObject(
  {
    windowId: text,
    pricingRule: text,
    clearingPrice,
    trades: { type: 'integer', description: 'Number of trades' },
    tradedWh: { type: 'integer', description: 'Energy traded, Wh' },
    excludedOrgs,
    droppedRevoked,
    clearedAt: isoTime,
    txId: text,
  },
  'windowId',
  'pricingRule',
  'clearingPrice',
  'trades',
  'tradedWh',
  'clearedAt',
  'txId',
);

export const clearWindowRoute = route(
  'Market operator: clear a closed window once every utility revealed its orders, or after revealBy ' +
    'without those that did not; answers a summary (the trades are in GET /v1/windows/{windowId})',
  { roles: ['market'], params: windowIdParams, response: { 200: clearingSummary } },
);

export const listWindowsRoute = route('Trading windows, a page at a time, with their status', {
  querystring: pageQuery,
  response: { 200: publicObject },
});

/** What CloseDeliveryReports answers. */
export const reportClosure = answerObject({
  windowId: text,
  unreportedOrgs: {
    ...texts,
    description:
      'Utilities with trades whose delivery report does not count: they settle as nothing delivered or received',
  },
  reportsClosedAt: isoTime,
  txId: text,
});

export const reportClosureRoute = route(
  'Market operator, from reportBy on, once: close the delivery reports of a cleared window, fixing (majority-endorsed) ' +
    'which utilities settle without a report; later reports are refused',
  { roles: ['market'], params: windowIdParams, response: { 200: reportClosure } },
);

/** What ClaimGridShare answers. */
export const gridShareClaim = answerObject(
  {
    windowId: text,
    account: { type: 'string', description: 'grid:<DSO MSP id>' },
    amount: { type: 'string', description: 'Value units credited by this claim (may be "0")' },
    claimedAt: text,
    txId: text,
  },
  {
    reserved: {
      type: 'string',
      description:
        'Value units kept in the pool for the sellers of utilities that have not settled ("0" once the window is settled)',
    },
  },
);

export const gridShareRoute = route(
  "Market operator of the window's DSO: credit what is left in a settled window's pool to its grid account; " +
    'from an hour after the delivery reports were closed also before, less a reserve for the sellers of utilities ' +
    'that have not settled (the rest once the window is settled)',
  { roles: ['market'], params: windowIdParams, response: { 200: gridShareClaim } },
);

/** What AuditClearing answers. */
export const clearingAudit = {
  ...openObject(
    {
      matches: boolean,
      sameResult: boolean,
      ordersVerified: integer,
      ordersMismatched: {
        ...texts,
        description: 'Order references whose revealed bytes do not match their private-data hash',
      },
      ordersPurged: {
        description: 'Revealed orders whose private data is purged, so their bytes cannot be checked',
      },
      recomputed: publicObject,
      published: publicObject,
    },
    'matches',
  ),
  description:
    '{matches, sameResult, ordersVerified, ordersMismatched, ordersPurged, recomputed, published} as the chaincode answers it',
};

export const auditClearingRoute = resourceRoutes('windows', 'audit')(
  'Recompute the clearing from the revealed orders and check each against its private-data hash',
  { params: windowIdParams, response: { 200: clearingAudit } },
);

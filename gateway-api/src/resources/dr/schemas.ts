import { BASELINE_METHODS, MAX_PRICE, SLOT_ID_PATTERN } from '@hems/protocol';
import { resourceRoutes } from '../../http/routes';
import {
  answerObject,
  boolean,
  closedObject,
  homeId,
  idParams,
  integer,
  listBodyLimit,
  openObject,
  pageQuery,
  publicObject,
  slotId,
  text,
} from '../common/schemas';
import { MAX_DEPOSIT } from '../common/units';

const route = resourceRoutes('dr');

/** Event ids have the form of slot ids (the chaincode's identifier characters). */
export const eventId = {
  type: 'string',
  pattern: SLOT_ID_PATTERN,
  description: 'Demand-response event identifier, e.g. dr-2030-01-07-peak',
} as const;

export const eventIdParams = idParams('eventId', eventId);

/** Slots per event: every quarter hour of one UTC day. */
export const MAX_EVENT_SLOTS = 96;
/** Homes per PayRewards call (the chaincode's bound). */
export const MAX_REWARD_HOMES = 500;
/** The largest rate, currency per kWh: the auction's largest price per MWh, per kWh. */
export const MAX_RATE_PER_KWH = MAX_PRICE / 1000;
/** The largest pool funding or event budget, currency (the token ledger's largest amount). */
export const MAX_DR_AMOUNT = MAX_DEPOSIT;

/** A currency amount as a JSON number or a decimal string (checked by currencyAmount). */
function currencyMember<const Description extends string>(description: Description) {
  return {
    anyOf: [{ type: 'number' }, { type: 'string', maxLength: 32 }],
    description,
  } as const;
}

const valueUnits = { type: 'string', description: 'Value units (1e-10 currency), decimal integer' } as const;
const itemRefusals = {
  type: 'array',
  description: 'Items refused, by position in the request, with the reason (never a value)',
  items: answerObject({ index: integer, code: text, message: text }),
} as const;

export const fundPoolBody = closedObject(
  {
    amount: currencyMember(
      `Currency minted into the DSO's pool account, > 0, at most 4 decimals, at most ${MAX_DR_AMOUNT}`,
    ),
  },
  'amount',
);

export const fundPoolRoute = route(
  'DSO: fund its demand-response pool account (pool:<DSO MSP>) by minting tokens, majority-endorsed',
  { roles: ['dso'], body: fundPoolBody, response: { 201: publicObject } },
);

export const declareEventBody = closedObject(
  {
    eventId,
    slotIds: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EVENT_SLOTS,
      uniqueItems: true,
      items: slotId,
      description: "The event's slots: peak slots of one UTC day, none dispatched yet",
    },
    method: { type: 'string', enum: BASELINE_METHODS, description: 'The baseline method' },
    rate: {
      type: 'number',
      // The smallest rate with 4 decimals; not exclusiveMinimum, which OpenAPI 3.0 takes as a boolean.
      minimum: 0.0001,
      maximum: MAX_RATE_PER_KWH,
      description: 'Reward per kWh of reduction, currency, at most 4 decimals',
    },
    budget: currencyMember(
      `Currency taken from the DSO's pool for the event's rewards, > 0, at most 4 decimals, at most ${MAX_DR_AMOUNT}`,
    ),
  },
  'eventId',
  'slotIds',
  'method',
  'rate',
  'budget',
);

/** An event as the chaincode keeps it (ListEvents lists these): its budget in value units. */
const eventRecord = openObject(
  {
    eventId: text,
    dsoMspId: text,
    date: { type: 'string', description: 'UTC date of the event, YYYY-MM-DD' },
    start: { type: 'integer', description: 'First 15-minute interval of the day (0-95)' },
    end: { type: 'integer', description: 'Interval after the last one (1-96)' },
    slotIds: { type: 'array', items: text },
    method: text,
    ratePriceUnits: {
      type: 'integer',
      description: 'The rate in price units (1e-4 currency per MWh) per Wh',
    },
    budget: valueUnits,
    allotted: {
      type: 'object',
      additionalProperties: valueUnits,
      description: "Value units per utility: the declaration's split of the budget",
    },
    declaredAt: text,
    txId: text,
  },
  'eventId',
);

/** Per-bus totals of a utility's paid homes: the sums only from k homes on (else withheld). */
const busTotals = openObject({
  bus: text,
  homes: integer,
  withheld: boolean,
  baselineWh: integer,
  meteredWh: integer,
  reductionWh: integer,
  reward: valueUnits,
});

/** A utility's allotment of an event's budget: what it paid, and its published totals. */
const allotment = openObject({
  eventId: text,
  org: text,
  allotted: valueUnits,
  paid: valueUnits,
  homes: { type: 'integer', description: 'Homes whose result was computed' },
  rewarded: { type: 'integer', description: 'Of those, homes paid more than 0' },
  batches: { type: 'array', items: text, description: 'Transaction ids of the reward batches' },
  lastPayments: {
    type: 'array',
    description: "The pseudonymous accounts and amounts of the allotment's last reward batch",
    items: openObject({ accountId: text, amount: valueUnits }),
  },
  totals: { type: 'array', items: busTotals },
  totalsPublishedAt: text,
  updatedAt: text,
  txId: text,
});

/** The event as GetEvent and DeclareEvent answer it. */
export const eventView = {
  ...openObject({
    event: eventRecord,
    allotments: { type: 'array', items: allotment },
    unreadable: {
      type: 'array',
      items: text,
      description: 'Utilities whose allotment record does not parse (the audit reports them)',
    },
  }),
  description: "A demand-response event: its slots, method, rate and budget, and each utility's allotment",
};

export const declareEventRoute = route(
  "DSO: declare a demand-response event over peak slots of one day, its budget taken from the DSO's pool " +
    'and allotted to the utilities in proportion to their enrolled homes (majority-endorsed)',
  { roles: ['dso'], body: declareEventBody, response: { 201: eventView } },
);

export const listEventsRoute = route(
  'Demand-response events, a page at a time (GET one for its allotments)',
  {
    querystring: pageQuery,
    response: {
      200: openObject(
        { events: { type: 'array', items: eventRecord }, fetched: integer, bookmark: text },
        'events',
        'bookmark',
      ),
    },
  },
);

export const eventRoute = route('A demand-response event with its allotments and published totals', {
  params: eventIdParams,
  response: { 200: eventView },
});

export const payRewardsBody = closedObject(
  {
    homeIds: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_REWARD_HOMES,
      uniqueItems: true,
      items: homeId,
      description: "Homes of this utility to pay (sent to the utility's own peer in transient data only)",
    },
  },
  'homeIds',
);

export const PAY_REWARDS_BODY_LIMIT = listBodyLimit('h'.repeat(128), MAX_REWARD_HOMES);

/** PayRewards' receipt: counts and the amount paid, never a home, baseline or reading. */
export const rewardsReceipt = answerObject(
  { eventId: text, accepted: integer, paid: valueUnits, refused: itemRefusals },
  { txId: { type: 'string', description: 'Absent when every home was refused (nothing was ordered)' } },
);

export const payRewardsRoute = route(
  "Utility admin: pay the event's rewards to these homes of the utility (each once, from its private meter " +
    'history on its own peer, after the delivery ended and the event day is metered)',
  {
    roles: ['admin'],
    bodyLimit: PAY_REWARDS_BODY_LIMIT,
    params: eventIdParams,
    body: payRewardsBody,
    response: { 200: rewardsReceipt },
  },
);

export const publishTotalsRoute = route(
  "Utility admin: publish the per-bus totals of the utility's paid homes into its allotment (sums only from k homes on)",
  { roles: ['admin'], params: eventIdParams, response: { 200: publicObject } },
);

const whList = { type: 'array', items: integer, description: 'Wh per event interval' } as const;

/** The device's own result: its baseline, its metered energy and its reward. */
export const myReward = {
  ...openObject(
    {
      eventId: text,
      method: text,
      ratePriceUnits: integer,
      start: integer,
      end: integer,
      baselineWh: whList,
      meteredWh: whList,
      baselineTotalWh: integer,
      meteredTotalWh: integer,
      reductionWh: integer,
      reward: valueUnits,
      accountId: text,
      daysUsed: { type: 'array', items: text, description: 'The dates the baseline averaged' },
      paid: boolean,
    },
    'eventId',
  ),
  description: "The device's baseline and metered energy per event interval, its reduction and its reward",
};

export const myRewardRoute = route(
  "HEMS device: its own baseline, metered energy and reward for the event (computed on its utility's peer)",
  { roles: ['hems'], params: eventIdParams, response: { 200: myReward } },
);

export const eventAudit = {
  ...openObject(
    {
      eventId: text,
      consistent: boolean,
      problems: { type: 'array', items: text },
      utilities: { type: 'array', items: publicObject },
    },
    'eventId',
    'consistent',
  ),
  description:
    'The public parts recomputed: payments per utility within its allotment, each a whole multiple of the ' +
    'rate, per-bus rewards = rate × reduction, pool and allotments summing to the budget',
};

export const auditEventRoute = resourceRoutes('dr', 'audit')(
  "Recompute and check a demand-response event's public accounts",
  { params: eventIdParams, response: { 200: eventAudit } },
);

import { expect } from 'chai';
import { windowResult, type WindowView } from '../../scripts/day/window-result';
import type { OrderOutcome } from '../../scripts/day/devices';

const SELLER_A = 'acct-0123456789abcdef0123456789abcdef';
const SELLER_B = 'acct-fedcba9876543210fedcba9876543210';
const BUYER_A = 'acct-00112233445566778899aabbccddeeff';

/** A settled window as GET /v1/windows/:id answers it to the auditor, with its clearing. */
const VIEW: WindowView = {
  windowId: 'day-x-41-w',
  status: 'SETTLED',
  pricingRule: 'pay-as-clear',
  tradeOrgs: ['UtilityAMSP', 'UtilityBMSP'],
  gridShare: '4123450',
  gridClaimedAt: '2026-11-21T10:00:30.000Z',
  parts: [
    {
      org: 'UtilityAMSP',
      revealed: { count: 3 },
      released: {},
      delivery: { deliveredWh: 1450, receivedWh: 2000 },
      settlement: {},
    },
    {
      org: 'UtilityBMSP',
      revealed: { count: 2 },
      released: {},
      delivery: { deliveredWh: 540, receivedWh: 0 },
      settlement: {},
    },
  ],
  pool: { amount: '0', charged: '82469000', paid: '78345550', toGrid: '4123450' },
  clearing: {
    clearingPrice: 412_345,
    trades: [
      {
        tradeId: 't1',
        offerRef: 'offer-ref-1',
        bidRef: 'bid-ref-1',
        sellerAccount: SELLER_A,
        buyerAccount: BUYER_A,
        sellerOrg: 'UtilityAMSP',
        buyerOrg: 'UtilityAMSP',
        energyWh: 1500,
        price: 412_345,
        value: '618517500',
      },
      {
        tradeId: 't2',
        offerRef: 'offer-ref-2',
        bidRef: 'bid-ref-1',
        sellerAccount: SELLER_B,
        buyerAccount: BUYER_A,
        sellerOrg: 'UtilityBMSP',
        buyerOrg: 'UtilityAMSP',
        energyWh: 500,
        price: 412_345,
        value: '206172500',
      },
    ],
    totals: { offeredWh: 2600, bidWh: 2900, tradedWh: 2000 },
  },
};

const OUTCOMES: OrderOutcome[] = [
  { placed: true, side: 'offer', accepted: true, latencyMs: 900 },
  { placed: true, side: 'offer', accepted: true, latencyMs: 950 },
  { placed: true, side: 'bid', accepted: true, latencyMs: 870 },
  { placed: true, side: 'bid', accepted: true, latencyMs: 1020 },
  { placed: true, side: 'bid', accepted: false, reason: 'window day-x-41-w is closed' },
  { placed: false },
];

const PLAN = {
  windowId: 'day-x-41-w',
  deliverySlotId: 'day-x-41',
  deliveryIndex: 41,
  deliveryStartsAt: '10:15',
};

const TIMING = { phasesMs: { open: 1000 }, closeDelayMs: 8000, totalMs: 20_000 };

describe('day: a window result from the public ledger record', () => {
  const result = windowResult(
    PLAN,
    VIEW,
    { matches: true, ordersVerified: 5 },
    {
      posted: 4,
      outcomes: OUTCOMES,
      readings: 4,
      timing: TIMING,
    },
  );

  it('takes the clearing, the utilities’ totals, the pool and the audit from the ledger record', () => {
    expect(result).to.deep.equal({
      ...PLAN,
      pricingRule: 'pay-as-clear',
      availabilityPosted: 4,
      offersPlaced: 2,
      bidsPlaced: 2,
      ordersRefused: 1,
      ordersRevealed: 5,
      clearingPrice: 41.2345,
      trades: 2,
      offeredWh: 2600,
      bidWh: 2900,
      tradedWh: 2000,
      deliveredWh: 1990,
      receivedWh: 2000,
      tradeOrgs: 2,
      readings: 4,
      buyersCharged: '82469000',
      paidToSellers: '78345550',
      gridShare: '4123450',
      status: 'SETTLED',
      auditMatches: true,
      ordersVerified: 5,
      timing: TIMING,
    });
  });

  it('names no account: only counts and totals leave the ledger record', () => {
    const text = JSON.stringify(result);
    for (const account of [SELLER_A, SELLER_B, BUYER_A]) {
      expect(text).to.not.include(account);
    }
    expect(text).to.not.match(/acct-|t1|t2/);
  });

  it('reports a window without trades with no price and nothing delivered', () => {
    const empty = windowResult(
      PLAN,
      {
        ...VIEW,
        tradeOrgs: [],
        gridShare: '0',
        parts: VIEW.parts.map(({ org, revealed }) => ({ org, revealed, released: {} })),
        pool: { amount: '0', charged: '0', paid: '0', toGrid: '0' },
        clearing: { clearingPrice: null, trades: [], totals: { offeredWh: 0, bidWh: 2900, tradedWh: 0 } },
      },
      { matches: true },
      { posted: 0, outcomes: [], readings: 0, timing: TIMING },
    );
    expect(empty).to.include({
      clearingPrice: null,
      trades: 0,
      tradedWh: 0,
      deliveredWh: 0,
      receivedWh: 0,
      tradeOrgs: 0,
      gridShare: '0',
      ordersVerified: 0,
    });
  });

  it('refuses a record without a clearing', () => {
    const uncleared: WindowView = { ...VIEW, clearing: undefined };
    expect(() =>
      windowResult(
        PLAN,
        uncleared,
        { matches: true },
        { posted: 0, outcomes: [], readings: 0, timing: TIMING },
      ),
    ).to.throw(/has no clearing/);
  });
});

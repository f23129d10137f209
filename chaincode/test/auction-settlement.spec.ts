import type { TradeRecord } from '@hems/protocol';
import { expect } from 'chai';
import fc from 'fast-check';
import { buyerCharges, deliveryTotals, sellerPayments, tradeIdOf } from '../src/auction/settlement';
import { identities } from './support/fake-ledger';
import { AuctionScenario, CURRENCY, type Clearing } from './support/auction';
import { itemAt } from './support/lists';
import { MINUTE, UTILITY_A, UTILITY_B, callersOtherThan, expectRefusal } from './support/scenario';

const windowId = 'w-settle';

describe('auction: delivery reports and settlement refusals', () => {
  let s: AuctionScenario;
  let clearing: Clearing;

  before(async () => {
    s = await AuctionScenario.create();
    await s.tradingWindow(windowId);
    await s.revealAll(windowId);
  });

  it('refuses a report or a settlement before the clearing', async () => {
    await expectRefusal(s.report(windowId, UTILITY_A, []), 'FAILED_PRECONDITION', /not cleared yet/);
    await expectRefusal(s.settle(windowId, UTILITY_A), 'FAILED_PRECONDITION', /not cleared yet/);
    clearing = await s.clear(windowId);
  });

  it('refuses a report before the end of the delivery period', async () => {
    await expectRefusal(
      s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A)),
      'FAILED_PRECONDITION',
      /delivers until/,
    );
    s.ledger.advance(15 * MINUTE);
  });

  it('refuses a report to every identity but the utility’s meter head-end on its own peer', async () => {
    const readings = s.fullReadings(clearing.trades, UTILITY_A);
    for (const { caller, peer } of callersOtherThan(['meter'])) {
      await expectRefusal(s.report(windowId, UTILITY_A, readings, { caller, peer }), 'FORBIDDEN');
    }
  });

  it('refuses missing, unknown, repeated and hostile readings without echoing them', async () => {
    const full = s.fullReadings(clearing.trades, UTILITY_A);
    const first = itemAt(full, 0);
    const cases: [unknown, RegExp][] = [
      [full.slice(1), /must cover every trade side/],
      [[...full, { tradeId: 't99', side: 'bid', energyKwh: 1 }], /at most/],
      [
        [...full.slice(1), { tradeId: 't99', side: 'bid', energyKwh: 1 }],
        /not one of this organization's trades/,
      ],
      [
        [...full.slice(1), { ...first, side: first.side === 'bid' ? 'offer' : 'bid' }],
        /not one of this organization's trades|repeats/,
      ],
      [[...full.slice(1), full[1]], /repeats a trade side/],
      [[{ ...first, energyKwh: -1 }, ...full.slice(1)], /between 0 and/],
      [[{ ...first, energyKwh: 'NaN' }, ...full.slice(1)], /must be a number/],
      [[{ ...first, energyKwh: 1.23456 }, ...full.slice(1)], /3 decimal places/],
      [[{ ...first, energyKwh: 1e300 }, ...full.slice(1)], /between 0 and/],
      [[{ ...first, energyKwh: null }, ...full.slice(1)], /must be a number/],
      [[{ ...first, tradeId: 1 }, ...full.slice(1)], /tradeId must be a trade id/],
      [[{ ...first, side: 'both' }, ...full.slice(1)], /side must be/],
      [[{ ...first, meter: 'x' }, ...full.slice(1)], /unknown field/],
      [{ readings: full }, /must be a JSON array/],
      [new Array(100000).fill(first), /at most/],
    ];
    for (const [readings, pattern] of cases) {
      const error = await expectRefusal(s.report(windowId, UTILITY_A, readings), 'INVALID_ARGUMENT', pattern);
      expect(error.message).not.to.match(/1\.23456|1e300/);
    }
    expect((await s.getWindow(windowId)).pool).to.include({ amount: '0' });
  });

  it('refuses a settlement before every utility with trades has reported', async () => {
    await s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A));
    await expectRefusal(
      s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A)),
      'CONFLICT',
      /already reported/,
    );
    await expectRefusal(
      s.settle(windowId, UTILITY_A),
      'FAILED_PRECONDITION',
      /delivery reports of UtilityBMSP/,
    );
    await s.report(windowId, UTILITY_B, s.fullReadings(clearing.trades, UTILITY_B, 0.5));
  });

  it('refuses a settlement to every identity but the utility’s relay or admin on its own peer', async () => {
    for (const { caller, peer } of callersOtherThan(['relay', 'admin'])) {
      await expectRefusal(
        s.ledger.invoke(caller, (ctx) => s.auction.SettleWindow(ctx, windowId), { peer }),
        'FORBIDDEN',
      );
    }
  });

  it('settles each utility once (a double settlement is a conflict) and conserves tokens', async () => {
    const total = s.totalTokens();
    expect(total).to.equal(2n * CURRENCY);
    await s.settle(windowId, UTILITY_B, identities.admin(UTILITY_B));
    await expectRefusal(s.settle(windowId, UTILITY_B), 'CONFLICT', /already settled/);
    const last = await s.settle(windowId, UTILITY_A, identities.admin(UTILITY_A));
    expect(last.final).to.equal(true);
    await expectRefusal(s.settle(windowId, UTILITY_A), 'CONFLICT', /already settled/);
    expect(s.totalTokens()).to.equal(total);
    expect(s.ledgerInvariants()).to.deep.equal([]);
    // Every escrow of the window is gone once it is settled (the delivery reports released them).
    for (const [key, value] of s.ledger.state) {
      if (key.includes('hems.account')) {
        expect((JSON.parse(value.toString('utf8')) as { escrows: object }).escrows).to.deep.equal({});
      }
    }
    // The grid share is claimed by majority endorsement; the token total stays the same.
    await s.claimGridShare(windowId);
    expect(s.totalTokens()).to.equal(total);
    expect((await s.getWindow(windowId)).pool).to.include({ amount: '0' });
  });

  it('refuses a report from a utility without trades', async () => {
    const t = await AuctionScenario.create();
    const seller = await t.device(UTILITY_A, 'bus-1');
    const buyer = await t.device(UTILITY_A, 'bus-1');
    await t.openWindow('w-one');
    await t.placeOrders('w-one', [
      { org: UTILITY_A, device: seller, side: 'offer', energyKwh: 1, limitPrice: 1 },
      { org: UTILITY_A, device: buyer, side: 'bid', energyKwh: 1, limitPrice: 2, escrow: '0.1' },
    ]);
    t.ledger.advance(30 * MINUTE);
    await t.revealAll('w-one');
    await t.clear('w-one');
    await expectRefusal(t.report('w-one', UTILITY_B, []), 'FAILED_PRECONDITION', /no trades/);
    await expectRefusal(t.settle('w-one', UTILITY_B), 'FAILED_PRECONDITION', /no trades/);
    // B has no trades: it has nothing to release either, but may record that it released.
    expect((await t.releaseEscrow('w-one', UTILITY_B)).refunded).to.equal('0');
  });
});

const ORGS = ['OrgA', 'OrgB', 'OrgC'];

const tradesArbitrary = fc
  .array(
    fc.record({
      sellerOrg: fc.constantFrom(...ORGS),
      buyerOrg: fc.constantFrom(...ORGS),
      seller: fc.integer({ min: 0, max: 3 }),
      buyer: fc.integer({ min: 0, max: 3 }),
      energyWh: fc.integer({ min: 1, max: 1_000_000_000 }),
      price: fc.integer({ min: 0, max: 1_000_000_000 }),
      delivered: fc.integer({ min: 0, max: 1_100_000_000 }),
      received: fc.integer({ min: 0, max: 1_100_000_000 }),
    }),
    { minLength: 1, maxLength: 20 },
  )
  .map((rows) =>
    rows.map((row, index) => ({
      trade: {
        tradeId: tradeIdOf(index),
        offerRef: `o${index}`,
        bidRef: `b${index}`,
        sellerAccount: `${row.sellerOrg}-s${row.seller}`,
        buyerAccount: `${row.buyerOrg}-b${row.buyer}`,
        sellerOrg: row.sellerOrg,
        buyerOrg: row.buyerOrg,
        energyWh: row.energyWh,
        price: row.price,
        value: (BigInt(row.energyWh) * BigInt(row.price)).toString(),
      } satisfies TradeRecord,
      delivered: row.delivered,
      received: row.received,
    })),
  );

describe('auction: settlement arithmetic (properties)', () => {
  it('charges buyers at most their escrow, pays sellers at most what buyers paid in, and never below zero', () => {
    fc.assert(
      // `reported`: the orgs whose delivery reports count (the others settled on after reportBy).
      fc.property(tradesArbitrary, fc.subarray(ORGS), (rows, reported) => {
        const trades = rows.map((row) => row.trade);
        const readings = new Map<string, number>();
        for (const row of rows) {
          readings.set(`${row.trade.tradeId}/offer`, row.delivered);
          readings.set(`${row.trade.tradeId}/bid`, row.received);
        }
        let charged = 0n;
        let sellerValue = 0n;
        for (const org of reported) {
          const totals = deliveryTotals(trades, org, readings);
          charged += totals.buyerCharge;
          sellerValue += totals.sellerValue;
          const charges = buyerCharges(trades, org, readings);
          expect([...charges.values()].reduce((a, b) => a + b, 0n)).to.equal(totals.buyerCharge);
          for (const [account, charge] of charges) {
            const escrow = trades
              .filter((trade) => trade.buyerAccount === account)
              .reduce((total, trade) => total + BigInt(trade.value), 0n);
            expect(charge >= 0n && charge <= escrow).to.equal(true);
          }
        }
        let paid = 0n;
        for (const org of reported) {
          const payments = sellerPayments(trades, org, readings, charged, sellerValue);
          for (const [account, payment] of payments) {
            const value = trades
              .filter((trade) => trade.sellerAccount === account)
              .reduce(
                (total, trade) =>
                  total +
                  BigInt(Math.min(readings.get(`${trade.tradeId}/offer`) ?? 0, trade.energyWh)) *
                    BigInt(trade.price),
                0n,
              );
            expect(payment >= 0n && payment <= value).to.equal(true);
          }
          paid += [...payments.values()].reduce((a, b) => a + b, 0n);
        }
        expect(paid <= charged).to.equal(true);
        // With enough buyer charges every seller is paid its full delivered value.
        if (charged >= sellerValue) {
          expect(paid).to.equal(sellerValue);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** One random order of the ledger property: its utility, side and amounts, and how it is settled. */
interface RandomOrder {
  readonly org: string;
  readonly side: 'offer' | 'bid';
  readonly energyKwh: number;
  readonly limitPrice: number;
  /** Fraction of its traded energy each utility's meter reports as delivered. */
  readonly delivered: number;
  /** Padding of a bid's escrow above its value, in 1/10000 currency. */
  readonly pad: number;
  /** Whether the utilities with trades release escrows before their delivery reports. */
  readonly releaseFirst: boolean;
}

const ORDER_ORGS = [UTILITY_A, UTILITY_B];

/** A bid's escrow in value units: its value rounded up to 4 decimals of currency, plus the padding. */
function escrowUnitsOf(order: RandomOrder): bigint {
  const value = BigInt(Math.round(order.energyKwh * 1000)) * BigInt(Math.round(order.limitPrice * 10000));
  return ((value + 999_999n) / 1_000_000n) * 1_000_000n + BigInt(order.pad) * 1_000_000n;
}

/** Value units as the currency amount an order payload carries (4 decimals). */
function currencyOf(units: bigint): string {
  return `${units / CURRENCY}.${(units % CURRENCY).toString().padStart(10, '0').slice(0, 4)}`;
}

/**
 * Places the random orders in window `id` (each offer up to its home's available energy, each bid
 * from an account with 100 currency). Answers the accounts of the bids with an escrow, by utility, and the tokens
 * deposited.
 */
async function placeRandomOrders(
  s: AuctionScenario,
  id: string,
  orders: readonly RandomOrder[],
): Promise<{ bidders: Map<string, string[]>; deposited: bigint }> {
  const bidders = new Map<string, string[]>(ORDER_ORGS.map((org) => [org, []]));
  let deposited = 0n;
  for (const order of orders) {
    const device = await s.device(order.org, 'bus-1');
    const placed = {
      windowId: id,
      side: order.side,
      energyKwh: order.energyKwh,
      limitPrice: order.limitPrice,
    };
    if (order.side === 'offer') {
      await s.openAccount(order.org, device.homeId);
      await s.postAvailability(order.org, id, [{ homeId: device.homeId, energyKwh: order.energyKwh }]);
      await s.submitOrder(order.org, device, placed);
    } else {
      const account = await s.deposit(order.org, device.homeId, '100');
      const escrow = escrowUnitsOf(order);
      // A bid worth nothing (limit price 0) without padding escrows nothing: there is nothing to
      // refund, and ReleaseEscrow refuses to list its account.
      if (escrow > 0n) {
        bidders.get(order.org)?.push(account.accountId);
      }
      deposited += 100n * CURRENCY;
      await s.submitOrder(order.org, device, { ...placed, escrow: currencyOf(escrow) });
    }
  }
  return { bidders, deposited };
}

/**
 * Utilities without trades release their bids' escrows (an excluded one lists all of its bidders'
 * accounts); those with trades may do it before their delivery report or leave it to the report,
 * or to their settlement if they never report.
 */
async function releaseEscrows(
  s: AuctionScenario,
  id: string,
  tradeOrgs: readonly string[],
  revealing: readonly string[],
  releaseFirst: boolean,
  bidders: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  for (const org of ORDER_ORGS) {
    if (!tradeOrgs.includes(org) || releaseFirst) {
      await s.releaseEscrow(id, org);
    }
    const accounts = bidders.get(org) ?? [];
    if (!revealing.includes(org) && accounts.length > 0) {
      await s.releaseEscrow(id, org, { accounts });
    }
  }
}

/**
 * The reporting utilities report `fraction` of their traded energy after the delivery; the others
 * miss reportBy; then every utility with trades settles, in order or reversed, conserving tokens.
 */
async function reportAndSettle(
  s: AuctionScenario,
  id: string,
  clearing: Clearing,
  tradeOrgs: readonly string[],
  reporting: readonly string[],
  fraction: number,
  reverseSettlement: boolean,
): Promise<void> {
  const deposited = s.totalTokens();
  s.ledger.advance(15 * MINUTE);
  for (const org of tradeOrgs.filter((candidate) => reporting.includes(candidate))) {
    await s.report(id, org, s.fullReadings(clearing.trades, org, fraction));
  }
  if (tradeOrgs.some((org) => !reporting.includes(org))) {
    s.ledger.advance(MINUTE);
    await s.closeReports(id);
  }
  for (const org of reverseSettlement ? [...tradeOrgs].reverse() : tradeOrgs) {
    await s.settle(id, org);
    expect(s.totalTokens()).to.equal(deposited);
  }
}

describe('auction: random windows on the ledger (properties)', function () {
  this.timeout(300_000);

  it('conserve tokens, keep every amount non-negative and always audit to a match', async () => {
    const orderArbitrary: fc.Arbitrary<RandomOrder> = fc.record({
      org: fc.constantFrom(...ORDER_ORGS),
      side: fc.constantFrom('offer' as const, 'bid' as const),
      energyKwh: fc.integer({ min: 1, max: 5000 }).map((wh) => wh / 1000),
      limitPrice: fc.integer({ min: 0, max: 2000 }).map((p) => p / 10),
      delivered: fc.double({ min: 0, max: 1.2, noNaN: true }),
      pad: fc.integer({ min: 0, max: 1000 }),
      releaseFirst: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(orderArbitrary, { minLength: 1, maxLength: 6 }),
        fc.constantFrom('pay-as-clear', 'pay-as-bid'),
        // Utilities that reveal in time and that report their delivery; the others miss the
        // deadlines (revealBy is the close here, reportBy a minute after the delivery).
        fc.subarray(ORDER_ORGS),
        fc.subarray(ORDER_ORGS),
        fc.boolean(),
        async (orders, rule, revealing, reporting, reverseSettlement) => {
          const s = await AuctionScenario.create();
          const id = 'w-prop';
          await s.openWindow(id, { pricingRule: rule, reportGraceSeconds: 60 });
          const { bidders, deposited } = await placeRandomOrders(s, id, orders);
          expect(s.totalTokens()).to.equal(deposited);
          s.ledger.advance(15 * MINUTE);
          for (const org of revealing) {
            await s.reveal(id, org);
          }
          const clearing = await s.clear(id);
          expect(clearing.excludedOrgs).to.deep.equal(ORDER_ORGS.filter((org) => !revealing.includes(org)));
          expect((await s.audit(id)).matches).to.equal(true);
          expect(s.totalTokens()).to.equal(deposited);
          const tradeOrgs = [
            ...new Set(clearing.trades.flatMap((trade) => [trade.sellerOrg, trade.buyerOrg])),
          ];
          const first = itemAt(orders, 0);
          await releaseEscrows(s, id, tradeOrgs, revealing, first.releaseFirst, bidders);
          expect(s.totalTokens()).to.equal(deposited);
          if (clearing.trades.length > 0) {
            await reportAndSettle(s, id, clearing, tradeOrgs, reporting, first.delivered, reverseSettlement);
          }
          expect((await s.getWindow(id)).status).to.equal('SETTLED');
          await s.claimGridShare(id);
          expect((await s.getWindow(id)).pool).to.include({ amount: '0' });
          // Nothing stays locked: every escrow of the window was released or charged.
          for (const [key, value] of s.ledger.state) {
            if (key.includes('hems.account')) {
              expect((JSON.parse(value.toString('utf8')) as { escrowed: string }).escrowed).to.equal('0');
            }
          }
          expect(s.totalTokens()).to.equal(deposited);
          expect(s.ledgerInvariants()).to.deep.equal([]);
        },
      ),
      { numRuns: 16 },
    );
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import {
  clearAuction,
  type ClearingResult,
  type ClearingRule,
  compareBids,
  compareOffers,
  formatValue,
  kwhToWh,
  MAX_ORDER_WH,
  MAX_ORDERS,
  MAX_PRICE_UNITS,
  type Order,
  type OrderSide,
  parseClearingRule,
  parseOrder,
  parseOrders,
  priceToUnits,
  unitsToPrice,
  whToKwh,
} from '@hems/protocol';

// ---------------------------------------------------------------------------------------------
// Builders and generators

let nextSeq = 0;

function order(
  orderId: string,
  side: OrderSide,
  participant: string,
  kwh: number,
  price: number,
  submittedSeq = nextSeq++,
): Order {
  return {
    orderId,
    side,
    participant,
    quantityWh: kwhToWh(kwh),
    limitPrice: priceToUnits(price),
    submittedSeq,
  };
}

const offer = (id: string, who: string, kwh: number, price: number, seq?: number): Order =>
  order(id, 'offer', who, kwh, price, seq);
const bid = (id: string, who: string, kwh: number, price: number, seq?: number): Order =>
  order(id, 'bid', who, kwh, price, seq);

const RULES: readonly ClearingRule[] = ['pay-as-clear', 'pay-as-bid'];

/** A small price grid and few participants, so ties and self-trades are frequent. */
function orderArbitrary(participants: readonly string[], side?: OrderSide): fc.Arbitrary<Order> {
  return fc.record({
    orderId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,6}$/),
    side: side === undefined ? fc.constantFrom<OrderSide>('offer', 'bid') : fc.constant(side),
    participant: fc.constantFrom(...participants),
    quantityWh: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 60 }), weight: 4 },
      { arbitrary: fc.integer({ min: 1, max: MAX_ORDER_WH }), weight: 1 },
    ),
    limitPrice: fc.oneof(
      { arbitrary: fc.integer({ min: -15, max: 40 }), weight: 4 },
      { arbitrary: fc.integer({ min: -MAX_PRICE_UNITS, max: MAX_PRICE_UNITS }), weight: 1 },
    ),
    submittedSeq: fc.integer({ min: 0, max: 8 }),
  });
}

const uniqueIds = { selector: (o: Order) => o.orderId, maxLength: 40 };

const bookArb: fc.Arbitrary<Order[]> = fc.uniqueArray(
  orderArbitrary(['alice', 'bob', 'carol', 'dave']),
  uniqueIds,
);

/** Sellers and buyers are different people: no self-trade can ever come up. */
const twoSidedBookArb: fc.Arbitrary<Order[]> = fc
  .tuple(
    fc.uniqueArray(orderArbitrary(['s1', 's2', 's3'], 'offer'), uniqueIds),
    fc.uniqueArray(orderArbitrary(['b1', 'b2', 'b3'], 'bid'), uniqueIds),
  )
  .map(([offers, bids]) => {
    const ids = new Set(offers.map((o) => o.orderId));
    return [...offers, ...bids.filter((b) => !ids.has(b.orderId))];
  });

const ruleArb = fc.constantFrom(...RULES);

// ---------------------------------------------------------------------------------------------
// Helpers for checking a result

interface Book {
  readonly byId: Map<string, Order>;
  readonly filled: Map<string, number>;
}

function indexResult(orders: readonly Order[], result: ClearingResult): Book {
  return {
    byId: new Map(orders.map((o) => [o.orderId, o])),
    filled: new Map(result.filled.map((f) => [f.orderId, f.filledWh])),
  };
}

function get<K, V>(map: Map<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) {
    throw new Error('missing key');
  }
  return value;
}

function marginalPrices(orders: readonly Order[], result: ClearingResult): { offer: number; bid: number } {
  const { byId } = indexResult(orders, result);
  return {
    offer: Math.max(...result.trades.map((t) => get(byId, t.offerId).limitPrice)),
    bid: Math.min(...result.trades.map((t) => get(byId, t.bidId).limitPrice)),
  };
}

function totalValue(result: ClearingResult): bigint {
  return result.trades.reduce((sum, t) => sum + BigInt(t.quantityWh) * BigInt(t.price), 0n);
}

/** The matching written the obvious O(n^2) way, to check the segment tree against. */
function referenceMatches(
  orders: readonly Order[],
): { offerId: string; bidId: string; quantityWh: number }[] {
  const offers = orders.filter((o) => o.side === 'offer').sort(compareOffers);
  const bids = orders.filter((o) => o.side === 'bid').sort(compareBids);
  const offerLeft = offers.map((o) => o.quantityWh);
  const out: { offerId: string; bidId: string; quantityWh: number }[] = [];
  let marginalOffer = -Infinity;
  for (const b of bids) {
    if (b.limitPrice < marginalOffer) {
      continue;
    }
    let left = b.quantityWh;
    for (const [i, o] of offers.entries()) {
      const available = offerLeft[i] ?? 0;
      if (left === 0) {
        break;
      }
      if (available === 0 || o.participant === b.participant || o.limitPrice > b.limitPrice) {
        continue;
      }
      const quantityWh = Math.min(left, available);
      left -= quantityWh;
      offerLeft[i] = available - quantityWh;
      marginalOffer = Math.max(marginalOffer, o.limitPrice);
      out.push({ offerId: o.orderId, bidId: b.orderId, quantityWh });
    }
  }
  return out;
}

/** Deterministic pseudo-random numbers for the large books (the module itself never uses any). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomBook(count: number, participants: number, seed: number): Order[] {
  const next = lcg(seed);
  return Array.from({ length: count }, (_, i): Order => ({
    orderId: `order-${i}`,
    side: next() < 0.5 ? 'offer' : 'bid',
    participant: `home-${Math.floor(next() * participants)}`,
    quantityWh: 1 + Math.floor(next() * 10_000),
    limitPrice: Math.floor(next() * 2_000_000),
    submittedSeq: Math.floor(next() * count),
  }));
}

// ---------------------------------------------------------------------------------------------

describe('auction clearing: properties', () => {
  it('conserves energy: per order, per side and in total', () => {
    fc.assert(
      fc.property(bookArb, ruleArb, (orders, rule) => {
        const result = clearAuction(orders, rule);
        const { byId, filled } = indexResult(orders, result);
        expect(result.filled).to.have.length(orders.length);
        const fromTrades = new Map<string, number>();
        for (const t of result.trades) {
          expect(t.quantityWh).to.be.greaterThan(0);
          expect(Number.isSafeInteger(t.quantityWh)).to.be.true;
          fromTrades.set(t.offerId, (fromTrades.get(t.offerId) ?? 0) + t.quantityWh);
          fromTrades.set(t.bidId, (fromTrades.get(t.bidId) ?? 0) + t.quantityWh);
        }
        let offeredWh = 0;
        let bidWh = 0;
        let offerFilled = 0;
        let bidFilled = 0;
        for (const o of orders) {
          const f = get(filled, o.orderId);
          expect(f).to.be.at.least(0).and.at.most(o.quantityWh);
          expect(f).to.equal(fromTrades.get(o.orderId) ?? 0);
          if (o.side === 'offer') {
            offeredWh += o.quantityWh;
            offerFilled += f;
          } else {
            bidWh += o.quantityWh;
            bidFilled += f;
          }
        }
        for (const fill of result.filled) {
          expect(fill.quantityWh).to.equal(get(byId, fill.orderId).quantityWh);
          expect(fill.side).to.equal(get(byId, fill.orderId).side);
        }
        const tradedWh = result.trades.reduce((sum, t) => sum + t.quantityWh, 0);
        expect(result.totals).to.include({ offeredWh, bidWh, tradedWh });
        expect(offerFilled).to.equal(tradedWh);
        expect(bidFilled).to.equal(tradedWh);
        expect(tradedWh).to.be.at.most(Math.min(offeredWh, bidWh));
        expect(result.totals.value).to.equal(totalValue(result).toString());
      }),
      { numRuns: 300 },
    );
  });

  it('trades only offers with bids of other participants, within both limits', () => {
    fc.assert(
      fc.property(bookArb, ruleArb, (orders, rule) => {
        const result = clearAuction(orders, rule);
        const { byId } = indexResult(orders, result);
        const pairs = new Set<string>();
        for (const t of result.trades) {
          const o = get(byId, t.offerId);
          const b = get(byId, t.bidId);
          expect(o.side).to.equal('offer');
          expect(b.side).to.equal('bid');
          expect(t.seller).to.equal(o.participant);
          expect(t.buyer).to.equal(b.participant);
          expect(t.seller).to.not.equal(t.buyer);
          expect(t.price).to.be.at.least(o.limitPrice).and.at.most(b.limitPrice);
          expect(Number.isSafeInteger(t.price)).to.be.true;
          const pair = `${t.offerId}/${t.bidId}`;
          expect(pairs.has(pair), 'a pair trades at most once').to.be.false;
          pairs.add(pair);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('pay-as-clear: one price for all, the rounded-down midpoint of the marginal offer and bid', () => {
    fc.assert(
      fc.property(bookArb, (orders) => {
        const result = clearAuction(orders, 'pay-as-clear');
        expect(result.rule).to.equal('pay-as-clear');
        if (result.trades.length === 0) {
          expect(result.clearingPrice).to.equal(null);
          return;
        }
        const marginal = marginalPrices(orders, result);
        const price = result.clearingPrice;
        expect(price).to.be.a('number');
        expect(price).to.be.at.least(marginal.offer).and.at.most(marginal.bid);
        expect(price).to.equal(Math.floor((marginal.offer + marginal.bid) / 2));
        for (const t of result.trades) {
          expect(t.price).to.equal(price);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('pay-as-bid: the same matches, each at its bid price, worth at least as much as pay-as-clear', () => {
    fc.assert(
      fc.property(bookArb, (orders) => {
        const clear = clearAuction(orders, 'pay-as-clear');
        const asBid = clearAuction(orders, 'pay-as-bid');
        const { byId } = indexResult(orders, asBid);
        expect(asBid.rule).to.equal('pay-as-bid');
        expect(asBid.clearingPrice).to.equal(null);
        const strip = (r: ClearingResult) =>
          r.trades.map(({ offerId, bidId, seller, buyer, quantityWh }) => ({
            offerId,
            bidId,
            seller,
            buyer,
            quantityWh,
          }));
        expect(strip(asBid)).to.deep.equal(strip(clear));
        expect(asBid.filled).to.deep.equal(clear.filled);
        for (const t of asBid.trades) {
          expect(t.price).to.equal(get(byId, t.bidId).limitPrice);
        }
        expect(BigInt(asBid.totals.value) >= BigInt(clear.totals.value)).to.be.true;
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no profitable match that the uniform price allows (different participants)', () => {
    fc.assert(
      fc.property(bookArb, ruleArb, (orders, rule) => {
        const result = clearAuction(orders, rule);
        const { filled } = indexResult(orders, result);
        const marginalOffer = result.trades.length === 0 ? -Infinity : marginalPrices(orders, result).offer;
        const open = (o: Order) => get(filled, o.orderId) < o.quantityWh;
        const openOffers = orders.filter((o) => o.side === 'offer' && open(o));
        const openBids = orders.filter((o) => o.side === 'bid' && open(o) && o.limitPrice >= marginalOffer);
        for (const b of openBids) {
          for (const o of openOffers) {
            const crosses = o.participant !== b.participant && o.limitPrice <= b.limitPrice;
            expect(crosses, `${o.orderId} could still sell to ${b.orderId}`).to.be.false;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('without self-trades: fully efficient, and fills follow priority (a filled prefix on each side)', () => {
    fc.assert(
      fc.property(twoSidedBookArb, ruleArb, (orders, rule) => {
        const result = clearAuction(orders, rule);
        const { filled } = indexResult(orders, result);
        const open = (o: Order) => get(filled, o.orderId) < o.quantityWh;
        const openOffers = orders.filter((o) => o.side === 'offer' && open(o));
        const openBids = orders.filter((o) => o.side === 'bid' && open(o));
        if (openOffers.length > 0 && openBids.length > 0) {
          const cheapest = Math.min(...openOffers.map((o) => o.limitPrice));
          const highest = Math.max(...openBids.map((o) => o.limitPrice));
          expect(highest).to.be.lessThan(cheapest);
        }
        for (const side of ['offer', 'bid'] as const) {
          const ranked = result.filled.filter((f) => f.side === side);
          const firstOpen = ranked.findIndex((f) => f.filledWh < f.quantityWh);
          if (firstOpen !== -1) {
            for (const later of ranked.slice(firstOpen + 1)) {
              expect(later.filledWh, 'nothing is filled behind a partly filled order').to.equal(0);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same result for every permutation of the input', () => {
    const withPermutation = bookArb.chain((orders) =>
      fc.tuple(
        fc.constant(orders),
        fc.shuffledSubarray(orders, { minLength: orders.length, maxLength: orders.length }),
      ),
    );
    fc.assert(
      fc.property(withPermutation, ruleArb, ([orders, permuted], rule) => {
        const result = clearAuction(orders, rule);
        expect(clearAuction(permuted, rule)).to.deep.equal(result);
        expect(clearAuction(orders, rule)).to.deep.equal(result);
      }),
      { numRuns: 300 },
    );
  });

  it('matches a straightforward quadratic implementation of the documented rules', () => {
    fc.assert(
      fc.property(bookArb, (orders) => {
        const result = clearAuction(orders, 'pay-as-bid');
        expect(
          result.trades.map(({ offerId, bidId, quantityWh }) => ({ offerId, bidId, quantityWh })),
        ).to.deep.equal(referenceMatches(orders));
      }),
      { numRuns: 500 },
    );
  });

  it('lists offers then bids in priority order in `filled`, and does not change its input', () => {
    fc.assert(
      fc.property(bookArb, ruleArb, (orders, rule) => {
        const snapshot = structuredClone(orders);
        const result = clearAuction(orders, rule);
        expect(orders).to.deep.equal(snapshot);
        const expected = [
          ...orders.filter((o) => o.side === 'offer').sort(compareOffers),
          ...orders.filter((o) => o.side === 'bid').sort(compareBids),
        ].map((o) => o.orderId);
        expect(result.filled.map((f) => f.orderId)).to.deep.equal(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe('auction clearing: examples', () => {
  it('clears an empty book, a one-sided book and a book that does not cross to nothing', () => {
    for (const rule of RULES) {
      expect(clearAuction([], rule)).to.deep.equal({
        rule,
        clearingPrice: null,
        trades: [],
        filled: [],
        totals: { offeredWh: 0, bidWh: 0, tradedWh: 0, value: '0' },
      });
      const oneSided = clearAuction([offer('o1', 'alice', 1, 50), offer('o2', 'bob', 2, 40)], rule);
      expect(oneSided.trades).to.deep.equal([]);
      expect(oneSided.totals).to.deep.equal({ offeredWh: 3000, bidWh: 0, tradedWh: 0, value: '0' });
      const bidsOnly = clearAuction([bid('b1', 'carol', 1, 50)], rule);
      expect(bidsOnly.trades).to.deep.equal([]);
      expect(bidsOnly.totals.bidWh).to.equal(1000);
      const apart = clearAuction([offer('o1', 'alice', 1, 60), bid('b1', 'bob', 1, 59.9999)], rule);
      expect(apart.trades).to.deep.equal([]);
      expect(apart.clearingPrice).to.equal(null);
      expect(apart.filled.map((f) => f.filledWh)).to.deep.equal([0, 0]);
    }
  });

  it('defaults to pay-as-clear', () => {
    expect(clearAuction([offer('o', 'a', 1, 10), bid('b', 'b', 1, 20)]).rule).to.equal('pay-as-clear');
  });

  it('an exact match trades everything at the midpoint', () => {
    const result = clearAuction([offer('o1', 'alice', 2.5, 40), bid('b1', 'bob', 2.5, 60)]);
    expect(result).to.deep.equal({
      rule: 'pay-as-clear',
      clearingPrice: priceToUnits(50),
      trades: [
        { offerId: 'o1', bidId: 'b1', seller: 'alice', buyer: 'bob', quantityWh: 2500, price: 500000 },
      ],
      filled: [
        { orderId: 'o1', side: 'offer', quantityWh: 2500, filledWh: 2500 },
        { orderId: 'b1', side: 'bid', quantityWh: 2500, filledWh: 2500 },
      ],
      // 2500 Wh at 50 currency/MWh = 0.125 currency
      totals: { offeredWh: 2500, bidWh: 2500, tradedWh: 2500, value: '1250000000' },
    });
    expect(formatValue(result.totals.value)).to.equal('0.125');
  });

  it('fills partially and walks down the merit order', () => {
    const orders = [
      offer('o-cheap', 'alice', 3, 30),
      offer('o-mid', 'bob', 2, 45),
      offer('o-dear', 'carol', 5, 80),
      bid('b-high', 'dave', 4, 90),
      bid('b-low', 'erin', 4, 50),
    ];
    const clear = clearAuction(orders, 'pay-as-clear');
    // b-high takes 3 of o-cheap and 1 of o-mid; b-low takes the other 1 of o-mid, o-dear is too dear.
    expect(clear.trades.map((t) => [t.offerId, t.bidId, t.quantityWh])).to.deep.equal([
      ['o-cheap', 'b-high', 3000],
      ['o-mid', 'b-high', 1000],
      ['o-mid', 'b-low', 1000],
    ]);
    // marginal offer 45, marginal bid 50
    expect(clear.clearingPrice).to.equal(priceToUnits(47.5));
    expect(clear.filled.map((f) => [f.orderId, f.filledWh])).to.deep.equal([
      ['o-cheap', 3000],
      ['o-mid', 2000],
      ['o-dear', 0],
      ['b-high', 4000],
      ['b-low', 1000],
    ]);
    expect(clear.totals).to.deep.equal({
      offeredWh: 10000,
      bidWh: 8000,
      tradedWh: 5000,
      value: '2375000000',
    });
    const asBid = clearAuction(orders, 'pay-as-bid');
    expect(asBid.trades.map((t) => unitsToPrice(t.price))).to.deep.equal([90, 90, 50]);
    expect(formatValue(asBid.totals.value)).to.equal('0.41');
  });

  it('rounds the midpoint down to a whole price unit, also below zero', () => {
    const up = clearAuction([offer('o', 'a', 1, 10), bid('b', 'b', 1, 10.0001)]);
    expect(up.clearingPrice).to.equal(100000);
    const negative = clearAuction([offer('o', 'a', 1, -10.0001), bid('b', 'b', 1, -10)]);
    expect(negative.clearingPrice).to.equal(-100001);
    expect(negative.totals.value).to.equal('-100001000');
    expect(formatValue(negative.totals.value)).to.equal('-0.0100001');
  });

  it('breaks price ties by submittedSeq, then by orderId', () => {
    const orders = [
      offer('o-b', 'alice', 1, 40, 7),
      offer('o-a', 'bob', 1, 40, 7),
      offer('o-early', 'carol', 1, 40, 3),
      bid('b-z', 'dave', 1, 60, 5),
      bid('b-y', 'erin', 1, 60, 5),
      bid('b-first', 'frank', 1, 60, 1),
    ];
    const result = clearAuction(orders, 'pay-as-bid');
    expect(result.trades.map((t) => [t.bidId, t.offerId])).to.deep.equal([
      ['b-first', 'o-early'],
      ['b-y', 'o-a'],
      ['b-z', 'o-b'],
    ]);
    const scarce = clearAuction([...orders.slice(1), bid('b-x', 'gina', 1, 60, 5)], 'pay-as-bid');
    // o-early and o-a only: b-first and b-x (x < y < z) win the tie
    expect(scarce.trades.map((t) => t.bidId)).to.deep.equal(['b-first', 'b-x']);
  });

  it('skips a self-trade to the next offer and leaves the skipped offer to later bids', () => {
    const result = clearAuction([
      offer('own', 'alice', 1, 10),
      offer('other', 'bob', 1, 12),
      bid('alice-bid', 'alice', 1, 30),
      bid('carol-bid', 'carol', 1, 20),
    ]);
    expect(result.trades.map((t) => [t.offerId, t.bidId])).to.deep.equal([
      ['other', 'alice-bid'],
      ['own', 'carol-bid'],
    ]);
    // marginal offer 12, marginal bid 20
    expect(result.clearingPrice).to.equal(priceToUnits(16));
  });

  it('does not let a self-trade skip break the uniform price', () => {
    // alice's bid must skip her own offer at 5 and buy from bob at 15; carol's bid at 10 could buy
    // alice's offer, but 10 is below the marginal offer (15), so no single price would fit both.
    const result = clearAuction([
      offer('alice-offer', 'alice', 1, 5),
      offer('bob-offer', 'bob', 1, 15),
      bid('alice-bid', 'alice', 1, 20),
      bid('carol-bid', 'carol', 1, 10),
    ]);
    expect(result.trades.map((t) => [t.offerId, t.bidId])).to.deep.equal([['bob-offer', 'alice-bid']]);
    expect(result.clearingPrice).to.equal(priceToUnits(17.5));
  });

  it('a participant alone on both sides does not trade', () => {
    const result = clearAuction([offer('o', 'alice', 1, 1), bid('b', 'alice', 1, 100)]);
    expect(result.trades).to.deep.equal([]);
    expect(result.clearingPrice).to.equal(null);
  });

  it('clears 10,000 orders quickly and gives the same result for a shuffled book', () => {
    const orders = randomBook(10_000, 300, 42);
    const start = process.hrtime.bigint();
    const result = clearAuction(orders);
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    expect(elapsedMs).to.be.lessThan(2000);
    expect(result.trades.length).to.be.greaterThan(1000);
    expect(result.totals.tradedWh).to.be.greaterThan(0);
    const shuffled = [...orders].reverse();
    expect(clearAuction(shuffled)).to.deep.equal(result);
  });

  it('stays fast when one participant holds half of the book on both sides', () => {
    const orders: Order[] = [];
    for (let i = 0; i < 5000; i += 1) {
      orders.push({
        orderId: `mo${i}`,
        side: 'offer',
        participant: 'mallory',
        quantityWh: 1,
        limitPrice: 1,
        submittedSeq: i,
      });
      orders.push({
        orderId: `mb${i}`,
        side: 'bid',
        participant: 'mallory',
        quantityWh: 1,
        limitPrice: 100,
        submittedSeq: i,
      });
    }
    orders.push({
      orderId: 'bob',
      side: 'offer',
      participant: 'bob',
      quantityWh: 5000,
      limitPrice: 50,
      submittedSeq: 0,
    });
    const start = process.hrtime.bigint();
    const result = clearAuction(orders, 'pay-as-bid');
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    expect(elapsedMs).to.be.lessThan(2000);
    expect(result.trades).to.have.length(5000);
    expect(result.trades.every((t) => t.seller === 'bob')).to.be.true;
  });
});

describe('auction orders: units and validation', () => {
  it('converts kWh and prices exactly at the edges', () => {
    expect(kwhToWh(1.234)).to.equal(1234);
    expect(kwhToWh(0.001)).to.equal(1);
    expect(kwhToWh(1.005)).to.equal(1005);
    expect(kwhToWh(1_000_000)).to.equal(MAX_ORDER_WH);
    expect(whToKwh(1234)).to.equal(1.234);
    expect(priceToUnits(12.3456)).to.equal(123456);
    expect(priceToUnits(-0.0001)).to.equal(-1);
    expect(Object.is(priceToUnits(-0), 0)).to.be.true;
    expect(priceToUnits(100000)).to.equal(MAX_PRICE_UNITS);
    expect(unitsToPrice(123456)).to.equal(12.3456);
    expect(formatValue('0')).to.equal('0');
    expect(formatValue('1')).to.equal('0.0000000001');
    expect(formatValue('123450000000')).to.equal('12.345');
    fc.assert(fc.property(fc.integer({ min: 1, max: MAX_ORDER_WH }), (wh) => kwhToWh(whToKwh(wh)) === wh));
    fc.assert(
      fc.property(
        fc.integer({ min: -MAX_PRICE_UNITS, max: MAX_PRICE_UNITS }),
        (units) => priceToUnits(unitsToPrice(units)) === units,
      ),
    );
  });

  it('refuses quantities that are not finite, not positive, too large or too precise', () => {
    expect(() => kwhToWh(Number.NaN)).to.throw(/^INVALID_ARGUMENT: quantity must be a finite number$/);
    expect(() => kwhToWh(Infinity)).to.throw(/quantity must be a finite number/);
    expect(() => kwhToWh(-1)).to.throw(/quantity must be between 0 and 1000000/);
    expect(() => kwhToWh(0)).to.throw(/quantity must be greater than 0 kWh/);
    expect(() => kwhToWh(1_000_000.001)).to.throw(/between 0 and 1000000/);
    expect(() => kwhToWh(1.2345, 'offer.kwh')).to.throw(/offer\.kwh must have at most 3 decimal places/);
    expect(() => kwhToWh(1.0000000001)).to.throw(/at most 3 decimal places/);
    expect(() => kwhToWh('1')).to.throw(/quantity must be a number/);
  });

  it('refuses prices that are not finite, out of range or too precise', () => {
    expect(() => priceToUnits(Number.NaN)).to.throw(/price must be a finite number/);
    expect(() => priceToUnits(-Infinity)).to.throw(/price must be a finite number/);
    expect(() => priceToUnits(100000.0001)).to.throw(/price must be between -100000 and 100000/);
    expect(() => priceToUnits(1.23456, 'bid.price')).to.throw(
      /bid\.price must have at most 4 decimal places/,
    );
  });

  it('refuses malformed orders without echoing their values', () => {
    const good = {
      orderId: 'o-1',
      side: 'offer',
      participant: 'alice',
      quantityWh: 5,
      limitPrice: 7,
      submittedSeq: 0,
    };
    expect(parseOrder(good)).to.deep.equal(good);
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ quantityWh: Number.NaN }, /order\.quantityWh must be a whole number/],
      [{ quantityWh: Infinity }, /order\.quantityWh must be a whole number/],
      [{ quantityWh: -5 }, /order\.quantityWh must be between 1 and 1000000000/],
      [{ quantityWh: 0 }, /order\.quantityWh must be between 1/],
      [{ quantityWh: 1.5 }, /order\.quantityWh must be a whole number/],
      [{ quantityWh: MAX_ORDER_WH + 1 }, /order\.quantityWh must be between/],
      [{ quantityWh: '5' }, /order\.quantityWh must be a whole number/],
      [{ limitPrice: Number.NaN }, /order\.limitPrice must be a whole number/],
      [{ limitPrice: 0.25 }, /order\.limitPrice must be a whole number/],
      [{ limitPrice: MAX_PRICE_UNITS + 1 }, /order\.limitPrice must be between -1000000000 and 1000000000/],
      [{ submittedSeq: -1 }, /order\.submittedSeq must be between 0/],
      [{ side: 'ask' }, /order\.side must be "offer" or "bid"/],
      [{ orderId: '' }, /order\.orderId must be 1-64 characters/],
      [{ orderId: 'has space' }, /order\.orderId must be 1-64 characters/],
      [{ orderId: 42 }, /order\.orderId must be a string/],
      [{ participant: '' }, /order\.participant must be 1-256 characters/],
      [{ participant: 'a\nb' }, /order\.participant must not contain control characters/],
      [{ extra: 1 }, /order has unknown field\(s\): extra/],
    ];
    for (const [patch, message] of refusals) {
      let error: unknown;
      try {
        parseOrder({ ...good, ...patch });
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(patch)).to.be.instanceOf(Error);
      const text = (error as Error).message;
      expect(text).to.match(/^INVALID_ARGUMENT: /);
      expect(text).to.match(message);
      expect(text).to.not.contain('has space');
      expect(text).to.not.contain('ask');
      expect(text).to.not.match(/\b-5\b|\b1\.5\b|0\.25/);
    }
    expect(() => parseOrder(null)).to.throw(/order must be a JSON object/);
    expect(() => parseOrder([good], 'orders[0]')).to.throw(/orders\[0\] must be a JSON object/);
  });

  it('refuses a book with duplicate order ids, too many orders or a bad order, naming the position', () => {
    const a = offer('dup', 'alice', 1, 10);
    const b = bid('dup', 'bob', 1, 20);
    expect(() => clearAuction([a, b])).to.throw(
      /^INVALID_ARGUMENT: orders\[1\]\.orderId repeats the id of an earlier order$/,
    );
    expect(() => parseOrders([a, { ...b, orderId: 'other', quantityWh: 0 }])).to.throw(
      /orders\[1\]\.quantityWh/,
    );
    expect(() =>
      clearAuction([a, { ...b, orderId: 'other', limitPrice: Number.POSITIVE_INFINITY }]),
    ).to.throw(/orders\[1\]\.limitPrice must be a whole number/);
    expect(() => parseOrders({})).to.throw(/orders must be a JSON array/);
    expect(() => parseOrders(new Array<unknown>(MAX_ORDERS + 1).fill(a))).to.throw(
      /orders must have at most 100000 entries/,
    );
  });

  it('refuses an unknown clearing rule', () => {
    expect(parseClearingRule('pay-as-bid')).to.equal('pay-as-bid');
    expect(() => parseClearingRule('vickrey')).to.throw(
      /^INVALID_ARGUMENT: rule must be "pay-as-clear" or "pay-as-bid"$/,
    );
    expect(() => clearAuction([], 'first-price' as ClearingRule)).to.throw(/rule must be/);
  });
});

import { expect } from 'chai';
import { clearAuction, parseOrders } from '@hems/protocol';
import { benchAuctionClearing } from '../../scripts/bench/auction-clearing';
import { syntheticOrderBook } from '../../scripts/bench/lib/order-book';

describe('bench order books and clearing benchmark', () => {
  it('builds valid, deterministic books of the requested size with both sides', () => {
    const book = syntheticOrderBook(1001);
    expect(book).to.have.length(1001);
    expect(parseOrders(book)).to.deep.equal(book);
    expect(syntheticOrderBook(1001)).to.deep.equal(book);
    expect(syntheticOrderBook(1001, 5)).to.not.deep.equal(book);
    expect(book.filter((order) => order.side === 'bid')).to.have.length(501);
    // Some participants stand behind several orders: self-trade prevention is exercised.
    expect(new Set(book.map((order) => order.participant)).size).to.be.below(book.length);
  });

  it('makes a crossing market, so the clearing has trades to compute', () => {
    const result = clearAuction(syntheticOrderBook(200), 'pay-as-clear');
    expect(result.trades.length).to.be.greaterThan(10);
    expect(result.clearingPrice).to.be.a('number');
  });

  it('refuses a size that is not a positive whole number', () => {
    expect(() => syntheticOrderBook(0)).to.throw(RangeError);
    expect(() => syntheticOrderBook(2.5)).to.throw(RangeError);
  });

  it('times both pricing rules per size', () => {
    const results = benchAuctionClearing({ orders: [50, 100], clearingRuns: 3 });
    expect(results.map((result) => [result.orders, result.rule, result.runs])).to.deep.equal([
      [50, 'pay-as-clear', 3],
      [50, 'pay-as-bid', 3],
      [100, 'pay-as-clear', 3],
      [100, 'pay-as-bid', 3],
    ]);
    for (const result of results) {
      expect(result.minMs).to.be.at.most(result.medianMs);
      expect(result.medianMs).to.be.at.most(result.maxMs);
      expect(result.trades).to.equal(
        clearAuction(syntheticOrderBook(result.orders), result.rule).trades.length,
      );
    }
  });
});

import { expect } from 'chai';
import { fittedCost, itemsResult, ItemTally, type DrComparison } from '../../scripts/bench/lib/dr-results';
import type { PoolOutcome } from '../../scripts/bench/lib/runner';

function comparison(homesPerTransaction: number, p50Ms: number, endorseP50Ms: number): DrComparison {
  return {
    homesPerTransaction,
    eventId: `e-${homesPerTransaction}`,
    transactions: 1,
    homes: homesPerTransaction,
    p50Ms,
    p95Ms: p50Ms,
    endorseP50Ms,
    commitP50Ms: p50Ms - endorseP50Ms,
    msPerHome: p50Ms / homesPerTransaction,
    homesPerSecond: 0,
  };
}

describe('bench demand-response results', () => {
  it('tallies accepted items and keeps the first refusal', () => {
    const tally = new ItemTally();
    tally.add({ accepted: 200, refused: [] });
    tally.add({ accepted: 198, refused: [{ index: 7, code: 'FAILED_PRECONDITION', message: 'no history' }] });
    tally.add({ accepted: 0, refused: [{ index: 0, code: 'CONFLICT', message: 'paid' }] });
    expect(tally.accepted).to.equal(398);
    expect(tally.firstRefusal).to.equal('item 7 refused: FAILED_PRECONDITION no history');
  });

  it('counts items, not transactions: rate per item, latency per transaction', () => {
    const tally = new ItemTally();
    tally.add({ accepted: 400, refused: [] });
    tally.add({ accepted: 399, refused: [{ index: 3, code: 'CONFLICT', message: 'twice' }] });
    const outcome: PoolOutcome = {
      items: 3,
      succeeded: 2,
      failures: 1,
      latenciesMs: [1000, 3000],
      seconds: 5,
      firstError: undefined,
    };
    const row = itemsResult('dr', 'PayRewards', outcome, undefined, tally, 1200, {
      homesPerTransaction: 400,
    });
    expect(row).to.include({
      benchmark: 'dr',
      items: 1200,
      committed: 799,
      failures: 401,
      itemsPerSecond: 159.8,
      p50Ms: 1000,
      p95Ms: 3000,
      firstError: 'item 3 refused: CONFLICT twice',
    });
    expect(row.details).to.deep.equal({ homesPerTransaction: 400, transactions: 3, failedTransactions: 1 });
    const failed = itemsResult('dr', 'x', { ...outcome, firstError: 'timeout' }, undefined, tally, 1200, {});
    expect(failed.firstError).to.equal('timeout');
  });

  it('fits the cost per transaction and per home over the compared sizes', () => {
    // 598 ms + 2 ms per home in all, of which 10 ms + 1.5 ms per home endorsing; then noisy.
    const rows = [comparison(1, 600, 11.5), comparison(100, 798, 160), comparison(500, 1598, 760)];
    expect(fittedCost(rows, (row) => row.p50Ms)).to.deep.equal({ fixedMs: 598, perItemMs: 2 });
    expect(fittedCost(rows, (row) => row.endorseP50Ms)).to.deep.equal({ fixedMs: 10, perItemMs: 1.5 });
    const noisy = [comparison(1, 610, 0), comparison(100, 790, 0), comparison(500, 1600, 0)];
    expect(fittedCost(noisy, (row) => row.p50Ms)).to.deep.equal({ fixedMs: 600.2, perItemMs: 1.996 });
    expect(fittedCost([comparison(500, 1600, 1000)], (row) => row.p50Ms)).to.equal(null);
  });
});

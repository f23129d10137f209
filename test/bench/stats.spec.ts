import { expect } from 'chai';
import { fitLinearCost, median, percentile, round, summarize } from '../../scripts/bench/lib/stats';

describe('bench stats', () => {
  const hundred = Array.from({ length: 100 }, (_, index) => index + 1);

  it('takes nearest-rank percentiles of sorted values', () => {
    expect(percentile(hundred, 50)).to.equal(50);
    expect(percentile(hundred, 95)).to.equal(95);
    expect(percentile(hundred, 99)).to.equal(99);
    expect(percentile(hundred, 100)).to.equal(100);
    expect(percentile([7], 1)).to.equal(7);
    expect(percentile([1, 2, 3, 4], 50)).to.equal(2);
    expect(percentile([1, 2, 3, 4], 51)).to.equal(3);
  });

  it('answers NaN for no values and refuses percentiles outside (0, 100]', () => {
    expect(percentile([], 50)).to.be.NaN;
    expect(() => percentile(hundred, 0)).to.throw(RangeError, 'greater than 0');
    expect(() => percentile(hundred, 101)).to.throw(RangeError, 'at most 100');
    expect(() => percentile(hundred, Number.NaN)).to.throw(RangeError);
  });

  it('takes medians of unsorted values, averaging the middle pair', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([])).to.be.NaN;
  });

  it('summarizes latencies without changing the input order', () => {
    const latencies = [30, 10, 20, 40];
    const summary = summarize(latencies);
    expect(summary).to.deep.equal({ count: 4, meanMs: 25, p50Ms: 20, p95Ms: 40, p99Ms: 40, maxMs: 40 });
    expect(latencies).to.deep.equal([30, 10, 20, 40]);
    expect(summarize([]).count).to.equal(0);
    expect(summarize([]).p50Ms).to.be.NaN;
  });

  it('refuses latencies that are not finite non-negative numbers', () => {
    expect(() => summarize([1, -1])).to.throw(RangeError, 'non-negative');
    expect(() => summarize([Number.POSITIVE_INFINITY])).to.throw(RangeError);
  });

  it('rounds to the given decimals', () => {
    expect(round(1.23456)).to.equal(1.2);
    expect(round(1.23456, 3)).to.equal(1.235);
  });

  it('fits a fixed and a per-item cost by least squares', () => {
    const exact = fitLinearCost([
      { items: 1, ms: 502 },
      { items: 100, ms: 700 },
      { items: 500, ms: 1500 },
    ]);
    expect(exact?.fixedMs).to.be.closeTo(500, 1e-9);
    expect(exact?.perItemMs).to.be.closeTo(2, 1e-9);
    const noisy = fitLinearCost([
      { items: 0, ms: 1 },
      { items: 0, ms: 3 },
      { items: 10, ms: 12 },
      { items: 10, ms: 10 },
    ]);
    expect(noisy?.fixedMs).to.be.closeTo(2, 1e-9);
    expect(noisy?.perItemMs).to.be.closeTo(0.9, 1e-9);
  });

  it('fits nothing from fewer than two distinct item counts', () => {
    expect(fitLinearCost([])).to.equal(null);
    expect(
      fitLinearCost([
        { items: 5, ms: 1 },
        { items: 5, ms: 2 },
      ]),
    ).to.equal(null);
    expect(
      fitLinearCost([
        { items: 5, ms: 1 },
        { items: 6, ms: Number.NaN },
      ]),
    ).to.equal(null);
  });
});

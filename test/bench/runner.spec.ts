import { expect } from 'chai';
import { runLanes, runPool } from '../../scripts/bench/lib/runner';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('bench runner', () => {
  it('runs every item once with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const outcome = await runPool([...Array(25).keys()], 4, async (item, index) => {
      expect(item).to.equal(index);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await tick();
      seen.push(item);
      inFlight -= 1;
    });
    expect(peak).to.equal(4);
    expect(seen.sort((a, b) => a - b)).to.deep.equal([...Array(25).keys()]);
    expect(outcome.items).to.equal(25);
    expect(outcome.succeeded).to.equal(25);
    expect(outcome.latenciesMs).to.have.length(25);
    expect(outcome.failures).to.equal(0);
    expect(outcome.firstError).to.equal(undefined);
  });

  it('counts every failure, keeps the first message and times only successes', async () => {
    const outcome = await runPool([1, 2, 3, 4, 5, 6], 2, async (item) => {
      await tick();
      if (item % 3 === 0) {
        throw new Error(`refused ${item}`);
      }
    });
    expect(outcome.succeeded).to.equal(4);
    expect(outcome.failures).to.equal(2);
    expect(outcome.latenciesMs).to.have.length(4);
    expect(outcome.firstError).to.equal('refused 3');
    expect(outcome.succeeded + outcome.failures).to.equal(outcome.items);
  });

  it('with a time limit, starts no item after it and counts only the ones started', async () => {
    const outcome = await runPool(
      [...Array(10_000).keys()],
      2,
      () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
      { forMs: 60 },
    );
    expect(outcome.items).to.be.above(0).and.below(10_000);
    expect(outcome.succeeded + outcome.failures).to.equal(outcome.items);
    expect(outcome.latenciesMs).to.have.length(outcome.items);
  });

  it('handles no items and refuses a concurrency below 1', async () => {
    const outcome = await runPool([], 8, () => Promise.resolve());
    expect(outcome.items).to.equal(0);
    expect(outcome.succeeded).to.equal(0);
    try {
      await runPool([1], 0, () => Promise.resolve());
      expect.fail('a concurrency of 0 was accepted');
    } catch (error) {
      expect((error as Error).message).to.equal('concurrency must be a positive whole number');
    }
  });

  it('runs lanes side by side and the items of a lane in order, one at a time', async () => {
    const inFlight = new Map<string, number>();
    let lanesAtOnce = 0;
    const order: string[] = [];
    const lanes = [
      ['a1', 'a2', 'a3'],
      ['b1', 'b2'],
      ['c1', 'c2', 'c3', 'c4'],
    ];
    const outcome = await runLanes(lanes, async (item) => {
      const lane = item.slice(0, 1);
      expect(inFlight.get(lane) ?? 0).to.equal(0);
      inFlight.set(lane, 1);
      lanesAtOnce = Math.max(lanesAtOnce, [...inFlight.values()].filter((count) => count > 0).length);
      await tick();
      order.push(item);
      inFlight.set(lane, 0);
    });
    expect(lanesAtOnce).to.equal(3);
    for (const lane of lanes) {
      expect(order.filter((item) => lane.includes(item))).to.deep.equal(lane);
    }
    expect(outcome).to.include({ items: 9, succeeded: 9, failures: 0 });
    expect(outcome.latenciesMs).to.have.length(9);
  });

  it('counts a failed item and goes on with the rest of its lane', async () => {
    const done: number[] = [];
    const outcome = await runLanes([[1, 2, 3], [4]], async (item) => {
      await tick();
      if (item === 2) {
        throw new Error('refused 2');
      }
      done.push(item);
    });
    expect(done.sort()).to.deep.equal([1, 3, 4]);
    expect(outcome).to.include({ items: 4, succeeded: 3, failures: 1, firstError: 'refused 2' });
    expect((await runLanes([], () => Promise.resolve())).items).to.equal(0);
  });
});

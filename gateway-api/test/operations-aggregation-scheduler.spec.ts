import { expect } from 'chai';
import sinon from 'sinon';
import { HttpError } from '../src/http/errors';
import { AggregationScheduler, type PublishResult } from '../src/services/aggregation-scheduler';
import { refusal } from './support/fake-ledger';
import { chaincodeEvent, type EventingFakeLedger } from './operations-support';
import { at, MINUTE, SCHEDULER_START as START } from './support/scheduler';
import { endSchedulerTest, SCHEDULER_TIMING, startSchedulerTest } from './support/scheduler';

const PUBLISHED: PublishResult = { buses: [{ bus: 'bus-1', outcome: 'published' }] };

interface Listed {
  slotId: string;
  deadline: string;
  status: string;
  mine?: boolean[];
}

describe('operations: aggregation scheduler', () => {
  let clock: sinon.SinonFakeTimers;
  let ledger: EventingFakeLedger;
  let publish: sinon.SinonStub<[string], Promise<PublishResult>>;
  let scheduler: AggregationScheduler;

  /** ListSlots pages of `pageSize` with bookmarks, GetSlot with this org's (and another's) aggregates. */
  function serveSlots(slots: readonly Listed[], pageSize: number): void {
    ledger.on('ListSlots', (options: { arguments?: readonly string[] }) => {
      const start = Number(options.arguments?.[1] ?? '');
      const page = slots.slice(start, start + pageSize);
      const next = start + pageSize < slots.length ? String(start + pageSize) : '';
      return {
        slots: page.map(({ slotId, deadline, status }) => ({ slotId, deadline, status })),
        fetched: page.length,
        bookmark: next,
      };
    });
    ledger.on('GetSlot', (options: { arguments?: readonly string[] }) => {
      const slot = slots.find((candidate) => candidate.slotId === options.arguments?.[0]);
      return {
        slotId: slot?.slotId,
        deadline: slot?.deadline,
        status: slot?.status,
        aggregates: [
          ...(slot?.mine ?? []).map((published, index) => ({
            org: 'UtilityAMSP',
            bus: `bus-${index}`,
            published,
          })),
          { org: 'UtilityBMSP', bus: 'bus-1', published: false },
        ],
      };
    });
  }

  function create(
    options: Partial<ConstructorParameters<typeof AggregationScheduler>[0]> = {},
  ): AggregationScheduler {
    scheduler = new AggregationScheduler({
      ledger,
      publish,
      ...SCHEDULER_TIMING,
      pageSize: 3,
      ...options,
    });
    return scheduler;
  }

  beforeEach(() => {
    ({ clock, ledger } = startSchedulerTest(['relay', 'admin']));
    publish = sinon.stub<[string], Promise<PublishResult>>().resolves(PUBLISHED);
    serveSlots([], 3);
  });

  afterEach(() => endSchedulerTest(scheduler, clock));

  it('rebuilds its plan from the ledger page by page and publishes each slot at its deadline', async () => {
    serveSlots(
      [
        { slotId: 's1', deadline: at(10), status: 'OPEN', mine: [false, true] },
        { slotId: 's2', deadline: at(-30), status: 'DISPATCHED', mine: [false] },
        { slotId: 's3', deadline: at(-5), status: 'SETTLED', mine: [false] },
        { slotId: 's4', deadline: at(-1), status: 'CLOSED', mine: [false] },
        { slotId: 's5', deadline: at(20), status: 'OPEN', mine: [true] },
        { slotId: 's6', deadline: at(-60), status: 'AGGREGATED', mine: [true] },
      ],
      3,
    );
    await create().start();

    expect(ledger.callsOf('ListSlots').map((call) => call.options.arguments)).to.deep.equal([
      ['3', ''],
      ['3', '3'],
    ]);
    expect(ledger.callsOf('GetSlot').map((call) => call.options.arguments?.[0])).to.deep.equal([
      's1',
      's4',
      's5',
    ]);
    expect(ledger.callsOf('ListSlots').every((call) => call.identity === 'relay')).to.equal(true);
    expect(scheduler.scheduled.map((entry) => [entry.slotId, entry.dueAt.toISOString()])).to.deep.equal([
      ['s1', new Date(START + 10 * MINUTE + 1000).toISOString()],
      ['s4', new Date(START - MINUTE + 1000).toISOString()],
    ]);
    // Events are followed from the height read before the rebuild: nothing falls in between.
    expect(ledger.stream.startBlock).to.equal(42n);

    await clock.tickAsync(0);
    expect(publish.args).to.deep.equal([['s4']]);
    await clock.tickAsync(10 * MINUTE);
    expect(publish.args).to.deep.equal([['s4']]);
    await clock.tickAsync(1000);
    expect(publish.args).to.deep.equal([['s4'], ['s1']]);
    expect(scheduler.scheduled).to.deep.equal([]);
  });

  it('plans slots opened while running from SlotOpened events that name this org', async () => {
    await create().start();
    const opened = (slotId: string, orgs: string[], n: number) =>
      chaincodeEvent(
        'SlotOpened',
        {
          slotId,
          deadline: at(15),
          prices: { buses: [] },
          buses: orgs.map((org) => ({ org, bus: 'bus-1' })),
        },
        50 + n,
        n.toString(16).padStart(64, '0'),
      );
    ledger.stream.push(
      opened('mine', ['UtilityBMSP', 'UtilityAMSP'], 1),
      opened('theirs', ['UtilityBMSP'], 2),
      opened('mine', ['UtilityAMSP'], 3),
      chaincodeEvent('DispatchPublished', { slotId: 'mine' }, 54, 'f'.repeat(64)),
    );
    await clock.tickAsync(0);
    expect(scheduler.scheduled.map((entry) => entry.slotId)).to.deep.equal(['mine']);
    await clock.tickAsync(15 * MINUTE + 1000);
    expect(publish.args).to.deep.equal([['mine']]);
  });

  it('retries transient failures and premature publishes with doubling delays', async () => {
    publish.onCall(0).rejects(new HttpError(503, 'LEDGER_UNAVAILABLE', 'the Fabric network did not answer'));
    publish.onCall(1).resolves({
      buses: [
        { bus: 'bus-1', outcome: 'published' },
        { bus: 'bus-2', outcome: 'not yet: the window is still open' },
      ],
    });
    publish.onCall(2).rejects(new HttpError(409, 'CONFLICT', 'MVCC_READ_CONFLICT', 'a'.repeat(64)));
    publish.onCall(3).resolves({
      buses: [
        { bus: 'bus-1', outcome: 'already published' },
        { bus: 'bus-2', outcome: 'published' },
      ],
    });
    // Pending on the ledger throughout: bus-2 stays unpublished in the fake's GetSlot.
    serveSlots([{ slotId: 's1', deadline: at(0), status: 'OPEN', mine: [true, false] }], 3);
    await create().start();
    scheduler.schedule('s1', at(0));

    // [ms to wait, runs by then]: the retries come 1 s, 2 s and 4 s after each failure.
    const timeline = [
      [1000, 1],
      [999, 1],
      [1, 2],
      [2000, 3],
      [3999, 3],
      [1, 4],
    ] as const;
    for (const [ms, runs] of timeline) {
      await clock.tickAsync(ms);
      expect(publish.callCount, `after ${ms} ms more`).to.equal(runs);
    }
    expect(scheduler.scheduled).to.deep.equal([]);
  });

  it('drops an item on a chaincode refusal at once', async () => {
    serveSlots([{ slotId: 'refused', deadline: at(0), status: 'CLOSED', mine: [false] }], 3);
    publish.withArgs('refused').rejects(refusal('FORBIDDEN', 'not this org'));
    await create().start();
    await clock.tickAsync(10 * MINUTE);
    expect(publish.withArgs('refused').callCount).to.equal(1);
    expect(scheduler.scheduled).to.deep.equal([]);
  });

  it('retries transient failures without a limit while the slot is pending, warning at each capped retry', async () => {
    const log = { info: sinon.spy(), warn: sinon.spy(), error: sinon.spy() };
    const slot: Listed = { slotId: 'down', deadline: at(0), status: 'CLOSED', mine: [false] };
    serveSlots([slot], 3);
    publish.rejects(new HttpError(503, 'LEDGER_UNAVAILABLE', 'down'));
    await create({ log }).start();
    // Delays 1, 2, 4, then 4 s (the cap) forever: far more attempts than the old limit of 8.
    await clock.tickAsync(1000 + 1000 + 2000 + 4000 + 20 * 4000);
    expect(publish.callCount).to.equal(24);
    expect(scheduler.scheduled.map((entry) => [entry.slotId, entry.attempt])).to.deep.equal([['down', 24]]);
    // Below the cap the retries are info; from the cap on every retry warns.
    expect(log.info.callCount).to.equal(2);
    expect(log.warn.callCount).to.equal(22);
    expect(log.warn.lastCall.args[0]).to.deep.equal({ id: 'down', attempt: 24, retryInMs: 4000 });
    expect(String(log.warn.lastCall.args[1])).to.match(/aggregation still pending after 24 attempts/);
    expect(log.error.called).to.equal(false);
    // The ledger cannot be read either: still pending, still retried.
    ledger.on('GetSlot', () => {
      throw new HttpError(503, 'LEDGER_UNAVAILABLE', 'down');
    });
    await clock.tickAsync(2 * 4000);
    expect(publish.callCount).to.equal(26);
    // Another path published it (the DSO's fan-out): the next failed attempt finds it done.
    serveSlots([{ ...slot, mine: [true] }], 3);
    await clock.tickAsync(4000);
    expect(publish.callCount).to.equal(27);
    expect(scheduler.scheduled).to.deep.equal([]);
    await clock.tickAsync(10 * MINUTE);
    expect(publish.callCount).to.equal(27);
  });

  it('stops retrying a premature publish once the slot no longer takes aggregates', async () => {
    const slot: Listed = { slotId: 's1', deadline: at(0), status: 'CLOSED', mine: [false] };
    serveSlots([slot], 3);
    publish.resolves({ buses: [{ bus: 'bus-0', outcome: 'not yet: the window is still open' }] });
    await create().start();
    await clock.tickAsync(1000 + 1000 + 2000);
    expect(publish.callCount).to.equal(3);
    serveSlots([{ ...slot, status: 'DISPATCHED' }], 3);
    await clock.tickAsync(4000);
    expect(publish.callCount).to.equal(4);
    expect(scheduler.scheduled).to.deep.equal([]);
  });

  it('stop() clears its timers and stops following events', async () => {
    await create().start();
    scheduler.schedule('s1', at(5));
    await scheduler.stop();
    expect(ledger.stream.closed).to.equal(true);
    await clock.tickAsync(10 * MINUTE);
    expect(publish.called).to.equal(false);
    scheduler.schedule('s2', at(6));
    expect(scheduler.scheduled).to.deep.equal([]);
  });

  it('retries the rebuild with backoff while the ledger cannot be read', async () => {
    const height = sinon.stub(ledger, 'blockHeight');
    height.onCall(0).rejects(new Error('peer down'));
    height.onCall(1).rejects(new Error('peer down'));
    height.resolves(7);
    serveSlots([{ slotId: 's1', deadline: at(-1), status: 'CLOSED', mine: [false] }], 3);
    await create().start();
    expect(ledger.streams).to.have.length(0);
    await clock.tickAsync(1000);
    expect(height.callCount).to.equal(2);
    await clock.tickAsync(2000);
    expect(height.callCount).to.equal(3);
    expect(ledger.stream.startBlock).to.equal(7n);
    // A zero delay set during a fake tick is due 1 ms later.
    await clock.tickAsync(1);
    expect(publish.args).to.deep.equal([['s1']]);
  });
});

import { expect } from 'chai';
import sinon from 'sinon';
import type { CommitResult, EscrowRelease, RevealResult } from '../src/resources/reveal/service';
import { CommitScheduler } from '../src/services/commit-scheduler';
import { ReleaseScheduler } from '../src/services/release-scheduler';
import { SlotEventHub, toSlotEvent, viewOf, type SlotEvent } from '../src/services/events';
import { RevealScheduler } from '../src/services/reveal-scheduler';
import { refusal } from './support/fake-ledger';
import { chaincodeEvent, EventingFakeLedger, settle } from './operations-support';
import { at, MINUTE, SCHEDULER_START as START } from './support/scheduler';
import { SCHEDULER_TIMING, windowSchedulerSuite } from './support/scheduler';

describe('auction: window events', () => {
  it('maps WindowOpened, OrdersRevealed, WindowCleared, WindowSettled and GridShareClaimed to server-sent event types', () => {
    const cases: [string, string][] = [
      ['WindowOpened', 'window-opened'],
      ['OrdersRevealed', 'orders-revealed'],
      ['WindowCleared', 'window-cleared'],
      ['DeliveryReportsClosed', 'delivery-reports-closed'],
      ['WindowSettled', 'window-settled'],
      ['GridShareClaimed', 'grid-share-claimed'],
    ];
    for (const [name, type] of cases) {
      const payload = { windowId: 'w-1', org: 'UtilityAMSP', closesAt: at(10) };
      const event = toSlotEvent(chaincodeEvent(name, payload, 7, 'ab'));
      expect(event).to.deep.equal({ id: '7-ab', blockNumber: 7n, type, data: payload });
    }
    expect(() => toSlotEvent(chaincodeEvent('WindowCleared', { price: 1 }, 7, 'ab'))).to.throw(/windowId/);
    expect(() => toSlotEvent(chaincodeEvent('WindowOpened', ['w-1'], 7, 'ab'))).to.throw(/windowId/);
    expect(toSlotEvent(chaincodeEvent('AggregatePublished', { slotId: 's' }, 7, 'ab'))).to.equal(undefined);
  });

  it('gives window events whole to every caller, devices included', () => {
    const event = toSlotEvent(
      chaincodeEvent('WindowCleared', { windowId: 'w-1', clearingPrice: 82.5, trades: 3 }, 9, 'cd'),
    );
    if (event === undefined) {
      throw new Error('WindowCleared was not mapped');
    }
    for (const role of ['hems', 'auditor', 'market'] as const) {
      expect(viewOf(event, { mspId: 'UtilityAMSP', role, bus: 'bus-1' }, () => undefined)).to.deep.equal({
        windowId: 'w-1',
        clearingPrice: 82.5,
        trades: 3,
      });
    }
  });

  it('streams them through the hub and skips a malformed one', () => {
    const ledger = new EventingFakeLedger('UtilityAMSP', ['relay']);
    const hub = new SlotEventHub({ source: ledger });
    const received: SlotEvent[] = [];
    hub.subscribe({ send: (event) => received.push(event), end: () => undefined });
    hub.receive(chaincodeEvent('WindowOpened', { windowId: 'w-1', closesAt: at(5) }, 3, 'a1'));
    hub.receive(chaincodeEvent('WindowSettled', { org: 'UtilityAMSP' }, 4, 'a2'));
    hub.receive(
      chaincodeEvent('WindowSettled', { windowId: 'w-1', org: 'UtilityAMSP', final: true }, 5, 'a3'),
    );
    expect(received.map((event) => [event.type, event.id])).to.deep.equal([
      ['window-opened', '3-a1'],
      ['window-settled', '5-a3'],
    ]);
    expect(hub.since('3-a1').events.map((event) => event.id)).to.deep.equal(['5-a3']);
  });
});

describe('auction: reveal scheduler', () => {
  const revealed = (windowId: string): RevealResult => ({
    windowId,
    org: 'UtilityAMSP',
    orders: 2,
    txId: 'f'.repeat(64),
  });
  const suite = windowSchedulerSuite(
    revealed,
    (ledger, reveal) => new RevealScheduler({ ledger, reveal, ...SCHEDULER_TIMING, pageSize: 2 }),
  );

  it('rebuilds from ListWindows page by page and reveals each open or closed window at its close', async () => {
    const windows = [
      { windowId: 'w1', status: 'OPEN', closesAt: at(10) },
      { windowId: 'w2', status: 'CLEARED', closesAt: at(-10) },
      { windowId: 'w3', status: 'CLOSED', closesAt: at(-1) },
      { windowId: 'w4', status: 'SETTLED', closesAt: at(-30) },
      { windowId: 'w5', status: 'OPEN' },
    ];
    suite.ledger.on('ListWindows', (options: { arguments?: readonly string[] }) => {
      const start = Number(options.arguments?.[1] ?? '');
      return {
        windows: windows.slice(start, start + 2),
        bookmark: start + 2 < windows.length ? String(start + 2) : '',
      };
    });
    suite.ledger.on('GetWindow', { windowId: 'w5', status: 'OPEN', closesAt: at(20) });
    await suite.create().start();
    expect(suite.ledger.callsOf('ListWindows').map((call) => call.options.arguments)).to.deep.equal([
      ['2', ''],
      ['2', '2'],
      ['2', '4'],
    ]);
    expect(suite.ledger.callsOf('ListWindows').every((call) => call.contract === 'auction')).to.equal(true);
    expect(suite.ledger.callsOf('GetWindow').map((call) => call.options.arguments)).to.deep.equal([['w5']]);
    expect(
      suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.dueAt.toISOString()]),
    ).to.deep.equal([
      ['w1', new Date(START + 10 * MINUTE + 1000).toISOString()],
      ['w3', new Date(START - MINUTE + 1000).toISOString()],
      ['w5', new Date(START + 20 * MINUTE + 1000).toISOString()],
    ]);
    expect(suite.ledger.stream.startBlock).to.equal(42n);
    await suite.clock.tickAsync(0);
    expect(suite.step.args).to.deep.equal([['w3']]);
    await suite.clock.tickAsync(10 * MINUTE + 1000);
    expect(suite.step.args).to.deep.equal([['w3'], ['w1']]);
    await suite.clock.tickAsync(10 * MINUTE);
    expect(suite.step.args).to.deep.equal([['w3'], ['w1'], ['w5']]);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });

  it('plans windows from WindowOpened events, once each', async () => {
    await suite.create().start();
    suite.ledger.stream.push(
      chaincodeEvent('WindowOpened', { windowId: 'w7', closesAt: at(3) }, 43, 'e1'),
      chaincodeEvent('WindowOpened', { windowId: 'w7', closesAt: at(3) }, 43, 'e2'),
      chaincodeEvent('WindowOpened', { closesAt: at(3) }, 44, 'e3'),
      chaincodeEvent('SlotOpened', { slotId: 's', deadline: at(1), buses: [] }, 44, 'e4'),
    );
    await suite.clock.tickAsync(0);
    await settle();
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId)).to.deep.equal(['w7']);
    await suite.clock.tickAsync(3 * MINUTE + 1000);
    expect(suite.step.args).to.deep.equal([['w7']]);
  });

  it('counts CONFLICT as revealed already, retries a window still open, and stops once it is cleared', async () => {
    await suite.create().start();
    suite.scheduler.schedule('done', at(0));
    suite.scheduler.schedule('early', at(0));
    suite.step.callsFake((id) =>
      Promise.reject(
        id === 'done'
          ? refusal('CONFLICT', 'UtilityAMSP has revealed its orders of window done already')
          : refusal('FAILED_PRECONDITION', `window ${id} is still open`),
      ),
    );
    let status = 'OPEN';
    suite.ledger.on('GetWindow', () => ({ windowId: 'early', status }));
    await suite.clock.tickAsync(1000);
    expect(suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.attempt])).to.deep.equal([
      ['early', 1],
    ]);
    await suite.clock.tickAsync(1000);
    expect(suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.attempt])).to.deep.equal([
      ['early', 2],
    ]);
    status = 'CLEARED';
    await suite.clock.tickAsync(2000);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
    expect(suite.step.args.filter(([id]) => id === 'early')).to.have.length(3);
  });

  it('retries Fabric failures without a limit while its part is unrevealed, and stops once it is revealed', async () => {
    await suite.create().start();
    suite.step.rejects(new Error('peer unreachable'));
    const mine = (revealed: boolean): Record<string, unknown> => ({
      windowId: 'w9',
      status: 'CLOSED',
      parts: [
        { org: 'UtilityAMSP', ...(revealed ? { revealed: { count: 2 } } : {}) },
        { org: 'UtilityBMSP', revealed: { count: 1 } },
      ],
    });
    suite.ledger.on('GetWindow', mine(false));
    suite.scheduler.schedule('w9', at(0));
    // Delays 1, 2, 4, then the 4 s cap: 30 attempts, far past the old limit of 8.
    await suite.clock.tickAsync(1000 + 1000 + 2000 + 27 * 4000);
    expect(suite.step.callCount).to.equal(30);
    expect(suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.attempt])).to.deep.equal([
      ['w9', 30],
    ]);
    // An admin revealed through the API meanwhile: the next failure finds the part revealed.
    suite.ledger.on('GetWindow', mine(true));
    await suite.clock.tickAsync(4000);
    expect(suite.step.callCount).to.equal(31);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });

  it('drops a window without a part of this org (it joined the channel later)', async () => {
    await suite.create().start();
    suite.step.rejects(refusal('FAILED_PRECONDITION', 'UtilityAMSP is not a utility of window w8'));
    suite.ledger.on('GetWindow', { windowId: 'w8', status: 'CLOSED', parts: [{ org: 'UtilityBMSP' }] });
    suite.scheduler.schedule('w8', at(0));
    await suite.clock.tickAsync(1000);
    expect(suite.step.callCount).to.equal(1);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });

  it('reveals 10 s after the close by default, so an order endorsed just before it commits first', async () => {
    suite.scheduler = new RevealScheduler({ ledger: suite.ledger, reveal: suite.step });
    await suite.scheduler.start();
    suite.scheduler.schedule('w1', at(1));
    expect(suite.scheduler.scheduled[0]?.dueAt.toISOString()).to.equal(
      new Date(START + MINUTE + 10_000).toISOString(),
    );
    await suite.clock.tickAsync(MINUTE + 9_999);
    expect(suite.step.called).to.equal(false);
    await suite.clock.tickAsync(1);
    expect(suite.step.args).to.deep.equal([['w1']]);
  });
});

describe('auction: escrow release scheduler', () => {
  const released = (windowId: string): EscrowRelease => ({
    windowId,
    org: 'UtilityAMSP',
    refunded: '100',
    unrevealedAccounts: 0,
    txId: 'f'.repeat(64),
  });
  const part = (org: string, released?: boolean): Record<string, unknown> => ({
    org,
    charged: '0',
    paid: '0',
    refunded: '0',
    ...(released === true ? { released: { releasedAt: at(0), txId: 'a'.repeat(64) } } : {}),
  });
  const suite = windowSchedulerSuite(
    released,
    (ledger, release) => new ReleaseScheduler({ ledger, release, ...SCHEDULER_TIMING, pageSize: 2 }),
  );

  it('rebuilds from the cleared windows whose part of this org is not released yet, and releases them', async () => {
    const windows: Record<string, Record<string, unknown> | undefined> = {
      w1: {
        windowId: 'w1',
        status: 'CLEARED',
        clearedAt: at(-5),
        parts: [part('UtilityAMSP'), part('UtilityBMSP')],
      },
      w2: { windowId: 'w2', status: 'CLEARED', clearedAt: at(-5), parts: [part('UtilityAMSP', true)] },
      w3: { windowId: 'w3', status: 'SETTLED', clearedAt: at(-9), parts: [part('UtilityAMSP')] },
      w4: { windowId: 'w4', status: 'CLEARED', clearedAt: at(-5), parts: [part('UtilityBMSP')] },
    };
    suite.ledger.on('ListWindows', (options: { arguments?: readonly string[] }) =>
      options.arguments?.[1] === ''
        ? { windows: [{ windowId: 'w0', status: 'OPEN' }, { ...windows.w1 }], bookmark: 'p2' }
        : {
            windows: ['w2', 'w3', 'w4'].map((id) => ({
              windowId: windows[id]?.windowId,
              status: windows[id]?.status,
            })),
            bookmark: 'p3',
          },
    );
    suite.ledger.on(
      'GetWindow',
      (options: { arguments?: readonly string[] }) => windows[options.arguments?.[0] ?? ''],
    );
    await suite.create().start();
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId).sort()).to.deep.equal(['w1', 'w3']);
    // The OPEN window is not even read.
    expect(suite.ledger.callsOf('GetWindow').map((call) => call.options.arguments?.[0])).to.not.include('w0');
    await suite.clock.tickAsync(1000);
    expect(suite.step.args.map(([id]) => id).sort()).to.deep.equal(['w1', 'w3']);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });

  it('plans windows from WindowCleared events at once, once each, and skips malformed ones', async () => {
    await suite.create().start();
    suite.ledger.stream.push(
      chaincodeEvent('WindowCleared', { windowId: 'w7', price: 1 }, 43, 'e1'),
      chaincodeEvent('WindowCleared', { windowId: 'w7', price: 1 }, 43, 'e2'),
      chaincodeEvent('WindowCleared', { price: 1 }, 44, 'e3'),
      chaincodeEvent('WindowOpened', { windowId: 'w8', closesAt: at(1) }, 44, 'e4'),
    );
    await suite.clock.tickAsync(0);
    await settle();
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId)).to.deep.equal(['w7']);
    await suite.clock.tickAsync(1000);
    expect(suite.step.args).to.deep.equal([['w7']]);
  });

  it('counts CONFLICT as released, retries while the clearing is not visible, and drops a window without a part of this org', async () => {
    await suite.create().start();
    suite.step.callsFake((id) =>
      Promise.reject(
        id === 'done'
          ? refusal(
              'CONFLICT',
              'UtilityAMSP has already released the escrows of its revealed bids in window done',
            )
          : refusal('FAILED_PRECONDITION', `window ${id} is not cleared yet`),
      ),
    );
    let status = 'CLOSED';
    suite.ledger.on('GetWindow', (options: { arguments?: readonly string[] }) =>
      options.arguments?.[0] === 'foreign'
        ? { windowId: 'foreign', status: 'CLEARED', parts: [part('UtilityBMSP')] }
        : { windowId: 'late', status, parts: [part('UtilityAMSP')] },
    );
    suite.scheduler.schedule('done', at(0));
    suite.scheduler.schedule('late', at(0));
    suite.scheduler.schedule('foreign', at(0));
    await suite.clock.tickAsync(1000);
    expect(suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.attempt])).to.deep.equal([
      ['late', 1],
    ]);
    status = 'CLEARED';
    suite.step.callsFake((id) => Promise.resolve(released(id)));
    await suite.clock.tickAsync(1000);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
    expect(suite.step.args.filter(([id]) => id === 'late')).to.have.length(2);
  });

  it('retries Fabric failures without a limit while its part is unreleased, and stops once released', async () => {
    const log = { info: sinon.spy(), warn: sinon.spy(), error: sinon.spy() };
    suite.scheduler = new ReleaseScheduler({
      ledger: suite.ledger,
      release: suite.step,
      graceMs: 1000,
      retry: { initialMs: 1000, maxMs: 4000 },
      log,
    });
    await suite.scheduler.start();
    suite.step.rejects(new Error('peer unreachable'));
    let releasedPart = false;
    suite.ledger.on('GetWindow', () => ({
      windowId: 'w9',
      status: 'CLEARED',
      parts: [part('UtilityAMSP', releasedPart), part('UtilityBMSP', true)],
    }));
    suite.scheduler.schedule('w9', at(0));
    await suite.clock.tickAsync(1000 + 1000 + 2000 + 17 * 4000);
    expect(suite.step.callCount).to.equal(20);
    expect(suite.scheduler.scheduled).to.have.length(1);
    expect(log.warn.callCount).to.equal(18);
    expect(String(log.warn.lastCall.args[1])).to.match(/escrow release still pending after 20 attempts/);
    // The delivery report released it meanwhile.
    releasedPart = true;
    await suite.clock.tickAsync(4000);
    expect(suite.step.callCount).to.equal(21);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
    expect(log.error.called).to.equal(false);
  });
});

describe('auction: order commitment scheduler', () => {
  const committed = (windowId: string): CommitResult => ({
    windowId,
    org: 'UtilityAMSP',
    orders: 2,
    digest: 'd'.repeat(64),
    txId: 'f'.repeat(64),
  });
  const suite = windowSchedulerSuite(
    committed,
    (ledger, commit) =>
      new CommitScheduler({ ledger, commit, ...SCHEDULER_TIMING, leadMs: 3000, pageSize: 2 }),
  );
  const part = (org: string, commitment?: boolean): Record<string, unknown> => ({
    org,
    ...(commitment === true ? { commitment: { count: 1 } } : {}),
  });

  it('rebuilds from the open windows that require commitments and plans each leadMs before its close', async () => {
    const windows: Record<string, Record<string, unknown>> = {
      w1: {
        windowId: 'w1',
        status: 'OPEN',
        closesAt: at(10),
        requiresCommitments: true,
        parts: [part('UtilityAMSP')],
      },
      w2: {
        windowId: 'w2',
        status: 'OPEN',
        closesAt: at(10),
        requiresCommitments: true,
        parts: [part('UtilityAMSP', true)],
      },
      w3: { windowId: 'w3', status: 'OPEN', closesAt: at(10), parts: [part('UtilityAMSP')] },
      w4: {
        windowId: 'w4',
        status: 'CLOSED',
        closesAt: at(-1),
        requiresCommitments: true,
        parts: [part('UtilityAMSP')],
      },
    };
    suite.ledger.on('ListWindows', (options: { arguments?: readonly string[] }) =>
      options.arguments?.[1] === ''
        ? {
            windows: ['w1', 'w2'].map((id) => ({ windowId: id, status: windows[id]?.status })),
            bookmark: 'p2',
          }
        : {
            windows: ['w3', 'w4'].map((id) => ({ windowId: id, status: windows[id]?.status })),
            bookmark: '',
          },
    );
    suite.ledger.on(
      'GetWindow',
      (options: { arguments?: readonly string[] }) => windows[options.arguments?.[0] ?? ''],
    );
    await suite.create().start();
    expect(
      suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.dueAt.toISOString()]),
    ).to.deep.equal([['w1', new Date(START + 10 * MINUTE - 3000).toISOString()]]);
    await suite.clock.tickAsync(10 * MINUTE - 3001);
    expect(suite.step.called).to.equal(false);
    await suite.clock.tickAsync(1);
    expect(suite.step.args).to.deep.equal([['w1']]);
  });

  it('plans windows from WindowOpened events, and does not retry a refused commitment', async () => {
    suite.ledger.on('GetWindow', {
      windowId: 'w7',
      status: 'OPEN',
      requiresCommitments: true,
      parts: [part('UtilityAMSP')],
    });
    await suite.create().start();
    suite.ledger.stream.push(chaincodeEvent('WindowOpened', { windowId: 'w7', closesAt: at(1) }, 43, 'e1'));
    await suite.clock.tickAsync(0);
    await settle();
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId)).to.deep.equal(['w7']);
    suite.step.rejects(refusal('FAILED_PRECONDITION', 'window w7 closed at …'));
    await suite.clock.tickAsync(MINUTE);
    expect(suite.step.callCount).to.equal(1);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });
});

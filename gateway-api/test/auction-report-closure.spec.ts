import { expect } from 'chai';
import { ReportClosureScheduler } from '../src/services/report-closure-scheduler';
import { refusal } from './support/fake-ledger';
import { chaincodeEvent, settle } from './operations-support';
import { at, MINUTE, SCHEDULER_TIMING, windowSchedulerSuite } from './support/scheduler';

/** The suite's ledger is this gateway's org; it operates the windows it must close. */
const OWN = 'UtilityAMSP';

describe('auction: delivery report closure scheduler (market operator)', () => {
  const suite = windowSchedulerSuite(
    () => ({ unreportedOrgs: ['UtilityBMSP'] }),
    (ledger, close) => new ReportClosureScheduler({ ledger, close, ...SCHEDULER_TIMING, pageSize: 2 }),
  );
  const windows: Record<string, Record<string, unknown>> = {};
  const view = (windowId: string, status: string, extra: Record<string, unknown> = {}): void => {
    windows[windowId] = { windowId, status, operatorMspId: OWN, reportBy: at(5), ...extra };
  };
  beforeEach(() => {
    for (const id of Object.keys(windows)) {
      delete windows[id];
    }
    suite.ledger.on(
      'GetWindow',
      (options: { arguments?: readonly string[] }) => windows[options.arguments?.[0] ?? ''],
    );
  });

  it('rebuilds from the cleared windows it operates whose reports are open, due at their reportBy', async () => {
    view('w1', 'CLEARED');
    view('w2', 'CLEARED', { reportsClosedAt: at(-1) });
    view('w3', 'SETTLED');
    view('w4', 'CLEARED', { operatorMspId: 'DSO2MSP' });
    view('w5', 'OPEN');
    suite.ledger.on('ListWindows', (options: { arguments?: readonly string[] }) =>
      options.arguments?.[1] === ''
        ? {
            windows: ['w1', 'w2'].map((id) => ({ windowId: id, status: windows[id]?.status })),
            bookmark: 'p2',
          }
        : {
            windows: ['w3', 'w4', 'w5'].map((id) => ({ windowId: id, status: windows[id]?.status })),
            bookmark: '',
          },
    );
    await suite.create().start();
    expect(
      suite.scheduler.scheduled.map((entry) => [entry.windowId, entry.dueAt.toISOString()]),
    ).to.deep.equal([['w1', new Date(Date.parse(at(5)) + 1000).toISOString()]]);
    // Only listed CLEARED windows are read.
    expect(
      suite.ledger
        .callsOf('GetWindow')
        .map((call) => call.options.arguments?.[0])
        .sort(),
    ).to.deep.equal(['w1', 'w2', 'w4']);
    await suite.clock.tickAsync(5 * MINUTE + 999);
    expect(suite.step.called).to.equal(false);
    await suite.clock.tickAsync(1);
    expect(suite.step.args).to.deep.equal([['w1']]);
  });

  it('plans a window from its WindowCleared event, once, and skips malformed events', async () => {
    view('w7', 'CLEARED');
    await suite.create().start();
    suite.ledger.stream.push(
      chaincodeEvent('WindowCleared', { windowId: 'w7' }, 43, 'e1'),
      chaincodeEvent('WindowCleared', { windowId: 'w7' }, 43, 'e2'),
      chaincodeEvent('WindowCleared', { trades: 1 }, 44, 'e3'),
    );
    await suite.clock.tickAsync(0);
    await settle();
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId)).to.deep.equal(['w7']);
    await suite.clock.tickAsync(6 * MINUTE);
    expect(suite.step.args).to.deep.equal([['w7']]);
  });

  it('retries while the chaincode says it is too early, stops once settled or closed (CONFLICT)', async () => {
    view('w8', 'CLEARED');
    await suite.create().start();
    suite.scheduler.schedule('w8', at(5));
    suite.step
      .onFirstCall()
      .rejects(refusal('FAILED_PRECONDITION', 'the delivery reports of window w8 are due until …'));
    suite.step
      .onSecondCall()
      .rejects(refusal('CONFLICT', 'the delivery reports of window w8 were closed at …'));
    await suite.clock.tickAsync(5 * MINUTE + 1000);
    expect(suite.step.callCount).to.equal(1);
    expect(suite.scheduler.scheduled.map((entry) => entry.windowId)).to.deep.equal(['w8']);
    await suite.clock.tickAsync(1000);
    expect(suite.step.callCount).to.equal(2);
    expect(suite.scheduler.scheduled).to.deep.equal([]);

    // A window settled meanwhile (every utility reported) needs no closure: a refusal then drops it.
    view('w9', 'CLEARED');
    suite.scheduler.schedule('w9', at(6));
    view('w9', 'SETTLED');
    suite.step.onThirdCall().rejects(refusal('FAILED_PRECONDITION', 'too early'));
    await suite.clock.tickAsync(MINUTE + 5000);
    expect(suite.step.callCount).to.equal(3);
    expect(suite.scheduler.scheduled).to.deep.equal([]);
  });
});

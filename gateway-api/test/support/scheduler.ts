import sinon from 'sinon';
import type { ServiceIdentity } from '../../src/ledger/ports';
import { EventingFakeLedger } from '../operations-support';

/** Where the scheduler tests' fake clock starts. */
export const SCHEDULER_START = Date.parse('2030-01-01T09:00:00Z');
export const MINUTE = 60_000;

/** The time `minutes` after SCHEDULER_START (negative: before), as an RFC 3339 string. */
export const at = (minutes: number): string => new Date(SCHEDULER_START + minutes * MINUTE).toISOString();

/** The grace and retry timing every scheduler test uses. */
export const SCHEDULER_TIMING = { graceMs: 1000, retry: { initialMs: 1000, maxMs: 4000 } } as const;

/** A scheduler test's fake clock (timers and Date, from SCHEDULER_START) and UtilityAMSP's ledger. */
export function startSchedulerTest(identities: readonly ServiceIdentity[]): {
  clock: sinon.SinonFakeTimers;
  ledger: EventingFakeLedger;
} {
  const clock = sinon.useFakeTimers({
    now: SCHEDULER_START,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
  return { clock, ledger: new EventingFakeLedger('UtilityAMSP', identities) };
}

/** Stops the scheduler and restores the real clock. */
export async function endSchedulerTest(
  scheduler: { stop(): Promise<void> },
  clock: sinon.SinonFakeTimers,
): Promise<void> {
  await scheduler.stop();
  clock.restore();
}

/** A window scheduler suite's fixture, filled in before each test. */
export interface WindowSchedulerSuite<Answer, Scheduler> {
  readonly clock: sinon.SinonFakeTimers;
  readonly ledger: EventingFakeLedger;
  /** The scheduler's step (reveal, release), answering `answer` of the window unless told otherwise. */
  readonly step: sinon.SinonStub<[string], Promise<Answer>>;
  /** The scheduler of the test (create's, or one the test makes itself), stopped after it. */
  scheduler: Scheduler;
  /** Makes the scheduler over the suite's ledger and step (ListWindows answers no windows until told). */
  create(): Scheduler;
}

/**
 * Registers the hooks of a utility gateway's window scheduler suite: a fake clock and ledger and
 * a stubbed step before each test, the scheduler stopped and the clock restored after it.
 */
export function windowSchedulerSuite<Answer, Scheduler extends { stop(): Promise<void> }>(
  answer: (windowId: string) => Answer,
  construct: (ledger: EventingFakeLedger, step: (windowId: string) => Promise<Answer>) => Scheduler,
): WindowSchedulerSuite<Answer, Scheduler> {
  const suite = {
    create(): Scheduler {
      suite.scheduler = construct(suite.ledger, suite.step);
      return suite.scheduler;
    },
  } as {
    -readonly [Key in keyof WindowSchedulerSuite<Answer, Scheduler>]: WindowSchedulerSuite<
      Answer,
      Scheduler
    >[Key];
  };
  beforeEach(() => {
    ({ clock: suite.clock, ledger: suite.ledger } = startSchedulerTest(['relay', 'meter', 'admin']));
    suite.step = sinon.stub<[string], Promise<Answer>>().callsFake((id) => Promise.resolve(answer(id)));
    suite.ledger.on('ListWindows', { windows: [], bookmark: '' });
  });
  afterEach(() => endSchedulerTest(suite.scheduler, suite.clock));
  return suite;
}

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

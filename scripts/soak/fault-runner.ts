/**
 * Plays the fault schedule against the running network while the load goes on: kills each target
 * with SIGKILL, keeps it down for its time, starts it again and waits until it is healthy (ready,
 * for a gateway). Records when each fault really began and when its process was back.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { nextFaultStart, type PlannedFault } from './fault-schedule';
import type { SoakGateways } from './gateways';
import { killNode, startNode } from './node-faults';

export interface FaultRecord {
  readonly number: number;
  readonly kind: PlannedFault['kind'];
  readonly target: string;
  /** Epoch ms of the kill. */
  readonly startAt: number;
  /** Epoch ms when the restarted process was healthy again, or null when it could not be restarted. */
  restoredAt: number | null;
  /** ms from the restart command to healthy. */
  restartMs: number | null;
  killedPid: number | null;
  error: string | null;
}

export interface FaultTargets {
  readonly stateDir: string;
  readonly gateways: SoakGateways;
  readonly log: (line: string) => void;
}

async function kill(fault: PlannedFault, targets: FaultTargets): Promise<number | null> {
  if (fault.kind === 'gateway') {
    await targets.gateways.kill(fault.target);
    return null;
  }
  return killNode(targets.stateDir, fault.target);
}

async function restart(fault: PlannedFault, targets: FaultTargets): Promise<void> {
  if (fault.kind === 'gateway') {
    await targets.gateways.restart(fault.target);
  } else {
    await startNode(targets.stateDir, fault.target);
  }
}

/** Restarts, once more after a failure (a port still held, a slow health check). */
async function restartWithOneRetry(fault: PlannedFault, targets: FaultTargets): Promise<void> {
  try {
    await restart(fault, targets);
  } catch (error) {
    targets.log(`restarting ${fault.target} failed (${String(error)}); trying once more`);
    await delay(2000);
    await restart(fault, targets);
  }
}

/**
 * Runs `schedule` (times relative to `loadStart`); stops planning new faults once `stopped()`.
 * Answers every fault played. A target that cannot be restarted ends the schedule (and is
 * recorded with its error): the soak cannot go on measuring with a hole in the network.
 */
export async function runFaults(
  schedule: readonly PlannedFault[],
  loadStart: number,
  faultEveryMs: number,
  targets: FaultTargets,
  stopped: () => boolean,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  let restoredAt: number | undefined;
  for (const fault of schedule) {
    const startAt = nextFaultStart(loadStart + fault.atMs, restoredAt, faultEveryMs);
    while (Date.now() < startAt && !stopped()) {
      await delay(Math.min(500, startAt - Date.now()));
    }
    if (stopped()) {
      break;
    }
    const record: FaultRecord = {
      number: fault.number,
      kind: fault.kind,
      target: fault.target,
      startAt: Date.now(),
      restoredAt: null,
      restartMs: null,
      killedPid: null,
      error: null,
    };
    records.push(record);
    try {
      targets.log(
        `fault ${fault.number}: kill -9 ${fault.target} (${fault.kind}), down for ${fault.downMs / 1000} s`,
      );
      record.killedPid = await kill(fault, targets);
      await delay(fault.downMs);
      const restarting = Date.now();
      await restartWithOneRetry(fault, targets);
      record.restoredAt = Date.now();
      record.restartMs = record.restoredAt - restarting;
      restoredAt = record.restoredAt;
      targets.log(
        `fault ${fault.number}: ${fault.target} is back after ${(record.restoredAt - record.startAt) / 1000} s`,
      );
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
      targets.log(`fault ${fault.number}: ${record.error}`);
      break;
    }
  }
  return records;
}

/**
 * The soak's fault schedule, pure: which process is killed when, and for how long. The faults come
 * in a fixed cycle — one orderer, a utility peer, that utility's gateway, its chaincode server —
 * every `faultEverySeconds`, the first after one such period of undisturbed load, and none so late
 * that the load could not be seen recovering before the end (half a period at least).
 */

export type FaultKind = 'orderer' | 'peer' | 'gateway' | 'chaincode';

export interface FaultTarget {
  readonly kind: FaultKind;
  /** The network.sh node name (orderer1, peer0.utilitya, cc-hems-utilitya) or the gateway's MSP. */
  readonly target: string;
  /** The utility a fault of this kind takes out, or null for one the channel as a whole rides out. */
  readonly utility: string | null;
}

/** The cycle of faults, in the order of the issue. */
export const FAULT_CYCLE: readonly FaultTarget[] = [
  { kind: 'orderer', target: 'orderer1', utility: null },
  { kind: 'peer', target: 'peer0.utilitya', utility: 'UtilityAMSP' },
  { kind: 'gateway', target: 'UtilityAMSP', utility: 'UtilityAMSP' },
  { kind: 'chaincode', target: 'cc-hems-utilitya', utility: 'UtilityAMSP' },
];

export interface PlannedFault extends FaultTarget {
  /** 1-based position in the run. */
  readonly number: number;
  /** Planned kill time, ms after the load started. */
  readonly atMs: number;
  /** How long the process stays down before it is started again, ms. */
  readonly downMs: number;
}

export interface ScheduleSettings {
  readonly durationMs: number;
  readonly faultEveryMs: number;
  readonly downMs: number;
}

/** Every fault of a run of `durationMs`, in order. */
export function faultSchedule(
  settings: ScheduleSettings,
  cycle: readonly FaultTarget[] = FAULT_CYCLE,
): PlannedFault[] {
  const { durationMs, faultEveryMs, downMs } = settings;
  if (!(faultEveryMs > 0) || !(downMs >= 0) || downMs >= faultEveryMs) {
    throw new RangeError('faults need a period > 0 and a down time shorter than it');
  }
  const faults: PlannedFault[] = [];
  for (let atMs = faultEveryMs; atMs + downMs + faultEveryMs / 2 <= durationMs; atMs += faultEveryMs) {
    const target = cycle[faults.length % cycle.length];
    if (target === undefined) {
      break;
    }
    faults.push({ ...target, number: faults.length + 1, atMs, downMs });
  }
  return faults;
}

/**
 * When the next fault may start: its planned time, but never before the previous process has
 * been back for half a period (a restart that took long pushes the rest of the schedule back).
 */
export function nextFaultStart(
  plannedAt: number,
  previousRestoredAt: number | undefined,
  faultEveryMs: number,
): number {
  return previousRestoredAt === undefined
    ? plannedAt
    : Math.max(plannedAt, previousRestoredAt + faultEveryMs / 2);
}

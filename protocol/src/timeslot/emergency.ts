import { invalidArgument } from '../errors';
import { kwToWatts, wattsToKw } from '../payloads/forecast';

/**
 * A grid emergency the DSO declares for a slot before its dispatch. Every home's allowance then
 * shrinks towards its own forecast lower bound Lmin, which stays untouched: that is the home's
 * essential load (heating, medical devices, the fridge), and curtailing it is not the HEMS's call.
 * Only the flexible part above it is cut:
 *
 *   emergency allowance = Lmin + (allowed − Lmin) × share(level)
 *
 * with share 1/2 at level 1, 1/4 at level 2 and 0 at level 3 (essential load only).
 */
export type EmergencyLevel = 1 | 2 | 3;

export const EMERGENCY_LEVELS: readonly EmergencyLevel[] = [1, 2, 3];

/** The emergency as the public slot record keeps it. */
export interface SlotEmergency {
  readonly level: EmergencyLevel;
  readonly declaredAt: string;
  readonly txId: string;
}

/** The share of the flexible part (allowed − Lmin) a home keeps, as numerator / denominator. */
const SHARE: Readonly<Record<EmergencyLevel, readonly [number, number]>> = {
  1: [1, 2],
  2: [1, 4],
  3: [0, 1],
};

/** DeclareEmergency's `level` argument: exactly '1', '2' or '3'. */
export function parseEmergencyLevel(value: unknown, name = 'level'): EmergencyLevel {
  switch (value) {
    case '1':
      return 1;
    case '2':
      return 2;
    case '3':
      return 3;
    default:
      throw invalidArgument(`${name} must be "1", "2" or "3"`);
  }
}

/** Whether a stored value is a level (a reader of stored slots checks it). */
export function isEmergencyLevel(value: unknown): value is EmergencyLevel {
  return value === 1 || value === 2 || value === 3;
}

/**
 * A home's allowed power (kW) under the slot's emergency, if any: its normal allowance without
 * one. Computed in integer watts and rounded down, so every peer gets the same watt and the
 * emergency allowance never exceeds the exact share; never below Lmin, never above the normal
 * allowance.
 */
export function emergencyAllowanceKw(
  level: EmergencyLevel | undefined,
  lowerKw: number,
  allowedKw: number,
): number {
  if (level === undefined) {
    return allowedKw;
  }
  const [numerator, denominator] = SHARE[level];
  const lowerWatts = kwToWatts(lowerKw);
  const allowedWatts = kwToWatts(allowedKw);
  const flexibleWatts = Math.max(0, allowedWatts - lowerWatts);
  return wattsToKw(
    Math.min(allowedWatts, lowerWatts + Math.floor((flexibleWatts * numerator) / denominator)),
  );
}

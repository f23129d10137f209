/**
 * Rebound mitigation: how a simulated home runs the shiftable load a demand-response event held
 * (home-appliances.ts), pure.
 *
 * If every home held all its flexible load in the event and ran it at rated power once the event
 * ends, the feeder would see it all at once (the "snapback") and its day's peak would move to just
 * after the event, higher than without the event. Smart chargers and DR programmes avoid that, and
 * so does the simulated home:
 * - minimum-rate charging: in the event and until its restart, a held appliance runs at the least
 *   constant rate that still finishes its jobs by their deadlines (never more than the tariff alone
 *   would have it run), not at zero, so less energy piles up for after the event;
 * - a staggered restart: each home resumes after a random delay past the event's end (seeded,
 *   0-90 minutes), so the restarts do not all land in the slot after the event;
 * - a paced payback: from its restart the home spreads what is left evenly over a recovery period
 *   as long as the peak period (4 h), or up to the deadline if that is sooner. Spreading it all the
 *   way to deadlines the next morning would move the day's energy into the night: the day's
 *   average would fall further than its peak, and the day's peak-to-average ratio would rise.
 * Deadlines stay safe: an appliance's mandatory energy (home-appliances.ts) is always wanted.
 */
import { createRandom, seedOf } from './prng';

/** The longest restart delay after an event: 6 slots of 15 minutes, 90 minutes. */
export const MAX_RESTART_DELAY_SLOTS = 6;
/** The recovery period from a home's restart: 16 slots, the 4 h of the peak period (tariff.ts). */
export const RECOVERY_SLOTS = 16;

/** A job's energy still to run, Wh, before its due slot (exclusive). */
export interface JobLeft {
  readonly remainingWh: number;
  readonly dueSlot: number;
}

/**
 * The slots a home waits after an event's last slot `lastEventSlot` before it resumes the held
 * load, 0 to MAX_RESTART_DELAY_SLOTS: the same for the same seed, home and slot.
 */
export function restartDelaySlots(seed: number, homeIndex: number, lastEventSlot: number): number {
  const random = createRandom(seedOf('restart', seed, homeIndex, lastEventSlot));
  return Math.floor(random() * (MAX_RESTART_DELAY_SLOTS + 1));
}

/**
 * The least whole Wh per slot that, run in every slot from `t` on, finishes each job by its due
 * slot or by `until` if sooner (both exclusive, after t): max over the jobs, by deadline, of the
 * energy due by then over the slots left.
 */
export function pacedWh(jobs: readonly JobLeft[], t: number, until = Infinity): number {
  let [cumulative, rate] = [0, 0];
  for (const job of [...jobs].sort((a, b) => a.dueSlot - b.dueSlot)) {
    cumulative += job.remainingWh;
    rate = Math.max(rate, Math.ceil(cumulative / Math.max(1, Math.min(job.dueSlot, until) - t)));
  }
  return rate;
}

/**
 * What an appliance whose jobs an event held wants in slot t, Wh, given what it would want
 * otherwise (`wish`; in an event slot, at the tariff without the event's reward): until the home's
 * restart slot the minimum rate to its deadlines, then the rest paced over the recovery period;
 * after that, its wish again. Never below its mandatory energy, never above its wish.
 */
export function heldWantedWh(
  wish: { readonly mandatoryWh: number; readonly wantedWh: number },
  jobs: readonly JobLeft[],
  t: number,
  restartSlot: number,
): number {
  const until = t < restartSlot ? Infinity : restartSlot + RECOVERY_SLOTS;
  if (t >= until) {
    return wish.wantedWh;
  }
  return Math.max(wish.mandatoryWh, Math.min(wish.wantedWh, pacedWh(jobs, t, until)));
}

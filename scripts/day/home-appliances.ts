/**
 * A stateful, prioritised model of a simulated home's appliances (home-appliance-set.ts), played
 * slot by slot and across days.
 *
 * Slots are absolute (slot 96 is 00:00 of day 1). Per slot the home wants its essential load, its
 * shiftable appliances at rated power (less on dear slots) and its curtailable load. When the
 * allowance is short it serves essential load (always, even above the allowance: a violation),
 * then each shiftable appliance's mandatory energy (what it must run now to still meet its
 * deadlines at rated power), then the rest of the shiftable load, both earliest deadline first,
 * then curtailable load. Shiftable energy not served stays pending until its deadline, and past
 * it is written off as unserved; curtailable energy not served is dropped. Lmin = essential +
 * mandatory, Lmax = all it wants, so any allowance ≥ Lmin meets every deadline. In the slots of a
 * demand-response event it heard of, the home holds its shiftable load down to the least rate its
 * deadlines need, and brings it back after the event staggered and paced (home-rebound.ts). Energy is integer Wh (1 kW over a 15-minute
 * slot = 250 Wh): kW values are multiples of 0.004 and the books of shiftable energy balance
 * exactly. Same seed, home index, allowances and events: same numbers.
 */
import { priceResponse, SLOTS_PER_DAY, type PriceRange } from './appliance-model';
import {
  createApplianceSet,
  curtailableWh,
  dayOf,
  essentialWh,
  jobsOfDay,
  ratedWh,
  WH_PER_KW_SLOT,
  type ApplianceSet,
  type ShiftableJob,
  type ShiftableName,
} from './home-appliance-set';
import type {
  EmergencyCurtailment,
  EmergencyLevel,
  EnergyLedger,
  MeteredDay,
  SlotDraw,
  SlotForecast,
} from './home-books';
import { heldWantedWh, restartDelaySlots } from './home-rebound';

export * from './home-appliance-set';
export type * from './home-books';

/** Metered days a home keeps: the 45-day lookback of the 10-in-10 baseline (protocol/src/dr). */
export const HISTORY_DAYS = 45;

export interface PendingJob extends ShiftableJob {
  remainingWh: number;
  /** A demand-response event held it: it resumes staggered and paced (home-rebound.ts). */
  held: boolean;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

interface Totals {
  essential: number;
  demanded: number;
  shiftable: number;
  unserved: number;
  wantedCurtailable: number;
  curtailable: number;
  overAllowanceSlots: number;
}

/** Everything that changes from slot to slot. */
interface State {
  slot: number;
  generatedDay: number;
  scheduled: ShiftableJob[];
  pending: PendingJob[];
  /** Cumulative Wh, and the count of slots over the allowance. */
  totals: Totals;
  history: Map<number, (number | null)[]>;
  /**
   * Slots of demand-response events the home heard of, with its response to the slot's tariff
   * alone; forecast copies share it and only read it.
   */
  events: Map<number, number>;
  /** The first slot the home resumes the load an event held: after the event and its delay. */
  restartSlot: number;
}

interface Home {
  readonly set: ApplianceSet;
  readonly seed: number;
  readonly homeIndex: number;
}

/** A slot's wants, Wh; shiftable earliest deadline first. */
interface Plan {
  readonly essentialWh: number;
  readonly shiftable: readonly { appliance: ShiftableName; mandatoryWh: number; wantedWh: number }[];
  readonly curtailableWh: number;
}

function release(state: State, job: ShiftableJob): void {
  state.totals.demanded += job.energyWh;
  if (job.energyWh > 0) {
    state.pending.push({ ...job, remainingWh: job.energyWh, held: false });
  }
}

/** Releases the jobs of slot t and writes off pending energy past its deadline; returns that, Wh. */
function begin(home: Home, state: State, t: number): number {
  while (state.generatedDay < dayOf(t)) {
    state.generatedDay += 1;
    state.scheduled.push(...jobsOfDay(home.set, home.seed, home.homeIndex, state.generatedDay));
  }
  state.scheduled.filter((job) => job.releaseSlot <= t).forEach((job) => release(state, job));
  state.scheduled = state.scheduled.filter((job) => job.releaseSlot > t);
  const missedWh = sum(state.pending.filter((job) => job.dueSlot <= t).map((job) => job.remainingWh));
  state.pending = state.pending.filter((job) => job.dueSlot > t);
  state.totals.unserved += missedWh;
  if (state.events.has(t)) {
    // The event holds all the load pending now (home-rebound.ts); its last slot sets the restart.
    state.pending.forEach((job) => {
      job.held = true;
    });
    state.restartSlot = t + 1 + restartDelaySlots(home.seed, home.homeIndex, t);
  }
  return missedWh;
}

const jobsOf = (state: State, name: ShiftableName): PendingJob[] =>
  state.pending.filter((job) => job.appliance === name).sort((a, b) => a.dueSlot - b.dueSlot);

/**
 * Slot t's wants. An appliance's mandatory energy is the least it must run now so that, at rated
 * power afterwards, every job is done by its due slot: max over its jobs (by deadline) of the
 * energy due by then minus what the slots after t and before that deadline can run.
 */
function plan(home: Home, state: State, t: number, prices: PriceRange | null): Plan {
  const response = priceResponse(prices);
  const shiftable = home.set.shiftable
    .map((appliance) => {
      const jobs = jobsOf(state, appliance.name);
      let [cumulative, needed] = [0, 0];
      for (const job of jobs) {
        cumulative += job.remainingWh;
        needed = Math.max(needed, cumulative - ratedWh(appliance) * (job.dueSlot - t - 1));
      }
      const runnable = Math.min(ratedWh(appliance), cumulative);
      const mandatoryWh = Math.min(needed, runnable);
      const held = jobs.some((job) => job.held);
      // Rated power when it can; the dearer the slot, the more it waits (never below mandatory).
      // Held load weighs the event's tariff alone: its minimum rate, not the reward, holds it.
      const wait = held ? (state.events.get(t) ?? response) : response;
      const wish = { mandatoryWh, wantedWh: mandatoryWh + Math.round((runnable - mandatoryWh) * (1 - wait)) };
      // Held load comes back at a minimum rate, staggered and paced, not all at once after the event.
      const wantedWh = held ? heldWantedWh(wish, jobs, t, state.restartSlot) : wish.wantedWh;
      return { appliance: appliance.name, mandatoryWh, wantedWh, due: jobs[0]?.dueSlot ?? Infinity };
    })
    .sort((a, b) => a.due - b.due);
  const curtailable = home.set.curtailable.map((appliance) => curtailableWh(appliance, home.seed, t));
  return {
    essentialWh: essentialWh(home.set, home.seed, home.homeIndex, t),
    shiftable,
    // Comfort loads give up to half their energy on the dearest slots.
    curtailableWh: Math.round(sum(curtailable) * (1 - 0.5 * response)),
  };
}

/** Serves an appliance's energy to its jobs, earliest deadline first. */
function serveJobs(state: State, name: ShiftableName, wh: number): void {
  let left = wh;
  for (const job of jobsOf(state, name)) {
    const served = Math.min(left, job.remainingWh);
    job.remainingWh -= served;
    left -= served;
  }
  state.pending = state.pending.filter((job) => job.remainingWh > 0);
}

function recordMeter(state: State, t: number, wh: number): void {
  const day = state.history.get(dayOf(t)) ?? Array.from<number | null>({ length: SLOTS_PER_DAY }).fill(null);
  day[t - dayOf(t) * SLOTS_PER_DAY] = wh;
  state.history.set(dayOf(t), day);
  state.history.delete(dayOf(t) - HISTORY_DAYS);
}

/** Slot t's budget, Wh: allowance in kW, null (no limit) or 'minimum' (exactly Lmin, for projections). */
function budgetOf(wants: Plan, allowedKw: number | null | 'minimum'): number {
  if (allowedKw === 'minimum') {
    return wants.essentialWh + sum(wants.shiftable.map((entry) => entry.mandatoryWh));
  }
  // An allowance never rounds up: what is drawn stays within it.
  return allowedKw === null ? Infinity : Math.floor(allowedKw * WH_PER_KW_SLOT + 1e-7);
}

/** Plays slot t: essential load, mandatory shiftable, other shiftable, curtailable, within the budget. */
function settle(
  home: Home,
  state: State,
  t: number,
  allowedKw: number | null | 'minimum',
  prices: PriceRange | null,
): SlotDraw {
  const missedDeadlineWh = begin(home, state, t);
  const wants = plan(home, state, t, prices);
  let budget = budgetOf(wants, allowedKw) - wants.essentialWh;
  const take = (wh: number): number => {
    const served = Math.min(wh, Math.max(0, budget));
    budget -= served;
    return served;
  };
  const mandatory = wants.shiftable.map((entry) => take(entry.mandatoryWh));
  const optional = wants.shiftable.map((entry) => take(entry.wantedWh - entry.mandatoryWh));
  wants.shiftable.forEach((entry, at) => serveJobs(state, entry.appliance, mandatory[at]! + optional[at]!));
  const servedWh = {
    essential: wants.essentialWh,
    shiftable: sum(mandatory) + sum(optional),
    curtailable: 0,
  };
  servedWh.curtailable = take(wants.curtailableWh);
  const totals = state.totals;
  totals.essential += servedWh.essential;
  totals.shiftable += servedWh.shiftable;
  totals.wantedCurtailable += wants.curtailableWh;
  totals.curtailable += servedWh.curtailable;
  totals.overAllowanceSlots += budget < 0 ? 1 : 0;
  const drawnWh = sum(Object.values(servedWh));
  recordMeter(state, t, drawnWh);
  state.slot = t + 1;
  return {
    slot: t,
    drawnKw: round3(drawnWh / WH_PER_KW_SLOT),
    overAllowance: budget < 0,
    servedWh,
    deferredWh: sum(wants.shiftable.map((entry) => entry.wantedWh)) - servedWh.shiftable,
    curtailedWh: wants.curtailableWh - servedWh.curtailable,
    missedDeadlineWh,
  };
}

function checkSlot(slot: number, next: number): void {
  if (!Number.isInteger(slot) || slot < next) {
    throw new RangeError(`slot must be a whole number ≥ ${next} (the home's next slot)`);
  }
}

/**
 * One simulated home's appliances and their state. Slots are played in order with draw(); a
 * forecast may look ahead of the next slot to play (the day pipelines slots): it projects the
 * slots in between as served at their Lmin, so its Lmin and Lmax are at least those the home will
 * have once those slots are played with an allowance ≥ their Lmin.
 */
export class HomeAppliances {
  readonly appliances: ApplianceSet;
  private readonly home: Home;
  private readonly state: State;

  /** startSlot: the first slot played; a job running then keeps the share of its window left. */
  constructor(seed: number, homeIndex: number, startSlot = 0) {
    checkSlot(startSlot, 0);
    this.appliances = createApplianceSet(seed, homeIndex);
    this.home = { set: this.appliances, seed, homeIndex };
    const day = dayOf(startSlot);
    const totals = {
      essential: 0,
      demanded: 0,
      shiftable: 0,
      unserved: 0,
      wantedCurtailable: 0,
      curtailable: 0,
      overAllowanceSlots: 0,
    };
    this.state = {
      slot: startSlot,
      generatedDay: day,
      scheduled: [],
      pending: [],
      totals,
      history: new Map(),
      events: new Map(),
      restartSlot: startSlot,
    };
    const jobs = [day - 1, day].flatMap((of) => jobsOfDay(this.appliances, seed, homeIndex, of));
    for (const job of jobs) {
      if (job.releaseSlot >= startSlot) {
        this.state.scheduled.push(job);
      } else if (job.dueSlot > startSlot) {
        const left = (job.dueSlot - startSlot) / (job.dueSlot - job.releaseSlot);
        release(this.state, { ...job, releaseSlot: startSlot, energyWh: Math.floor(job.energyWh * left) });
      }
    }
  }

  /** The next slot draw() plays. */
  get nextSlot(): number {
    return this.state.slot;
  }

  /**
   * The home heard of a demand-response event over `slot` (≥ nextSlot), whose tariff without the
   * event's reward is `tariff`: its shiftable load is held there, at the least rate its deadlines
   * need, and comes back after the event staggered and paced (home-rebound.ts).
   */
  hearEvent(slot: number, tariff: PriceRange | null): void {
    checkSlot(slot, this.state.slot);
    const events = this.state.events;
    [...events.keys()].filter((known) => known < this.state.slot).forEach((known) => events.delete(known));
    events.set(slot, priceResponse(tariff));
  }

  /** The forecast range [Lmin, Lmax] of `slot` (≥ nextSlot) at the slot's prices; changes nothing. */
  forecast(slot: number, prices: PriceRange | null = null): SlotForecast {
    checkSlot(slot, this.state.slot);
    const state = this.state;
    const copy: State = {
      ...state,
      scheduled: [...state.scheduled],
      pending: state.pending.map((job) => ({ ...job })),
      totals: { ...state.totals },
      history: new Map(),
    };
    while (copy.slot < slot) {
      settle(this.home, copy, copy.slot, 'minimum', null);
    }
    begin(this.home, copy, slot);
    const wants = plan(this.home, copy, slot, prices);
    const mandatoryWh = sum(wants.shiftable.map((entry) => entry.mandatoryWh));
    const shiftableWh = sum(wants.shiftable.map((entry) => entry.wantedWh));
    const { essentialWh, curtailableWh } = wants;
    const lower = round3((essentialWh + mandatoryWh) / WH_PER_KW_SLOT);
    const upper = round3((essentialWh + shiftableWh + curtailableWh) / WH_PER_KW_SLOT);
    return { slot, lower, upper, essentialWh, mandatoryWh, shiftableWh, curtailableWh };
  }

  /**
   * Plays `slot` (≥ nextSlot) with its allowance (kW; null: no limit) and returns what the home
   * drew. Slots skipped since the last draw are played without a limit (the home was not steered).
   */
  draw(slot: number, allowedKw: number | null, prices: PriceRange | null = null): SlotDraw {
    checkSlot(slot, this.state.slot);
    if (allowedKw !== null && (!Number.isFinite(allowedKw) || allowedKw < 0)) {
      throw new RangeError('allowedKw must be a finite number ≥ 0 or null');
    }
    while (this.state.slot < slot) {
      settle(this.home, this.state, this.state.slot, null, null);
    }
    return settle(this.home, this.state, slot, allowedKw, prices);
  }

  /** The allowance of `slot` under an emergency level and the energy it sheds by class. */
  emergency(slot: number, level: EmergencyLevel, prices: PriceRange | null = null): EmergencyCurtailment {
    if (![0, 1, 2, 3].includes(level)) {
      throw new RangeError('level must be 0, 1, 2 or 3');
    }
    const { essentialWh, mandatoryWh, shiftableWh, curtailableWh } = this.forecast(slot, prices);
    const keptShiftable = [shiftableWh, shiftableWh, mandatoryWh, 0][level]!;
    const keptCurtailable = level === 0 ? curtailableWh : 0;
    const shedWh = {
      essential: 0,
      shiftable: shiftableWh - keptShiftable,
      curtailable: curtailableWh - keptCurtailable,
    };
    const allowedKw = round3((essentialWh + keptShiftable + keptCurtailable) / WH_PER_KW_SLOT);
    return { level, allowedKw, shedWh, deadlineShortfallWh: level === 3 ? mandatoryWh : 0 };
  }

  /** Shiftable jobs with energy still to run, earliest deadline first. */
  pending(): readonly Readonly<PendingJob>[] {
    return [...this.state.pending].sort((a, b) => a.dueSlot - b.dueSlot).map((job) => ({ ...job }));
  }

  ledger(): EnergyLedger {
    const totals = this.state.totals;
    const pendingWh = sum(this.state.pending.map((job) => job.remainingWh));
    const [demandedWh, unservedWh] = [totals.demanded, totals.unserved];
    return {
      essential: { servedWh: totals.essential },
      shiftable: { demandedWh, servedWh: totals.shiftable, pendingWh, unservedWh },
      curtailable: {
        wantedWh: totals.wantedCurtailable,
        servedWh: totals.curtailable,
        curtailedWh: totals.wantedCurtailable - totals.curtailable,
      },
      overAllowanceSlots: totals.overAllowanceSlots,
    };
  }

  /** The meter's last HISTORY_DAYS days, oldest first (integer Wh per 15-minute interval). */
  meteredHistory(): MeteredDay[] {
    return [...this.state.history.entries()]
      .sort(([a], [b]) => a - b)
      .map(([day, intervalsWh]) => ({ day, intervalsWh: [...intervalsWh] }));
  }
}

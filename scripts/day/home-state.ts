/**
 * A simulated home's appliances as the day plays them: the stateful, prioritised appliance set
 * (home-appliances.ts) kept from slot to slot and from day to day, driven by the slots' allowed
 * power, plus a twin of it that never hears of demand response (no event, no emergency) — the
 * counterfactual "without DR" the report compares against.
 *
 * - Forecast: Lmin = essential load + the shiftable energy its deadlines need now, Lmax = all the
 *   home wants; in a DR event slot the home weighs the tariff plus the event's reward per MWh it
 *   does not draw, so it wants half its comfort load and holds its shiftable load down to the
 *   least rate its deadlines need; after the event it brings the held load back staggered and
 *   paced, not all at once (home-rebound.ts).
 * - Draw: at most the allowed power; capped shiftable load (EV, water heater, HVAC pre-cooling,
 *   dishwasher) is deferred and served later within its deadline, curtailable load is dropped.
 *   Under an emergency the home sheds by priority class (home-appliances.ts emergency()):
 *   level 1 its curtailable load, level 2 also the shiftable load no deadline needs now, level 3
 *   all but its essential load, which always runs.
 * - Slots are drawn in order: a slot's forecast may run ahead of the previous slot's draw (the day
 *   pipelines slots), but its draw waits for that one.
 *
 * Everything here stays in the simulation: no per-home value ever reaches a DayResult.
 */
import { allowedPowerKw } from '@hems/protocol';
import { SLOTS_PER_DAY, type PriceRange } from './appliance-model';
import {
  HomeAppliances,
  WH_PER_KW_SLOT,
  type EmergencyLevel,
  type EnergyLedger,
  type SlotForecast,
} from './home-appliances';

/** What the grid told the home about a slot (its utility relays the DSO's declarations). */
export interface SlotSignals {
  /** The slot is part of a demand-response event paying this much per kWh reduced (currency). */
  readonly drRate?: number;
  /** The DSO declared a grid emergency of this level for the slot. */
  readonly emergencyLevel?: 1 | 2 | 3;
}

export const NO_SIGNALS: SlotSignals = {};

/** A home's own part of a dispatch: its allowed power and, where told, its bus's λ. */
export interface HomeDispatch {
  readonly allowedKw: number;
  readonly lambda?: number;
  /**
   * The λ the DSO's optimizer gives the twins' forecasts (the dispatch there would have been
   * without DR); the home's own λ when not given.
   */
  readonly withoutDrLambda?: number;
}

/** Energy an emergency made a home give up in its slot, Wh. */
export interface EmergencyShed {
  /** Below what it would have drawn at its allowance without the emergency. */
  readonly shedWh: number;
  /** Curtailable load dropped and shiftable load deferred in the slot; essential load kept. */
  readonly curtailedWh: number;
  readonly deferredWh: number;
  readonly essentialWh: number;
}

export interface HomeDrawResult {
  readonly slot: number;
  readonly drawnKw: number;
  readonly drawnWh: number;
  readonly overAllowance: boolean;
  /** What the twin without demand response drew in the slot, Wh. */
  readonly withoutDrWh: number;
  readonly shed?: EmergencyShed;
}

/** Both books: the home and its twin that never heard of demand response. */
export interface HomeBooks {
  readonly withDr: EnergyLedger;
  readonly withoutDr: EnergyLedger;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * The prices a home weighs in a slot: in a DR event slot the tariff plus the reward per MWh it
 * earns for not drawing (rate per kWh × 1000), which makes every flexible load wait.
 */
export function respondedPrices(prices: PriceRange | null, signals: SlotSignals): PriceRange | null {
  if (signals.drRate === undefined) {
    return prices;
  }
  const reward = signals.drRate * 1000;
  return { lower: (prices?.lower ?? 0) + reward, upper: (prices?.upper ?? 0) + reward };
}

/** λ of the home's allowance when the dispatch does not tell it: where the allowance sits in its range. */
function lambdaOf(dispatch: HomeDispatch, forecast: SlotForecast): number {
  if (dispatch.lambda !== undefined) {
    return dispatch.lambda;
  }
  const span = forecast.upper - forecast.lower;
  return span <= 0 ? 1 : Math.min(1, Math.max(0, (dispatch.allowedKw - forecast.lower) / span));
}

interface Turn {
  readonly previous: Promise<void>;
  readonly done: () => void;
  prices: PriceRange | null;
  signals: SlotSignals;
  forecast?: SlotForecast;
  withoutDr?: SlotForecast;
}

export class HomeState {
  private readonly home: HomeAppliances;
  private readonly twin: HomeAppliances;
  /** Set once a DR signal changed what the home did: from then on the twin is steered on its own. */
  private diverged = false;
  private readonly turns = new Map<number, Turn>();
  private last: Promise<void> = Promise.resolve();

  /**
   * firstSlot: the absolute slot the home starts at; tariff: the prices of its bus in a slot, for
   * the slots nobody steers (played unsteered at the tariff's prices).
   */
  constructor(
    seed: number,
    homeIndex: number,
    firstSlot: number,
    private readonly tariff: (slot: number) => PriceRange | null,
  ) {
    this.home = new HomeAppliances(seed, homeIndex, firstSlot);
    this.twin = new HomeAppliances(seed, homeIndex, firstSlot);
  }

  get nextSlot(): number {
    return this.home.nextSlot;
  }

  /** The tariff of the home's bus in an absolute slot (what it pays when nobody steers it). */
  tariffOf(slot: number): PriceRange | null {
    return this.tariff(slot);
  }

  /** Takes the slot's turn (once): its draw waits for the draws of the slots forecast before it. */
  private turn(slot: number): Turn {
    const known = this.turns.get(slot);
    if (known !== undefined) {
      return known;
    }
    let done: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      done = resolve;
    });
    const turn: Turn = { previous: this.last, done, prices: null, signals: NO_SIGNALS };
    this.last = settled;
    this.turns.set(slot, turn);
    return turn;
  }

  /**
   * The forecast range [Lmin, Lmax] of `slot` at the slot's prices and signals; remembered until
   * the slot is drawn. Changes nothing else.
   */
  forecast(slot: number, prices: PriceRange | null, signals: SlotSignals = NO_SIGNALS): SlotForecast {
    const turn = this.turn(slot);
    turn.prices = prices;
    turn.signals = signals;
    if (signals.drRate !== undefined) {
      // Only the home hears of the event; its twin plays the day as if there were none.
      this.home.hearEvent(slot, prices);
    }
    turn.forecast = this.home.forecast(slot, respondedPrices(prices, signals));
    turn.withoutDr = this.twin.forecast(slot, prices);
    return turn.forecast;
  }

  /** The twin's forecast of a slot forecast and not drawn yet (what it would have sent without DR). */
  withoutDrForecast(slot: number): SlotForecast | undefined {
    return this.turns.get(slot)?.withoutDr;
  }

  /**
   * Plays `slot` at its allowed power, once every slot forecast before it was drawn (or released):
   * the home sheds under an emergency by priority, and its twin draws what it would have without
   * demand response.
   */
  async draw(slot: number, dispatch: HomeDispatch): Promise<HomeDrawResult> {
    const turn = this.turns.get(slot);
    if (turn?.forecast === undefined || turn.withoutDr === undefined) {
      throw new RangeError(`slot ${slot} has no forecast of this home`);
    }
    await turn.previous;
    try {
      return this.settle(slot, turn, dispatch, turn.forecast, turn.withoutDr);
    } finally {
      this.release(slot);
    }
  }

  private settle(
    slot: number,
    turn: Turn,
    dispatch: HomeDispatch,
    forecast: SlotForecast,
    withoutDr: SlotForecast,
  ): HomeDrawResult {
    const { signals, prices } = turn;
    const responded = respondedPrices(prices, signals);
    const lambda = lambdaOf(dispatch, forecast);
    const level: EmergencyLevel = signals.emergencyLevel ?? 0;
    let cap = dispatch.allowedKw;
    let normalKw = 0;
    if (level > 0) {
      // What it would have drawn without the emergency: what it wants, up to its normal allowance.
      const wanted = this.home.forecast(slot, responded).upper;
      normalKw = Math.min(wanted, allowedPowerKw(lambda, forecast.lower, forecast.upper));
      cap = Math.min(cap, this.home.emergency(slot, level, responded).allowedKw);
    }
    const drawn = this.home.draw(slot, cap, responded);
    const drDriven = signals.drRate !== undefined || level > 0;
    this.diverged ||= drDriven;
    // Until demand response changed anything, the twin is the same home and gets the same allowance.
    const twinAllowedKw = this.diverged
      ? allowedPowerKw(dispatch.withoutDrLambda ?? lambda, withoutDr.lower, withoutDr.upper)
      : dispatch.allowedKw;
    const twin = this.twin.draw(slot, twinAllowedKw, prices);
    const drawnWh = Math.round(drawn.drawnKw * WH_PER_KW_SLOT);
    return {
      slot,
      drawnKw: drawn.drawnKw,
      drawnWh,
      overAllowance: drawn.drawnKw > dispatch.allowedKw + 1e-9,
      withoutDrWh: Math.round(twin.drawnKw * WH_PER_KW_SLOT),
      ...(level > 0
        ? {
            shed: {
              shedWh: Math.max(0, Math.round(round3(normalKw) * WH_PER_KW_SLOT) - drawnWh),
              curtailedWh: drawn.curtailedWh,
              deferredWh: drawn.deferredWh,
              essentialWh: drawn.servedWh.essential,
            },
          }
        : {}),
    };
  }

  /**
   * Gives up the turn of a slot the home will not draw in (its forecast was refused, or the slot
   * failed): the next slot's draw goes ahead, and plays this one unsteered.
   */
  release(slot: number): void {
    const turn = this.turns.get(slot);
    if (turn !== undefined) {
      this.turns.delete(slot);
      // In order: a later slot never runs ahead of one still drawing before this one.
      void turn.previous.then(turn.done);
    }
  }

  /**
   * Plays every slot before `until` that nobody steers (before the day's first slot, after its
   * last, between days) at the tariff's prices, without a limit; so does the twin.
   */
  playUnsteered(until: number): void {
    if (this.turns.size > 0) {
      throw new Error('a home plays unsteered slots only when no slot is in flight');
    }
    for (let slot = this.home.nextSlot; slot < until; slot += 1) {
      const prices = this.tariff(slot);
      this.home.draw(slot, null, prices);
      this.twin.draw(slot, null, prices);
    }
  }

  /**
   * The home's metered day `day` (models' day number): 96 whole Wh, and the twin's; undefined
   * while an interval of it is not played.
   */
  meteredDay(day: number): { withDr: number[]; withoutDr: number[] } | undefined {
    const find = (home: HomeAppliances): number[] | undefined => {
      const intervals = home.meteredHistory().find((entry) => entry.day === day)?.intervalsWh;
      return intervals?.length === SLOTS_PER_DAY && intervals.every((wh) => wh !== null)
        ? (intervals as number[])
        : undefined;
    };
    const withDr = find(this.home);
    const withoutDr = find(this.twin);
    return withDr === undefined || withoutDr === undefined ? undefined : { withDr, withoutDr };
  }

  /** The cumulative energy books of the home and of its twin. */
  books(): HomeBooks {
    return { withDr: this.home.ledger(), withoutDr: this.twin.ledger() };
  }
}

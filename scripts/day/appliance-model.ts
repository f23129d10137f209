/**
 * The simulated home behind a HEMS device: a few appliances with a seeded daily profile, and how
 * the home turns a slot's price range into a forecast range [Lmin, Lmax] in kW:
 *
 * - non-controllable load (lights, cooking, plug loads): drawn whatever the price;
 * - HVAC: part of its duty must run (comfort), the rest can be postponed when prices are high;
 * - water heater: its tank buffers a whole slot, so it can always wait;
 * - EV charger: only while the car is plugged in; must charge in the hours before departure;
 * - PV with storage: PV lowers the net draw; the battery charges on cheap prices (raising Lmax)
 *   and discharges on expensive ones (lowering Lmin).
 *
 * Lmin is what the home must draw, Lmax what it would like to draw. Both are net of PV, never
 * negative (the protocol has no export) and never increase with the price.
 * Pure: the same seed, home and slot always give the same numbers.
 */
import { between, createRandom, seedOf } from './prng';

export const SLOTS_PER_DAY = 96;
export const SLOT_MINUTES = 15;

/** A price range per MWh, as the DSO publishes it for the home's bus. */
export interface PriceRange {
  readonly lower: number;
  readonly upper: number;
}

/** What a home has installed: drawn once per home from the day's seed. */
export interface HomeProfile {
  readonly baseKw: number;
  readonly peakKw: number;
  readonly hvacKw: number;
  readonly waterHeaterKw: number;
  readonly ev: {
    readonly chargerKw: number;
    readonly arrivalHour: number;
    readonly departureHour: number;
  } | null;
  readonly pv: { readonly peakKw: number; readonly clearSky: number } | null;
  readonly batteryKw: number;
}

/** The home's forecast range and what it would draw if nothing limited it (Lmin ≤ preferred ≤ Lmax). */
export interface SlotDemand {
  readonly lower: number;
  readonly upper: number;
  readonly preferredKw: number;
}

/** Prices (upper end of the range, per MWh) at which the home starts and stops giving up flexible load. */
const CHEAP_PRICE = 40;
const EXPENSIVE_PRICE = 200;

const round3 = (kw: number): number => Math.round(kw * 1000) / 1000;

/** A bell around `center` (hours) with width `spread`, wrapping around midnight. */
function bump(hour: number, center: number, spread: number): number {
  const distance = Math.min(Math.abs(hour - center), 24 - Math.abs(hour - center));
  return Math.exp(-((distance / spread) ** 2));
}

/** The home's appliances, drawn from the day's seed and the home's index. */
export function createHomeProfile(seed: number, homeIndex: number): HomeProfile {
  const random = createRandom(seedOf('home', seed, homeIndex));
  const hasPv = random() < 0.4;
  const hasEv = random() < 0.5;
  return {
    baseKw: between(random, 0.15, 0.45),
    peakKw: between(random, 0.4, 1.4),
    hvacKw: random() < 0.7 ? between(random, 1.5, 3.5) : 0,
    waterHeaterKw: random() < 0.8 ? between(random, 3, 4.5) : 0,
    ev: hasEv
      ? {
          chargerKw: random() < 0.5 ? 3.7 : 7.4,
          arrivalHour: between(random, 17, 19.5),
          departureHour: between(random, 6.5, 8),
        }
      : null,
    pv: hasPv ? { peakKw: between(random, 3, 6), clearSky: between(random, 0.6, 1) } : null,
    batteryKw: hasPv && random() < 0.5 ? between(random, 2.5, 5) : 0,
  };
}

/** How strongly a price range pushes the home to give up flexible load: 0 (cheap) to 1 (expensive). */
export function priceResponse(prices: PriceRange | null): number {
  if (prices === null) {
    return 0;
  }
  return Math.min(1, Math.max(0, (prices.upper - CHEAP_PRICE) / (EXPENSIVE_PRICE - CHEAP_PRICE)));
}

/** Hour of day at the middle of a slot (slot 0 starts at midnight). */
export function slotHour(slot: number): number {
  return (((slot % SLOTS_PER_DAY) + 0.5) * SLOT_MINUTES) / 60;
}

/** Simulated start of a slot of the day, HH:MM. */
export function timeOfDay(slot: number): string {
  const minutes = slot * SLOT_MINUTES;
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The home's power balance in one slot, kW: what its appliances and its PV do at the given prices. */
export interface SlotPower {
  /** Load the home must draw (non-controllable, HVAC comfort share, EV before departure). */
  readonly mustKw: number;
  /** Load the home would like to draw at these prices. */
  readonly wantedKw: number;
  readonly pvKw: number;
  /** Battery charging (cheap prices) and discharging (expensive prices). */
  readonly chargingKw: number;
  readonly dischargingKw: number;
  /** Where between Lmin and Lmax the home would draw if nothing limited it, 0.6-1. */
  readonly preferredShare: number;
}

/** The home's appliances and PV in one slot, given the price range of its bus. */
export function slotPower(
  profile: HomeProfile,
  seed: number,
  homeIndex: number,
  slot: number,
  prices: PriceRange | null,
): SlotPower {
  if (!Number.isInteger(slot) || slot < 0) {
    throw new RangeError('slot must be a whole number ≥ 0');
  }
  const hour = slotHour(slot);
  const p = priceResponse(prices);
  // One stream per home and slot, drawn in a fixed order, so every quantity is reproducible.
  const noise = createRandom(seedOf('slot', seed, homeIndex, slot));

  const uncontrollable =
    (profile.baseKw + profile.peakKw * (0.6 * bump(hour, 7.5, 1.2) + bump(hour, 19, 2))) *
    between(noise, 0.9, 1.1);

  const hvacNeed = profile.hvacKw * Math.min(1, 0.15 + 0.7 * bump(hour, 16, 3.5));
  const hvacMust = 0.4 * hvacNeed;
  const hvacWanted = hvacMust + (hvacNeed - hvacMust) * (1 - 0.7 * p);

  const heaterWanted =
    profile.waterHeaterKw *
    Math.min(1, 0.1 + 0.5 * bump(hour, 7, 1) + 0.6 * bump(hour, 20, 1.5)) *
    (1 - 0.8 * p);

  let evMust = 0;
  let evWanted = 0;
  if (profile.ev !== null) {
    const { chargerKw, arrivalHour, departureHour } = profile.ev;
    const pluggedIn = hour >= arrivalHour || hour < departureHour;
    if (pluggedIn) {
      const hoursLeft = hour < departureHour ? departureHour - hour : departureHour + 24 - hour;
      evMust = hoursLeft <= 2 ? 0.5 * chargerKw : 0;
      evWanted = Math.max(evMust, chargerKw * (1 - 0.6 * p));
    }
  }

  const pvKw =
    profile.pv === null
      ? 0
      : profile.pv.peakKw *
        profile.pv.clearSky *
        Math.max(0, Math.sin((Math.PI * (hour - 6)) / 14)) *
        between(noise, 0.85, 1);
  return {
    mustKw: uncontrollable + hvacMust + evMust,
    wantedKw: uncontrollable + hvacWanted + heaterWanted + evWanted,
    pvKw,
    // The battery charges when prices are low and covers must-run load when they are high.
    chargingKw: profile.batteryKw * Math.max(0, 1 - p / 0.35),
    dischargingKw: profile.batteryKw * Math.max(0, (p - 0.6) / 0.4),
    preferredShare: between(noise, 0.6, 1),
  };
}

/** The home's forecast range for one slot, given the price range of its bus. */
export function slotDemand(
  profile: HomeProfile,
  seed: number,
  homeIndex: number,
  slot: number,
  prices: PriceRange | null,
): SlotDemand {
  const power = slotPower(profile, seed, homeIndex, slot, prices);
  const lower = round3(Math.max(0, power.mustKw - power.pvKw - power.dischargingKw));
  const upper = round3(Math.max(lower, power.wantedKw - power.pvKw + power.chargingKw));
  const preferredKw = round3(lower + (upper - lower) * power.preferredShare);
  return { lower, upper, preferredKw: Math.min(upper, Math.max(lower, preferredKw)) };
}

/**
 * What the home's PV produces beyond its own wanted load and its battery's charging in the slot,
 * kW (≥ 0): the surplus it could export. The forecast range never shows it (it is net of PV and
 * never negative); the energy auction sells it.
 */
export function surplusKw(
  profile: HomeProfile,
  seed: number,
  homeIndex: number,
  slot: number,
  prices: PriceRange | null,
): number {
  const power = slotPower(profile, seed, homeIndex, slot, prices);
  return Math.max(0, power.pvKw - power.wantedKw - power.chargingKw);
}

/**
 * What the home's controller draws once it knows its allowed power: what it wants, capped at the
 * allowance. Since allowed ≥ Lmin, the must-run load always fits.
 */
export function drawnPower(demand: SlotDemand, allowedKw: number): number {
  if (!Number.isFinite(allowedKw) || allowedKw < 0) {
    throw new RangeError('allowedKw must be a finite number ≥ 0');
  }
  return round3(Math.min(demand.preferredKw, allowedKw));
}

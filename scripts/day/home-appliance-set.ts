/**
 * The appliances of a simulated home and their loads, by priority class (home-appliances.ts plays
 * them slot by slot):
 * - essential (fridge, standby and plug loads, lighting, cooking): always served, never shed;
 * - shiftable (EV charging, water heater reheats, HVAC pre-cooling, dishwasher): daily jobs that
 *   need energy (integer Wh) between a release slot and a due slot (exclusive; absolute slot
 *   indices, slot 96 is 00:00 of day 1, so a deadline may lie in the next day);
 * - curtailable (HVAC comfort cooling, pool pump): reduced, never moved.
 * Magnitudes are typical US residential values, cited where they are drawn. Pure: the same seed,
 * home index and slot or day always give the same numbers.
 */
import { slotHour, SLOTS_PER_DAY, SLOT_MINUTES } from './appliance-model';
import { between, createRandom, seedOf } from './prng';

export type PriorityClass = 'essential' | 'shiftable' | 'curtailable';
export type ShiftableName = 'ev' | 'water-heater' | 'hvac-precool' | 'dishwasher';
export type CurtailableName = 'hvac-comfort' | 'pool-pump';
/** Named numbers. */
export type Numbers<K extends string> = Readonly<Record<K, number>>;
/** Energy by priority class, Wh. */
export type ByClass = Numbers<PriorityClass>;

/** Wh in one slot at 1 kW. */
export const WH_PER_KW_SLOT = (1000 * SLOT_MINUTES) / 60;
const SLOTS_PER_HOUR = 60 / SLOT_MINUTES;

/** A daily job: released at releaseHour + up to releaseSpread h, due at dueHour (> 24: next day), kWh ±20 %. */
export type TaskSpec = Numbers<'releaseHour' | 'releaseSpread' | 'dueHour' | 'kwh'>;

export interface Appliance<N extends string = ShiftableName | CurtailableName> {
  readonly name: N;
  readonly ratedKw: number;
  /** A shiftable appliance's daily jobs; none for a curtailable one. */
  readonly tasks: readonly TaskSpec[];
}

export interface ApplianceSet {
  readonly essential: Numbers<'fridgeKw' | 'baseKw' | 'peakKw'>;
  readonly shiftable: readonly Appliance<ShiftableName>[];
  readonly curtailable: readonly Appliance<CurtailableName>[];
}

/** One day's need of a shiftable appliance: energyWh in the slots releaseSlot ≤ slot < dueSlot. */
export interface ShiftableJob extends Numbers<'releaseSlot' | 'dueSlot' | 'energyWh'> {
  readonly appliance: ShiftableName;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
export const dayOf = (slot: number): number => Math.floor(slot / SLOTS_PER_DAY);
/** Wh an appliance runs in one slot at rated power. */
export const ratedWh = (appliance: Appliance): number => Math.round(appliance.ratedKw * WH_PER_KW_SLOT);

/** A bell around `center` (hours) with width `spread`, wrapping around midnight. */
function bump(hour: number, center: number, spread: number): number {
  const distance = Math.min(Math.abs(hour - center), 24 - Math.abs(hour - center));
  return Math.exp(-((distance / spread) ** 2));
}

function task(releaseHour: number, releaseSpread: number, dueHour: number, kwh: number): TaskSpec {
  return { releaseHour, releaseSpread, dueHour, kwh };
}

/** The home's appliances, drawn from the seed and the home's index (like createHomeProfile). */
export function createApplianceSet(seed: number, homeIndex: number): ApplianceSet {
  const random = createRandom(seedOf('appliances', seed, homeIndex));
  // ENERGY STAR refrigerators use 350-600 kWh/yr (40-70 W); standby and always-on plug loads
  // 0.1-0.3 kW; lighting and cooking peak at 0.4-1.4 kW in the evening, 0.6× that in the morning.
  const fridgeKw = between(random, 0.04, 0.07);
  const essential = { fridgeKw, baseKw: between(random, 0.1, 0.3), peakKw: between(random, 0.4, 1.4) };
  const shiftable: Appliance<ShiftableName>[] = [];
  const curtailable: Appliance<CurtailableName>[] = [];
  if (random() < 0.4) {
    // Level-2 EVSE 7.2 kW (240 V × 30 A; US DOE AFDC), older on-board chargers 3.6 kW. 7-13 kWh/day:
    // ~30 mi/day (FHWA NHTS) at ~0.3 kWh/mi. Plugged in on arrival, charged by departure next day.
    const ratedKw = random() < 0.7 ? 7.2 : 3.6;
    const [arrival, departure] = [between(random, 17, 19), between(random, 6.5, 8)];
    shiftable.push({
      name: 'ev',
      ratedKw,
      tasks: [task(arrival, 1, 24 + departure, between(random, 7, 13))],
    });
  }
  if (random() < 0.8) {
    // 50-gal electric tank, 4.5 kW element (240 V standard). ~64 gal/day (US DOE) heated by ~50 °F
    // is ~8 kWh, plus standby losses: 6-12 kWh/day, reheated after the morning and evening draws.
    const daily = between(random, 6, 12);
    const tasks = [task(6.5, 1.5, 17, 0.45 * daily), task(19.5, 2, 30, 0.55 * daily)];
    shiftable.push({ name: 'water-heater', ratedKw: 4.5, tasks });
  }
  if (random() < 0.7) {
    // Central AC, 2-4 kW electric (2.5-4 ton at EER ~12). Pre-cooling 0.5-1.5 h at rated power
    // between 11:00 and 15:00, ahead of the afternoon peak; comfort cooling is curtailable.
    const ratedKw = round1(between(random, 2, 4));
    const tasks = [task(11, 0, 15, ratedKw * between(random, 0.5, 1.5))];
    shiftable.push({ name: 'hvac-precool', ratedKw, tasks });
    curtailable.push({ name: 'hvac-comfort', ratedKw, tasks: [] });
  }
  if (random() < 0.6) {
    // Dishwasher: 1.2-1.8 kW heater, 1-1.5 kWh a cycle; loaded after dinner, clean by 07:00.
    const ratedKw = round1(between(random, 1.2, 1.8));
    shiftable.push({ name: 'dishwasher', ratedKw, tasks: [task(20, 1.5, 31, between(random, 1, 1.5))] });
  }
  if (random() < 0.1) {
    // Pool pump 1.1-1.5 kW (1.5-2 hp single speed), 10:00-18:00; utility DR programmes cycle them off.
    curtailable.push({ name: 'pool-pump', ratedKw: round1(between(random, 1.1, 1.5)), tasks: [] });
  }
  return { essential, shiftable, curtailable };
}

/** The shiftable jobs released on `day` (0: the first simulated day; −1 the day before). */
export function jobsOfDay(set: ApplianceSet, seed: number, homeIndex: number, day: number): ShiftableJob[] {
  const random = createRandom(seedOf('jobs', seed, homeIndex, day));
  const first = day * SLOTS_PER_DAY;
  return set.shiftable.flatMap((appliance) =>
    appliance.tasks.map((spec) => {
      const releaseHour = spec.releaseHour + spec.releaseSpread * random();
      const releaseSlot = first + Math.floor(releaseHour * SLOTS_PER_HOUR);
      const dueSlot = Math.max(releaseSlot + 1, first + Math.round(spec.dueHour * SLOTS_PER_HOUR));
      const wantedWh = Math.round(spec.kwh * between(random, 0.8, 1.2) * 1000);
      // Never more than the appliance can run in its window: alone, every job is feasible.
      const energyWh = Math.min(wantedWh, ratedWh(appliance) * (dueSlot - releaseSlot));
      return { appliance: appliance.name, releaseSlot, dueSlot, energyWh };
    }),
  );
}

/** Essential load in a slot, Wh (±10 % per slot). */
export function essentialWh(set: ApplianceSet, seed: number, homeIndex: number, slot: number): number {
  const hour = slotHour(slot);
  const { fridgeKw, baseKw, peakKw } = set.essential;
  const noise = between(createRandom(seedOf('essential', seed, homeIndex, slot)), 0.9, 1.1);
  const kw = fridgeKw + (baseKw + peakKw * (0.6 * bump(hour, 7.5, 1.2) + bump(hour, 19, 2))) * noise;
  return Math.round(kw * WH_PER_KW_SLOT);
}

/** What a curtailable appliance would run in a slot at any price, Wh. */
export function curtailableWh(appliance: Appliance<CurtailableName>, seed: number, slot: number): number {
  const hour = slotHour(slot);
  if (appliance.name === 'pool-pump') {
    return hour >= 10 && hour < 18 ? ratedWh(appliance) : 0;
  }
  // Cooling duty follows the afternoon heat and the day's weather (the same on the whole feeder):
  // ~5 full-load hours on a warm day, 10-20 kWh for a 2-4 kW unit.
  const weather = between(createRandom(seedOf('weather', seed, dayOf(slot))), 0.7, 1.1);
  return Math.round(ratedWh(appliance) * Math.min(1, (0.05 + 0.7 * bump(hour, 16.5, 3)) * weather));
}

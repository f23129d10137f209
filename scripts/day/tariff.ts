/**
 * The DSO's price ranges per slot (per MWh): a time-of-day shape — cheap at night and around
 * solar noon, a morning and a higher evening peak — with a congestion premium that grows with a
 * bus's position on the feeder (later buses are the weaker ones in the feeder model) — and the
 * time-of-use periods the slots' schedules name.
 */
import type { TouPeriod } from '@hems/protocol';
import { slotHour, SLOT_MINUTES, SLOTS_PER_DAY, type PriceRange } from './appliance-model';

export interface SlotPrices {
  readonly default: PriceRange;
  readonly buses: readonly (PriceRange & { readonly bus: string })[];
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

function bump(hour: number, center: number, spread: number): number {
  return Math.exp(-(((hour - center) / spread) ** 2));
}

/** The price range of a slot for the whole feeder, before any bus premium. */
export function defaultPrices(slot: number): PriceRange {
  const hour = slotHour(slot);
  const shape = { morning: bump(hour, 8, 1.5), evening: bump(hour, 19, 2), solar: bump(hour, 13, 2.5) };
  return {
    lower: round2(25 + 35 * shape.morning + 60 * shape.evening - 15 * shape.solar),
    upper: round2(60 + 60 * shape.morning + 120 * shape.evening - 30 * shape.solar),
  };
}

/** The prices the DSO opens a slot with: the default and one range per bus of the feeder. */
export function slotPrices(slot: number, buses: readonly string[]): SlotPrices {
  const base = defaultPrices(slot);
  return {
    default: base,
    buses: buses.map((bus, index) => ({
      bus,
      lower: base.lower,
      upper: round2(base.upper * (1 + 0.1 * index)),
    })),
  };
}

/** The price range of `bus` in a slot's prices; the default one for a bus without its own. */
export function pricesOnBus(prices: SlotPrices, bus: string): PriceRange {
  return prices.buses.find((entry) => entry.bus === bus) ?? prices.default;
}

/**
 * The time-of-use periods of the DSO's tariff (UTC hours of the slot's start): peak 17:00-21:00,
 * mid-peak 07:00-17:00, off-peak otherwise. Slots carry their period in their schedule; a
 * demand-response event runs over peak slots only.
 */
export const TOU_TABLE: readonly {
  readonly period: TouPeriod;
  readonly from: number;
  readonly to: number;
}[] = [
  { period: 'off-peak', from: 0, to: 7 },
  { period: 'mid-peak', from: 7, to: 17 },
  { period: 'peak', from: 17, to: 21 },
  { period: 'off-peak', from: 21, to: 24 },
];

const SLOTS_PER_HOUR = 60 / SLOT_MINUTES;

/** The time-of-use period of a slot of the day (0: 00:00; later days' slots wrap around). */
export function touPeriod(slot: number): TouPeriod {
  if (!Number.isInteger(slot) || slot < 0) {
    throw new RangeError('slot must be a whole number ≥ 0');
  }
  const hour = Math.floor((slot % SLOTS_PER_DAY) / SLOTS_PER_HOUR);
  const entry = TOU_TABLE.find((candidate) => hour >= candidate.from && hour < candidate.to);
  if (entry === undefined) {
    throw new RangeError(`no time-of-use period covers hour ${hour}`);
  }
  return entry.period;
}

/** The slots of the day (0-95) in the peak period, in order. */
export function peakSlots(): number[] {
  return Array.from({ length: SLOTS_PER_DAY }, (_, slot) => slot).filter(
    (slot) => touPeriod(slot) === 'peak',
  );
}

/** The peak slots among the slots played (from `startSlot`, `slots` of them): a DR event's slots. */
export function eventSlots(startSlot: number, slots: number): number[] {
  return peakSlots().filter((slot) => slot >= startSlot && slot < startSlot + slots);
}

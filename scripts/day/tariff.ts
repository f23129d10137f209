/**
 * The DSO's price ranges per slot (per MWh): a time-of-day shape — cheap at night and around
 * solar noon, a morning and a higher evening peak — with a congestion premium that grows with a
 * bus's position on the feeder (later buses are the weaker ones in the feeder model).
 */
import { slotHour, type PriceRange } from './appliance-model';

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

import { invalidArgument } from '../errors';
import { MAX_PRICE, MAX_PRICED_BUSES } from '../limits';
import {
  parseBusId,
  requireArray,
  requireDecimalPlaces,
  requireFiniteNumber,
  requireObject,
  requireOnlyKeys,
} from '../validation';

/** A price range for one slot, in currency units per MWh (distribution LMPs can be negative). */
export interface PriceRange {
  readonly lower: number;
  readonly upper: number;
}

export interface BusPriceRange extends PriceRange {
  readonly bus: string;
}

/** Per-bus ranges and/or a default that applies to every bus not listed. */
export interface SlotPrices {
  readonly default?: PriceRange;
  readonly buses: readonly BusPriceRange[];
}

function parseRange(value: Record<string, unknown>, name: string): PriceRange {
  const lower = requireDecimalPlaces(
    requireFiniteNumber(value.lower, `${name}.lower`, -MAX_PRICE, MAX_PRICE),
    `${name}.lower`,
    4,
  );
  const upper = requireDecimalPlaces(
    requireFiniteNumber(value.upper, `${name}.upper`, -MAX_PRICE, MAX_PRICE),
    `${name}.upper`,
    4,
  );
  if (lower > upper) {
    throw invalidArgument(`${name}.lower must not exceed ${name}.upper`);
  }
  return { lower, upper };
}

/** Parses `{"default":{"lower":..,"upper":..},"buses":[{"bus":..,"lower":..,"upper":..}]}`. */
export function parsePrices(value: unknown): SlotPrices {
  const record = requireObject(value, 'prices');
  requireOnlyKeys(record, 'prices', ['default', 'buses']);
  let defaultRange: PriceRange | undefined;
  if (record.default !== undefined) {
    const range = requireObject(record.default, 'prices.default');
    requireOnlyKeys(range, 'prices.default', ['lower', 'upper']);
    defaultRange = parseRange(range, 'prices.default');
  }
  const buses = requireArray(record.buses ?? [], 'prices.buses', MAX_PRICED_BUSES).map((item, index) => {
    const name = `prices.buses[${index}]`;
    const entry = requireObject(item, name);
    requireOnlyKeys(entry, name, ['bus', 'lower', 'upper']);
    return { bus: parseBusId(entry.bus, `${name}.bus`), ...parseRange(entry, name) };
  });
  if (defaultRange === undefined && buses.length === 0) {
    throw invalidArgument('prices must give a default range or at least one bus range');
  }
  const seen = new Set<string>();
  for (const { bus } of buses) {
    if (seen.has(bus)) {
      throw invalidArgument(`prices.buses lists bus ${bus} twice`);
    }
    seen.add(bus);
  }
  const sorted = [...buses].sort((a, b) => (a.bus < b.bus ? -1 : a.bus > b.bus ? 1 : 0));
  return defaultRange === undefined ? { buses: sorted } : { default: defaultRange, buses: sorted };
}

/**
 * The DSO's feeder model for the simulated day: which bus each simulated home hangs on, which
 * utility enrolled it, and how much each bus can carry (kW). Homes alternate between the two
 * utilities and fill the buses in turn, so every (utility, bus) pair gets a similar share;
 * capacities scale with the homes on a bus and shrink along the feeder (later buses are weaker),
 * so the evening peak constrains λ on the last bus first.
 */
export const UTILITIES = ['UtilityAMSP', 'UtilityBMSP'] as const;
export type UtilityMspId = (typeof UTILITIES)[number];

/** Bus names of the simulated day; other users of a shared network use other names. */
export const BUS_PREFIX = 'feeder-';

/** Diversified capacity per home on the strongest bus, kW. */
export const CAPACITY_KW_PER_HOME = 3.6;
/** Each further bus along the feeder carries this share less per home. */
const WEAKENING_PER_BUS = 0.08;

export interface HomeSpec {
  /** Position in the day's home list; seeds the home's appliance profile. */
  readonly index: number;
  readonly mspId: UtilityMspId;
  readonly bus: string;
}

export interface FeederBus {
  readonly bus: string;
  readonly capacityKw: number;
  /** Homes enrolled on the bus by each utility. */
  readonly homesByUtility: Readonly<Record<UtilityMspId, number>>;
}

export interface Feeder {
  readonly buses: readonly FeederBus[];
  readonly homes: readonly HomeSpec[];
}

export function busName(position: number): string {
  return `${BUS_PREFIX}${position + 1}`;
}

export function layoutFeeder(homeCount: number, busCount: number): Feeder {
  if (!Number.isInteger(busCount) || busCount < 1) {
    throw new RangeError('the feeder needs at least one bus');
  }
  if (!Number.isInteger(homeCount) || homeCount < UTILITIES.length * busCount) {
    throw new RangeError(
      `${busCount} buses need at least ${UTILITIES.length * busCount} homes (one per utility and bus)`,
    );
  }
  const homes: HomeSpec[] = Array.from({ length: homeCount }, (_, index) => ({
    index,
    mspId: UTILITIES[index % UTILITIES.length] ?? 'UtilityAMSP',
    bus: busName(Math.floor(index / UTILITIES.length) % busCount),
  }));
  const buses = Array.from({ length: busCount }, (_, position) => {
    const bus = busName(position);
    const onBus = homes.filter((home) => home.bus === bus);
    const homesByUtility = Object.fromEntries(
      UTILITIES.map((mspId) => [mspId, onBus.filter((home) => home.mspId === mspId).length]),
    ) as Record<UtilityMspId, number>;
    const strength = Math.max(0.5, 1 - WEAKENING_PER_BUS * position);
    return {
      bus,
      capacityKw: Math.round(onBus.length * CAPACITY_KW_PER_HOME * strength * 10) / 10,
      homesByUtility,
    };
  });
  return { buses, homes };
}

/** Capacities per bus, as the DSO gateway's optimizer takes them. */
export function capacities(feeder: Feeder): Record<string, number> {
  return Object.fromEntries(feeder.buses.map((bus) => [bus.bus, bus.capacityKw]));
}

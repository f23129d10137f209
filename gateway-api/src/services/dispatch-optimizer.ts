/**
 * The DSO's default dispatch optimizer (design notes): for each bus b with capacity C_b and
 * published aggregate range [ΣLmin_b, ΣLmax_b],
 *   λ_b = clamp((C_b − ΣLmin_b) / (ΣLmax_b − ΣLmin_b), 0, 1)
 * and the single λ is the minimum over buses.
 *
 * Some homes of a bus may be outside the sums: a utility's group withheld below k (its home
 * count is public, its sums are not) or a group with no aggregate at dispatch time (its enrolled
 * homes are in the slot's snapshot). The DSO knows of each such home only that its forecast lies
 * within [0, maxHomeKw], so its allowed power — between its own Lmin and Lmax whatever λ — is at
 * most maxHomeKw, and how much of it λ could shed is unknown. The optimizer therefore reserves
 * unreportedHomes × maxHomeKw of the bus's capacity for them and fits the reported range into the
 * rest: λ_b = clamp((C_b − H_b·maxHomeKw − ΣLmin_b) / (ΣLmax_b − ΣLmin_b), 0, 1). Treating their
 * range as a flexible [0, H·maxHomeKw] added to the sums would not be safe: homes whose Lmin is
 * near maxHomeKw draw it even at a small λ.
 */
export interface BusAggregate {
  readonly bus: string;
  /** Homes in the published (not withheld) sums. */
  readonly homes: number;
  readonly lower: number;
  readonly upper: number;
  /** False when any utility's aggregate for the bus was withheld or is missing. */
  readonly complete: boolean;
  /** Homes of the bus's withheld aggregates (fewer than k homes; the count is public). */
  readonly withheldHomes?: number;
  /** Enrolled homes (the slot's snapshot) of the bus's aggregates not published yet. */
  readonly pendingHomes?: number;
}

export interface DispatchOptions {
  /** The channel's per-home forecast maximum (governance settings); needed when homes are unreported. */
  readonly maxHomeKw?: number;
}

export interface BusDispatch {
  readonly bus: string;
  readonly capacityKw: number;
  readonly lambda: number | null;
  /**
   * Load at this λ: λ·ΣLmax + (1−λ)·ΣLmin, plus the worst case of the unreported homes (so for a
   * bus bounded by the worst case it is an upper bound, not an expectation).
   */
  readonly dispatchedKw: number | null;
  /** Homes whose forecasts are not in the sums (withheld or missing). */
  readonly unreportedHomes: number;
  /** Capacity reserved for them: unreportedHomes × maxHomeKw. */
  readonly assumedKw: number;
}

export interface DispatchPlan {
  readonly lambda: number;
  readonly buses: readonly BusDispatch[];
  /** Buses whose unreported homes were bounded by the worst case (sorted). */
  readonly assumedWorstCase: readonly string[];
  /** The per-home maximum used for them; absent when no bus needed it. */
  readonly maxHomeKw?: number;
}

export function busLambda(capacityKw: number, lower: number, upper: number): number {
  if (capacityKw <= lower) {
    return 0;
  }
  if (upper <= lower || capacityKw >= upper) {
    return 1;
  }
  return Math.min(1, Math.max(0, (capacityKw - lower) / (upper - lower)));
}

/** λ rounded down to 4 decimals, so rounding never pushes a bus over its capacity. */
function floor4(value: number): number {
  return Math.floor(value * 10000) / 10000;
}

function homeCount(value: number | undefined, name: string, bus: string): number {
  if (value === undefined) {
    return 0;
  }
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} of bus ${bus} must be a non-negative integer`);
  }
  return value;
}

/** Homes of a bus outside its sums; refuses an incomplete bus that does not say how many. */
function unreportedHomesOf(aggregate: BusAggregate): number {
  if (!aggregate.complete && aggregate.withheldHomes === undefined && aggregate.pendingHomes === undefined) {
    throw new RangeError(
      `bus ${aggregate.bus} is incomplete but gives no withheld or pending home count to bound it by`,
    );
  }
  return (
    homeCount(aggregate.withheldHomes, 'withheldHomes', aggregate.bus) +
    homeCount(aggregate.pendingHomes, 'pendingHomes', aggregate.bus)
  );
}

/** λ_b with assumedKw of the capacity reserved for unreported homes; null for a bus without homes. */
function reservedBusLambda(
  aggregate: BusAggregate,
  capacityKw: number,
  unreportedHomes: number,
  assumedKw: number,
): number | null {
  if (aggregate.homes > 0) {
    return floor4(busLambda(capacityKw - assumedKw, aggregate.lower, aggregate.upper));
  }
  if (unreportedHomes === 0) {
    return null;
  }
  // Only unreported homes: λ cannot be fitted to them. It stays free if their worst case fits;
  // otherwise 0 keeps every home at its own minimum, the least the DSO can ask for.
  return capacityKw >= assumedKw ? 1 : 0;
}

export function planDispatch(
  aggregates: readonly BusAggregate[],
  capacities: ReadonlyMap<string, number>,
  options: DispatchOptions = {},
): DispatchPlan {
  const unreported = new Map(aggregates.map((aggregate) => [aggregate.bus, unreportedHomesOf(aggregate)]));
  const needsBound = [...unreported.values()].some((homes) => homes > 0);
  const { maxHomeKw } = options;
  if (needsBound && maxHomeKw === undefined) {
    // Failing closed: without the per-home maximum an unreported bus could only be ignored.
    throw new RangeError('maxHomeKw is needed to bound buses whose sums are withheld or missing');
  }
  if (maxHomeKw !== undefined && !(Number.isFinite(maxHomeKw) && maxHomeKw > 0)) {
    throw new RangeError('maxHomeKw must be a positive finite number');
  }
  const buses = aggregates.map((aggregate) => {
    const capacityKw = capacities.get(aggregate.bus) ?? Number.POSITIVE_INFINITY;
    const unreportedHomes = unreported.get(aggregate.bus) ?? 0;
    const assumedKw = unreportedHomes === 0 ? 0 : round3(unreportedHomes * (maxHomeKw ?? 0));
    const lambda = reservedBusLambda(aggregate, capacityKw, unreportedHomes, assumedKw);
    return { bus: aggregate.bus, capacityKw, lambda, unreportedHomes, assumedKw };
  });
  const constraining = buses.flatMap((bus) => (bus.lambda === null ? [] : [bus.lambda]));
  const lambda = constraining.length === 0 ? 1 : Math.min(...constraining);
  const assumedWorstCase = buses
    .filter((bus) => bus.unreportedHomes > 0)
    .map((bus) => bus.bus)
    .sort();
  return {
    lambda,
    buses: buses.map((bus) => {
      const aggregate = aggregates.find((candidate) => candidate.bus === bus.bus);
      return {
        ...bus,
        dispatchedKw:
          aggregate === undefined || bus.lambda === null
            ? null
            : round3(lambda * aggregate.upper + (1 - lambda) * aggregate.lower + bus.assumedKw),
      };
    }),
    assumedWorstCase,
    ...(needsBound && maxHomeKw !== undefined ? { maxHomeKw } : {}),
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The public parts of GetSlot the optimizer reads. */
export interface SlotSums {
  readonly aggregates: readonly {
    readonly bus: string;
    readonly expectedHomes: number;
    readonly published: boolean;
  }[];
  readonly busTotals: readonly {
    readonly bus: string;
    readonly homes: number;
    /** Homes counted in the bus's withheld aggregates (public, as their sums are not). */
    readonly withheldHomes: number;
    readonly lower: number;
    readonly upper: number;
    readonly withheldOrgs: readonly string[];
    readonly pendingOrgs: readonly string[];
  }[];
}

/**
 * The optimizer's input from a slot's public record: the bus sums, the public home count of each
 * withheld aggregate, and for each aggregate not yet published the enrolled homes the slot's
 * snapshot expects from it.
 */
export function busAggregatesOf(slot: SlotSums): BusAggregate[] {
  return slot.busTotals.map((total) => {
    const ofBus = slot.aggregates.filter((aggregate) => aggregate.bus === total.bus);
    return {
      bus: total.bus,
      homes: total.homes,
      lower: total.lower,
      upper: total.upper,
      complete: total.withheldOrgs.length === 0 && total.pendingOrgs.length === 0,
      withheldHomes: total.withheldHomes,
      pendingHomes: ofBus
        .filter((aggregate) => !aggregate.published)
        .reduce((sum, aggregate) => sum + aggregate.expectedHomes, 0),
    };
  });
}

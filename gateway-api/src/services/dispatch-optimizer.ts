/**
 * The DSO's default dispatch optimizer (design notes): for each bus b with capacity C_b and
 * published aggregate range [ΣLmin_b, ΣLmax_b],
 *   λ_b = clamp((C_b − ΣLmin_b) / (ΣLmax_b − ΣLmin_b), 0, 1)
 * and the single λ is the minimum over buses. A bus whose sums are withheld (fewer than k homes)
 * or missing gives no information and does not constrain λ.
 */
export interface BusAggregate {
  readonly bus: string;
  readonly homes: number;
  readonly lower: number;
  readonly upper: number;
  /** False when any utility's aggregate for the bus was withheld or is missing. */
  readonly complete: boolean;
}

export interface BusDispatch {
  readonly bus: string;
  readonly capacityKw: number;
  readonly lambda: number | null;
  /** Load at this λ: λ·ΣLmax + (1−λ)·ΣLmin. */
  readonly dispatchedKw: number | null;
}

export interface DispatchPlan {
  readonly lambda: number;
  readonly buses: readonly BusDispatch[];
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

export function planDispatch(
  aggregates: readonly BusAggregate[],
  capacities: ReadonlyMap<string, number>,
): DispatchPlan {
  const buses = aggregates.map((aggregate) => {
    const capacityKw = capacities.get(aggregate.bus) ?? Number.POSITIVE_INFINITY;
    const lambda =
      aggregate.homes > 0 ? floor4(busLambda(capacityKw, aggregate.lower, aggregate.upper)) : null;
    return { bus: aggregate.bus, capacityKw, lambda, dispatchedKw: null as number | null };
  });
  const constraining = buses.flatMap((bus) => (bus.lambda === null ? [] : [bus.lambda]));
  const lambda = constraining.length === 0 ? 1 : Math.min(...constraining);
  return {
    lambda,
    buses: buses.map((bus) => {
      const aggregate = aggregates.find((candidate) => candidate.bus === bus.bus);
      return {
        ...bus,
        dispatchedKw:
          aggregate === undefined || aggregate.homes === 0
            ? null
            : Math.round((lambda * aggregate.upper + (1 - lambda) * aggregate.lower) * 1000) / 1000,
      };
    }),
  };
}

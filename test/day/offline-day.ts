/**
 * The simulated day's homes played without a network, for the specs: every slot's forecasts, the
 * DSO's optimizer (planDispatch on the feeder's capacities) for λ, each home's allowance as the
 * chaincode computes it (eq. (1) to the watt, shrunk towards Lmin under an emergency), the draws.
 */
import { planDispatch } from '@hems/gateway-api';
import { absoluteSlot } from '../../scripts/day/days';
import { signalsOf, type DrPlan } from '../../scripts/day/dr-event';
import { withoutDrLambda } from '../../scripts/day/dr-metrics';
import { capacities, layoutFeeder, type Feeder, type HomeSpec } from '../../scripts/day/feeder-model';
import { HomeState, type HomeDrawResult } from '../../scripts/day/home-state';
import { busPrices } from '../../scripts/day/slot-run';
import { pricesOnBus } from '../../scripts/day/tariff';

export interface OfflineHome {
  readonly spec: HomeSpec;
  readonly state: HomeState;
}

const watts = (kw: number): number => Math.round(kw * 1000);

/** Paper eq. (1) to the watt, then the emergency's share of the flexible part (1/2, 1/4, 0). */
export function allowanceKw(lambda: number, lower: number, upper: number, level?: 1 | 2 | 3): number {
  const allowed = Math.round(lambda * watts(upper) + (1 - lambda) * watts(lower));
  if (level === undefined) {
    return allowed / 1000;
  }
  const [numerator, denominator] = { 1: [1, 2], 2: [1, 4], 3: [0, 1] }[level] as [number, number];
  const flexible = Math.max(0, allowed - watts(lower));
  return Math.min(allowed, watts(lower) + Math.floor((flexible * numerator) / denominator)) / 1000;
}

export function offlineHomes(feeder: Feeder, seed: number): OfflineHome[] {
  return feeder.homes.map((spec) => ({
    spec,
    state: new HomeState(seed, spec.index, absoluteSlot(0, 0), (slot) =>
      pricesOnBus(busPrices(slot % 96, feeder), spec.bus),
    ),
  }));
}

/** Plays slot `index` of played day `day` for every home; answers the draws. */
export async function playSlot(
  feeder: Feeder,
  homes: readonly OfflineHome[],
  day: number,
  index: number,
  plan: DrPlan | null,
): Promise<HomeDrawResult[]> {
  const slot = absoluteSlot(day, index);
  const signals = signalsOf(plan, index);
  const prices = busPrices(index, feeder);
  const forecasts = homes.map((home) =>
    home.state.forecast(slot, pricesOnBus(prices, home.spec.bus), signals),
  );
  const aggregates = feeder.buses.map(({ bus }) => {
    const onBus = forecasts.filter((_, position) => homes[position]?.spec.bus === bus);
    return {
      bus,
      homes: onBus.length,
      lower: onBus.reduce((sum, forecast) => sum + forecast.lower, 0),
      upper: onBus.reduce((sum, forecast) => sum + forecast.upper, 0),
      complete: true,
    };
  });
  const lambda = planDispatch(aggregates, new Map(Object.entries(capacities(feeder)))).lambda;
  const twinLambda = withoutDrLambda(
    homes.map((home) => ({ bus: home.spec.bus, ...home.state.withoutDrForecast(slot)! })),
    capacities(feeder),
  );
  return Promise.all(
    homes.map((home, position) => {
      const forecast = forecasts[position]!;
      const allowedKw = allowanceKw(lambda, forecast.lower, forecast.upper, signals.emergencyLevel);
      return home.state.draw(slot, { allowedKw, lambda, withoutDrLambda: twinLambda });
    }),
  );
}

/** Plays `days` whole days (the event, if any, on the last); answers the homes and every slot's draws. */
export async function playDays(
  homeCount: number,
  buses: number,
  days: number,
  seed: number,
  plan: DrPlan | null,
): Promise<{ feeder: Feeder; homes: OfflineHome[]; draws: HomeDrawResult[][] }> {
  const feeder = layoutFeeder(homeCount, buses);
  const homes = offlineHomes(feeder, seed);
  const draws: HomeDrawResult[][] = [];
  for (let day = 0; day < days; day += 1) {
    for (let index = 0; index < 96; index += 1) {
      draws.push(await playSlot(feeder, homes, day, index, day === days - 1 ? plan : null));
    }
  }
  homes.forEach((home) => home.state.playUnsteered(absoluteSlot(days, 0)));
  return { feeder, homes, draws };
}

import { invalidArgument } from '../errors';
import { requireInteger } from '../validation';
import { MAX_PRICE_UNITS } from '../auction/orders';
import { INTERVALS_PER_DAY, MAX_INTERVAL_WH, requireReadings } from './meter-days';

/**
 * The reward of one home for one demand-response event:
 *
 *   reductionWh = max(0, sum of baseline Wh - sum of metered Wh) over the event's intervals
 *   reward      = reductionWh x rate
 *
 * The max(0, .) applies to the event total, not interval by interval: an interval above the
 * baseline offsets one below it. That is how the residential programs cited in ./baseline.ts pay
 * (PG&E Power Saver Rewards FAQ: "the difference between your expected energy usage and your
 * actual energy usage during the event is what you will be paid for"; Portland General Electric,
 * "How are Peak Time Rebates calculated?": typical use minus actual event use = kWh savings,
 * rebate = kWh savings x rate), and it keeps a home from being paid for shifting load inside the
 * event. A home that used as much as its baseline or more gets 0, never a negative amount: the
 * programs pay for reductions and charge nothing for increases.
 *
 * Units are the auction's (../auction/orders.ts), so a reward credits a token balance directly:
 * the rate is in price units (1/10000 currency per MWh, i.e. 0.50 currency per kWh =
 * 500 currency per MWh = 5_000_000 price units, `priceToUnits(500)`), and Wh x price units is a
 * value in value units (1e-10 currency), exact in bigint (`formatValue` renders it).
 *
 * What a reward reveals: reward / rate = reductionWh exactly. Whoever sees a home's reward and the
 * (public) rate knows its reduction in Wh; the baseline and the meter readings stay private.
 */

/** A baseline interval may exceed a reading by the adjustment: up to twice MAX_INTERVAL_WH (+100%). */
export const MAX_BASELINE_INTERVAL_WH = 2 * MAX_INTERVAL_WH;

export interface DrReward {
  /** Sum of the baseline over the event, Wh. */
  readonly baselineWh: number;
  /** Sum of the metered readings over the event, Wh. */
  readonly meteredWh: number;
  /** max(0, baselineWh - meteredWh). */
  readonly reductionWh: number;
  /** reductionWh x rate, value units (1e-10 currency). */
  readonly reward: bigint;
}

/**
 * `baselineWh` and `meteredWh`: one whole Wh >= 0 per event interval, the same count (1-96), in the
 * same order. `ratePriceUnits`: whole price units in [0, MAX_PRICE_UNITS].
 */
export function rewardOf(
  baselineWh: readonly number[],
  meteredWh: readonly number[],
  ratePriceUnits: number,
): DrReward {
  const baseline = requireReadings(baselineWh, 'baselineWh', 1, INTERVALS_PER_DAY, MAX_BASELINE_INTERVAL_WH);
  const metered = requireReadings(meteredWh, 'meteredWh', 1, INTERVALS_PER_DAY);
  if (metered.length !== baseline.length) {
    throw invalidArgument('meteredWh must hold one reading per baseline interval');
  }
  const rate = requireInteger(ratePriceUnits, 'ratePriceUnits', 0, MAX_PRICE_UNITS);
  // At most 96 x 2e9 Wh: every sum is a safe integer.
  const baselineTotal = baseline.reduce((total, wh) => total + wh, 0);
  const meteredTotal = metered.reduce((total, wh) => total + wh, 0);
  const reductionWh = Math.max(0, baselineTotal - meteredTotal);
  return {
    baselineWh: baselineTotal,
    meteredWh: meteredTotal,
    reductionWh,
    reward: BigInt(reductionWh) * BigInt(rate),
  };
}

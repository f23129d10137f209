import type { HemsContext } from '../lib/context';
import { loadHomeRefSecret } from '../governance/records';
import { verifyTransientDevice } from '../governance/devices';
import { accountIdOf } from '../auction/references';
import { loadDrEvent } from './events';
import { computeHomeResult, eventDates, loadHomeResult, resultRef } from './home-results';

/**
 * The device's own result in an event (transient `certificate`), evaluated on its utility's peer:
 * the stored one once paid, else computed from its history now. Never submitted: the answer would
 * go into a block.
 */
export async function myReward(
  ctx: HemsContext,
  org: string,
  eventId: string,
): Promise<Record<string, unknown>> {
  const event = await loadDrEvent(ctx, eventId);
  const device = await verifyTransientDevice(ctx, org);
  const secret = await loadHomeRefSecret(ctx, org);
  const stored = await loadHomeResult(ctx, org, eventId, resultRef(secret, eventId, device.homeId));
  const result =
    stored ??
    (await computeHomeResult(
      ctx,
      org,
      secret,
      event,
      device.homeId,
      accountIdOf(secret, device.homeId),
      await eventDates(ctx, event),
    ));
  return {
    eventId,
    method: event.method,
    ratePriceUnits: event.ratePriceUnits,
    start: event.start,
    end: event.end,
    baselineWh: result.baselineWh,
    meteredWh: result.meteredWh,
    baselineTotalWh: result.baselineTotalWh,
    meteredTotalWh: result.meteredTotalWh,
    reductionWh: result.reductionWh,
    reward: result.reward,
    accountId: result.accountId,
    daysUsed: result.daysUsed,
    paid: stored !== undefined,
  };
}

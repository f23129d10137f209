import { collectionOf, conflict, failedPrecondition, parseStoredJson, requireObject } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readPrivate, writeState } from '../lib/state';
import type { AllotmentRecord, BusRewardTotals } from './allotments';
import { loadDrEvent } from './events';
import { openAllotment, type BusSums, type RewardBatchRecord } from './rewards';

/**
 * Closes `org`'s payments of an event and publishes its per-bus totals: homes, and from k homes on
 * Σ baseline, Σ metered, Σ reduction and Σ reward. Summed from the private per-batch sums the
 * allotment lists (one point read per batch, not per home). Published once: a later batch would
 * let the difference of two publications single out the homes it added.
 */
export async function publishRewardTotals(
  ctx: HemsContext,
  org: string,
  eventId: string,
): Promise<AllotmentRecord> {
  const event = await loadDrEvent(ctx, eventId);
  const allotment = await openAllotment(ctx, org, event);
  if (allotment.totalsPublishedAt !== undefined) {
    throw conflict(`${org} has already published its totals of event ${eventId}`);
  }
  if (allotment.batches.length === 0) {
    throw failedPrecondition(`${org} has paid no rewards of event ${eventId} yet`);
  }
  const k = (await ctx.settings()).minGroupSize;
  const sums = new Map<string, BusSums>();
  for (const txId of allotment.batches) {
    const bytes = await readPrivate(ctx.stub, collectionOf(org), ctx.keys.drBatch(eventId, txId));
    if (bytes === undefined) {
      throw failedPrecondition(`the private sums of reward batch ${txId} are not on this peer`);
    }
    const batch = requireObject(
      parseStoredJson(bytes, 'reward batch'),
      'reward batch',
    ) as unknown as RewardBatchRecord;
    for (const [bus, part] of Object.entries(batch.buses)) {
      const total = sums.get(bus) ?? { homes: 0, baselineWh: 0, meteredWh: 0, reductionWh: 0, reward: '0' };
      sums.set(bus, {
        homes: total.homes + part.homes,
        baselineWh: total.baselineWh + part.baselineWh,
        meteredWh: total.meteredWh + part.meteredWh,
        reductionWh: total.reductionWh + part.reductionWh,
        reward: (BigInt(total.reward) + BigInt(part.reward)).toString(),
      });
    }
  }
  const totals: BusRewardTotals[] = [...sums]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([bus, total]) =>
      total.homes < k ? { bus, homes: total.homes, withheld: true } : { bus, withheld: false, ...total },
    );
  const next: AllotmentRecord = {
    ...allotment,
    lastPayments: [],
    totals,
    totalsPublishedAt: isoTime(ctx.now),
    updatedAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, ctx.keys.drAllotment(eventId, org), next);
  return next;
}

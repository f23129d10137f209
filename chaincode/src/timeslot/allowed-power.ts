import { allowedPowerKw, failedPrecondition } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { compareText } from '../lib/ledger';
import { currentForecasts } from './forecast-batches';
import { forecastOfHome } from './forecasts';
import { lambdaOfBus, loadSlot, type DispatchRecord } from './records';

async function dispatchOf(ctx: HemsContext, id: string): Promise<DispatchRecord> {
  const slot = await loadSlot(ctx, id);
  if (slot.dispatch === undefined) {
    throw failedPrecondition(`slot ${id} has no dispatch yet`);
  }
  return slot.dispatch;
}

/** Paper eq. (1) for one home of `org`: its allowed power and the λ of its bus. */
export async function allowedPower(
  ctx: HemsContext,
  org: string,
  id: string,
  ref: string,
): Promise<{ slotId: string; lambda: number; allowedKw: number; revision: number }> {
  const dispatch = await dispatchOf(ctx, id);
  const { item } = await forecastOfHome(ctx, org, id, ref);
  const lambda = lambdaOfBus(dispatch, item.bus);
  return {
    slotId: id,
    lambda,
    allowedKw: allowedPowerKw(lambda, item.lower, item.upper),
    revision: dispatch.revision,
  };
}

/**
 * Every home's allowed power of `org` in a dispatched slot, for its relay to answer its devices from
 * memory: `homes` rows are [home reference, allowed kW, λ, index into `batches` of the batch holding
 * the forecast in effect]. Evaluated on the utility's own peer, never ordered.
 */
export interface AllowedPowerTable {
  readonly slotId: string;
  readonly revision: number;
  readonly dispatchTxId: string;
  readonly batches: readonly string[];
  readonly homes: readonly (readonly [string, number, number, number])[];
}

export async function allowedPowers(ctx: HemsContext, org: string, id: string): Promise<AllowedPowerTable> {
  const dispatch = await dispatchOf(ctx, id);
  const effective = await currentForecasts(ctx, org, id);
  const batches = [...new Set([...effective.values()].map((forecast) => forecast.batch))].sort(compareText);
  const batchIndex = new Map(batches.map((batch, index) => [batch, index]));
  const homes = [...effective.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([ref, { item, batch }]): [string, number, number, number] => {
      const lambda = lambdaOfBus(dispatch, item.bus);
      return [ref, allowedPowerKw(lambda, item.lower, item.upper), lambda, batchIndex.get(batch) ?? -1];
    });
  return { slotId: id, revision: dispatch.revision, dispatchTxId: dispatch.txId, batches, homes };
}

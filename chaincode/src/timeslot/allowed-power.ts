import { failedPrecondition, type EmergencyLevel } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { compareText } from '../lib/ledger';
import { emergencyLevelOf, homeAllowanceKw } from './emergency';
import { currentForecasts } from './forecast-batches';
import { forecastOfHome } from './forecasts';
import { lambdaOfBus, loadSlot, type DispatchRecord, type SlotRecord } from './records';

async function dispatchedSlot(
  ctx: HemsContext,
  id: string,
): Promise<{ slot: SlotRecord; dispatch: DispatchRecord }> {
  const slot = await loadSlot(ctx, id);
  if (slot.dispatch === undefined) {
    throw failedPrecondition(`slot ${id} has no dispatch yet`);
  }
  return { slot, dispatch: slot.dispatch };
}

/**
 * Paper eq. (1) for one home of `org`: its allowed power and the λ of its bus, under the slot's
 * emergency (and its level) when the DSO declared one.
 */
export async function allowedPower(
  ctx: HemsContext,
  org: string,
  id: string,
  ref: string,
): Promise<{
  slotId: string;
  lambda: number;
  allowedKw: number;
  revision: number;
  emergencyLevel?: EmergencyLevel;
}> {
  const { slot, dispatch } = await dispatchedSlot(ctx, id);
  const { item } = await forecastOfHome(ctx, org, id, ref);
  return {
    slotId: id,
    lambda: lambdaOfBus(dispatch, item.bus),
    allowedKw: homeAllowanceKw(dispatch, slot.emergency, item),
    revision: dispatch.revision,
    ...emergencyLevelOf(slot),
  };
}

/**
 * Every home's allowed power of `org` in a dispatched slot, for its relay to answer its devices from
 * memory: `homes` rows are [home reference, allowed kW, λ, index into `batches` of the batch holding
 * the forecast in effect]. Evaluated on the utility's own peer, never ordered. Under an emergency
 * the allowances are the emergency's and `emergencyLevel` says so.
 */
export interface AllowedPowerTable {
  readonly slotId: string;
  readonly revision: number;
  readonly dispatchTxId: string;
  readonly emergencyLevel?: EmergencyLevel;
  readonly batches: readonly string[];
  readonly homes: readonly (readonly [string, number, number, number])[];
}

export async function allowedPowers(ctx: HemsContext, org: string, id: string): Promise<AllowedPowerTable> {
  const { slot, dispatch } = await dispatchedSlot(ctx, id);
  const effective = await currentForecasts(ctx, org, id);
  const batches = [...new Set([...effective.values()].map((forecast) => forecast.batch))].sort(compareText);
  const batchIndex = new Map(batches.map((batch, index) => [batch, index]));
  const homes = [...effective.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([ref, { item, batch }]): [string, number, number, number] => [
      ref,
      homeAllowanceKw(dispatch, slot.emergency, item),
      lambdaOfBus(dispatch, item.bus),
      batchIndex.get(batch) ?? -1,
    ]);
  return {
    slotId: id,
    revision: dispatch.revision,
    dispatchTxId: dispatch.txId,
    ...emergencyLevelOf(slot),
    batches,
    homes,
  };
}

import {
  allowedPowerKw,
  canonicalBytes,
  conflict,
  emergencyAllowanceKw,
  failedPrecondition,
  SLOT_EVENTS,
  type EmergencyLevel,
  type SlotEmergency,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState, type RecordView } from '../lib/state';
import { lambdaOfBus, loadAggregates, loadSlot, type DispatchRecord, type SlotRecord } from './records';
import { slotView } from './views';

/**
 * The DSO declares a grid emergency for a slot (or raises its level) before the dispatch. It goes
 * into the public slot record, which the dispatch also writes, so an emergency and a dispatch
 * endorsed concurrently cannot both commit (MVCC on the slot key): every home's allowance follows
 * from one dispatch under one level. Declared before the dispatch only, because the relays answer
 * their devices from the allowed powers they read once the slot is dispatched. Public: the level,
 * its time and transaction (and an EmergencyDeclared event), never an allowance.
 */
export async function declareEmergency(
  ctx: HemsContext,
  id: string,
  level: EmergencyLevel,
): Promise<RecordView> {
  const slot = await loadSlot(ctx, id);
  if (slot.settledAt !== undefined) {
    throw failedPrecondition(`slot ${id} is settled; an emergency is declared before the dispatch`);
  }
  if (slot.dispatch !== undefined) {
    throw failedPrecondition(
      `slot ${id} is already dispatched; an emergency is declared before the dispatch`,
    );
  }
  const current = slot.emergency?.level;
  if (current !== undefined && level < current) {
    throw failedPrecondition(
      `slot ${id} has an emergency of level ${current}; a declaration may raise the level, never lower it`,
    );
  }
  if (current === level) {
    throw conflict(`slot ${id} already has an emergency of level ${level}`);
  }
  const emergency: SlotEmergency = { level, declaredAt: isoTime(ctx.now), txId: ctx.stub.getTxID() };
  const updated: SlotRecord = { ...slot, emergency };
  await writeState(ctx.stub, ctx.keys.slot(id), updated);
  // The gateways' slot caches re-read the slot on it, and relays learn of the level before λ.
  ctx.stub.setEvent(SLOT_EVENTS.emergencyDeclared, canonicalBytes({ slotId: id, level }));
  return slotView(updated, await loadAggregates(ctx, id), ctx.now);
}

/**
 * A home's allowed power in a dispatched slot: paper eq. (1) with the λ of its bus, then, under
 * the slot's emergency, shrunk towards the home's Lmin. Every answer and verdict uses this one
 * rule (GetAllowedPower(s), the stored consumption report, hence the metered compliance).
 */
export function homeAllowanceKw(
  dispatch: DispatchRecord,
  emergency: SlotEmergency | undefined,
  forecast: { readonly bus: string; readonly lower: number; readonly upper: number },
): number {
  const allowedKw = allowedPowerKw(lambdaOfBus(dispatch, forecast.bus), forecast.lower, forecast.upper);
  return emergencyAllowanceKw(emergency?.level, forecast.lower, allowedKw);
}

/** `{emergencyLevel}` for an answer when the slot has an emergency, else nothing. */
export function emergencyLevelOf(slot: SlotRecord): { emergencyLevel?: EmergencyLevel } {
  return slot.emergency === undefined ? {} : { emergencyLevel: slot.emergency.level };
}

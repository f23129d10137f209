import type { SlotView } from '@hems/protocol';
import type { Caller } from '../../identity/caller';
import { decodeJson, readerIdentity } from '../../ledger/answers';
import { timeslot } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import { certificateTransient } from '../common/relay';

/** A cache of public slot data (services/slot-cache.ts); undefined when a slot is not cached. */
export interface SlotLookup {
  get(slotId: string): unknown;
}

/** The public slot record as GetSlot answers it, read on the gateway's own peer. */
export async function loadSlot(ledger: Ledger, slotId: string): Promise<SlotView> {
  return decodeJson<SlotView>(
    await timeslot(ledger, readerIdentity(ledger)).GetSlot.evaluate({ arguments: [slotId] }),
  );
}

/** Reads of public slot data are served from the event-fed cache when it has the slot. */
export function publicSlotReader(ledger: Ledger, cache?: SlotLookup): (slotId: string) => Promise<SlotView> {
  return async (slotId) => (cache?.get(slotId) as SlotView | undefined) ?? loadSlot(ledger, slotId);
}

/**
 * What a HEMS device sees of a slot: its own bus's price range and λ, and the slot's public
 * delivery schedule (its time-of-use period) and emergency level, which its appliances act on.
 */
export function deviceSlotView(slot: SlotView, bus: string): Record<string, unknown> {
  return {
    slotId: slot.slotId,
    status: slot.status,
    deadline: slot.deadline,
    bus,
    prices: slot.prices.buses.find((entry) => entry.bus === bus) ?? slot.prices.default ?? null,
    lambda: slot.dispatch?.perBus.find((entry) => entry.bus === bus)?.lambda ?? slot.dispatch?.lambda ?? null,
    ...(slot.schedule === undefined ? {} : { schedule: slot.schedule }),
    ...(slot.emergency === undefined ? {} : { emergencyLevel: slot.emergency.level }),
  };
}

/** Opens a slot as the DSO identity. */
export function openSlot(
  ledger: Ledger,
  slot: {
    readonly slotId: string;
    readonly deadline: string;
    readonly prices: unknown;
    readonly schedule?: unknown;
  },
): Promise<SubmitResult> {
  return timeslot(ledger, 'dso').OpenSlot.submit({
    arguments: [
      slot.slotId,
      slot.deadline,
      JSON.stringify(slot.prices),
      slot.schedule === undefined ? '' : JSON.stringify(slot.schedule),
    ],
  });
}

/** Declares an emergency of `level` (1-3) for a slot as the DSO identity, under the majority policy. */
export function declareEmergency(ledger: Ledger, slotId: string, level: number): Promise<SubmitResult> {
  return timeslot(ledger, 'dso').DeclareEmergency.submit({ arguments: [slotId, String(level)] });
}

/**
 * The device's proof of submission for a slot — home reference, forecast in effect, batch, index
 * and Merkle path — computed on its utility's own peer from its certificate.
 */
export async function forecastProofOf(
  ledger: Ledger,
  slotId: string,
  device: Caller,
): Promise<Record<string, unknown>> {
  return decodeJson<Record<string, unknown>>(
    await timeslot(ledger, 'relay').GetForecastProof.evaluate({
      arguments: [slotId],
      transientData: { certificate: certificateTransient(device) },
      endorsingOrganizations: [ledger.mspId],
    }),
  );
}

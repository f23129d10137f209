import {
  collectionOf,
  failedPrecondition,
  parseForecastPayload,
  type StoredForecast,
  storedForecastFromBytes,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { writePrivate } from '../lib/state';
import { verifyTransientDevice } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { acceptSlotPayload, freshSlotNonceKey, homeReference, listedRecords, privateRefs } from './home-refs';
import { loadAggregates, loadSlot } from './records';

/** What SubmitForecast answers: no home reference, since a submitted response is in the block. */
export interface ForecastReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
}

/**
 * Stores one home's device-signed forecast range (transient `payload`, `signature`,
 * `certificate`) in the collection of `org`, the relay's utility. Answers no home reference: a
 * submitted transaction's response is written into the block.
 */
export async function submitForecast(ctx: HemsContext, org: string, id: string): Promise<ForecastReceipt> {
  const slot = await loadSlot(ctx, id);
  const now = ctx.now;
  if (slot.dispatch !== undefined || now >= new Date(slot.deadline)) {
    throw failedPrecondition(`slot ${id} closed for forecasts at its deadline ${slot.deadline}`);
  }

  const { device, payload } = await acceptSlotPayload(ctx, org, id, 'forecast', parseForecastPayload);

  // Read all of the org's aggregates for the slot (a range), not the device's bus alone: a
  // single-key read would put the home's bus in the public read set of this transaction.
  const aggregate = (await loadAggregates(ctx, id, org)).find((agg) => agg.bus === device.bus);
  if (aggregate === undefined) {
    throw failedPrecondition(`the device's bus has no enrolled homes of ${org} in slot ${id}`);
  }
  if (aggregate.published) {
    throw failedPrecondition(
      `the aggregate for the device's bus in slot ${id} is published: its window is closed`,
    );
  }

  const collection = collectionOf(org);
  const homeRef = homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId);
  const nonceKey = await freshSlotNonceKey(ctx, collection, id, payload.nonce, 'submission');
  const stored: StoredForecast = { ...payload, bus: device.bus };
  // Same key for every submission of this home in this slot: a resubmission replaces the last.
  await writePrivate(ctx.stub, collection, ctx.keys.forecast(id, homeRef), stored);
  await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
  return { slotId: id, txId: ctx.stub.getTxID(), acceptedAt: isoTime(now) };
}

/** The home references of `org`'s forecasts in a slot, on one bus or (busId undefined) on all. */
export async function forecastRefs(
  ctx: HemsContext,
  org: string,
  id: string,
  busId: string | undefined,
): Promise<string[]> {
  return privateRefs(
    ctx,
    org,
    KeyType.forecast,
    id,
    (value) => busId === undefined || storedForecastFromBytes(value).bus === busId,
  );
}

/** Point-reads the forecasts listed in transient field `refs`; each must exist in the slot. */
export async function listedForecasts(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<{ ref: string; forecast: StoredForecast }[]> {
  const listed = await listedRecords(ctx, org, (ref) => ctx.keys.forecast(slotId, ref), 'forecast', slotId);
  return listed.map(({ ref, bytes }) => ({ ref, forecast: storedForecastFromBytes(bytes) }));
}

/** A device's pseudonym in one slot, and its bus. */
export interface DeviceHomeRef {
  readonly slotId: string;
  readonly homeRef: string;
  readonly bus: string;
}

/** The slot's home reference and bus of the device whose certificate is in transient `certificate`. */
export async function homeRefOfDevice(ctx: HemsContext, org: string, id: string): Promise<DeviceHomeRef> {
  const device = await verifyTransientDevice(ctx, org);
  return {
    slotId: id,
    homeRef: homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId),
    bus: device.bus,
  };
}

import {
  type EffectiveForecast,
  notFound,
  isHomeId,
  parseJsonArgument,
  requireArray,
  type StoredForecast,
  storedForecastOf,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { refusedAsWhole, transientEntry } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { verifyTransientDevice } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { currentForecasts, submitForecastBatch } from './forecast-batches';
import { homeReference } from './home-refs';

/** What SubmitForecast answers: no home reference, since a submitted response is in the block. */
export interface ForecastReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
}

/**
 * Stores one home's device-signed forecast range (transient `payload`, `signature`,
 * `certificate`) in the collection of `org`, the relay's utility: a batch of one, refused as a
 * whole when its item is. Answers no home reference: a submitted transaction's response is
 * written into the block.
 */
export async function submitForecast(ctx: HemsContext, org: string, id: string): Promise<ForecastReceipt> {
  const receipt = refusedAsWhole(await submitForecastBatch(ctx, org, id, [transientEntry(ctx)]));
  return { slotId: id, txId: receipt.txId, acceptedAt: receipt.acceptedAt };
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

/** Homes per GetHomeRefs call: a relay batch's worth. */
export const MAX_HOME_REF_HOMES = 1000;
const MAX_HOME_REF_BYTES = MAX_HOME_REF_HOMES * 132 + 2;

/**
 * The slot's home references of the homes listed in transient `homes` (JSON array of home ids, as
 * the utility's device certificates carry them), in order; null for a malformed id. The relay that
 * asks is the utility's own: it learns nothing it could not learn from its devices' certificates.
 */
export async function homeRefsOfHomes(ctx: HemsContext, org: string, id: string): Promise<(string | null)[]> {
  const list = requireArray(
    parseJsonArgument(requireTransientText(ctx, 'homes', MAX_HOME_REF_BYTES), 'homes', MAX_HOME_REF_BYTES),
    'homes',
    MAX_HOME_REF_HOMES,
  );
  const secret = await loadHomeRefSecret(ctx, org);
  return list.map((homeId) =>
    typeof homeId === 'string' && isHomeId(homeId) ? homeReference(secret, id, homeId) : null,
  );
}

/** The forecast in effect of one home (read-only transactions only: it range-reads the batches). */
export async function forecastOfHome(
  ctx: HemsContext,
  org: string,
  id: string,
  homeRef: string,
): Promise<EffectiveForecast> {
  const effective = (await currentForecasts(ctx, org, id)).get(homeRef);
  if (effective === undefined) {
    throw notFound(`no forecast of this home is held for slot ${id}`);
  }
  return effective;
}

/** The stored forecast of an effective one. */
export function storedOf(id: string, effective: EffectiveForecast): StoredForecast {
  return storedForecastOf(id, effective.item);
}

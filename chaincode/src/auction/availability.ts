import {
  collectionOf,
  invalidArgument,
  MAX_AVAILABILITY_BYTES,
  MAX_AVAILABILITY_ENTRIES,
  parseHomeId,
  parseStoredRecord,
  requireArray,
  requireObject,
  requireOnlyKeys,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { readPrivate, writePrivate } from '../lib/state';
import { requireTransientJson } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import { availabilityReference, availabilityReferenceOfOrder } from './references';
import { meteredWh } from './settlement';
import { loadWindow, requireOpen, requireUnrevealed } from './windows';

/** Private record of the energy a prosumer may offer in a window; `ref` salts its on-chain hash. */
interface AvailabilityRecord {
  readonly ref: string;
  readonly windowId: string;
  readonly energyWh: number;
}

/** What PostAvailableEnergy answers: how many homes it posted for, nothing about them. */
export interface PostedEnergy {
  readonly windowId: string;
  readonly org: string;
  readonly homes: number;
  readonly txId: string;
}

/**
 * The energy each listed prosumer of `org` may offer in the window (transient `availability` =
 * [{homeId, energyKwh}]). A later post for a home replaces the earlier one until the window closes.
 */
export async function postAvailableEnergy(ctx: HemsContext, org: string, id: string): Promise<PostedEnergy> {
  const window = await loadWindow(ctx, id);
  requireOpen(window, ctx.now);
  await requireUnrevealed(ctx, window, org);
  const list = requireArray(
    requireTransientJson(ctx, 'availability', MAX_AVAILABILITY_BYTES),
    'availability',
    MAX_AVAILABILITY_ENTRIES,
  );
  if (list.length === 0) {
    throw invalidArgument('availability must list at least one home');
  }
  const entries = list.map((item, index) => {
    const name = `availability[${index}]`;
    const entry = requireObject(item, name);
    requireOnlyKeys(entry, name, ['homeId', 'energyKwh']);
    return {
      homeId: parseHomeId(entry.homeId, `${name}.homeId`),
      energyWh: meteredWh(entry.energyKwh, `${name}.energyKwh`),
    };
  });
  if (new Set(entries.map((entry) => entry.homeId)).size !== entries.length) {
    throw invalidArgument('availability lists a home twice');
  }
  const secret = await loadHomeRefSecret(ctx, org);
  for (const { homeId, energyWh } of entries) {
    const ref = availabilityReference(secret, id, homeId);
    const record: AvailabilityRecord = { ref, windowId: id, energyWh };
    await writePrivate(ctx.stub, collectionOf(org), ctx.keys.availability(id, ref), record);
  }
  return { windowId: id, org, homes: entries.length, txId: ctx.stub.getTxID() };
}

/**
 * The energy the prosumer of an order may offer in the window as posted now, from the utility's
 * collection; undefined when none is posted.
 */
export async function availableWhOfOrder(
  ctx: HemsContext,
  collection: string,
  secret: Uint8Array,
  windowId: string,
  orderRef: string,
): Promise<number | undefined> {
  const bytes = await readPrivate(
    ctx.stub,
    collection,
    ctx.keys.availability(windowId, availabilityReferenceOfOrder(secret, windowId, orderRef)),
  );
  return bytes === undefined
    ? undefined
    : parseStoredRecord<AvailabilityRecord>(bytes, 'availability', ['energyWh']).energyWh;
}

import { createHmac } from 'node:crypto';
import {
  collectionOf,
  conflict,
  invalidArgument,
  MAX_PAYLOAD_BYTES,
  parseHomeRef,
  parseJsonArgument,
  requireArray,
} from '@hems/protocol';
import type { DeviceIdentity } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { compareText, nonceDigest } from '../lib/ledger';
import { drain, readPrivate, unusedNonceKey } from '../lib/state';
import { requireTransientText } from '../lib/transient';
import { verifySignedDevicePayload } from '../governance/devices';

/** Up to this many forecasts per ListForecastRefs-based step (64 hex characters each). */
export const MAX_LISTED_REFS = 100000;
export const MAX_REFS_BYTES = MAX_LISTED_REFS * 67 + 2;

/**
 * A home's pseudonym for one slot inside its utility's collection: HMAC-SHA256 of the slot and
 * the home id under the utility's secret. Without the secret nobody can enumerate home ids against
 * the key hashes Fabric puts on the shared ledger; and because the slot is in it, a reference a
 * home reveals to prove one submission says nothing about its other slots.
 */
export function homeReference(secret: Uint8Array, slotId: string, homeId: string): string {
  return createHmac('sha256', secret).update(`hems.home\u0000${slotId}\u0000${homeId}`, 'utf8').digest('hex');
}

/**
 * A device-signed payload of `org` for slot `id` (forecast or consumption report) from transient
 * data: the device's certificate and signature verified, the payload parsed within the channel's
 * per-home power limit and naming this slot. `what` names the payload in the refusals.
 */
export async function acceptSlotPayload<P extends { readonly slotId: string }>(
  ctx: HemsContext,
  org: string,
  id: string,
  what: string,
  parse: (payloadBytes: Uint8Array, maxHomeKw: number) => P,
): Promise<{ device: DeviceIdentity; payload: P }> {
  const { device, payload: payloadBytes } = await verifySignedDevicePayload(
    ctx,
    org,
    MAX_PAYLOAD_BYTES,
    what,
  );
  const payload = parse(payloadBytes, (await ctx.settings()).maxHomeKw);
  if (payload.slotId !== id) {
    throw invalidArgument('payload.slotId does not match the slotId argument');
  }
  return { device, payload };
}

/**
 * The nonce marker key of a device payload in a slot. Forecasts and consumption reports share the
 * nonce space: a device nonce is used once per slot, whatever it signed. `what` names the payload
 * in the refusal of a replay.
 */
export async function freshSlotNonceKey(
  ctx: HemsContext,
  collection: string,
  slotId: string,
  nonce: string,
  what: string,
): Promise<string> {
  return unusedNonceKey(ctx.stub, collection, ctx.keys.forecastNonce(slotId, nonceDigest(nonce)), what);
}

/**
 * The home references of `org`'s private records of one type in a slot, sorted, optionally only
 * those whose value passes `keep`. A range query over private data: only read-only transactions
 * may run it (Fabric refuses writes after one).
 */
export async function privateRefs(
  ctx: HemsContext,
  org: string,
  objectType: string,
  slotId: string,
  keep: (value: Uint8Array) => boolean = () => true,
): Promise<string[]> {
  const rows = await drain(
    ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(org), objectType, [slotId]),
  );
  return rows
    .filter((row) => keep(row.value))
    .map((row) => ctx.stub.splitCompositeKey(row.key).attributes[1] ?? '')
    .sort(compareText);
}

/**
 * Point-reads the private records listed by home reference in transient field `refs`; each must
 * exist. Point reads put every record under MVCC validation, which a range query would not.
 */
export async function listedRecords(
  ctx: HemsContext,
  org: string,
  keyOf: (ref: string) => string,
  what: string,
  slotId: string,
): Promise<{ ref: string; bytes: Uint8Array }[]> {
  const list = requireArray(
    parseJsonArgument(requireTransientText(ctx, 'refs', MAX_REFS_BYTES), 'refs', MAX_REFS_BYTES),
    'refs',
    MAX_LISTED_REFS,
  );
  const refs = list.map((ref, index) => parseHomeRef(ref, `refs[${index}]`));
  if (new Set(refs).size !== refs.length) {
    throw invalidArgument('refs lists a home reference twice');
  }
  const listed: { ref: string; bytes: Uint8Array }[] = [];
  for (const ref of refs) {
    const bytes = await readPrivate(ctx.stub, collectionOf(org), keyOf(ref));
    if (bytes === undefined) {
      throw conflict(`a listed ${what} of slot ${slotId} does not exist (list it again)`);
    }
    listed.push({ ref, bytes });
  }
  return listed;
}

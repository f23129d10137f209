import { createHmac } from 'node:crypto';
import {
  collectionOf,
  conflict,
  invalidArgument,
  parseHomeRef,
  parseJsonArgument,
  requireArray,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { compareText } from '../lib/ledger';
import { drain, readPrivate } from '../lib/state';
import { requireTransientText } from '../lib/transient';

/** Up to this many home references per listing-based step, e.g. PublishConsumption (64 hex characters each). */
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

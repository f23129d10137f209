import { parseStoredJson, requireObject, unitsFromStored } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readState, writeState } from '../lib/state';

/**
 * What a utility has issued to its homes' accounts: the sum of its deposits, in a key without a
 * key-level policy, so only a majority-endorsed deposit changes it. A utility's accounts carry a
 * policy naming its peer alone (its single-peer transactions move their tokens), so it could
 * rewrite a balance on its own; the reconciliation (ReconcileTokens) compares every utility's
 * accounts with what it issued and what its window parts say its homes paid and received.
 */
export interface IssuanceRecord {
  readonly org: string;
  /** Value units, decimal integer string. */
  readonly issued: string;
  readonly deposits: number;
  readonly updatedAt: string;
  readonly txId: string;
}

export async function loadIssuance(ctx: HemsContext, org: string): Promise<IssuanceRecord | undefined> {
  const bytes = await readState(ctx.stub, ctx.keys.issuance(org));
  if (bytes === undefined) {
    return undefined;
  }
  const record = requireObject(parseStoredJson(bytes, 'issuance'), 'issuance');
  unitsFromStored(record.issued, 'issued total');
  return record as unknown as IssuanceRecord;
}

/** Adds a deposit of `units` to the utility's issued total (in the deposit's transaction). */
export async function recordIssue(ctx: HemsContext, org: string, units: bigint): Promise<void> {
  const current = await loadIssuance(ctx, org);
  const record: IssuanceRecord = {
    org,
    issued: ((current === undefined ? 0n : BigInt(current.issued)) + units).toString(),
    deposits: (current?.deposits ?? 0) + 1,
    updatedAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, ctx.keys.issuance(org), record);
}

import { parseStoredJson, requireObject, unitsFromStored } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain, writeState } from '../lib/state';

/**
 * What a utility has issued to its homes' accounts: one record per deposit, each under a new key
 * without a key-level policy, so only a majority-endorsed deposit adds one (and none is ever
 * rewritten). A utility's accounts carry a policy naming its peer alone (its single-peer
 * transactions move their tokens), so it could rewrite a balance on its own; the reconciliation
 * (ReconcileTokens) compares its accounts with what it issued and what its window parts say its
 * homes paid and received. One key per deposit rather than one running total: deposits of a
 * utility would all conflict on a total.
 */
export interface IssueRecord {
  readonly org: string;
  /** Value units, decimal integer string. */
  readonly amount: string;
  readonly issuedAt: string;
  readonly txId: string;
}

/** Records a deposit of `units` (in the deposit's transaction). */
export async function recordIssue(ctx: HemsContext, org: string, units: bigint): Promise<void> {
  const txId = ctx.stub.getTxID();
  const record: IssueRecord = { org, amount: units.toString(), issuedAt: isoTime(ctx.now), txId };
  await writeState(ctx.stub, ctx.keys.issuance(org, txId), record);
}

/** Σ of the utility's issue records, and how many did not parse or speak for their key. */
export async function issuedBy(
  ctx: HemsContext,
  org: string,
): Promise<{ issued: bigint; unreadable: number }> {
  let issued = 0n;
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.issuance, [org]))) {
    const [keyOrg, txId] = ctx.stub.splitCompositeKey(row.key).attributes;
    try {
      const record = requireObject(parseStoredJson(row.value, 'issue record'), 'issue record');
      if (record.org !== keyOrg || record.txId !== txId) {
        throw new TypeError('an issue record does not name its key');
      }
      issued += unitsFromStored(record.amount, 'issued amount');
    } catch {
      unreadable += 1;
    }
  }
  return { issued, unreadable };
}

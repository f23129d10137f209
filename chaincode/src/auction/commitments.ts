import {
  canonicalBytes,
  COMMITMENT_DIGEST,
  type CommittedOrder,
  failedPrecondition,
  forbidden,
  invalidArgument,
  orderCommitment,
  orderHashOf,
  parseStoredJson,
  requireObject,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readState, writeState } from '../lib/state';
import { MAX_REVEALED_ORDERS } from './reveal-limits';
import { isClosed, type CommitmentRecord, type WindowOrgRecord, type WindowRecord } from './window';
import { loadWindow, revealedOrders } from './windows';

const COUNT = /^(0|[1-9][0-9]{0,5})$/;

/**
 * A utility's commitment to its sealed orders of an open window (count and digest from
 * ListOrderRefs on its own peer), majority-endorsed: the key has no key-level policy. It may be
 * repeated until the close (the last one counts); from the first one on, the utility's own
 * chaincode refuses further orders and cancellations of the window, so the gateway can commit
 * once more if an order slipped in while it committed.
 */
export async function commitOrders(
  ctx: HemsContext,
  org: string,
  id: string,
  countArgument: string,
  digest: string,
): Promise<CommitmentRecord> {
  if (typeof countArgument !== 'string' || !COUNT.test(countArgument)) {
    throw invalidArgument(`count must be a whole number of orders from 0 to ${MAX_REVEALED_ORDERS}`);
  }
  const count = Number(countArgument);
  if (count > MAX_REVEALED_ORDERS) {
    throw invalidArgument(`count must be a whole number of orders from 0 to ${MAX_REVEALED_ORDERS}`);
  }
  if (typeof digest !== 'string' || !COMMITMENT_DIGEST.test(digest)) {
    throw invalidArgument('digest must be 64 lower-case hexadecimal characters (SHA-256)');
  }
  ctx.requireTimely('CommitOrders');
  const window = await loadWindow(ctx, id);
  if (!window.orgs.includes(org)) {
    throw forbidden(`${org} was not a utility of the channel when window ${id} opened`);
  }
  if (window.requiresCommitments !== true) {
    throw failedPrecondition(`window ${id} was opened before sealed-order commitments: nothing to commit`);
  }
  const now = ctx.now;
  if (isClosed(window, now)) {
    throw failedPrecondition(
      `window ${id} closed at ${window.closesAt}: orders are committed before the close; those not committed do not trade`,
    );
  }
  const previous = await loadCommitment(ctx, window, org);
  const record: CommitmentRecord = {
    windowId: id,
    org,
    count,
    digest,
    revision: previous === undefined ? 0 : previous.revision + 1,
    committedAt: isoTime(now),
    txId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, ctx.keys.windowCommitment(id, org), record);
  ctx.stub.setEvent(WINDOW_EVENTS.committed, canonicalBytes({ windowId: id, org, count }));
  return record;
}

/** The commitment of `org` in the window, if it made one (the record is majority-written). */
export async function loadCommitment(
  ctx: HemsContext,
  window: WindowRecord,
  org: string,
): Promise<CommitmentRecord | undefined> {
  const bytes = await readState(ctx.stub, ctx.keys.windowCommitment(window.windowId, org));
  if (bytes === undefined) {
    return undefined;
  }
  const record = requireObject(parseStoredJson(bytes, 'order commitment'), 'order commitment');
  return record as unknown as CommitmentRecord;
}

/**
 * The utility's own orders path: once it committed, its orders of the window are fixed. Reading
 * the commitment key also makes an order endorsed before a commitment fail at commit after it.
 */
export async function requireUncommitted(ctx: HemsContext, window: WindowRecord, org: string): Promise<void> {
  if (window.requiresCommitments !== true) {
    return;
  }
  const commitment = await loadCommitment(ctx, window, org);
  if (commitment !== undefined) {
    throw failedPrecondition(
      `${org} has committed to its orders of window ${window.windowId} (closing at ${window.closesAt}): orders and cancellations are closed for its homes`,
    );
  }
}

/** The orders a revealed part covers: each revealed order's bytes, and the withdrawn offers. */
function revealedCommitmentOrders(record: WindowOrgRecord): CommittedOrder[] {
  const revealed = revealedOrders([record]).map((entry) => ({
    orderRef: entry.orderRef,
    orderHash: orderHashOf(entry.bytes),
  }));
  return [...revealed, ...(record.revealed?.withdrawn ?? [])];
}

/** Whether the part's reveal gives the commitment (count and digest). */
export function revealMatches(record: WindowOrgRecord, commitment: CommitmentRecord): boolean {
  try {
    const orders = revealedCommitmentOrders(record);
    const { count, digest } = orderCommitment(orders);
    return count === commitment.count && digest === commitment.digest;
  } catch {
    return false;
  }
}

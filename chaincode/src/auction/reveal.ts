import {
  canonicalBytes,
  collectionOf,
  type CommittedOrder,
  orderHashOf,
  conflict,
  failedPrecondition,
  invalidArgument,
  parseHomeRef,
  requireArray,
  storedOrderFromBytes,
  storedOrderPayload,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readPrivate, writeState, type RecordView } from '../lib/state';
import { requireTransientJson } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import { availableWhOfOrder } from './availability';
import { loadCommitment, revealMatches } from './commitments';
import {
  MAX_REFS_BYTES,
  MAX_REVEALED_ORDERS,
  MAX_REVEALED_RECORD_BYTES,
  MAX_WINDOW_ORDERS,
} from './reveal-limits';
import { type CommitmentRecord, isClosed, type WindowOrgRecord, type WindowRecord } from './window';
import { loadOrgRecord, loadWindow, partView } from './windows';

/**
 * Writes every order of `org` listed in transient `refs` into the utility's window record with its
 * exact private bytes, after the close and before the clearing, once per utility. An offer above
 * its home's available energy as posted now is withdrawn: not revealed, only counted.
 */
export async function revealOrders(ctx: HemsContext, org: string, id: string): Promise<RecordView> {
  const window = await loadWindow(ctx, id);
  const now = ctx.now;
  if (!isClosed(window, now)) {
    throw failedPrecondition(`window ${id} is open until ${window.closesAt}: orders stay sealed until then`);
  }
  const orgRecord = await loadOrgRecord(ctx, window, org);
  if (orgRecord.revealed !== undefined) {
    throw conflict(`${org} has already revealed its orders of window ${id}`);
  }
  if (window.clearedAt !== undefined) {
    throw failedPrecondition(
      `window ${id} was cleared without the orders of ${org}, which were not revealed by ${window.revealBy}: they do not trade; ReleaseEscrow with transient accounts refunds their escrows`,
    );
  }
  const refs = parseRevealRefs(ctx, window);
  const commitment = await requireCommitment(ctx, window, org);
  const { revealed, withdrawn } = await readRevealedOrders(ctx, org, id, refs);
  const updated: WindowOrgRecord = {
    ...orgRecord,
    revealed: {
      count: revealed.length,
      // The exact private bytes, not a re-serialization: their SHA-256 is the on-chain hash
      // (orders are UTF-8 text, checked at submission, so the text round-trips to the bytes).
      orders: revealed.map((bytes) => Buffer.from(bytes).toString('utf8')),
      ...(commitment === undefined ? {} : { withdrawn }),
      revealedAt: isoTime(now),
      txId: ctx.stub.getTxID(),
    },
    withdrawnOffers: withdrawn.length,
  };
  const size = canonicalBytes(updated).length;
  if (size > MAX_REVEALED_RECORD_BYTES) {
    throw invalidArgument(
      `the listed orders take ${size} bytes in the window record, more than the ${MAX_REVEALED_RECORD_BYTES} one reveal may write (Fabric refuses blocks above 10 MB): list fewer orders; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
    );
  }
  if (commitment !== undefined && !revealMatches(updated, commitment)) {
    throw conflict(
      `the listed orders of ${org} do not give its commitment of window ${id} (${commitment.count} orders): list the orders again`,
    );
  }
  await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
  ctx.stub.setEvent(WINDOW_EVENTS.revealed, canonicalBytes({ windowId: id, org, count: revealed.length }));
  return partView(updated);
}

/** The listed orders' private bytes in reference order, without the offers above their availability. */
async function readRevealedOrders(
  ctx: HemsContext,
  org: string,
  id: string,
  refs: readonly string[],
): Promise<{ revealed: Uint8Array[]; withdrawn: CommittedOrder[] }> {
  const collection = collectionOf(org);
  const secret = await loadHomeRefSecret(ctx, org);
  const revealed: Uint8Array[] = [];
  const withdrawn: CommittedOrder[] = [];
  for (const ref of [...refs].sort()) {
    const bytes = await readPrivate(ctx.stub, collection, ctx.keys.order(id, ref));
    if (bytes === undefined) {
      throw conflict(`a listed order of window ${id} does not exist (list the orders again)`);
    }
    const order = storedOrderFromBytes(bytes);
    if (order.orderRef !== ref || order.windowId !== id) {
      throw new Error('a stored order does not match its key');
    }
    const payload = storedOrderPayload(order);
    if (payload.side === 'offer') {
      const availableWh = (await availableWhOfOrder(ctx, collection, secret, id, ref)) ?? -1;
      if (payload.energyWh > availableWh) {
        withdrawn.push({ orderRef: ref, orderHash: orderHashOf(bytes) });
        continue;
      }
    }
    revealed.push(bytes);
  }
  return { revealed, withdrawn };
}

/**
 * The utility's commitment, which its reveal must give; a utility that did not commit before the
 * close has nothing to reveal in a window that requires commitments.
 */
async function requireCommitment(
  ctx: HemsContext,
  window: WindowRecord,
  org: string,
): Promise<CommitmentRecord | undefined> {
  if (window.requiresCommitments !== true) {
    return undefined;
  }
  const commitment = await loadCommitment(ctx, window, org);
  if (commitment === undefined) {
    throw failedPrecondition(
      `${org} did not commit to its orders of window ${window.windowId} before the close: they do not trade; ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
    );
  }
  return commitment;
}

/**
 * Transient `refs` of a reveal: distinct order references, at most the utility's share of the
 * window's orders (MAX_REVEALED_ORDERS, MAX_WINDOW_ORDERS), refused with advice above it.
 */
function parseRevealRefs(ctx: HemsContext, window: WindowRecord): string[] {
  const cap = Math.min(MAX_REVEALED_ORDERS, Math.floor(MAX_WINDOW_ORDERS / window.orgs.length));
  const tooMany = (what: string): Error =>
    invalidArgument(
      `${what}: one utility may reveal at most ${cap} orders in window ${window.windowId} (its revealed orders are one public record, which must stay well under Fabric's 10 MB block size): list at most ${cap}; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
    );
  // Checked before parsing, so an oversized list gets the advice rather than a size refusal.
  if ((ctx.stub.getTransient().get('refs')?.length ?? 0) > MAX_REFS_BYTES) {
    throw tooMany(`transient field 'refs' is larger than ${MAX_REFS_BYTES} bytes`);
  }
  // The byte limit already bounds the length; the cap below comes with the advice.
  const list = requireArray(requireTransientJson(ctx, 'refs', MAX_REFS_BYTES), 'refs', MAX_REFS_BYTES);
  if (list.length > cap) {
    throw tooMany(`refs lists ${list.length} orders`);
  }
  const refs = list.map((ref, index) => parseHomeRef(ref, `refs[${index}]`));
  if (new Set(refs).size !== refs.length) {
    throw invalidArgument('refs lists an order twice');
  }
  return refs;
}

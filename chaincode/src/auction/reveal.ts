import {
  canonicalBytes,
  collectionOf,
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
import { isClosed, type WindowOrgRecord, type WindowRecord } from './window';
import { loadOrgRecord, loadWindow, partView } from './windows';

/**
 * Orders one utility may reveal for one window. Its revealed orders live in one public record
 * written by one transaction, and Fabric refuses blocks above 10 MB: a typical order takes about
 * 0.5 KB there, so 5,000 stay near 2.5 MB. The cap applies at the reveal because the chaincode
 * cannot count submissions: a counter every order writes would be a shared key (all orders of a
 * window would conflict, and its versions would tell when orders arrive).
 */
export const MAX_REVEALED_ORDERS = 5000;
/**
 * Orders of a whole window, shared equally by its utilities (so 5,000 each for two, 2,500 for
 * four): the clearing record holds at most one trade per order, about 0.4 KB each.
 */
export const MAX_WINDOW_ORDERS = 10000;
/** Bytes of one utility's revealed record, whatever the orders' sizes (padded payloads). */
export const MAX_REVEALED_RECORD_BYTES = 4 * 1024 * 1024;
/** 64 hexadecimal characters, quotes and comma per reference in `refs`. */
export const MAX_REFS_BYTES = MAX_REVEALED_ORDERS * 67 + 2;

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
  const { revealed, withdrawnOffers } = await readRevealedOrders(ctx, org, id, refs);
  const updated: WindowOrgRecord = {
    ...orgRecord,
    revealed: {
      count: revealed.length,
      // The exact private bytes, not a re-serialization: their SHA-256 is the on-chain hash
      // (orders are UTF-8 text, checked at submission, so the text round-trips to the bytes).
      orders: revealed.map((bytes) => Buffer.from(bytes).toString('utf8')),
      revealedAt: isoTime(now),
      txId: ctx.stub.getTxID(),
    },
    withdrawnOffers,
  };
  const size = canonicalBytes(updated).length;
  if (size > MAX_REVEALED_RECORD_BYTES) {
    throw invalidArgument(
      `the listed orders take ${size} bytes in the window record, more than the ${MAX_REVEALED_RECORD_BYTES} one reveal may write (Fabric refuses blocks above 10 MB): list fewer orders; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows after the clearing`,
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
): Promise<{ revealed: Uint8Array[]; withdrawnOffers: number }> {
  const collection = collectionOf(org);
  const secret = await loadHomeRefSecret(ctx, org);
  const revealed: Uint8Array[] = [];
  let withdrawnOffers = 0;
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
        withdrawnOffers += 1;
        continue;
      }
    }
    revealed.push(bytes);
  }
  return { revealed, withdrawnOffers };
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

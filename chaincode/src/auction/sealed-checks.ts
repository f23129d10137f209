import { timingSafeEqual } from 'node:crypto';
import {
  bidValue,
  collectionOf,
  COMMITMENT_DIGEST,
  orderHashOf,
  type SealedOrderChecks,
  storedOrderPayload,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { readState } from '../lib/state';
import { accountFromBytes } from '../token/token-ledger';
import { loadCommitment, revealMatches } from './commitments';
import { silentPart } from './org-record-check';
import type { CommitmentRecord, WindowOrgRecord, WindowRecord } from './window';
import type { RevealedOrder } from './windows';

/**
 * The checks majority code makes on the orders of a window that requires sealed-order
 * commitments, without identifying a home (docs/threat-model.md): a utility's orders take part only
 * if it committed before the close and its reveal gives its commitment; each revealed order must
 * have its private-data hash on the ledger; each bid must be covered by an escrow held in an
 * existing account of its utility. Device signatures are verified at submission on the utility's
 * own peer: a utility is trusted for its own homes' orders as for its own sums.
 */

/** The parts as the clearing uses them, and the utilities left out whatever revealBy says. */
export interface CommittedParts {
  readonly records: WindowOrgRecord[];
  readonly uncommittedOrgs: string[];
  readonly unmatchedOrgs: string[];
}

function wellFormed(window: WindowRecord, org: string, record: CommitmentRecord): boolean {
  return (
    record.windowId === window.windowId &&
    record.org === org &&
    Number.isSafeInteger(record.count) &&
    typeof record.digest === 'string' &&
    COMMITMENT_DIGEST.test(record.digest)
  );
}

/**
 * Leaves out (as silent parts) the utilities without a commitment and those whose reveal does not
 * give it. A window opened before commitments keeps every part.
 */
export async function committedParts(
  ctx: HemsContext,
  window: WindowRecord,
  records: readonly WindowOrgRecord[],
): Promise<CommittedParts> {
  if (window.requiresCommitments !== true) {
    return { records: [...records], uncommittedOrgs: [], unmatchedOrgs: [] };
  }
  const uncommittedOrgs: string[] = [];
  const unmatchedOrgs: string[] = [];
  const kept: WindowOrgRecord[] = [];
  for (const record of records) {
    let commitment: CommitmentRecord | undefined;
    try {
      commitment = await loadCommitment(ctx, window, record.org);
    } catch {
      commitment = undefined;
    }
    if (commitment === undefined || !wellFormed(window, record.org, commitment)) {
      uncommittedOrgs.push(record.org);
      kept.push(silentPart(window, record.org));
    } else if (record.revealed !== undefined && !revealMatches(record, commitment)) {
      unmatchedOrgs.push(record.org);
      kept.push(silentPart(window, record.org));
    } else {
      kept.push(record);
    }
  }
  return { records: kept, uncommittedOrgs, unmatchedOrgs };
}

const orderKeyOf = (entry: RevealedOrder): string => `${entry.org}\u0000${entry.orderRef}`;

/**
 * How a revealed order's bytes compare with the private-data hash Fabric keeps for its key on
 * every peer: the same, different, or absent (never written, or purged by blockToLive).
 */
export async function privateHashOf(
  ctx: HemsContext,
  windowId: string,
  entry: RevealedOrder,
): Promise<'verified' | 'mismatched' | 'absent'> {
  const onChain = Buffer.from(
    await ctx.stub.getPrivateDataHash(collectionOf(entry.org), ctx.keys.order(windowId, entry.orderRef)),
  );
  if (onChain.length === 0) {
    return 'absent';
  }
  const computed = Buffer.from(orderHashOf(entry.bytes), 'hex');
  return onChain.length === computed.length && timingSafeEqual(onChain, computed) ? 'verified' : 'mismatched';
}

/**
 * The orders whose bytes do not have their private-data hash on the ledger (never written, or
 * written otherwise), and every order whose reference is revealed twice: one private key holds one
 * order. One hash read per order: the clearing runs once per window.
 */
export async function unverifiedOrders(
  ctx: HemsContext,
  windowId: string,
  orders: readonly RevealedOrder[],
): Promise<RevealedOrder[]> {
  const seen = new Map<string, number>();
  for (const entry of orders) {
    seen.set(entry.orderRef, (seen.get(entry.orderRef) ?? 0) + 1);
  }
  const unverified: RevealedOrder[] = [];
  for (const entry of orders) {
    if ((seen.get(entry.orderRef) ?? 0) > 1) {
      unverified.push(entry);
      continue;
    }
    if ((await privateHashOf(ctx, windowId, entry)) !== 'verified') {
      unverified.push(entry);
    }
  }
  return unverified;
}

/**
 * The bids not covered by an escrow in the window held in an existing account of their utility
 * (all bids of an account when its escrow does not cover their sum). One account read per
 * bidding account.
 */
export async function unfundedBids(
  ctx: HemsContext,
  windowId: string,
  orders: readonly RevealedOrder[],
): Promise<RevealedOrder[]> {
  const byAccount = new Map<
    string,
    { org: string; accountId: string; bids: RevealedOrder[]; value: bigint }
  >();
  for (const entry of orders) {
    const payload = storedOrderPayload(entry.order);
    if (payload.side !== 'bid') {
      continue;
    }
    const key = `${entry.org}\u0000${entry.order.accountId}`;
    const group = byAccount.get(key) ?? {
      org: entry.org,
      accountId: entry.order.accountId,
      bids: [],
      value: 0n,
    };
    group.bids.push(entry);
    group.value += bidValue(payload.energyWh, payload.limitPrice);
    byAccount.set(key, group);
  }
  const unfunded: RevealedOrder[] = [];
  for (const group of byAccount.values()) {
    if ((await heldEscrow(ctx, windowId, group.org, group.accountId)) < group.value) {
      unfunded.push(...group.bids);
    }
  }
  return unfunded;
}

/** The escrow `org`'s account holds in the window; 0 for a missing, foreign or unreadable account. */
async function heldEscrow(
  ctx: HemsContext,
  windowId: string,
  org: string,
  accountId: string,
): Promise<bigint> {
  try {
    const bytes = await readState(ctx.stub, ctx.keys.account(accountId));
    if (bytes === undefined) {
      return 0n;
    }
    const account = accountFromBytes(bytes);
    if (account.accountId !== accountId || account.mspId !== org) {
      return 0n;
    }
    return BigInt(account.escrows[windowId] ?? '0');
  } catch {
    return 0n;
  }
}

/** Every order of `orders` but those in `left`. */
export function without(orders: readonly RevealedOrder[], left: readonly RevealedOrder[]): RevealedOrder[] {
  const out = new Set(left.map(orderKeyOf));
  return orders.filter((entry) => !out.has(orderKeyOf(entry)));
}

/** The checks as the clearing record keeps them (order references, sorted). */
export function checksRecord(
  parts: CommittedParts,
  unverified: readonly RevealedOrder[],
  unfunded: readonly RevealedOrder[],
): SealedOrderChecks {
  const refs = (orders: readonly RevealedOrder[]): string[] =>
    [...new Set(orders.map((entry) => entry.orderRef))].sort();
  return {
    uncommittedOrgs: parts.uncommittedOrgs,
    unmatchedOrgs: parts.unmatchedOrgs,
    unverifiedOrders: refs(unverified),
    unfundedBids: refs(unfunded),
  };
}

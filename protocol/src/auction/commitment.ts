import { createHash } from 'node:crypto';
import { canonicalJson } from '../json/canonical-json';

/**
 * A utility's commitment to its sealed orders of a trading window: how many there are and one
 * SHA-256 over (order reference, SHA-256 of the order's private bytes) of each, in reference
 * order. The utility computes it on its own peer before the close (ListOrderRefs answers it) and
 * fixes it in a majority-endorsed record (CommitOrders); the clearing then takes its reveal only
 * if the revealed orders, with the offers withdrawn at the reveal, give the same commitment. So a
 * utility cannot add orders after seeing the others' reveals. It tells no one anything but the
 * count: the per-order hashes are those Fabric already writes on every peer for private data.
 */

/** One sealed order as the commitment covers it. */
export interface CommittedOrder {
  readonly orderRef: string;
  /** SHA-256 of the order's exact private bytes, lower-case hex (Fabric's private-data hash). */
  readonly orderHash: string;
}

export interface OrderCommitment {
  readonly count: number;
  /** SHA-256, lower-case hex. */
  readonly digest: string;
}

export const COMMITMENT_DIGEST = /^[0-9a-f]{64}$/;

/**
 * How long before a window's close a utility gateway commits to its sealed orders by default:
 * orders reaching it later are refused, so the commitment can still commit before the close.
 */
export const ORDER_COMMIT_LEAD_MS = 3000;

export function orderHashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The commitment to `orders` (any order: they are sorted by reference here). */
export function orderCommitment(orders: readonly CommittedOrder[]): OrderCommitment {
  const pairs = orders
    .map((order) => [order.orderRef, order.orderHash] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    count: pairs.length,
    digest: createHash('sha256').update(canonicalJson(pairs)).digest('hex'),
  };
}

import {
  type ClearingRecord,
  failedPrecondition,
  forbidden,
  notFound,
  parseSlotId,
  type StoredOrder,
  storedOrderFromBytes,
  storedOrderPayload,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { readState, type RecordView } from '../lib/state';
import { checkedPart } from './org-record-check';
import {
  clearingFromBytes,
  isClosed,
  poolOf,
  settledAtOf,
  windowFromBytes,
  windowOrgFromBytes,
  windowStatus,
  type CommitmentRecord,
  type WindowOrgRecord,
  type WindowRecord,
} from './window';

/** Reads of a window's public records, the checks on them every step shares, and their views. */

export function parseWindowId(value: unknown): string {
  return parseSlotId(value, 'windowId');
}

export async function loadWindow(ctx: HemsContext, windowId: string): Promise<WindowRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.window(windowId));
  if (bytes === undefined) {
    throw notFound(`window ${windowId} does not exist`);
  }
  return windowFromBytes(bytes);
}

/**
 * Every utility's part of the window, as another organization may rely on it: a part that is
 * missing or does not speak for its key counts as a silent utility's (see checkedPart).
 */
export async function loadOrgRecords(ctx: HemsContext, window: WindowRecord): Promise<WindowOrgRecord[]> {
  const records: WindowOrgRecord[] = [];
  for (const org of window.orgs) {
    records.push(await loadOrgPart(ctx, window, org));
  }
  return records;
}

/** One utility's part as another organization may rely on it (see checkedPart). */
export async function loadOrgPart(
  ctx: HemsContext,
  window: WindowRecord,
  org: string,
): Promise<WindowOrgRecord> {
  return checkedPart(window, org, await readState(ctx.stub, ctx.keys.windowOrg(window.windowId, org)));
}

export async function loadOrgRecord(
  ctx: HemsContext,
  window: WindowRecord,
  org: string,
): Promise<WindowOrgRecord> {
  if (!window.orgs.includes(org)) {
    throw forbidden(`${org} was not a utility of the channel when window ${window.windowId} opened`);
  }
  const bytes = await readState(ctx.stub, ctx.keys.windowOrg(window.windowId, org));
  if (bytes === undefined) {
    throw new Error(`window ${window.windowId} lacks the record of ${org}`);
  }
  return windowOrgFromBytes(bytes);
}

export async function loadClearing(ctx: HemsContext, window: WindowRecord): Promise<ClearingRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.clearing(window.windowId));
  if (bytes === undefined) {
    throw failedPrecondition(`window ${window.windowId} is not cleared yet`);
  }
  return clearingFromBytes(bytes);
}

/** A cleared window as a utility's step after the clearing sees it. */
export interface ClearedWindow {
  readonly org: string;
  readonly id: string;
  readonly window: WindowRecord;
  readonly now: Date;
  readonly clearing: ClearingRecord;
}

/** The window `id` and its clearing, for a step of `org` after the clearing. */
export async function loadClearedWindow(ctx: HemsContext, org: string, id: string): Promise<ClearedWindow> {
  const window = await loadWindow(ctx, id);
  const now = ctx.now;
  const clearing = await loadClearing(ctx, window);
  return { org, id, window, now, clearing };
}

export function requireOpen(window: WindowRecord, now: Date): void {
  if (isClosed(window, now)) {
    throw failedPrecondition(`window ${window.windowId} is closed since ${window.closesAt}`);
  }
}

/**
 * Orders and available energy change only while the caller's utility has not revealed and the
 * window is not cleared. The tx time alone cannot ensure it (a transaction endorsed before the
 * close may commit after the reveal); reading the utility's window record and the window key
 * does: the reveal and the clearing write them, so Fabric's MVCC check refuses such a late
 * commit. A utility that joined the channel after the opening has no part in the window.
 */
export async function requireUnrevealed(ctx: HemsContext, window: WindowRecord, org: string): Promise<void> {
  const record = await loadOrgRecord(ctx, window, org);
  if (window.clearedAt !== undefined) {
    throw failedPrecondition(`window ${window.windowId} is closed and cleared`);
  }
  if (record.revealed !== undefined) {
    throw failedPrecondition(`window ${window.windowId} is closed: ${org} has revealed its orders`);
  }
}

/** A revealed order with its utility and its exact private bytes. */
export interface RevealedOrder {
  readonly org: string;
  readonly orderRef: string;
  readonly bytes: Uint8Array;
  readonly order: StoredOrder;
}

/** Every revealed order of the window, in org then order-reference order. */
export function revealedOrders(records: readonly WindowOrgRecord[]): RevealedOrder[] {
  return records.flatMap((record) =>
    (record.revealed?.orders ?? []).map((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const order = storedOrderFromBytes(bytes);
      return { org: record.org, orderRef: order.orderRef, bytes, order };
    }),
  );
}

/** The org's revealed bids: account and order reference. */
export function revealedBids(record: WindowOrgRecord): { accountId: string; orderRef: string }[] {
  return revealedOrders([record])
    .filter((entry) => storedOrderPayload(entry.order).side === 'bid')
    .map((entry) => ({ accountId: entry.order.accountId, orderRef: entry.orderRef }));
}

/** The window's public record with its status, each utility's part and the derived pool. */
export function windowView(
  window: WindowRecord,
  orgRecords: readonly WindowOrgRecord[],
  now: Date,
  commitments: ReadonlyMap<string, CommitmentRecord> = new Map(),
): RecordView {
  const settledAt = settledAtOf(window, orgRecords);
  const committed = (org: string): RecordView => {
    const commitment = commitments.get(org);
    return commitment === undefined
      ? {}
      : {
          commitment: {
            count: commitment.count,
            digest: commitment.digest,
            revision: commitment.revision,
            committedAt: commitment.committedAt,
            txId: commitment.txId,
          },
        };
  };
  return {
    ...window,
    status: windowStatus(window, orgRecords, now),
    ...(settledAt === undefined ? {} : { settledAt }),
    parts: orgRecords.map((record) => ({ ...partView(record), ...committed(record.org) })),
    pool: poolOf(window, orgRecords),
  };
}

/** An org record as answered: the revealed orders' bytes stay in state, only their count is shown. */
export function partView(record: WindowOrgRecord): RecordView {
  if (record.revealed === undefined) {
    return { ...record };
  }
  const { count, revealedAt, txId } = record.revealed;
  return { ...record, revealed: { count, revealedAt, txId } };
}

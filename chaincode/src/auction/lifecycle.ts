import { canonicalBytes, conflict, WINDOW_EVENTS } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { writeOwnedByOrg } from '../lib/ledger';
import { type Page, type PageRequest, readPage } from '../lib/paging';
import { readState, writeState, type RecordView } from '../lib/state';
import { loadCommitment } from './commitments';
import {
  type CommitmentRecord,
  windowFromBytes,
  windowStatus,
  type WindowOrgRecord,
  type WindowRecord,
  type WindowSpec,
  type WindowStatus,
} from './window';
import { loadOrgPart, loadOrgRecords, loadWindow, windowView } from './windows';

export const MAX_SPEC_BYTES = 4 * 1024;

/** Opens trading window `id` on the terms of `spec`, operated by the caller's org. */
export async function openTradingWindow(
  ctx: HemsContext,
  operatorMspId: string,
  id: string,
  spec: WindowSpec,
): Promise<RecordView> {
  const now = ctx.now;
  const key = ctx.keys.window(id);
  if ((await readState(ctx.stub, key)) !== undefined) {
    throw conflict(`window ${id} already exists`);
  }
  const orgs = [...(await ctx.settings()).utilityMspIds].sort();
  const window: WindowRecord = {
    windowId: id,
    ...spec,
    openedAt: isoTime(now),
    openTxId: ctx.stub.getTxID(),
    operatorMspId,
    orgs,
    requiresCommitments: true,
  };
  await writeState(ctx.stub, key, window);
  // Each utility's part is changed only from data its own peer holds (its orders, its meter
  // readings), so only that peer may endorse changes to it, as with the timeslot aggregates.
  const orgRecords: WindowOrgRecord[] = [];
  for (const org of orgs) {
    const record: WindowOrgRecord = { windowId: id, org, charged: '0', paid: '0', refunded: '0' };
    orgRecords.push(record);
    await writeOwnedByOrg(ctx.stub, ctx.keys.windowOrg(id, org), record, org);
  }
  ctx.stub.setEvent(
    WINDOW_EVENTS.opened,
    canonicalBytes({
      windowId: id,
      deliverySlotId: window.deliverySlotId,
      deliveryStart: window.deliveryStart,
      deliveryEnd: window.deliveryEnd,
      closesAt: window.closesAt,
      pricingRule: window.pricingRule,
    }),
  );
  return windowView(window, orgRecords, now);
}

/** The window's public record with its status, each utility's part and the derived pool. */
export async function windowViewOf(ctx: HemsContext, id: string): Promise<RecordView> {
  const window = await loadWindow(ctx, id);
  const commitments = new Map<string, CommitmentRecord>();
  if (window.requiresCommitments === true) {
    for (const org of window.orgs) {
      const commitment = await loadCommitment(ctx, window, org).catch(() => undefined);
      if (commitment !== undefined) {
        commitments.set(org, commitment);
      }
    }
  }
  return windowView(window, await loadOrgRecords(ctx, window), ctx.now, commitments);
}

export interface WindowSummary {
  readonly windowId: string;
  readonly deliverySlotId: string;
  readonly closesAt: string;
  readonly status: WindowStatus;
}

/** Windows in key order, a page at a time. */
export async function listWindows(ctx: HemsContext, request: PageRequest): Promise<Page<WindowSummary>> {
  const now = ctx.now;
  return readPage(ctx, KeyType.window, request, async (row) => {
    const window = windowFromBytes(row.value);
    // Only the records of orgs with trades decide whether a cleared window is settled.
    const records: WindowOrgRecord[] = [];
    for (const org of window.tradeOrgs ?? []) {
      records.push(await loadOrgPart(ctx, window, org));
    }
    return {
      windowId: window.windowId,
      deliverySlotId: window.deliverySlotId,
      closesAt: window.closesAt,
      status: windowStatus(window, records, now),
    };
  });
}

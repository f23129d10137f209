import {
  canonicalBytes,
  type ClearingRecord,
  conflict,
  failedPrecondition,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState } from '../lib/state';
import { deliveryWithinClearing } from './settlement';
import { isPastReportBy, orgsWithTrades, type WindowOrgRecord, type WindowRecord } from './window';
import { loadClearing, loadOrgRecords, loadWindow } from './windows';

/**
 * Whether a part's delivery report can count: one is stored and its totals stay within what the
 * public clearing allows its utility (a utility alone writes its totals, and the others' sellers
 * are paid by them).
 */
export function reportCounts(clearing: ClearingRecord, record: WindowOrgRecord | undefined): boolean {
  return (
    record?.delivery !== undefined && deliveryWithinClearing(clearing.trades, record.org, record.delivery)
  );
}

/**
 * The utilities with trades whose delivery report does not count (reportCounts). `records` are
 * the parts as checked by loadOrgRecords.
 */
export function uncountedReports(clearing: ClearingRecord, records: readonly WindowOrgRecord[]): string[] {
  return orgsWithTrades(clearing.trades).filter(
    (org) =>
      !reportCounts(
        clearing,
        records.find((record) => record.org === org),
      ),
  );
}

/** The utilities whose reports do not count in the settlement; undefined while they may still come. */
export function unreportedForSettlement(
  window: WindowRecord,
  clearing: ClearingRecord,
  records: readonly WindowOrgRecord[],
): readonly string[] {
  if (window.unreportedOrgs !== undefined) {
    return window.unreportedOrgs;
  }
  const missing = uncountedReports(clearing, records);
  if (missing.length > 0) {
    throw failedPrecondition(
      `window ${window.windowId} waits for the delivery reports of ${missing.join(', ')} (from ${window.reportBy} on the market operator closes the reports, CloseDeliveryReports, and the window settles without them)`,
    );
  }
  return [];
}

export interface ReportClosure {
  readonly windowId: string;
  readonly unreportedOrgs: readonly string[];
  readonly reportsClosedAt: string;
  readonly txId: string;
}

/**
 * From reportBy on, once: fixes in the window record which utilities' delivery reports do not
 * count (missing ones, and totals beyond the clearing), so that every utility settles on the same
 * factor and no single utility decides whose sellers are paid. Majority-endorsed: the window
 * record has no key-level policy. Later reports are refused.
 */
export async function closeDeliveryReports(ctx: HemsContext, id: string): Promise<ReportClosure> {
  ctx.requireTimely('CloseDeliveryReports');
  const window = await loadWindow(ctx, id);
  const clearing = await loadClearing(ctx, window);
  const now = ctx.now;
  if (window.reportsClosedAt !== undefined) {
    throw conflict(`the delivery reports of window ${id} were closed at ${window.reportsClosedAt}`);
  }
  if (!isPastReportBy(window, now)) {
    throw failedPrecondition(`the delivery reports of window ${id} are due until ${window.reportBy}`);
  }
  const unreportedOrgs = uncountedReports(clearing, await loadOrgRecords(ctx, window));
  const closure: ReportClosure = {
    windowId: id,
    unreportedOrgs,
    reportsClosedAt: isoTime(now),
    txId: ctx.stub.getTxID(),
  };
  const updated: WindowRecord = {
    ...window,
    reportsClosedAt: closure.reportsClosedAt,
    reportsClosedTxId: closure.txId,
    unreportedOrgs,
  };
  await writeState(ctx.stub, ctx.keys.window(id), updated);
  ctx.stub.setEvent(WINDOW_EVENTS.reportsClosed, canonicalBytes({ windowId: id, unreportedOrgs }));
  return closure;
}

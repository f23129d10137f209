import { HttpError } from '../../http/errors';
import { decodeJson, readerIdentity } from '../../ledger/answers';
import { auction } from '../../ledger/contracts';
import { listedPage } from '../../ledger/paging';
import type { Ledger, SubmitResult } from '../../ledger/ports';

/** A window as the market operator opens it (POST /v1/windows). */
export interface WindowOpening {
  readonly windowId: string;
  readonly deliverySlotId: string;
  readonly deliveryStart: string;
  readonly deliveryEnd: string;
  readonly closesAt: string;
  readonly pricingRule?: string;
  readonly reportGraceSeconds?: number;
}

/**
 * The public window record (GetWindow: spec, status, each utility's part, the pool) with its
 * clearing (GetClearing: price, trades, totals) once it was cleared.
 */
export async function loadWindow(ledger: Ledger, id: string): Promise<Record<string, unknown>> {
  const reader = auction(ledger, readerIdentity(ledger));
  const window = decodeJson<Record<string, unknown>>(await reader.GetWindow.evaluate({ arguments: [id] }));
  if (typeof window.clearedAt !== 'string') {
    return window;
  }
  return { ...window, clearing: decodeJson(await reader.GetClearing.evaluate({ arguments: [id] })) };
}

/** Opens a trading window as the market identity, after checking the order of its times. */
export function openWindow(ledger: Ledger, opening: WindowOpening): Promise<SubmitResult> {
  const { windowId: id, pricingRule, reportGraceSeconds, ...times } = opening;
  const closesAt = Date.parse(times.closesAt);
  const start = Date.parse(times.deliveryStart);
  const end = Date.parse(times.deliveryEnd);
  if (!(closesAt <= start && start < end)) {
    throw new HttpError(
      400,
      'INVALID_REQUEST',
      'the window must close at or before deliveryStart, and deliveryStart must precede deliveryEnd',
    );
  }
  // Options left out are left to the chaincode's defaults.
  const spec = {
    ...times,
    ...(pricingRule === undefined ? {} : { pricingRule }),
    ...(reportGraceSeconds === undefined ? {} : { reportGraceSeconds }),
  };
  return auction(ledger, 'market').OpenTradingWindow.submit({ arguments: [id, JSON.stringify(spec)] });
}

/** A page of windows with their status (its bookmark opaque: ledger/paging.ts). */
export function listWindows(ledger: Ledger, pageSize?: string, bookmark?: string): Promise<unknown> {
  return listedPage(auction(ledger, readerIdentity(ledger)).ListWindows, pageSize, bookmark);
}

/** The clearing recomputed from the revealed orders, each checked against its private-data hash. */
export async function auditClearing(ledger: Ledger, id: string): Promise<unknown> {
  return decodeJson(
    await auction(ledger, readerIdentity(ledger)).AuditClearing.evaluate({ arguments: [id] }),
  );
}

/**
 * Closes the delivery reports of a window as its market operator (CloseDeliveryReports). No
 * endorsing organizations: the gateway plans the chaincode's majority policy, since the closure
 * decides whose sellers are paid.
 */
export function submitReportClosure(ledger: Ledger, id: string): Promise<SubmitResult> {
  return auction(ledger, 'market').CloseDeliveryReports.submit({ arguments: [id] });
}

/** The closure as the scheduler logs it: the utilities that settle without a report. */
export async function closeDeliveryReports(
  ledger: Ledger,
  id: string,
): Promise<{ readonly unreportedOrgs: readonly string[] }> {
  const answer = decodeJson<{ unreportedOrgs?: unknown } | null>(
    (await submitReportClosure(ledger, id)).result,
  );
  const unreported = answer?.unreportedOrgs;
  if (!Array.isArray(unreported) || !unreported.every((org): org is string => typeof org === 'string')) {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'CloseDeliveryReports did not answer {unreportedOrgs}');
  }
  return { unreportedOrgs: unreported };
}

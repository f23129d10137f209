import {
  canonicalBytes,
  type ClearingRecord,
  conflict,
  failedPrecondition,
  forbidden,
  gridAccountOf,
  sumBigint,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState } from '../lib/state';
import { TokenBook } from '../token/token-ledger';
import { reportCounts } from './report-closure';
import { orgsWithTrades, poolOf, settledAtOf, type WindowOrgRecord, type WindowRecord } from './window';
import { loadClearing, loadOrgRecords, loadWindow } from './windows';

/**
 * How long after the delivery reports were closed the operator may claim the grid share without
 * the utilities that have not settled: one utility's silence must not hold the grid's money.
 */
export const SETTLEMENT_GRACE_MS = 3600 * 1000;

export interface GridShareClaim {
  readonly windowId: string;
  readonly account: string;
  /** Value units credited by this claim. */
  readonly amount: string;
  /** Kept in the pool for the sellers of utilities that have not settled yet (value units). */
  readonly reserved: string;
  readonly claimedAt: string;
  readonly txId: string;
}

/**
 * What the pool keeps for the sellers of the utilities with trades that have not settled: the
 * seller value of their delivery report when it counts (a settlement pays at most that), nothing
 * for one whose report does not count (its sellers get nothing).
 */
function reserveFor(
  window: WindowRecord,
  records: readonly WindowOrgRecord[],
  clearing: ClearingRecord,
): bigint {
  const unreported = window.unreportedOrgs ?? [];
  return sumBigint(
    orgsWithTrades(clearing.trades)
      .map((org) => records.find((record) => record.org === org))
      .filter((record): record is WindowOrgRecord => record !== undefined && record.settlement === undefined)
      .map((record) =>
        !unreported.includes(record.org) && reportCounts(clearing, record)
          ? BigInt(record.delivery?.sellerValue ?? '0')
          : 0n,
      ),
  );
}

/**
 * Credits what is left in the pool to the grid account `grid:<operator MSP>`, for the market
 * operator who opened the window. Once the window is SETTLED: all of it, once. Before, from
 * SETTLEMENT_GRACE_MS after the reports were closed: all but a reserve for the sellers of the
 * utilities that have not settled, and the rest once the window is SETTLED. Majority-endorsed:
 * the grid account and the window key have no key-level policy.
 */
export async function claimGridShare(
  ctx: HemsContext,
  operatorMspId: string,
  id: string,
): Promise<GridShareClaim> {
  ctx.requireTimely('ClaimGridShare');
  const window = await loadWindow(ctx, id);
  if (operatorMspId !== window.operatorMspId) {
    throw forbidden(`ClaimGridShare of window ${id} is for the market operator of ${window.operatorMspId}`);
  }
  const records = await loadOrgRecords(ctx, window);
  const settled = settledAtOf(window, records) !== undefined;
  const now = ctx.now;
  if (window.gridClaimedAt !== undefined && (window.gridReserved === undefined || !settled)) {
    throw window.gridReserved === undefined
      ? conflict(`the grid share of window ${id} was already claimed`)
      : failedPrecondition(
          `window ${id} is not settled yet: the rest of its grid share (${window.gridReserved} reserved for unsettled sellers) is claimable once it is`,
        );
  }
  let reserved = 0n;
  if (!settled) {
    const graceOver =
      window.reportsClosedAt !== undefined &&
      now.getTime() >= Date.parse(window.reportsClosedAt) + SETTLEMENT_GRACE_MS;
    if (!graceOver) {
      throw failedPrecondition(
        `window ${id} is not settled yet (its grid share may be claimed without the utilities that have not settled from one hour after the delivery reports are closed)`,
      );
    }
    reserved = reserveFor(window, records, await loadClearing(ctx, window));
  }
  // A pool made negative by a part that misstates its amounts gives the grid nothing.
  const pooled = BigInt(poolOf(window, records).amount) - reserved;
  const share = pooled > 0n ? pooled : 0n;
  const gridAccount = gridAccountOf(window.operatorMspId);
  const book = new TokenBook(ctx);
  if (share > 0n) {
    if ((await book.load(gridAccount)) === undefined) {
      await book.open(gridAccount, window.operatorMspId);
    }
    await book.pay(id, gridAccount, window.operatorMspId, share);
  }
  const claimedAt = isoTime(now);
  const txId = ctx.stub.getTxID();
  const updated: WindowRecord = {
    ...window,
    gridReserved: settled ? undefined : reserved.toString(),
    gridShare: (BigInt(window.gridShare ?? '0') + share).toString(),
    gridClaimedAt: claimedAt,
    gridClaimTxId: txId,
  };
  await writeState(ctx.stub, ctx.keys.window(id), updated);
  await book.flush();
  ctx.stub.setEvent(
    WINDOW_EVENTS.gridClaimed,
    canonicalBytes({ windowId: id, account: gridAccount, amount: share.toString() }),
  );
  return {
    windowId: id,
    account: gridAccount,
    amount: share.toString(),
    reserved: reserved.toString(),
    claimedAt,
    txId,
  };
}

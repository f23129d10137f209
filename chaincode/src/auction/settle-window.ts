import { canonicalBytes, conflict, failedPrecondition, sumBigint, WINDOW_EVENTS } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeState, type RecordView } from '../lib/state';
import { TokenBook } from '../token/token-ledger';
import { loadReadings } from './delivery';
import { refundBids } from './escrow';
import { sellerPayments } from './settlement';
import { reportCounts, unreportedForSettlement } from './report-closure';
import { orgsWithTrades, poolOf, settledAtOf, type WindowOrgRecord } from './window';
import { type ClearedWindow, loadOrgRecords, partView } from './windows';

/**
 * Once per utility with trades: pays each of its sellers floor(price x delivered x f),
 * f = min(1, B / S), out of the window's pool, B and S summed over the reports that count. A
 * missing report counts as nothing delivered and nothing received; if it is the caller's own, what
 * its bids still hold in escrow is refunded here.
 */
export async function settleWindow(
  ctx: HemsContext,
  { org, id, window, now, clearing }: ClearedWindow,
): Promise<RecordView> {
  const tradeOrgs = orgsWithTrades(clearing.trades);
  if (!tradeOrgs.includes(org)) {
    throw failedPrecondition(`${org} has no trades to settle in window ${id}`);
  }
  const records = await loadOrgRecords(ctx, window);
  const orgRecord = records.find((record) => record.org === org);
  if (orgRecord === undefined) {
    throw new Error(`window ${id} lacks the record of ${org}`);
  }
  if (orgRecord.settlement !== undefined) {
    throw conflict(`${org} has already settled window ${id}`);
  }
  const unreported = unreportedForSettlement(window, clearing, records);
  // Totals beyond what the public clearing allows never count (CloseDeliveryReports lists them).
  const counted = records.filter(
    (record) =>
      tradeOrgs.includes(record.org) && !unreported.includes(record.org) && reportCounts(clearing, record),
  );
  const windowCharge = sumBigint(counted.map((record) => BigInt(record.delivery?.buyerCharge ?? '0')));
  const windowValue = sumBigint(counted.map((record) => BigInt(record.delivery?.sellerValue ?? '0')));

  const book = new TokenBook(ctx);
  let payments = new Map<string, bigint>();
  let refunded = 0n;
  if (unreported.includes(org)) {
    // Its trades count as undelivered and unreceived: its bids keep nothing in escrow.
    refunded = await refundBids(book, orgRecord, new Map());
  } else {
    const readings = await loadReadings(ctx, clearing, org);
    payments = sellerPayments(clearing.trades, org, readings, windowCharge, windowValue);
  }
  const paid = sumBigint(payments.values());
  // f <= B / S keeps every utility's payments within the counted buyers' charges, which their
  // reports moved into the pool; the derived pool itself rests on every part's own amounts.
  if (paid > windowCharge) {
    throw new Error(`the sellers' payments of ${org} exceed the buyers' charges of window ${id}`);
  }
  for (const [accountId, amount] of payments) {
    await book.pay(id, accountId, org, amount);
  }
  const updated: WindowOrgRecord = {
    ...orgRecord,
    paid: (BigInt(orgRecord.paid) + paid).toString(),
    refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
    ...(unreported.includes(org) && orgRecord.released === undefined
      ? { released: { releasedAt: isoTime(now), txId: ctx.stub.getTxID() } }
      : {}),
    settlement: { settledAt: isoTime(now), txId: ctx.stub.getTxID() },
  };
  const after = records.map((record) => (record.org === org ? updated : record));
  const final = settledAtOf(window, after) !== undefined;
  await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
  await book.flush();
  ctx.stub.setEvent(WINDOW_EVENTS.settled, canonicalBytes({ windowId: id, org, final }));
  return {
    ...partView(updated),
    sellersPaid: paid.toString(),
    final,
    pool: poolOf(window, after),
  };
}

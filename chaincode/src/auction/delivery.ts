import {
  canonicalBytes,
  type ClearingRecord,
  collectionOf,
  conflict,
  failedPrecondition,
  MAX_READINGS_BYTES,
  parseStoredRecord,
  WINDOW_EVENTS,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readPrivate, writePrivate, writeState, type RecordView } from '../lib/state';
import { requireTransientJson } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import { TokenBook } from '../token/token-ledger';
import { readingReference } from './references';
import { buyerCharges, deliveryTotals, parseReadings, readingOf, sideKey, sidesOf } from './settlement';
import type { WindowOrgRecord, WindowRecord } from './window';
import { type ClearedWindow, loadOrgRecord, partView, revealedBids } from './windows';

/** Private record of one meter reading; `ref` salts its on-chain hash. */
interface ReadingRecord {
  readonly ref: string;
  readonly windowId: string;
  readonly tradeId: string;
  readonly side: 'offer' | 'bid';
  readonly energyWh: number;
}

/**
 * Once per utility after the delivery period: the metered energy of each of its trade sides
 * (transient `readings`). Readings stay private; the per-org totals are public. Each of the
 * utility's buyers pays price x received out of its escrow into the window's pool at once, and the
 * rest of the escrow of every revealed bid of the utility is refunded.
 */
export async function reportDelivery(
  ctx: HemsContext,
  { org, id, window, now, clearing }: ClearedWindow,
): Promise<RecordView> {
  if (now < new Date(window.deliveryEnd)) {
    throw failedPrecondition(`window ${id} delivers until ${window.deliveryEnd}; report after that`);
  }
  const orgRecord = await loadOrgRecord(ctx, window, org);
  if (orgRecord.delivery !== undefined) {
    throw conflict(`${org} has already reported the delivery of window ${id}`);
  }
  if (sidesOf(clearing.trades, org).length === 0) {
    throw failedPrecondition(`${org} has no trades in window ${id}`);
  }
  requireReportsOpen(window, org);
  const readings = parseReadings(
    requireTransientJson(ctx, 'readings', MAX_READINGS_BYTES),
    clearing.trades,
    org,
  );
  const totals = deliveryTotals(clearing.trades, org, readings);

  // Every revealed bid of the org gives up its whole escrow for the window here: the charge for
  // what it received goes to the pool, the rest goes back to its balance.
  const book = new TokenBook(ctx);
  const charges = buyerCharges(clearing.trades, org, readings);
  let refunded = 0n;
  let charged = 0n;
  for (const bid of revealedBids(orgRecord)) {
    const escrow = await book.escrowOf(id, bid.accountId, org);
    const charge = charges.get(bid.accountId) ?? 0n;
    if (charge > escrow) {
      throw new Error('a buyer charge exceeds its escrow');
    }
    await book.release(id, bid.accountId, org, charge, 'charge');
    await book.release(id, bid.accountId, org, escrow - charge, 'refund');
    charged += charge;
    refunded += escrow - charge;
  }
  if (charged !== totals.buyerCharge) {
    throw new Error('the buyer charges differ from the delivery totals');
  }

  await writeReadings(ctx, clearing, org, readings);
  const delivery = {
    deliveredWh: totals.deliveredWh,
    receivedWh: totals.receivedWh,
    sellerValue: totals.sellerValue.toString(),
    buyerCharge: totals.buyerCharge.toString(),
  };
  const updated: WindowOrgRecord = {
    ...orgRecord,
    charged: (BigInt(orgRecord.charged) + charged).toString(),
    refunded: (BigInt(orgRecord.refunded) + refunded).toString(),
    released: orgRecord.released ?? { releasedAt: isoTime(now), txId: ctx.stub.getTxID() },
    delivery: { ...delivery, reportedAt: isoTime(now), txId: ctx.stub.getTxID() },
  };
  await writeState(ctx.stub, ctx.keys.windowOrg(id, org), updated);
  await book.flush();
  ctx.stub.setEvent(WINDOW_EVENTS.delivery, canonicalBytes({ windowId: id, org, ...delivery }));
  return partView(updated);
}

/** Reports are closed once the market operator closed them (CloseDeliveryReports, after reportBy). */
function requireReportsOpen(window: WindowRecord, org: string): void {
  if (window.reportsClosedAt !== undefined) {
    throw failedPrecondition(
      `the delivery reports of window ${window.windowId} were closed at ${window.reportsClosedAt} (due by ${window.reportBy}): ${org}'s report no longer counts; ReleaseEscrow refunds the escrows of its bids`,
    );
  }
}

/** Stores each meter reading of the org's trade sides in its collection. */
async function writeReadings(
  ctx: HemsContext,
  clearing: ClearingRecord,
  org: string,
  readings: ReadonlyMap<string, number>,
): Promise<void> {
  const id = clearing.windowId;
  const secret = await loadHomeRefSecret(ctx, org);
  for (const { trade, side } of sidesOf(clearing.trades, org)) {
    const ref = readingReference(secret, id, trade.tradeId, side);
    const record: ReadingRecord = {
      ref,
      windowId: id,
      tradeId: trade.tradeId,
      side,
      energyWh: readingOf(readings, trade.tradeId, side),
    };
    await writePrivate(ctx.stub, collectionOf(org), ctx.keys.reading(id, ref), record);
  }
}

/** The org's meter readings of its trade sides, from its collection, by side key. */
export async function loadReadings(
  ctx: HemsContext,
  clearing: ClearingRecord,
  org: string,
): Promise<Map<string, number>> {
  const id = clearing.windowId;
  const secret = await loadHomeRefSecret(ctx, org);
  const readings = new Map<string, number>();
  for (const { trade, side } of sidesOf(clearing.trades, org)) {
    const bytes = await readPrivate(
      ctx.stub,
      collectionOf(org),
      ctx.keys.reading(id, readingReference(secret, id, trade.tradeId, side)),
    );
    if (bytes === undefined) {
      throw failedPrecondition(`a meter reading of ${org} for window ${id} is missing from its collection`);
    }
    const record = parseStoredRecord<ReadingRecord>(bytes, 'reading', ['energyWh']);
    readings.set(sideKey(trade.tradeId, side), record.energyWh);
  }
  return readings;
}

import {
  canonicalBytes,
  collectionOf,
  conflict,
  failedPrecondition,
  SLOT_EVENTS,
  storedConsumptionFromBytes,
} from '@hems/protocol';
import { isoTime, timestampToIso } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { compareText, nonceDigest } from '../lib/ledger';
import { drain, readPrivate, writeState, type RecordView } from '../lib/state';
import { listedBatches } from './forecast-batches';
import { loadAggregates, loadSlot, type SlotRecord } from './records';
import { slotView } from './views';

/** Marks a dispatched slot settled after its delivery; its private forecasts may then be purged. */
export async function settleSlot(ctx: HemsContext, id: string): Promise<RecordView> {
  const slot = await loadSlot(ctx, id);
  if (slot.settledAt !== undefined) {
    throw conflict(`slot ${id} is already settled`);
  }
  if (slot.dispatch === undefined) {
    throw failedPrecondition(`slot ${id} cannot settle before its dispatch`);
  }
  const now = ctx.now;
  if (now < new Date(slot.deadline)) {
    throw failedPrecondition(`slot ${id} cannot settle before its deadline ${slot.deadline}`);
  }
  const updated: SlotRecord = { ...slot, settledAt: isoTime(now) };
  await writeState(ctx.stub, ctx.keys.slot(id), updated);
  ctx.stub.setEvent(SLOT_EVENTS.settled, canonicalBytes({ slotId: id, settledAt: updated.settledAt }));
  return slotView(updated, await loadAggregates(ctx, id), now);
}

export interface PurgeSummary {
  readonly slotId: string;
  readonly org: string;
  readonly purgedForecasts: number;
  readonly purgedConsumptionReports: number;
}

/**
 * P5: purges the private forecast batches of `org` listed in transient `batches` with their root
 * records, their homes' consumption reports and those reports' nonce markers, once the slot is
 * settled or its retention has run out. A large slot is purged in several transactions, each
 * listing some of its batches.
 */
export async function purgeForecasts(ctx: HemsContext, org: string, id: string): Promise<PurgeSummary> {
  const slot = await loadSlot(ctx, id);
  const settings = await ctx.settings();
  const retentionEnds = new Date(new Date(slot.deadline).getTime() + settings.retentionSeconds * 1000);
  if (slot.settledAt === undefined && ctx.now < retentionEnds) {
    throw failedPrecondition(
      `slot ${id} is neither settled nor past its retention (until ${isoTime(retentionEnds)}); its forecasts are kept`,
    );
  }
  const collection = collectionOf(org);
  const batches = await listedBatches(ctx, org, id);
  const refs = new Set<string>();
  let purgedForecasts = 0;
  for (const batch of batches) {
    await ctx.stub.purgePrivateData(collection, ctx.keys.forecastBatch(id, batch.txId));
    await ctx.stub.purgePrivateData(collection, ctx.keys.forecastRoot(id, batch.txId));
    purgedForecasts += batch.items.length;
    batch.items.forEach((item) => refs.add(item.ref));
  }
  let purgedReports = 0;
  // A consumption report exists only for a home with a forecast, under the same reference.
  for (const ref of [...refs].sort(compareText)) {
    const reportKey = ctx.keys.consumption(id, ref);
    const reportBytes = await readPrivate(ctx.stub, collection, reportKey);
    if (reportBytes !== undefined) {
      await ctx.stub.purgePrivateData(collection, reportKey);
      const nonce = storedConsumptionFromBytes(reportBytes).nonce;
      await ctx.stub.purgePrivateData(collection, ctx.keys.forecastNonce(id, nonceDigest(nonce)));
      purgedReports += 1;
    }
  }
  return { slotId: id, org, purgedForecasts, purgedConsumptionReports: purgedReports };
}

export interface HistoryEntry {
  readonly record: string;
  readonly txId: string;
  readonly timestamp: string;
  readonly isDelete: boolean;
  readonly value: unknown;
}

/** P4: every version of the slot's public records (slot, aggregates) with tx id and time. */
export async function slotHistory(
  ctx: HemsContext,
  id: string,
): Promise<{ slotId: string; entries: HistoryEntry[] }> {
  const slot = await loadSlot(ctx, id);
  const records: { key: string; record: string }[] = [{ key: ctx.keys.slot(id), record: 'slot' }];
  for (const { org, bus } of slot.expected) {
    records.push({ key: ctx.keys.aggregate(id, org, bus), record: `aggregate ${org} ${bus}` });
  }
  const entries: HistoryEntry[] = [];
  for (const { key, record } of records) {
    for (const modification of await drain(ctx.stub.getHistoryForKey(key))) {
      entries.push({
        record,
        txId: modification.txId,
        timestamp: timestampToIso(modification.timestamp),
        isDelete: modification.isDelete,
        value: modification.isDelete
          ? null
          : (JSON.parse(Buffer.from(modification.value).toString('utf8')) as unknown),
      });
    }
  }
  // Stable sort: versions written by one transaction keep their record order.
  entries.sort((a, b) => compareText(a.timestamp, b.timestamp) || compareText(a.txId, b.txId));
  return { slotId: id, entries };
}

import {
  allowedPowerKw,
  canonicalBytes,
  collectionOf,
  COMPLIANCE_TOLERANCE_WATTS,
  conflict,
  failedPrecondition,
  kwToWatts,
  notFound,
  parseConsumptionPayload,
  SLOT_EVENTS,
  type StoredConsumption,
  storedConsumptionFromBytes,
  type ForecastBatchItem,
  forecastBatchFromBytes,
  invalidArgument,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readPrivate, writePrivate, writeState } from '../lib/state';
import { requireTransientText } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import type { OwnAggregate } from './aggregation';
import { acceptSlotPayload, freshSlotNonceKey, homeReference, listedRecords } from './home-refs';
import {
  aggregateFromBytes,
  lambdaOfBus,
  loadSlot,
  type AggregateRecord,
  type ConsumptionSummary,
  type DispatchRecord,
  type SlotRecord,
} from './records';
import { groupSums, sumKw } from './views';

/** The dispatch of a slot that takes consumption reports and summaries: dispatched, not settled. */
function openForConsumption(slot: SlotRecord): DispatchRecord {
  if (slot.settledAt !== undefined) {
    throw failedPrecondition(`slot ${slot.slotId} is settled; it takes no more consumption reports`);
  }
  if (slot.dispatch === undefined) {
    throw failedPrecondition(
      `slot ${slot.slotId} has no dispatch yet; consumption is reported after λ is published`,
    );
  }
  return slot.dispatch;
}

/**
 * The home's forecast in the batch its relay names in transient field `forecastBatch` (the batch
 * of the forecast in effect, from the relay's allowed-power table): one point read, where finding
 * the home among all batches would need a range query, which Fabric refuses in a transaction that
 * writes. The batch speaks only for this utility's own homes, which its relay submits anyway.
 */
async function forecastInBatch(
  ctx: HemsContext,
  collection: string,
  id: string,
  homeRef: string,
): Promise<ForecastBatchItem> {
  const txId = requireTransientText(ctx, 'forecastBatch', 64);
  if (!/^[0-9a-f]{64}$/.test(txId)) {
    throw invalidArgument("transient field 'forecastBatch' must be a transaction id (64 hex characters)");
  }
  const bytes = await readPrivate(ctx.stub, collection, ctx.keys.forecastBatch(id, txId));
  const item =
    bytes === undefined
      ? undefined
      : forecastBatchFromBytes(bytes).items.find((entry) => entry.ref === homeRef);
  if (item === undefined) {
    throw notFound(
      `no forecast of this home is held for slot ${id} in the named batch, so it has no allowed power to report against`,
    );
  }
  return item;
}

/** What ReportConsumption answers: neither the allowed power nor the compliance (they are private). */
export interface ConsumptionReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
}

/**
 * Stores a home's device-signed report of the power it draws (transient `payload`, `signature`,
 * `certificate`) with its allowed power and compliance, privately in the collection of `org`.
 */
export async function reportConsumption(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<ConsumptionReceipt> {
  const slot = await loadSlot(ctx, id);
  const dispatch = openForConsumption(slot);

  const { device, payload } = await acceptSlotPayload(
    ctx,
    org,
    id,
    'consumption report',
    parseConsumptionPayload,
  );

  const collection = collectionOf(org);
  const homeRef = homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId);
  const forecast = await forecastInBatch(ctx, collection, id, homeRef);
  if (forecast.nonce === payload.nonce) {
    throw conflict('the payload nonce was already used: every report needs a fresh random nonce');
  }
  const reportKey = ctx.keys.consumption(id, homeRef);
  if ((await readPrivate(ctx.stub, collection, reportKey)) !== undefined) {
    throw conflict(`this home has already reported its consumption for slot ${id}`);
  }
  const nonceKey = await freshSlotNonceKey(ctx, collection, id, payload.nonce, 'report');

  const allowedKw = allowedPowerKw(lambdaOfBus(dispatch, forecast.bus), forecast.lower, forecast.upper);
  const report: StoredConsumption = {
    slotId: id,
    bus: forecast.bus,
    drawnKw: payload.drawnKw,
    allowedKw,
    // Compared in integer watts, so float noise cannot flip the verdict.
    compliant: kwToWatts(payload.drawnKw) <= kwToWatts(allowedKw) + COMPLIANCE_TOLERANCE_WATTS,
    nonce: payload.nonce,
    reportedAt: isoTime(ctx.now),
  };
  await writePrivate(ctx.stub, collection, reportKey, report);
  await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
  return { slotId: id, txId: ctx.stub.getTxID(), recordedAt: report.reportedAt };
}

/**
 * Publishes the utility's consumption summary of one bus into its aggregate record of the slot:
 * {homes, drawnKw: Σ, nonCompliant}, only the home count below k. Every report listed in transient
 * `refs` is read whatever its bus, so the read set does not tell which reports belong to which
 * bus. May be re-published as more homes report, until settlement.
 */
export async function publishConsumption(ctx: HemsContext, own: OwnAggregate): Promise<AggregateRecord> {
  const { org, settings, id, busId, slot, key } = own;
  openForConsumption(slot);
  const aggregate = aggregateFromBytes(own.aggregateBytes);

  const listed = await listedRecords(
    ctx,
    org,
    (ref) => ctx.keys.consumption(id, ref),
    'consumption report',
    id,
  );
  const reports = listed.map(({ bytes }) => storedConsumptionFromBytes(bytes)).filter((r) => r.bus === busId);
  const { homes, withheld, sums } = groupSums(reports, settings.minGroupSize, (group) => ({
    drawnKw: sumKw(group.map((r) => r.drawnKw)),
    nonCompliant: group.filter((r) => !r.compliant).length,
  }));
  const previous = aggregate.consumption;
  if (previous !== undefined && homes < previous.homes) {
    throw conflict(
      `the consumption summary of ${org} for bus ${busId} in slot ${id} already counts more reports (list them again)`,
    );
  }
  // Two published sums that differ by fewer than k homes would reveal those homes' values by
  // subtraction, so a re-publication with sums must add at least k homes (or none).
  const added = homes - (previous?.homes ?? 0);
  if (
    previous !== undefined &&
    !previous.withheld &&
    !withheld &&
    added > 0 &&
    added < settings.minGroupSize
  ) {
    throw failedPrecondition(
      `the consumption summary of ${org} for bus ${busId} in slot ${id} can be re-published only once at least ${settings.minGroupSize} more homes have reported`,
    );
  }
  const consumption: ConsumptionSummary = {
    homes,
    withheld,
    ...sums,
    publishedAt: isoTime(ctx.now),
    txId: ctx.stub.getTxID(),
  };
  const updated: AggregateRecord = { ...aggregate, consumption };
  await writeState(ctx.stub, key, updated);
  ctx.stub.setEvent(
    SLOT_EVENTS.consumptionPublished,
    canonicalBytes({ slotId: id, org, bus: busId, homes, withheld }),
  );
  return updated;
}

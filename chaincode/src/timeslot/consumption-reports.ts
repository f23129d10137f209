import {
  collectionOf,
  COMPLIANCE_TOLERANCE_WATTS,
  conflict,
  ContractError,
  failedPrecondition,
  type ForecastBatchItem,
  type ForecastBatchRecord,
  forecastBatchFromBytes,
  invalidArgument,
  kwToWatts,
  notFound,
  parseConsumptionPayload,
  type SlotEmergency,
  type StoredConsumption,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { nonceDigest } from '../lib/ledger';
import { readPrivate, writePrivate } from '../lib/state';
import { loadDeviceTrust, type DeviceTrust } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import {
  readEntries,
  refusalOf,
  refusedAsWhole,
  transientEntry,
  type ItemRefusal,
  type SignedBatchEntry,
} from '../lib/signed-batch';
import { mayAttest, type SlotEntryCheck, verifySlotEntry } from './forecast-batches';
import { homeAllowanceKw } from './emergency';
import { homeReference } from './home-refs';
import { loadSlot, type DispatchRecord, type SlotRecord } from './records';

/** The dispatch of a slot that takes consumption reports and summaries: dispatched, not settled. */
export function openForConsumption(slot: SlotRecord): DispatchRecord {
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

/** What ReportConsumption answers: neither the allowed power nor the compliance (they are private). */
export interface ConsumptionReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
}

/** What ReportConsumptions answers: counts and per-item refusals, never a home or a value. */
export interface ConsumptionBatchReceipt extends ConsumptionReceipt {
  readonly accepted: number;
  readonly refused: readonly ItemRefusal[];
}

/** What every report of one transaction is checked against, read once. */
interface ReportContext extends SlotEntryCheck {
  readonly slotId: string;
  readonly dispatch: DispatchRecord;
  /** The slot's emergency, declared before the dispatch: the allowance is the emergency's. */
  readonly emergency: SlotEmergency | undefined;
  readonly trust: DeviceTrust;
  readonly maxHomeKw: number;
  readonly secret: Uint8Array;
  readonly collection: string;
  /** Forecast batches read so far, by transaction id: each is read once per transaction. */
  readonly forecastBatches: Map<string, ForecastBatchRecord | undefined>;
  readonly refs: Set<string>;
  readonly nonces: Set<string>;
}

/**
 * The home's forecast in the batch its relay names (`forecastBatch`: the batch of the forecast in
 * effect, from the relay's allowed-power table): a point read, where finding the home among all
 * batches would need a range query, which Fabric refuses in a transaction that writes. The batch
 * speaks only for this utility's own homes, which its relay submits anyway.
 */
async function forecastInBatch(
  ctx: HemsContext,
  context: ReportContext,
  txId: unknown,
  homeRef: string,
): Promise<ForecastBatchItem> {
  if (typeof txId !== 'string' || !/^[0-9a-f]{64}$/.test(txId)) {
    throw invalidArgument("the report's forecastBatch must be a transaction id (64 hex characters)");
  }
  let batch = context.forecastBatches.get(txId);
  if (!context.forecastBatches.has(txId)) {
    const bytes = await readPrivate(
      ctx.stub,
      context.collection,
      ctx.keys.forecastBatch(context.slotId, txId),
    );
    batch = bytes === undefined ? undefined : forecastBatchFromBytes(bytes);
    context.forecastBatches.set(txId, batch);
  }
  const item = batch?.items.find((entry) => entry.ref === homeRef);
  if (item === undefined) {
    throw notFound(
      `no forecast of this home is held for slot ${context.slotId} in the named batch, so it has no allowed power to report against`,
    );
  }
  return item;
}

/** One report verified on its own: its key, value and nonce marker, to be written if all pass. */
async function acceptReport(
  ctx: HemsContext,
  context: ReportContext,
  entry: SignedBatchEntry,
): Promise<{ homeRef: string; key: string; report: StoredConsumption; nonceKey: string }> {
  const { device, payload } = verifySlotEntry(
    ctx,
    context,
    entry,
    'consumption report',
    parseConsumptionPayload,
  );
  const homeRef = homeReference(context.secret, context.slotId, device.homeId);
  const forecast = await forecastInBatch(ctx, context, entry.forecastBatch, homeRef);
  if (forecast.nonce === payload.nonce || context.nonces.has(payload.nonce)) {
    throw conflict('the payload nonce was already used: every report needs a fresh random nonce');
  }
  const key = ctx.keys.consumption(context.slotId, homeRef);
  if (context.refs.has(homeRef) || (await readPrivate(ctx.stub, context.collection, key)) !== undefined) {
    throw conflict(`this home has already reported its consumption for slot ${context.slotId}`);
  }
  const nonceKey = ctx.keys.forecastNonce(context.slotId, nonceDigest(payload.nonce));
  if ((await readPrivate(ctx.stub, context.collection, nonceKey)) !== undefined) {
    throw conflict('the payload nonce was already used: every report needs a fresh random nonce');
  }
  const allowedKw = homeAllowanceKw(context.dispatch, context.emergency, forecast);
  return {
    homeRef,
    key,
    nonceKey,
    report: {
      slotId: context.slotId,
      bus: forecast.bus,
      drawnKw: payload.drawnKw,
      allowedKw,
      // Compared in integer watts, so float noise cannot flip the verdict.
      compliant: kwToWatts(payload.drawnKw) <= kwToWatts(allowedKw) + COMPLIANCE_TOLERANCE_WATTS,
      nonce: payload.nonce,
      reportedAt: isoTime(ctx.now),
      ...(entry.attestation === 'relay' ? { attested: true as const } : {}),
    },
  };
}

/**
 * Stores device-signed consumption reports of `org`'s homes for slot `id`, each verified on its own
 * and refused alone: the device, its signature, the payload, the home's forecast in the batch the
 * relay names, one report per home and a fresh nonce. Unlike forecasts, reports keep one private
 * record per home (the existing summaries and purge read them by home reference), so a report
 * still costs a few point reads and writes; the transaction, which costs far more, is shared.
 */
export async function reportConsumptionBatch(
  ctx: HemsContext,
  org: string,
  id: string,
  entries: readonly (SignedBatchEntry | ContractError)[] = readEntries(ctx, ['forecastBatch']),
): Promise<ConsumptionBatchReceipt> {
  const slot = await loadSlot(ctx, id);
  const context: ReportContext = {
    slotId: id,
    dispatch: openForConsumption(slot),
    emergency: slot.emergency,
    trust: await loadDeviceTrust(ctx, org),
    maxHomeKw: (await ctx.settings()).maxHomeKw,
    relayAttestation: await mayAttest(ctx, org),
    secret: await loadHomeRefSecret(ctx, org),
    collection: collectionOf(org),
    forecastBatches: new Map(),
    refs: new Set(),
    nonces: new Set(),
  };
  const refused: ItemRefusal[] = [];
  let accepted = 0;
  for (const [index, entry] of entries.entries()) {
    try {
      if (entry instanceof ContractError) {
        throw entry;
      }
      const { homeRef, key, report, nonceKey } = await acceptReport(ctx, context, entry);
      context.refs.add(homeRef);
      context.nonces.add(report.nonce);
      await writePrivate(ctx.stub, context.collection, key, report);
      await writePrivate(ctx.stub, context.collection, nonceKey, { txId: ctx.stub.getTxID() });
      accepted += 1;
    } catch (error) {
      refused.push(refusalOf(error, index));
    }
  }
  return { slotId: id, txId: ctx.stub.getTxID(), recordedAt: isoTime(ctx.now), accepted, refused };
}

/**
 * One home's report (transient `payload`, `signature`, `certificate`, `forecastBatch`): a batch of
 * one, refused as a whole when its report is.
 */
export async function reportConsumption(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<ConsumptionReceipt> {
  const entry = {
    ...transientEntry(ctx),
    // Checked with the report, after its signature, as in a batch.
    forecastBatch: Buffer.from(ctx.stub.getTransient().get('forecastBatch') ?? []).toString('utf8'),
  };
  const receipt = refusedAsWhole(await reportConsumptionBatch(ctx, org, id, [entry]));
  return { slotId: id, txId: receipt.txId, recordedAt: receipt.recordedAt };
}

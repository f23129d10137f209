import {
  batchRootOf,
  compareBatches,
  forecastLeaf,
  storedForecastOf,
  collectionOf,
  ContractError,
  conflict,
  type DeviceIdentity,
  effectiveForecasts,
  type EffectiveForecast,
  failedPrecondition,
  type ForecastBatchItem,
  type ForecastBatchRecord,
  forecastBatchFromBytes,
  type ForecastPayload,
  forbidden,
  invalidArgument,
  parseForecastPayload,
  parseJsonArgument,
  requireArray,
  requireString,
  VEN_IDENTITY_PREFIX,
  verifyDeviceSignature,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { compareText, nonceDigest } from '../lib/ledger';
import { drain, readPrivate, writePrivate } from '../lib/state';
import { readEntries, refusalOf, type ItemRefusal, type SignedBatchEntry } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { loadDeviceTrust, verifyDeviceAgainst, type DeviceTrust } from '../governance/devices';
import { loadHomeRefSecret } from '../governance/records';
import { homeReference } from './home-refs';
import { loadAggregates, loadSlot, type AggregateRecord } from './records';

/** Batches listed per aggregation or purge: 1,000 items each reach a million homes. */
export const MAX_LISTED_BATCHES = 10_000;
const MAX_BATCH_IDS_BYTES = MAX_LISTED_BATCHES * 67 + 2;

/** What SubmitForecasts answers: counts and per-item refusals, never a home or a value. */
export interface BatchReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
  readonly accepted: number;
  readonly refused: readonly ItemRefusal[];
}

/** What every item of a batch is checked against: read once per transaction. */
interface BatchContext extends SlotEntryCheck {
  readonly slotId: string;
  readonly trust: DeviceTrust;
  readonly maxHomeKw: number;
  readonly secret: Uint8Array;
  readonly openBuses: ReadonlySet<string>;
  readonly aggregates: readonly AggregateRecord[];
}

/** What a slot's entries are checked against. */
export interface SlotEntryCheck {
  readonly trust: DeviceTrust;
  readonly slotId: string;
  readonly maxHomeKw: number;
  /** The channel settings let this utility's relay vouch for items (relayAttestationMspIds). */
  readonly relayAttestation: boolean;
}

/** Whether the channel settings let `org`'s relay submit relay-attested items. */
export async function mayAttest(ctx: HemsContext, org: string): Promise<boolean> {
  return (await ctx.settings()).relayAttestationMspIds.includes(org);
}

/**
 * One entry of a slot verified on its own: the home's certificate against `trust` at the
 * transaction time; the device's signature over the exact payload bytes, or, for a relay-attested
 * entry, the channel's consent that this utility may vouch for its homes; the payload parsed
 * within the per-home maximum and naming this slot. `what` names the payload in the refusals.
 */
export function verifySlotEntry<P extends { readonly slotId: string }>(
  ctx: HemsContext,
  check: SlotEntryCheck,
  entry: SignedBatchEntry,
  what: string,
  parse: (payload: Uint8Array, maxHomeKw: number) => P,
): { device: DeviceIdentity; payload: P } {
  const device = verifyDeviceAgainst(ctx, check.trust, entry.certificate);
  if (entry.attestation === 'relay') {
    if (!check.relayAttestation) {
      throw forbidden(
        `the channel settings do not let ${check.trust.org} submit relay-attested items (relayAttestationMspIds)`,
      );
    }
    // Only a VEN home's certificate (whose key nobody holds) may vouch without a signature: a
    // HEMS device's items stay signed by the device, never overridden by its relay's word.
    if (!device.commonName.startsWith(VEN_IDENTITY_PREFIX)) {
      throw forbidden('a relay-attested item must carry the certificate of an OpenADR VEN home (oadr-…)');
    }
  } else if (!verifyDeviceSignature(device.publicKey, entry.payload, entry.signature)) {
    throw forbidden(`${what} signature does not verify against the device certificate`);
  }
  const payload = parse(entry.payload, check.maxHomeKw);
  if (payload.slotId !== check.slotId) {
    throw invalidArgument('payload.slotId does not match the slotId argument');
  }
  return { device, payload };
}

/** One signed forecast verified on its own: certificate, signature, payload rules, its bus open. */
function acceptEntry(
  ctx: HemsContext,
  batch: BatchContext,
  entry: SignedBatchEntry,
): { device: DeviceIdentity; payload: ForecastPayload } {
  const { device, payload } = verifySlotEntry(ctx, batch, entry, 'forecast', parseForecastPayload);
  if (!batch.openBuses.has(device.bus)) {
    const known = batch.aggregates.some((aggregate) => aggregate.bus === device.bus);
    throw failedPrecondition(
      known
        ? `the aggregate for the device's bus in slot ${batch.slotId} is published: its window is closed`
        : `the device's bus has no enrolled homes of ${batch.trust.org} in slot ${batch.slotId}`,
    );
  }
  return { device, payload };
}

/**
 * Stores the device-signed forecasts of `org`'s relay for slot `id` as one private batch record
 * and its Merkle root record: O(1) ledger reads and writes whatever the batch size. Each item is
 * verified on its own (certificate chain, revocation, attributes, validity at the transaction
 * time, signature, payload rules, its bus still open); a bad item is refused alone, by position.
 * Two items of one home, or one nonce twice, in a batch: the later one is refused. A nonce reused
 * across batches is not refused here (that would be a read per item) but never counts: see
 * effectiveForecasts. A slot closed for forecasts refuses the whole batch.
 */
export async function submitForecastBatch(
  ctx: HemsContext,
  org: string,
  id: string,
  entries: readonly (SignedBatchEntry | ContractError)[] = readEntries(ctx),
): Promise<BatchReceipt> {
  const slot = await loadSlot(ctx, id);
  const now = ctx.now;
  if (slot.dispatch !== undefined || now >= new Date(slot.deadline)) {
    throw failedPrecondition(`slot ${id} closed for forecasts at its deadline ${slot.deadline}`);
  }
  // All of the org's aggregates (a range), never one bus's key: see submitForecast.
  const aggregates = await loadAggregates(ctx, id, org);
  const batch: BatchContext = {
    slotId: id,
    trust: await loadDeviceTrust(ctx, org),
    maxHomeKw: (await ctx.settings()).maxHomeKw,
    relayAttestation: await mayAttest(ctx, org),
    secret: await loadHomeRefSecret(ctx, org),
    openBuses: new Set(aggregates.filter((aggregate) => !aggregate.published).map((a) => a.bus)),
    aggregates,
  };

  const items: ForecastBatchItem[] = [];
  const refused: ItemRefusal[] = [];
  const refs = new Set<string>();
  const nonces = new Set<string>();
  entries.forEach((entry, index) => {
    try {
      if (entry instanceof ContractError) {
        throw entry;
      }
      const { device, payload } = acceptEntry(ctx, batch, entry);
      const ref = homeReference(batch.secret, id, device.homeId);
      if (refs.has(ref)) {
        throw conflict('the batch holds an earlier forecast of the same home; submit this one again');
      }
      if (nonces.has(payload.nonce)) {
        throw conflict('the payload nonce was already used: every forecast needs a fresh random nonce');
      }
      refs.add(ref);
      nonces.add(payload.nonce);
      items.push({
        ref,
        bus: device.bus,
        lower: payload.lower,
        upper: payload.upper,
        nonce: payload.nonce,
        ...(entry.attestation === 'relay' ? { attested: true as const } : {}),
      });
    } catch (error) {
      refused.push(refusalOf(error, index));
    }
  });

  const txId = ctx.stub.getTxID();
  if (items.length > 0) {
    const record: ForecastBatchRecord = { slotId: id, txId, at: isoTime(now), items };
    const collection = collectionOf(org);
    await writePrivate(ctx.stub, collection, ctx.keys.forecastBatch(id, txId), record);
    await writePrivate(ctx.stub, collection, ctx.keys.forecastRoot(id, txId), batchRootOf(record));
  }
  return { slotId: id, txId, acceptedAt: isoTime(now), accepted: items.length, refused };
}

/** Every forecast batch of `org` in a slot. A private range query: read-only transactions only. */
export async function loadAllBatches(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<ForecastBatchRecord[]> {
  const rows = await drain(
    ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(org), KeyType.forecastBatch, [slotId]),
  );
  return rows.map((row) => forecastBatchFromBytes(row.value));
}

/** A batch as a relay's replay index keeps it: per item, 128-bit digests of nonce and leaf. */
export interface BatchNonces {
  readonly txId: string;
  readonly at: string;
  readonly items: readonly (readonly [nonceDigest: string, leaf: string])[];
}

export async function batchNonces(ctx: HemsContext, org: string, slotId: string): Promise<BatchNonces[]> {
  const batches = (await loadAllBatches(ctx, org, slotId)).sort(compareBatches);
  return batches.map((batch) => ({
    txId: batch.txId,
    at: batch.at,
    items: batch.items.map((item): [string, string] => [
      nonceDigest(item.nonce).slice(0, 32),
      forecastLeaf(storedForecastOf(slotId, item)).toString('hex').slice(0, 32),
    ]),
  }));
}

/** The transaction ids of `org`'s forecast batches in a slot, sorted, and their item count. */
export async function listBatches(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<{ batches: string[]; items: number }> {
  const batches = await loadAllBatches(ctx, org, slotId);
  return {
    batches: batches.map((batch) => batch.txId).sort(compareText),
    items: batches.reduce((sum, batch) => sum + batch.items.length, 0),
  };
}

/**
 * Point-reads the batches listed in transient field `batches` (from ListForecastBatches); each
 * must exist. Point reads put every batch under MVCC validation, which a range query would not.
 */
export async function listedBatches(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<ForecastBatchRecord[]> {
  const list = requireArray(
    parseJsonArgument(
      requireTransientText(ctx, 'batches', MAX_BATCH_IDS_BYTES),
      'batches',
      MAX_BATCH_IDS_BYTES,
    ),
    'batches',
    MAX_LISTED_BATCHES,
  );
  const ids = list.map((value, index) => {
    const txId = requireString(value, `batches[${index}]`);
    if (!/^[0-9a-f]{64}$/.test(txId)) {
      throw invalidArgument(`batches[${index}] must be a transaction id (64 hex characters)`);
    }
    return txId;
  });
  if (new Set(ids).size !== ids.length) {
    throw invalidArgument('batches lists a batch twice');
  }
  const collection = collectionOf(org);
  const batches: ForecastBatchRecord[] = [];
  for (const txId of ids) {
    const bytes = await readPrivate(ctx.stub, collection, ctx.keys.forecastBatch(slotId, txId));
    if (bytes === undefined) {
      throw conflict(`a listed forecast batch of slot ${slotId} does not exist (list them again)`);
    }
    batches.push(forecastBatchFromBytes(bytes));
  }
  return batches;
}

/** The forecasts in effect of the listed batches, in home-reference order. */
export async function listedForecasts(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<Map<string, EffectiveForecast>> {
  return effectiveForecasts(await listedBatches(ctx, org, slotId));
}

/** The forecasts in effect of all of `org`'s batches in a slot (read-only transactions only). */
export async function currentForecasts(
  ctx: HemsContext,
  org: string,
  slotId: string,
): Promise<Map<string, EffectiveForecast>> {
  return effectiveForecasts(await loadAllBatches(ctx, org, slotId));
}

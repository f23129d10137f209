import {
  collectionOf,
  ContractError,
  conflict,
  failedPrecondition,
  invalidArgument,
  kwToWatts,
  notFound,
  parseHomeId,
  parseJsonArgument,
  parseStoredRecord,
  PRICE_SCALE,
  requireArray,
  requireInteger,
  requireObject,
  requireOnlyKeys,
  unitsFromStored,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { writeOwnedByOrg } from '../lib/ledger';
import { drain, readPrivate, readState, writePrivate, writeState } from '../lib/state';
import { refusalOf, type ItemRefusal } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { accountIdOf } from '../auction/references';
import { loadHomeRefSecret } from '../governance/records';
import { homeReference } from '../timeslot/home-refs';
import { MAX_READING_WH } from '../timeslot/meter-readings';
import { loadSlot, slotFromBytes, type SlotRecord } from '../timeslot/records';
import { TokenBook } from './token-ledger';

/**
 * Production-backed tokens (REScoin): the utility's meter head-end, the validation authority of
 * what its homes exported, mints exportWh × rate new tokens into each exporting home's account,
 * once per home and slot.
 *
 * Endorsement and audit: the mint runs on the utility's peer alone (only it holds the secret that
 * turns a home id into its account id and per-slot reference), so it can change only keys that
 * already carry a policy naming that peer: the home accounts (Deposit created them so) and the
 * utility's production record of the slot, which the majority-endorsed OpenSlot creates with that
 * policy. The record keeps the sums (minted, homes, exportWh) and the rate; the reconciliation
 * counts what it says was minted into the utility's expected holdings. Since the utility's peer
 * alone can rewrite the record (a modified chaincode included, any slot, settled or not), the
 * record is trusted only as far as what the majority wrote bounds it (`productionProblem`): the
 * rate is the one the majority-written slot record fixed at opening, the total is the exports
 * times that rate, the homes are at most the utility's homes the slot expects, and the exports at
 * most what those homes can deliver in 15 minutes at `maxHomeKw`. The mint itself keeps within
 * the same bounds, so an honest record passes (unless a majority lowers maxHomeKw afterwards).
 * Each mint rewrites the record with its accounts and amounts (`lastMints`), so the key's history
 * lists every mint; it also orders one utility's mints of one slot (MVCC on the record), so the
 * head-end sends them one at a time. What the record cannot show is an export the head-end
 * overstated within those bounds: the utility's meters are the validation authority here as for
 * consumption.
 *
 * Privacy: no home id is published, but each mint's amount is public (the account's `lastEntries`,
 * the record's `lastMints`) under the home's persistent pseudonymous account, and amount ÷ the
 * slot's public rate is the home's metered export in that 15-minute slot.
 */

/** Exports per MintForProduction: a meter head-end batch's worth. */
export const MAX_EXPORTS = 1000;
const MAX_EXPORTS_BYTES = MAX_EXPORTS * 200 + 2;
/** The largest export minted for: the largest reading taken (10,000 kW over a 15-minute slot). */
export const MAX_EXPORT_WH = MAX_READING_WH;

/** One utility's production of a slot: public sums, never a home id. */
export interface ProductionRecord {
  readonly slotId: string;
  readonly org: string;
  /** Value units minted so far, decimal integer string. */
  readonly minted: string;
  /** Homes minted for. */
  readonly homes: number;
  /** Σ of their exports, Wh. */
  readonly exportWh: number;
  /**
   * The channel's productionTokenRate when the slot opened, currency per MWh: each Wh is worth
   * rate × PRICE_SCALE value units. A copy of the slot record's `productionTokenRate`, which is
   * what counts.
   */
  readonly rate: number;
  readonly updatedAt?: string;
  readonly txId?: string;
  /** The accounts the last mint credited and their amounts (value units). */
  readonly lastMints?: readonly { readonly accountId: string; readonly amount: string }[];
}

/** What MintForProduction answers: counts, the minted total and per-item refusals, never a home. */
export interface ProductionReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly accepted: number;
  /** Value units, decimal integer string. */
  readonly minted: string;
  readonly refused: readonly ItemRefusal[];
}

/** Value units per Wh at `rate` currency per MWh (≤ 4 decimals: a whole number of price units). */
function unitsPerWh(rate: number): bigint {
  return BigInt(Math.round(rate * PRICE_SCALE));
}

export function productionFromBytes(bytes: Uint8Array): ProductionRecord {
  const record = parseStoredRecord<ProductionRecord>(bytes, 'production', [
    'slotId',
    'org',
    'minted',
    'homes',
    'exportWh',
    'rate',
  ]);
  unitsFromStored(record.minted, 'minted total');
  for (const field of ['homes', 'exportWh'] as const) {
    if (!Number.isSafeInteger(record[field]) || record[field] < 0) {
      throw new Error(`stored production ${field} is not a non-negative whole number`);
    }
  }
  if (typeof record.rate !== 'number' || !Number.isFinite(record.rate) || record.rate < 0) {
    throw new Error('stored production rate is not a non-negative number');
  }
  return record;
}

/** The rate the slot opened with (0: none; a slot stored before the rate was kept has none). */
function rateOfSlot(slot: SlotRecord): number {
  const rate = slot.productionTokenRate;
  return typeof rate === 'number' && Number.isFinite(rate) && rate > 0 ? rate : 0;
}

/** The homes of `org` the slot expects (its enrolment at opening): the most a slot mints for. */
function expectedHomesOf(slot: SlotRecord, org: string): number {
  return slot.expected.reduce((total, entry) => total + (entry.org === org ? entry.homes : 0), 0);
}

/** The most one home can export in a 15-minute slot at `maxHomeKw`: maxHomeKw × 250 Wh, whole Wh. */
export function maxSlotExportWh(maxHomeKw: number): number {
  return Math.min(MAX_EXPORT_WH, Math.floor(kwToWatts(maxHomeKw) / 4));
}

/**
 * Why a production record cannot be trusted against its (majority-written) slot record, or
 * undefined when it can: its rate is not the slot's, its total is not its exports times that rate,
 * it counts more homes than the slot expects of its utility, or more exports than those homes can
 * deliver in 15 minutes at `maxHomeKw`. Within these bounds a record is what its utility says.
 */
export function productionProblem(
  record: ProductionRecord,
  slot: SlotRecord,
  maxHomeKw: number,
): string | undefined {
  if (slot.productionTokenRate === undefined) {
    // Opened before the slot kept its rate: nothing is minted in it.
    return record.minted === '0' && record.homes === 0 && record.exportWh === 0
      ? undefined
      : 'the slot opened without a production rate, yet the record counts a mint';
  }
  if (record.rate !== slot.productionTokenRate) {
    return 'its rate is not the one the slot opened with';
  }
  if (BigInt(record.minted) !== BigInt(record.exportWh) * unitsPerWh(rateOfSlot(slot))) {
    return "its total is not its exports times the slot's rate";
  }
  if (record.homes > expectedHomesOf(slot, record.org)) {
    return 'it counts more homes than the slot expects of its utility';
  }
  // exportWh ≤ homes × maxHomeKw × 250 Wh, in whole watts: 4 × exportWh ≤ homes × W.
  if (4n * BigInt(record.exportWh) > BigInt(record.homes) * BigInt(kwToWatts(maxHomeKw))) {
    return 'its exports exceed what its homes can deliver in 15 minutes at maxHomeKw';
  }
  return undefined;
}

/**
 * OpenSlot's part: one production record per utility of the channel, at the rate the slot record
 * fixed, under a key-level policy naming that utility's peer (the mint's only endorser; see above).
 */
export async function openProductionRecords(ctx: HemsContext, slot: SlotRecord): Promise<void> {
  const settings = await ctx.settings();
  for (const org of settings.utilityMspIds) {
    const record: ProductionRecord = {
      slotId: slot.slotId,
      org,
      minted: '0',
      homes: 0,
      exportWh: 0,
      rate: rateOfSlot(slot),
    };
    await writeOwnedByOrg(ctx.stub, ctx.keys.production(org, slot.slotId), record, org);
  }
}

function parseExport(value: unknown, index: number, maxWh: number): { homeId: string; exportWh: number } {
  const item = requireObject(value, `exports[${index}]`);
  requireOnlyKeys(item, `exports[${index}]`, ['homeId', 'exportWh']);
  return {
    homeId: parseHomeId(item.homeId, `exports[${index}].homeId`),
    exportWh: requireInteger(item.exportWh, `exports[${index}].exportWh`, 1, maxWh),
  };
}

/** The slot's production record of `org`, which a mint updates. */
async function loadProduction(ctx: HemsContext, org: string, slotId: string): Promise<ProductionRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.production(org, slotId));
  if (bytes === undefined) {
    throw failedPrecondition(
      `slot ${slotId} has no production record of ${org} (the utility was not on the channel when it opened)`,
    );
  }
  return productionFromBytes(bytes);
}

/**
 * Mints for the exports of `org`'s homes in slot `id` (transient `exports`: [{homeId, exportWh}],
 * whole Wh, at most maxHomeKw × 250). The slot must be dispatched and not settled, minting enabled
 * on the channel and at the slot's opening (the slot record's rate is the one credited). Each item
 * is checked on its own and refused alone, by position: its form, a second export of the same
 * home (in the batch or minted before), the slot's count of this utility's homes reached, the
 * home's account (it must exist and be this utility's). The accepted ones are credited through
 * one TokenBook and summed into the production record; each leaves a private marker under the
 * home's per-slot reference.
 */
export async function mintForProduction(
  ctx: HemsContext,
  org: string,
  id: string,
): Promise<ProductionReceipt> {
  const settings = await ctx.settings();
  if (settings.productionTokenRate === 0) {
    throw failedPrecondition('production minting is disabled: the channel setting productionTokenRate is 0');
  }
  const slot = await loadSlot(ctx, id);
  if (slot.settledAt !== undefined) {
    throw failedPrecondition(`slot ${id} is settled; production is minted before settlement`);
  }
  if (slot.dispatch === undefined) {
    throw failedPrecondition(`slot ${id} has no dispatch yet; production is minted after λ is published`);
  }
  const rate = rateOfSlot(slot);
  if (rate === 0) {
    throw failedPrecondition(`slot ${id} opened while production minting was disabled (rate 0)`);
  }
  const production = await loadProduction(ctx, org, id);
  const maxHomes = expectedHomesOf(slot, org);
  const maxWh = maxSlotExportWh(settings.maxHomeKw);
  const list = requireArray(
    parseJsonArgument(requireTransientText(ctx, 'exports', MAX_EXPORTS_BYTES), 'exports', MAX_EXPORTS_BYTES),
    'exports',
    MAX_EXPORTS,
  );
  if (list.length === 0) {
    throw invalidArgument('exports must hold at least one export');
  }
  const perWh = unitsPerWh(rate);
  const secret = await loadHomeRefSecret(ctx, org);
  const collection = collectionOf(org);
  const txId = ctx.stub.getTxID();
  const mintedAt = isoTime(ctx.now);
  const book = new TokenBook(ctx);
  const refs = new Set<string>();
  const mints: { accountId: string; amount: string }[] = [];
  const refused: ItemRefusal[] = [];
  let minted = 0n;
  let exportWh = 0;
  for (const [index, value] of list.entries()) {
    try {
      const item = parseExport(value, index, maxWh);
      const ref = homeReference(secret, id, item.homeId);
      if (refs.has(ref)) {
        throw conflict('the batch holds an earlier export of the same home; a home is minted once per slot');
      }
      refs.add(ref);
      const markerKey = ctx.keys.productionMint(id, ref);
      if ((await readPrivate(ctx.stub, collection, markerKey)) !== undefined) {
        throw conflict(`this home's production in slot ${id} was already minted`);
      }
      if (production.homes + mints.length >= maxHomes) {
        throw failedPrecondition(
          `slot ${id} expects ${maxHomes} homes of ${org} (its enrolment at opening), all minted for`,
        );
      }
      const accountId = accountIdOf(secret, item.homeId);
      const account = await book.load(accountId);
      if (account === undefined) {
        throw notFound('this home has no token account (a utility admin opens one with Deposit)');
      }
      if (account.mspId !== org) {
        throw failedPrecondition("this home's account is held by another organization");
      }
      const amount = BigInt(item.exportWh) * perWh;
      await book.mint(accountId, org, amount, id);
      await writePrivate(ctx.stub, collection, markerKey, { slotId: id, txId, mintedAt });
      mints.push({ accountId, amount: amount.toString() });
      minted += amount;
      exportWh += item.exportWh;
    } catch (error) {
      if (!(error instanceof ContractError)) {
        throw error;
      }
      refused.push(refusalOf(error, index));
    }
  }
  if (mints.length > 0) {
    await book.flush();
    const updated: ProductionRecord = {
      ...production,
      minted: (BigInt(production.minted) + minted).toString(),
      homes: production.homes + mints.length,
      exportWh: production.exportWh + exportWh,
      rate,
      updatedAt: mintedAt,
      txId,
      // In account order: the meter's batch order is not published.
      lastMints: mints.sort((a, b) => (a.accountId < b.accountId ? -1 : 1)),
    };
    await writeState(ctx.stub, ctx.keys.production(org, id), updated);
  }
  return { slotId: id, txId, accepted: mints.length, minted: minted.toString(), refused };
}

/**
 * The reconciliation's part: Σ minted over `org`'s production records, and how many do not parse,
 * do not speak for their key or fail the checks against their slot record (`productionProblem`):
 * those are counted, never trusted. Reads each record's slot: an auditor's step, not a hot path.
 */
export async function mintedFor(
  ctx: HemsContext,
  org: string,
): Promise<{ minted: bigint; unreadable: number }> {
  const { maxHomeKw } = await ctx.settings();
  let minted = 0n;
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.production, [org]))) {
    const [keyOrg, slotId = ''] = ctx.stub.splitCompositeKey(row.key).attributes;
    try {
      const record = productionFromBytes(row.value);
      if (record.org !== keyOrg || record.slotId !== slotId) {
        throw new TypeError('a production record does not name its key');
      }
      const slotBytes = await readState(ctx.stub, ctx.keys.slot(slotId));
      if (slotBytes === undefined) {
        throw new TypeError('a production record has no slot');
      }
      const problem = productionProblem(record, slotFromBytes(slotBytes), maxHomeKw);
      if (problem !== undefined) {
        throw new TypeError(`a production record is not trusted: ${problem}`);
      }
      minted += BigInt(record.minted);
    } catch {
      unreadable += 1;
    }
  }
  return { minted, unreadable };
}

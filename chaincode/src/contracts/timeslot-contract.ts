import { timingSafeEqual } from 'node:crypto';
import { Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  allowedPowerKw,
  canonicalBytes,
  canonicalJson,
  collectionOf,
  COMPLIANCE_TOLERANCE_WATTS,
  conflict,
  decodeNonce,
  failedPrecondition,
  invalidArgument,
  kwToWatts,
  MAX_CERTIFICATE_PEM_BYTES,
  MAX_PAGE_SIZE,
  MAX_PAYLOAD_BYTES,
  notFound,
  parseBusId,
  parseConsumptionPayload,
  parseDecimalArgument,
  parseForecastPayload,
  parseHomeRef,
  parseIntegerArgument,
  parseJsonArgument,
  parseMspId,
  parsePrices,
  parseReason,
  parseRevealedForecast,
  parseSlotId,
  parseTimestamp,
  requireArray,
  requireObject,
  requireOnlyKeys,
  type StoredConsumption,
  storedConsumptionFromBytes,
  type StoredForecast,
  storedForecastFromBytes,
  wattsToKw,
} from '@hems/protocol';
import { isoTime, timestampToIso } from '../lib/clock';
import { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import {
  homeReference,
  loadAggregates,
  loadHomeRefSecret,
  loadSlot,
  peerOfOrgPolicy,
  requireTransient,
  sha256Hex,
  verifyDevice,
  verifySignedDevicePayload,
} from '../lib/ledger';
import { drain, drainPage, readPrivate, readState, writePrivate, writeState } from '../lib/state';
import { enrolmentFromBytes } from '../model/governance';
import {
  aggregateFromBytes,
  allAggregatesPublished,
  slotFromBytes,
  slotStatus,
  type AggregateRecord,
  type BusLambda,
  type ConsumptionSummary,
  type DispatchRecord,
  type ExpectedAggregate,
  type SlotRecord,
} from '../model/slot';

/** How far ahead of the transaction a slot's deadline may be. */
export const MAX_DEADLINE_LEAD_MS = 7 * 24 * 3600 * 1000;
export const MAX_PRICES_BYTES = 256 * 1024;
const NO_MATCH = 'the revealed forecast does not match the ledger';
/** Up to this many forecasts per ListForecastRefs-based step (64 hex characters each). */
export const MAX_LISTED_REFS = 100000;
export const MAX_REFS_BYTES = MAX_LISTED_REFS * 67 + 2;

export const SlotEvents = {
  opened: 'SlotOpened',
  aggregatePublished: 'AggregatePublished',
  dispatchPublished: 'DispatchPublished',
  settled: 'SlotSettled',
  consumptionPublished: 'ConsumptionPublished',
} as const;

/** Per-bus view over all utilities: what the DSO needs to compute λ. */
interface BusTotal {
  readonly bus: string;
  /** Homes whose ranges are in the sums. */
  readonly homes: number;
  /** Homes counted in aggregates whose sums were withheld (fewer than k homes). */
  readonly withheldHomes: number;
  readonly lower: number;
  readonly upper: number;
  /** Orgs whose aggregate for this bus is published with sums. */
  readonly orgs: readonly string[];
  /** Orgs whose aggregate is published but withheld (fewer than k homes). */
  readonly withheldOrgs: readonly string[];
  /** Orgs whose aggregate is not published yet. */
  readonly pendingOrgs: readonly string[];
  /** Σ of the published consumption summaries of the bus; present once the slot is dispatched. */
  readonly consumption?: ConsumptionTotal;
}

/** Per-bus consumption over all utilities, withheld summaries marked like the aggregate totals. */
interface ConsumptionTotal {
  /** Reporting homes whose drawn power is in the sums. */
  readonly homes: number;
  /** Reporting homes counted in summaries withheld for having fewer than k homes. */
  readonly withheldHomes: number;
  readonly drawnKw: number;
  readonly nonCompliant: number;
  readonly orgs: readonly string[];
  readonly withheldOrgs: readonly string[];
  /** Orgs of the bus that have published no consumption summary yet. */
  readonly pendingOrgs: readonly string[];
}

function consumptionTotal(ofBus: readonly AggregateRecord[]): ConsumptionTotal {
  const summed = ofBus.filter((agg) => agg.consumption !== undefined && !agg.consumption.withheld);
  const withheld = ofBus.filter((agg) => agg.consumption?.withheld === true);
  return {
    homes: summed.reduce((total, agg) => total + (agg.consumption?.homes ?? 0), 0),
    withheldHomes: withheld.reduce((total, agg) => total + (agg.consumption?.homes ?? 0), 0),
    drawnKw: wattsToKw(summed.reduce((total, agg) => total + kwToWatts(agg.consumption?.drawnKw ?? 0), 0)),
    nonCompliant: summed.reduce((total, agg) => total + (agg.consumption?.nonCompliant ?? 0), 0),
    orgs: summed.map((agg) => agg.org),
    withheldOrgs: withheld.map((agg) => agg.org),
    pendingOrgs: ofBus.filter((agg) => agg.consumption === undefined).map((agg) => agg.org),
  };
}

/**
 * P3 for every public per-bus summary: the sums of a group of fewer than k homes are withheld,
 * only its size is published.
 */
function groupSums<T>(
  members: readonly T[],
  minGroupSize: number,
  sums: (members: readonly T[]) => Record<string, number>,
): { homes: number; withheld: boolean; sums: Record<string, number> } {
  const homes = members.length;
  const withheld = homes < minGroupSize;
  return { homes, withheld, sums: withheld ? {} : sums(members) };
}

function sumKw(values: readonly number[]): number {
  return wattsToKw(values.reduce((total, kw) => total + kwToWatts(kw), 0));
}

function busTotals(aggregates: readonly AggregateRecord[], dispatched: boolean): BusTotal[] {
  const buses = [...new Set(aggregates.map((agg) => agg.bus))].sort();
  return buses.map((bus) => {
    const ofBus = aggregates.filter((agg) => agg.bus === bus);
    const summed = ofBus.filter((agg) => agg.published && agg.withheld !== true);
    return {
      bus,
      homes: summed.reduce((total, agg) => total + (agg.homes ?? 0), 0),
      withheldHomes: ofBus
        .filter((agg) => agg.published && agg.withheld === true)
        .reduce((total, agg) => total + (agg.homes ?? 0), 0),
      lower: wattsToKw(summed.reduce((total, agg) => total + kwToWatts(agg.lower ?? 0), 0)),
      upper: wattsToKw(summed.reduce((total, agg) => total + kwToWatts(agg.upper ?? 0), 0)),
      orgs: summed.map((agg) => agg.org),
      withheldOrgs: ofBus.filter((agg) => agg.published && agg.withheld === true).map((agg) => agg.org),
      pendingOrgs: ofBus.filter((agg) => !agg.published).map((agg) => agg.org),
      // Homes report consumption only after dispatch; before it the total would be noise.
      ...(dispatched ? { consumption: consumptionTotal(ofBus) } : {}),
    };
  });
}

function slotView(
  slot: SlotRecord,
  aggregates: readonly AggregateRecord[],
  now: Date,
): Record<string, unknown> {
  return {
    ...slot,
    status: slotStatus(slot, aggregates, now),
    aggregates,
    busTotals: busTotals(aggregates, slot.dispatch !== undefined),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parsePerBusLambdas(text: string): BusLambda[] {
  if (text === '') {
    return [];
  }
  const list = requireArray(parseJsonArgument(text, 'perBus', 64 * 1024), 'perBus', 1000);
  const entries = list.map((item, index) => {
    const name = `perBus[${index}]`;
    const entry = requireObject(item, name);
    requireOnlyKeys(entry, name, ['bus', 'lambda']);
    if (
      typeof entry.lambda !== 'number' ||
      !Number.isFinite(entry.lambda) ||
      entry.lambda < 0 ||
      entry.lambda > 1
    ) {
      throw invalidArgument(`${name}.lambda must be a number between 0 and 1`);
    }
    return { bus: parseBusId(entry.bus, `${name}.bus`), lambda: entry.lambda };
  });
  if (new Set(entries.map((entry) => entry.bus)).size !== entries.length) {
    throw invalidArgument('perBus lists a bus twice');
  }
  return entries.sort((a, b) => compareText(a.bus, b.bus));
}

/**
 * One timeslot of the HEMS protocol (Edmonds et al., Algorithm 1, on Fabric):
 * the DSO opens a slot with price ranges, each utility's relay submits its homes' device-signed
 * forecast ranges into the utility's private collection, each utility's peer publishes per-bus
 * sums, the DSO publishes λ, and each home's allowed power is λ·Lmax + (1−λ)·Lmin.
 */
@Info({
  title: 'TimeslotContract',
  description: 'Private HEMS forecast ranges, public per-bus aggregates and DSO dispatch for each timeslot',
})
export class TimeslotContract extends Contract {
  constructor() {
    super('timeslot');
  }

  override createContext(): HemsContext {
    return new HemsContext();
  }

  /** DSO `submitPrice`: opens a slot with its forecast deadline and per-bus price ranges. */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier, e.g. 2026-11-21T10:15Z')
  @Param('deadline', 'string', 'RFC 3339 time when forecast submission closes')
  @Param('prices', 'string', 'JSON {"default":{"lower","upper"},"buses":[{"bus","lower","upper"}]}, per MWh')
  @Returns('string')
  async OpenSlot(ctx: HemsContext, slotId: string, deadline: string, prices: string): Promise<string> {
    await ctx.requireDso('OpenSlot');
    const id = parseSlotId(slotId);
    const deadlineAt = parseTimestamp(deadline, 'deadline');
    const now = ctx.now;
    if (deadlineAt <= now) {
      throw invalidArgument('deadline must be after the transaction time');
    }
    if (deadlineAt.getTime() - now.getTime() > MAX_DEADLINE_LEAD_MS) {
      throw invalidArgument('deadline must be at most 7 days after the transaction time');
    }
    const parsedPrices = parsePrices(parseJsonArgument(prices, 'prices', MAX_PRICES_BYTES));
    const slotKey = ctx.keys.slot(id);
    if ((await readState(ctx.stub, slotKey)) !== undefined) {
      throw conflict(`slot ${id} already exists`);
    }

    const expected = await this.enrolmentSnapshot(ctx);
    const slot: SlotRecord = {
      slotId: id,
      deadline: isoTime(deadlineAt),
      openedAt: isoTime(now),
      openTxId: ctx.stub.getTxID(),
      prices: parsedPrices,
      expected,
    };
    await writeState(ctx.stub, slotKey, slot);

    // One pending aggregate per (utility, bus). Its key-level endorsement policy names only that
    // utility's peer: no other org holds the private forecasts needed to compute the sums, so the
    // chaincode-level policy could never be satisfied for this write.
    const aggregates: AggregateRecord[] = [];
    for (const { org, bus, homes } of expected) {
      const key = ctx.keys.aggregate(id, org, bus);
      const pending: AggregateRecord = { slotId: id, org, bus, expectedHomes: homes, published: false };
      aggregates.push(pending);
      await writeState(ctx.stub, key, pending);
      await ctx.stub.setStateValidationParameter(key, peerOfOrgPolicy(org));
    }

    ctx.stub.setEvent(
      SlotEvents.opened,
      canonicalBytes({
        slotId: id,
        deadline: slot.deadline,
        prices: parsedPrices,
        buses: expected.map(({ org, bus }) => ({ org, bus })),
      }),
    );
    return canonicalJson(slotView(slot, aggregates, now));
  }

  /** The enrolled (org, bus) pairs with at least one home, as registered by each utility. */
  private async enrolmentSnapshot(ctx: HemsContext): Promise<ExpectedAggregate[]> {
    const utilities = (await ctx.settings()).utilityMspIds;
    const rows = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.enrolment, []));
    return rows
      .map((row) => enrolmentFromBytes(row.value))
      .filter((enrolment) => enrolment.homes > 0 && utilities.includes(enrolment.org))
      .map(({ org, bus, homes }) => ({ org, bus, homes }));
  }

  /** `getPrice` / `getLambda`: the slot's public record with derived status, aggregates and λ. */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetSlot(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireMember('GetSlot');
    const id = parseSlotId(slotId);
    const slot = await loadSlot(ctx, id);
    return canonicalJson(slotView(slot, await loadAggregates(ctx, id), ctx.now));
  }

  /** Slots in key order, a page at a time. */
  @Transaction(false)
  @Param('pageSize', 'string', 'number of slots per page, 1-100')
  @Param('bookmark', 'string', 'bookmark from the previous page, or empty for the first page')
  @Returns('string')
  async ListSlots(ctx: HemsContext, pageSize: string, bookmark: string): Promise<string> {
    await ctx.requireMember('ListSlots');
    const size = parseIntegerArgument(pageSize, 'pageSize', 1, MAX_PAGE_SIZE);
    if (typeof bookmark !== 'string' || bookmark.length > 1024) {
      throw invalidArgument('bookmark must be a string of at most 1024 characters');
    }
    const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
      KeyType.slot,
      [],
      size,
      bookmark,
    );
    const rows = await drainPage(iterator);
    const now = ctx.now;
    const slots = [];
    for (const row of rows) {
      const slot = slotFromBytes(row.value);
      const aggregates = await loadAggregates(ctx, slot.slotId);
      slots.push({
        slotId: slot.slotId,
        deadline: slot.deadline,
        openedAt: slot.openedAt,
        status: slotStatus(slot, aggregates, now),
        lambda: slot.dispatch?.lambda,
      });
    }
    return canonicalJson({ slots, fetched: metadata.fetchedRecordsCount, bookmark: metadata.bookmark });
  }

  /**
   * `submitRange`: stores one home's device-signed forecast range in the relay's utility
   * collection. Everything private travels in transient data:
   *   payload     – the exact bytes the device signed: JSON {slotId, lower, upper, nonce}
   *   signature   – ECDSA-SHA256 over payload (DER or P1363), raw bytes
   *   certificate – the device's PEM certificate, issued by the utility's CA
   * The only argument is the public slot id. The response holds no home reference, because a
   * submitted transaction's response is written into the block.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the forecast itself is in transient data')
  @Returns('string')
  async SubmitForecast(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SubmitForecast', ['relay']);
    const org = caller.mspId;
    const id = parseSlotId(slotId);
    const slot = await loadSlot(ctx, id);
    const now = ctx.now;
    if (slot.dispatch !== undefined || now >= new Date(slot.deadline)) {
      throw failedPrecondition(`slot ${id} closed for forecasts at its deadline ${slot.deadline}`);
    }

    const { device, payload: payloadBytes } = await verifySignedDevicePayload(
      ctx,
      org,
      MAX_PAYLOAD_BYTES,
      'forecast',
    );
    const settings = await ctx.settings();
    const payload = parseForecastPayload(payloadBytes, settings.maxHomeKw);
    if (payload.slotId !== id) {
      throw invalidArgument('payload.slotId does not match the slotId argument');
    }

    // Read all of the org's aggregates for the slot (a range), not the device's bus alone: a
    // single-key read would put the home's bus in the public read set of this transaction.
    const aggregate = (await loadAggregates(ctx, id, org)).find((agg) => agg.bus === device.bus);
    if (aggregate === undefined) {
      throw failedPrecondition(`the device's bus has no enrolled homes of ${org} in slot ${id}`);
    }
    if (aggregate.published) {
      throw failedPrecondition(
        `the aggregate for the device's bus in slot ${id} is published: its window is closed`,
      );
    }

    const collection = collectionOf(org);
    const homeRef = homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId);
    const nonceKey = ctx.keys.forecastNonce(id, sha256Hex(decodeNonce(payload.nonce)));
    if ((await readPrivate(ctx.stub, collection, nonceKey)) !== undefined) {
      throw conflict('the payload nonce was already used: every submission needs a fresh random nonce');
    }
    const stored: StoredForecast = { ...payload, bus: device.bus };
    // Same key for every submission of this home in this slot: a resubmission replaces the last.
    await writePrivate(ctx.stub, collection, ctx.keys.forecast(id, homeRef), stored);
    await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
    return canonicalJson({ slotId: id, txId: ctx.stub.getTxID(), acceptedAt: isoTime(now) });
  }

  /**
   * The home references of this utility's forecasts in a slot (on one bus, or on all when `bus`
   * is empty), evaluated on the utility's own peer for its relay or admin. Fabric refuses any
   * write in a transaction that range-queries private data, so aggregation and purging run in two
   * steps: this read-only listing, then PublishAggregate / PurgeForecasts with the list in
   * transient data, which point-read every listed forecast (and so are MVCC-checked).
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Param('bus', 'string', 'feeder bus identifier, or empty for every bus')
  @Returns('string')
  async ListForecastRefs(ctx: HemsContext, slotId: string, bus: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListForecastRefs', ['relay', 'admin']);
    const id = parseSlotId(slotId);
    const busId = bus === '' ? undefined : parseBusId(bus);
    const rows = await drain(
      ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(caller.mspId), KeyType.forecast, [id]),
    );
    const refs = rows
      .filter((row) => busId === undefined || storedForecastFromBytes(row.value).bus === busId)
      .map((row) => ctx.stub.splitCompositeKey(row.key).attributes[1] ?? '')
      .sort(compareText);
    return canonicalJson({ slotId: id, bus, refs });
  }

  /**
   * `getAgg`: sums the forecasts of one bus held by this peer's utility and publishes
   * {homes, lower: ΣLmin, upper: ΣLmax}, or only the home count when fewer than k homes submitted.
   * Allowed after the deadline, or earlier once every enrolled home of the bus has submitted.
   * Transient field `refs`: the JSON list from ListForecastRefs(slotId, '') — all of the org's
   * forecasts in the slot. The utility's gateway runs both steps, at the deadline or when the DSO
   * asks it to.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Param('bus', 'string', 'feeder bus identifier')
  @Returns('string')
  async PublishAggregate(ctx: HemsContext, slotId: string, bus: string): Promise<string> {
    const {
      org,
      settings,
      id,
      busId,
      slot,
      key,
      aggregateBytes: pendingBytes,
    } = await this.loadOwnAggregate(ctx, 'PublishAggregate', slotId, bus);
    const pending = aggregateFromBytes(pendingBytes);
    if (pending.published) {
      throw conflict(`the aggregate of ${org} for bus ${busId} in slot ${id} is already published`);
    }
    if (slot.dispatch !== undefined || slot.settledAt !== undefined) {
      throw failedPrecondition(`slot ${id} is already dispatched; its aggregates can no longer change`);
    }

    // Every forecast of the org's slot is read, whatever its bus: reading only this bus's keys
    // would tell every channel member which submissions (key hashes) belong to which bus.
    const forecasts = (await this.listedForecasts(ctx, org, id))
      .map(({ forecast }) => forecast)
      .filter((forecast) => forecast.bus === busId);
    const now = ctx.now;
    if (now < new Date(slot.deadline) && forecasts.length < pending.expectedHomes) {
      throw failedPrecondition(
        `slot ${id} is still open for bus ${busId} of ${org}: its deadline has not passed and not every enrolled home has submitted`,
      );
    }

    const { homes, withheld, sums } = groupSums(forecasts, settings.minGroupSize, (group) => ({
      lower: sumKw(group.map((f) => f.lower)),
      upper: sumKw(group.map((f) => f.upper)),
    }));
    const published: AggregateRecord = {
      ...pending,
      published: true,
      homes,
      withheld,
      ...sums,
      publishedAt: isoTime(now),
      publishTxId: ctx.stub.getTxID(),
    };
    await writeState(ctx.stub, key, published);
    ctx.stub.setEvent(
      SlotEvents.aggregatePublished,
      canonicalBytes({ slotId: id, org, bus: busId, homes, withheld, ...sums }),
    );
    return canonicalJson(published);
  }

  /**
   * The aggregate record of the caller's utility for one bus of the slot, as stored: the caller is
   * a relay or admin on its own utility's peer and OpenSlot must have expected an aggregate from
   * the utility for that bus. The bytes are returned unparsed so each caller keeps its own order
   * of slot-state checks before parsing.
   */
  private async loadOwnAggregate(
    ctx: HemsContext,
    action: string,
    slotId: string,
    bus: string,
  ): Promise<{
    org: string;
    settings: Awaited<ReturnType<HemsContext['settings']>>;
    id: string;
    busId: string;
    slot: SlotRecord;
    key: string;
    aggregateBytes: Uint8Array;
  }> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer(action, ['relay', 'admin']);
    const org = caller.mspId;
    const settings = await ctx.settings();
    const id = parseSlotId(slotId);
    const busId = parseBusId(bus);
    const slot = await loadSlot(ctx, id);
    const key = ctx.keys.aggregate(id, org, busId);
    const aggregateBytes = await readState(ctx.stub, key);
    if (aggregateBytes === undefined) {
      throw notFound(`slot ${id} expects no aggregate from ${org} for bus ${busId}`);
    }
    return { org, settings, id, busId, slot, key, aggregateBytes };
  }

  /** Point-reads the forecasts listed in transient field `refs`; each must exist in the slot. */
  private async listedForecasts(
    ctx: HemsContext,
    org: string,
    slotId: string,
  ): Promise<{ ref: string; forecast: StoredForecast }[]> {
    const listed = await this.listedRecords(
      ctx,
      org,
      (ref) => ctx.keys.forecast(slotId, ref),
      'forecast',
      slotId,
    );
    return listed.map(({ ref, bytes }) => ({ ref, forecast: storedForecastFromBytes(bytes) }));
  }

  /**
   * Point-reads the private records listed by home reference in transient field `refs`; each must
   * exist. Point reads put every record under MVCC validation, which a range query would not.
   */
  private async listedRecords(
    ctx: HemsContext,
    org: string,
    keyOf: (ref: string) => string,
    what: string,
    slotId: string,
  ): Promise<{ ref: string; bytes: Uint8Array }[]> {
    const list = requireArray(
      parseJsonArgument(
        Buffer.from(requireTransient(ctx, 'refs', MAX_REFS_BYTES)).toString('utf8'),
        'refs',
        MAX_REFS_BYTES,
      ),
      'refs',
      MAX_LISTED_REFS,
    );
    const refs = list.map((ref, index) => parseHomeRef(ref, `refs[${index}]`));
    if (new Set(refs).size !== refs.length) {
      throw invalidArgument('refs lists a home reference twice');
    }
    const listed: { ref: string; bytes: Uint8Array }[] = [];
    for (const ref of refs) {
      const bytes = await readPrivate(ctx.stub, collectionOf(org), keyOf(ref));
      if (bytes === undefined) {
        throw conflict(`a listed ${what} of slot ${slotId} does not exist (list it again)`);
      }
      listed.push({ ref, bytes });
    }
    return listed;
  }

  /**
   * `submitLambda`: the DSO's dispatch factor λ ∈ [0, 1] for the slot, optionally per bus.
   * A second dispatch is refused unless it carries a revision reason; revisions stay in the
   * slot key's history.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Param('lambda', 'string', 'dispatch factor between 0 and 1, e.g. 0.42')
  @Param('perBus', 'string', 'JSON [{"bus","lambda"}] overriding λ for some buses, or empty')
  @Param('revisionReason', 'string', 'empty for the first dispatch; the reason when revising it')
  @Returns('string')
  async PublishDispatch(
    ctx: HemsContext,
    slotId: string,
    lambda: string,
    perBus: string,
    revisionReason: string,
  ): Promise<string> {
    await ctx.requireDso('PublishDispatch');
    const id = parseSlotId(slotId);
    const lambdaValue = parseDecimalArgument(lambda, 'lambda');
    if (lambdaValue < 0 || lambdaValue > 1) {
      throw invalidArgument('lambda must be between 0 and 1');
    }
    if (typeof perBus !== 'string' || typeof revisionReason !== 'string') {
      throw invalidArgument('perBus and revisionReason must be strings (empty when unused)');
    }
    const perBusLambdas = parsePerBusLambdas(perBus);
    const slot = await loadSlot(ctx, id);
    const knownBuses = new Set([...slot.expected.map((e) => e.bus), ...slot.prices.buses.map((p) => p.bus)]);
    const unknownBus = perBusLambdas.find((entry) => !knownBuses.has(entry.bus));
    if (unknownBus !== undefined) {
      throw invalidArgument(`perBus names bus ${unknownBus.bus}, which is not part of slot ${id}`);
    }
    if (slot.settledAt !== undefined) {
      throw failedPrecondition(`slot ${id} is settled; its dispatch can no longer change`);
    }
    const aggregates = await loadAggregates(ctx, id);
    const now = ctx.now;
    if (now < new Date(slot.deadline) && !allAggregatesPublished(slot, aggregates)) {
      throw failedPrecondition(
        `slot ${id} has no complete set of aggregates yet; dispatch after they are published or after the deadline ${slot.deadline}`,
      );
    }
    let revision = 0;
    let reason: string | undefined;
    if (slot.dispatch !== undefined) {
      if (revisionReason === '') {
        throw conflict(
          `slot ${id} is already dispatched (revision ${slot.dispatch.revision}); a new λ must be an explicit revision with a reason`,
        );
      }
      revision = slot.dispatch.revision + 1;
      reason = parseReason(revisionReason, 'revisionReason', 500);
    } else if (revisionReason !== '') {
      throw invalidArgument(`slot ${id} has no dispatch to revise; leave revisionReason empty`);
    }
    const missing = slot.expected
      .filter((e) => !aggregates.some((agg) => agg.org === e.org && agg.bus === e.bus && agg.published))
      .map(({ org, bus }) => ({ org, bus }));
    const dispatch: DispatchRecord = {
      lambda: lambdaValue,
      perBus: perBusLambdas,
      revision,
      ...(reason === undefined ? {} : { reason }),
      publishedAt: isoTime(now),
      txId: ctx.stub.getTxID(),
      missing,
    };
    const updated: SlotRecord = { ...slot, dispatch };
    await writeState(ctx.stub, ctx.keys.slot(id), updated);
    ctx.stub.setEvent(
      SlotEvents.dispatchPublished,
      canonicalBytes({ slotId: id, lambda: lambdaValue, perBus: perBusLambdas, revision }),
    );
    return canonicalJson(slotView(updated, aggregates, now));
  }

  /**
   * Paper eq. (1) for one home, evaluated on its utility's peer for the utility's relay: the
   * home's allowed power and the λ that applies to its bus, nothing about any other home.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Param('homeRef', 'string', "the home's reference for this slot, from GetHomeRef")
  @Returns('string')
  async GetAllowedPower(ctx: HemsContext, slotId: string, homeRef: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetAllowedPower', ['relay']);
    const id = parseSlotId(slotId);
    const ref = parseHomeRef(homeRef);
    const slot = await loadSlot(ctx, id);
    if (slot.dispatch === undefined) {
      throw failedPrecondition(`slot ${id} has no dispatch yet`);
    }
    const bytes = await readPrivate(ctx.stub, collectionOf(caller.mspId), ctx.keys.forecast(id, ref));
    if (bytes === undefined) {
      throw notFound(`no forecast of this home is held for slot ${id}`);
    }
    const forecast = storedForecastFromBytes(bytes);
    const lambda =
      slot.dispatch.perBus.find((entry) => entry.bus === forecast.bus)?.lambda ?? slot.dispatch.lambda;
    return canonicalJson({
      slotId: id,
      lambda,
      allowedKw: allowedPowerKw(lambda, forecast.lower, forecast.upper),
      revision: slot.dispatch.revision,
    });
  }

  /**
   * A home's report of the power it draws once λ is published: the device signs
   * {slotId, drawnKw, nonce} and the utility's relay forwards it in transient data (`payload`,
   * `signature`, `certificate`, verified like a forecast). Accepted from the slot's dispatch until
   * it is settled — the window in which the allowed power applies and the home's forecast is
   * still held (PurgeForecasts may remove it only after settlement or retention). The contract
   * computes the home's allowed power from its forecast and λ and stores the report with its
   * compliance privately; the response, written into the block, carries neither.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the report itself is in transient data')
  @Returns('string')
  async ReportConsumption(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReportConsumption', ['relay']);
    const org = caller.mspId;
    const id = parseSlotId(slotId);
    const slot = await loadSlot(ctx, id);
    const dispatch = this.openForConsumption(slot);

    const { device, payload: payloadBytes } = await verifySignedDevicePayload(
      ctx,
      org,
      MAX_PAYLOAD_BYTES,
      'consumption report',
    );
    const settings = await ctx.settings();
    const payload = parseConsumptionPayload(payloadBytes, settings.maxHomeKw);
    if (payload.slotId !== id) {
      throw invalidArgument('payload.slotId does not match the slotId argument');
    }

    const collection = collectionOf(org);
    const homeRef = homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId);
    const forecastBytes = await readPrivate(ctx.stub, collection, ctx.keys.forecast(id, homeRef));
    if (forecastBytes === undefined) {
      throw notFound(
        `no forecast of this home is held for slot ${id}, so it has no allowed power to report against`,
      );
    }
    const forecast = storedForecastFromBytes(forecastBytes);
    const reportKey = ctx.keys.consumption(id, homeRef);
    if ((await readPrivate(ctx.stub, collection, reportKey)) !== undefined) {
      throw conflict(`this home has already reported its consumption for slot ${id}`);
    }
    // Same nonce space as forecasts: a device nonce is used once per slot, whatever it signed.
    const nonceKey = ctx.keys.forecastNonce(id, sha256Hex(decodeNonce(payload.nonce)));
    if ((await readPrivate(ctx.stub, collection, nonceKey)) !== undefined) {
      throw conflict('the payload nonce was already used: every report needs a fresh random nonce');
    }

    const lambda = dispatch.perBus.find((entry) => entry.bus === forecast.bus)?.lambda ?? dispatch.lambda;
    const allowedKw = allowedPowerKw(lambda, forecast.lower, forecast.upper);
    const now = ctx.now;
    const report: StoredConsumption = {
      slotId: id,
      bus: forecast.bus,
      drawnKw: payload.drawnKw,
      allowedKw,
      // Compared in integer watts, so float noise cannot flip the verdict.
      compliant: kwToWatts(payload.drawnKw) <= kwToWatts(allowedKw) + COMPLIANCE_TOLERANCE_WATTS,
      nonce: payload.nonce,
      reportedAt: isoTime(now),
    };
    await writePrivate(ctx.stub, collection, reportKey, report);
    await writePrivate(ctx.stub, collection, nonceKey, { txId: ctx.stub.getTxID() });
    return canonicalJson({ slotId: id, txId: ctx.stub.getTxID(), recordedAt: report.reportedAt });
  }

  /** The dispatch of a slot that takes consumption reports and summaries: dispatched, not settled. */
  private openForConsumption(slot: SlotRecord): DispatchRecord {
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
   * The home references of this utility's consumption reports in a slot, evaluated on its own peer
   * for its relay or admin: the read-only first step of PublishConsumption (see ListForecastRefs).
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async ListConsumptionRefs(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListConsumptionRefs', ['relay', 'admin']);
    const id = parseSlotId(slotId);
    const rows = await drain(
      ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(caller.mspId), KeyType.consumption, [id]),
    );
    const refs = rows.map((row) => ctx.stub.splitCompositeKey(row.key).attributes[1] ?? '').sort(compareText);
    return canonicalJson({ slotId: id, refs });
  }

  /**
   * Publishes this utility's consumption summary of one bus into its aggregate record of the slot
   * (the key OpenSlot gave a policy naming this utility's peer): {homes, drawnKw: Σ, nonCompliant},
   * only the home count below k. Transient field `refs`: the list from ListConsumptionRefs — all
   * of the org's reports in the slot, read whatever their bus so the read set does not tell which
   * reports belong to which bus. May be re-published as more homes report, until settlement.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Param('bus', 'string', 'feeder bus identifier')
  @Returns('string')
  async PublishConsumption(ctx: HemsContext, slotId: string, bus: string): Promise<string> {
    const { org, settings, id, busId, slot, key, aggregateBytes } = await this.loadOwnAggregate(
      ctx,
      'PublishConsumption',
      slotId,
      bus,
    );
    this.openForConsumption(slot);
    const aggregate = aggregateFromBytes(aggregateBytes);

    const listed = await this.listedRecords(
      ctx,
      org,
      (ref) => ctx.keys.consumption(id, ref),
      'consumption report',
      id,
    );
    const reports = listed
      .map(({ bytes }) => storedConsumptionFromBytes(bytes))
      .filter((r) => r.bus === busId);
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
      SlotEvents.consumptionPublished,
      canonicalBytes({ slotId: id, org, bus: busId, homes, withheld }),
    );
    return canonicalJson(updated);
  }

  /**
   * The slot's home reference of the device whose certificate is in transient field
   * `certificate`, evaluated on the utility's peer for its relay (the relay authenticated the
   * device by mTLS). Evaluations are not ordered, so the reference never reaches the ledger.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetHomeRef(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetHomeRef', ['relay']);
    const id = parseSlotId(slotId);
    const org = caller.mspId;
    const pem = Buffer.from(requireTransient(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES)).toString('utf8');
    const device = await verifyDevice(ctx, org, pem);
    return canonicalJson({
      slotId: id,
      homeRef: homeReference(await loadHomeRefSecret(ctx, org), id, device.homeId),
      bus: device.bus,
    });
  }

  /** Marks a dispatched slot settled after its delivery; its private forecasts may then be purged. */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async SettleSlot(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireDso('SettleSlot');
    const id = parseSlotId(slotId);
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
    ctx.stub.setEvent(SlotEvents.settled, canonicalBytes({ slotId: id, settledAt: updated.settledAt }));
    return canonicalJson(slotView(updated, await loadAggregates(ctx, id), now));
  }

  /**
   * P5: purges this utility's private forecasts of a slot, their homes' consumption reports, and
   * the nonce markers of both, once the slot is settled or its retention has run out. Transient field `refs`: the
   * list from ListForecastRefs(slotId, ''). The hashes stay in the blocks; the collection's
   * blockToLive is the backstop for anything not purged (e.g. markers of replaced forecasts,
   * which hold only a transaction id).
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async PurgeForecasts(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PurgeForecasts', ['relay', 'admin']);
    const id = parseSlotId(slotId);
    const slot = await loadSlot(ctx, id);
    const settings = await ctx.settings();
    const retentionEnds = new Date(new Date(slot.deadline).getTime() + settings.retentionSeconds * 1000);
    if (slot.settledAt === undefined && ctx.now < retentionEnds) {
      throw failedPrecondition(
        `slot ${id} is neither settled nor past its retention (until ${isoTime(retentionEnds)}); its forecasts are kept`,
      );
    }
    const collection = collectionOf(caller.mspId);
    const listed = await this.listedForecasts(ctx, caller.mspId, id);
    let purgedReports = 0;
    for (const { ref, forecast } of listed) {
      await ctx.stub.purgePrivateData(collection, ctx.keys.forecast(id, ref));
      await ctx.stub.purgePrivateData(
        collection,
        ctx.keys.forecastNonce(id, sha256Hex(decodeNonce(forecast.nonce))),
      );
      // A consumption report exists only for a home with a forecast, under the same reference.
      const reportKey = ctx.keys.consumption(id, ref);
      const reportBytes = await readPrivate(ctx.stub, collection, reportKey);
      if (reportBytes !== undefined) {
        const report = storedConsumptionFromBytes(reportBytes);
        await ctx.stub.purgePrivateData(collection, reportKey);
        await ctx.stub.purgePrivateData(
          collection,
          ctx.keys.forecastNonce(id, sha256Hex(decodeNonce(report.nonce))),
        );
        purgedReports += 1;
      }
    }
    return canonicalJson({
      slotId: id,
      org: caller.mspId,
      purgedForecasts: listed.length,
      purgedConsumptionReports: purgedReports,
    });
  }

  /** P4: every version of the slot's public records (slot, aggregates) with tx id and time. */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetSlotHistory(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireMember('GetSlotHistory');
    const id = parseSlotId(slotId);
    const slot = await loadSlot(ctx, id);
    const records: { key: string; record: string }[] = [{ key: ctx.keys.slot(id), record: 'slot' }];
    for (const { org, bus } of slot.expected) {
      records.push({ key: ctx.keys.aggregate(id, org, bus), record: `aggregate ${org} ${bus}` });
    }
    const entries = [];
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
    return canonicalJson({ slotId: id, entries });
  }

  /**
   * P4 proof of submission: a home reveals its forecast {slotId, bus, lower, upper, nonce} in
   * transient field `revealed`; the contract compares its canonical SHA-256 with the hash Fabric
   * keeps on every peer for the home's private key. Works on peers outside the collection.
   */
  @Transaction(false)
  @Param('org', 'string', "the home's utility MSP id")
  @Param('slotId', 'string', 'slot identifier')
  @Param('homeRef', 'string', "the home's reference")
  @Returns('string')
  async VerifyForecastProof(ctx: HemsContext, org: string, slotId: string, homeRef: string): Promise<string> {
    await ctx.requireMember('VerifyForecastProof');
    const utility = parseMspId(org, 'org');
    const settings = await ctx.settings();
    if (!settings.utilityMspIds.includes(utility)) {
      throw invalidArgument(`${utility} is not a utility organization of this channel`);
    }
    const id = parseSlotId(slotId);
    const ref = parseHomeRef(homeRef);
    const revealed = parseRevealedForecast(
      parseJsonArgument(
        Buffer.from(requireTransient(ctx, 'revealed', MAX_PAYLOAD_BYTES)).toString('utf8'),
        'revealed',
        MAX_PAYLOAD_BYTES,
      ),
      settings.maxHomeKw,
    );
    if (revealed.slotId !== id) {
      throw invalidArgument('revealed.slotId does not match the slotId argument');
    }
    const onChain = Buffer.from(
      await ctx.stub.getPrivateDataHash(collectionOf(utility), ctx.keys.forecast(id, ref)),
    );
    if (onChain.length === 0) {
      // The same answer as a mismatch: the check must not tell whether a reference exists.
      return canonicalJson({ slotId: id, org: utility, match: false, reason: NO_MATCH });
    }
    const computed = Buffer.from(sha256Hex(canonicalBytes(revealed)), 'hex');
    const match = computed.length === onChain.length && timingSafeEqual(computed, onChain);
    return canonicalJson(
      match
        ? { slotId: id, org: utility, match }
        : {
            slotId: id,
            org: utility,
            match,
            reason: NO_MATCH,
          },
    );
  }
}

import { Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, parseEmergencyLevel, parseHomeRef, parseSlotId, parseTxId } from '@hems/protocol';
import { HemsContext } from '../lib/context';
import { HemsContract } from '../lib/contract';
import { KeyType } from '../lib/keys';
import { parsePageRequest } from '../lib/paging';
import { loadOwnAggregate, publishAggregate } from './aggregation';
import { publishConsumption } from './consumption';
import { reportConsumption, reportConsumptionBatch } from './consumption-reports';
import { allowedPower, allowedPowers } from './allowed-power';
import { parseDispatchRequest, publishDispatch } from './dispatch';
import { declareEmergency } from './emergency';
import { batchNonces, listBatches, submitForecastBatch } from './forecast-batches';
import { homeRefOfDevice, homeRefsOfHomes, submitForecast } from './forecasts';
import { privateRefs } from './home-refs';
import { forecastProof, parseUtilityOrg, verifyForecastProof } from './proofs';
import { purgeForecasts, settleSlot, slotHistory } from './retention';
import { listSlots, openSlot, parseSlotTerms, slotViewOf } from './slots';
import { recordMeterReadings } from './meter-readings';

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
export class TimeslotContract extends HemsContract {
  constructor() {
    super('timeslot');
  }

  /** DSO `submitPrice`: opens a slot with its forecast deadline and per-bus price ranges. */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier, e.g. 2026-11-21T10:15Z')
  @Param('deadline', 'string', 'RFC 3339 time when forecast submission closes')
  @Param('prices', 'string', 'JSON {"default":{"lower","upper"},"buses":[{"bus","lower","upper"}]}, per MWh')
  @Param(
    'schedule',
    'string',
    'JSON {"deliveryStart","deliveryEnd","period":"peak|mid-peak|off-peak"}, or empty',
  )
  @Returns('string')
  async OpenSlot(
    ctx: HemsContext,
    slotId: string,
    deadline: string,
    prices: string,
    schedule: string,
  ): Promise<string> {
    await ctx.requireDso('OpenSlot');
    const id = parseSlotId(slotId);
    return canonicalJson(await openSlot(ctx, id, parseSlotTerms(deadline, prices, schedule, ctx.now)));
  }

  /** `getPrice` / `getLambda`: the slot's public record with derived status, aggregates and λ. */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetSlot(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireMember('GetSlot');
    return canonicalJson(await slotViewOf(ctx, parseSlotId(slotId)));
  }

  /** Slots in key order, a page at a time. */
  @Transaction(false)
  @Param('pageSize', 'string', 'number of slots per page, 1-100')
  @Param('bookmark', 'string', 'bookmark from the previous page, or empty for the first page')
  @Returns('string')
  async ListSlots(ctx: HemsContext, pageSize: string, bookmark: string): Promise<string> {
    await ctx.requireMember('ListSlots');
    const { items, fetched, bookmark: next } = await listSlots(ctx, parsePageRequest(pageSize, bookmark));
    return canonicalJson({ slots: items, fetched, bookmark: next });
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
    return canonicalJson(await submitForecast(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * The relay's batch path: many device-signed forecasts in one transaction, transient field
   * `items` = JSON [{payload, signature (base64), certificate (PEM)}], at most 1,000. Every item is
   * verified on its own and a bad one is refused alone; the accepted ones are stored as one private
   * batch record. The answer, written into the block, holds counts and the refused items' positions
   * with code and message — never a home, value or nonce.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the forecasts themselves are in transient data')
  @Returns('string')
  async SubmitForecasts(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SubmitForecasts', ['relay']);
    return canonicalJson(await submitForecastBatch(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * The transaction ids of this utility's forecast batches in a slot and their item count,
   * evaluated on its own peer for its relay or admin. Fabric refuses any write in a transaction
   * that range-queries private data, so aggregation and purging run in two steps: this read-only
   * listing, then PublishAggregate / PurgeForecasts with the list in transient data, which
   * point-read every listed batch (and so are MVCC-checked).
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async ListForecastBatches(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListForecastBatches', ['relay', 'admin']);
    const id = parseSlotId(slotId);
    return canonicalJson({ slotId: id, ...(await listBatches(ctx, caller.mspId, id)) });
  }

  /**
   * What a restarted relay needs to tell a device's retry from a replay: per batch of this
   * utility in a slot, its transaction id and time and, per item, the first 128 bits of the
   * SHA-256 of its nonce and of its Merkle leaf (the stored forecast). Evaluated on its own peer
   * for its relay; never ordered.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async ListForecastNonces(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListForecastNonces', ['relay']);
    const id = parseSlotId(slotId);
    return canonicalJson({ slotId: id, batches: await batchNonces(ctx, caller.mspId, id) });
  }

  /**
   * `getAgg`: sums the forecasts of one bus held by this peer's utility and publishes
   * {homes, lower: ΣLmin, upper: ΣLmax}, or only the home count when fewer than k homes submitted.
   * Allowed after the deadline, or earlier once every enrolled home of the bus has submitted.
   * Transient field `batches`: the JSON list from ListForecastBatches(slotId) — all of the org's
   * forecast batches in the slot; each home counts once, with its latest forecast. The utility's gateway runs both steps, at the deadline or when the DSO
   * asks it to.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Param('bus', 'string', 'feeder bus identifier')
  @Returns('string')
  async PublishAggregate(ctx: HemsContext, slotId: string, bus: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PublishAggregate', ['relay', 'admin']);
    const own = await loadOwnAggregate(ctx, caller.mspId, parseSlotId(slotId), bus);
    return canonicalJson(await publishAggregate(ctx, own));
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
    return canonicalJson(
      await publishDispatch(ctx, id, parseDispatchRequest(lambda, perBus, revisionReason)),
    );
  }

  /**
   * Paper eq. (1) for one home, evaluated on its utility's peer for the utility's relay: the
   * home's allowed power and the λ that applies to its bus, nothing about any other home. Under a
   * declared emergency the allowance is the emergency's and the answer carries `emergencyLevel`.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Param('homeRef', 'string', "the home's reference for this slot, from GetHomeRef")
  @Returns('string')
  async GetAllowedPower(ctx: HemsContext, slotId: string, homeRef: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetAllowedPower', ['relay']);
    const id = parseSlotId(slotId);
    return canonicalJson(await allowedPower(ctx, caller.mspId, id, parseHomeRef(homeRef)));
  }

  /**
   * Every home's allowed power of this utility in a dispatched slot, evaluated on its own peer for
   * its relay, which then answers its devices from memory: rows [home reference, allowed kW, λ,
   * index into `batches`], the batch being the one holding the home's forecast in effect.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetAllowedPowers(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetAllowedPowers', ['relay']);
    return canonicalJson(await allowedPowers(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * A home's report of the power it draws once λ is published: the device signs
   * {slotId, drawnKw, nonce} and the utility's relay forwards it in transient data (`payload`,
   * `signature`, `certificate`, verified like a forecast). Accepted from the slot's dispatch until
   * it is settled — the window in which the allowed power applies and the home's forecast is
   * still held (PurgeForecasts may remove it only after settlement or retention). Transient
   * `forecastBatch` names the batch holding the home's forecast in effect (from GetAllowedPowers).
   * The contract computes the home's allowed power from its forecast and λ and stores the report
   * with its compliance privately; the response, written into the block, carries neither.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the report itself is in transient data')
  @Returns('string')
  async ReportConsumption(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReportConsumption', ['relay']);
    return canonicalJson(await reportConsumption(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * The relay's batch path for consumption reports: transient `items` = JSON [{payload, signature
   * (base64), certificate (PEM), forecastBatch}], at most 1,000, each verified and refused alone
   * as ReportConsumption verifies one. The answer, written into the block, holds counts and the
   * refused items' positions with code and message — never a home, value or nonce.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the reports themselves are in transient data')
  @Returns('string')
  async ReportConsumptions(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ReportConsumptions', ['relay']);
    return canonicalJson(await reportConsumptionBatch(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * The meter head-end's readings of this utility's homes in a dispatched slot (transient
   * `readings`: [{homeId, energyWh}]), stored privately under each home's per-slot reference;
   * PublishConsumption sums them and flags device reports that disagree. Answers counts and
   * per-item refusals, never a home or a value.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier; the readings are in transient data')
  @Returns('string')
  async RecordMeterReadings(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RecordMeterReadings', ['meter']);
    return canonicalJson(await recordMeterReadings(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * A grid emergency for the slot, declared by the DSO before its dispatch: every home's allowance
   * becomes Lmin + (allowed − Lmin) × share, share 1/2, 1/4 or 0 at level 1, 2 or 3, so its
   * essential load (its own forecast lower bound) keeps running. A later declaration may raise the
   * level, never lower it. Only the level goes into the public slot record.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Param('level', 'string', '"1", "2" or "3"')
  @Returns('string')
  async DeclareEmergency(ctx: HemsContext, slotId: string, level: string): Promise<string> {
    await ctx.requireDso('DeclareEmergency');
    const id = parseSlotId(slotId);
    return canonicalJson(await declareEmergency(ctx, id, parseEmergencyLevel(level)));
  }

  /**
   * The home references of this utility's consumption reports in a slot, evaluated on its own peer
   * for its relay or admin: the read-only first step of PublishConsumption (see ListForecastBatches).
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async ListConsumptionRefs(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListConsumptionRefs', ['relay', 'admin']);
    const id = parseSlotId(slotId);
    return canonicalJson({ slotId: id, refs: await privateRefs(ctx, caller.mspId, KeyType.consumption, id) });
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
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PublishConsumption', ['relay', 'admin']);
    const own = await loadOwnAggregate(ctx, caller.mspId, parseSlotId(slotId), bus);
    return canonicalJson(await publishConsumption(ctx, own));
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
    return canonicalJson(await homeRefOfDevice(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /**
   * The slot's home references of many homes at once (transient `homes`: JSON array of up to 1,000
   * home ids), in order, null for a malformed id, evaluated on the utility's own peer for its
   * relay: how it learns the references of a batch's homes to answer their allowed powers from
   * memory. Evaluations are not ordered, so neither ids nor references reach the ledger.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetHomeRefs(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetHomeRefs', ['relay']);
    const id = parseSlotId(slotId);
    return canonicalJson({ slotId: id, refs: await homeRefsOfHomes(ctx, caller.mspId, id) });
  }

  /** Marks a dispatched slot settled after its delivery; its private forecasts may then be purged. */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async SettleSlot(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireDso('SettleSlot');
    return canonicalJson(await settleSlot(ctx, parseSlotId(slotId)));
  }

  /**
   * P5: purges this utility's private forecast batches of a slot, their homes' consumption
   * reports and those reports' nonce markers, once the slot is settled or its retention has run
   * out. Transient field `batches`: the list from ListForecastBatches(slotId), or part of it. The
   * hashes stay in the blocks; the collection's blockToLive is the backstop for anything not
   * purged.
   */
  @Transaction()
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async PurgeForecasts(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PurgeForecasts', ['relay', 'admin']);
    return canonicalJson(await purgeForecasts(ctx, caller.mspId, parseSlotId(slotId)));
  }

  /** P4: every version of the slot's public records (slot, aggregates) with tx id and time. */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetSlotHistory(ctx: HemsContext, slotId: string): Promise<string> {
    await ctx.requireMember('GetSlotHistory');
    return canonicalJson(await slotHistory(ctx, parseSlotId(slotId)));
  }

  /**
   * P4: the proof of submission of the forecast in effect of the device whose certificate is in
   * transient `certificate`, evaluated on its utility's peer for the relay to hand to the device:
   * {batch, index, count, path, forecast}. The path holds only hashes of other homes' items.
   */
  @Transaction(false)
  @Param('slotId', 'string', 'slot identifier')
  @Returns('string')
  async GetForecastProof(ctx: HemsContext, slotId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetForecastProof', ['relay']);
    const { slotId: id, homeRef } = await homeRefOfDevice(ctx, caller.mspId, parseSlotId(slotId));
    return canonicalJson(await forecastProof(ctx, caller.mspId, id, homeRef));
  }

  /**
   * P4 proof of submission: a home reveals its forecast {slotId, bus, lower, upper, nonce} with its
   * position and Merkle path in a batch (transient `revealed` = {forecast, index, count, path}); the
   * contract compares the root they lead to with the hash Fabric keeps on every peer for the
   * batch's root record. Works on peers outside the collection.
   */
  @Transaction(false)
  @Param('org', 'string', "the home's utility MSP id")
  @Param('slotId', 'string', 'slot identifier')
  @Param('batch', 'string', 'transaction id of the batch holding the forecast')
  @Returns('string')
  async VerifyForecastProof(ctx: HemsContext, org: string, slotId: string, batch: string): Promise<string> {
    await ctx.requireMember('VerifyForecastProof');
    const utility = await parseUtilityOrg(ctx, org);
    const id = parseSlotId(slotId);
    return canonicalJson(await verifyForecastProof(ctx, utility, id, parseTxId(batch, 'batch')));
  }
}

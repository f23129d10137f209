import { Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson, parseSlotId } from '@hems/protocol';
import { HemsContext } from '../lib/context';
import { HemsContract } from '../lib/contract';
import { KeyType } from '../lib/keys';
import { parsePageRequest, readPage } from '../lib/paging';
import { auditEvent } from './audit';
import { declareEvent, drEventFromBytes, drEventView, loadDrEvent, parseEventTerms } from './events';
import { recordMeterDays } from './meter-history';
import { myReward } from './my-reward';
import { payRewards } from './rewards';
import { publishRewardTotals } from './totals';

/** Event ids follow the slot ids' form. */
const parseEventId = (value: string): string => parseSlotId(value, 'eventId');

/**
 * Demand response that pays (docs/demand-response.md): the meter head-end's private daily
 * history, the DSO's events over peak slots, and each utility's rewards for its homes' reductions
 * below their baselines, computed on its own peer and paid out of its allotment of the event.
 */
@Info({ title: 'DrContract', description: 'Demand-response events, private baselines and rewards' })
export class DrContract extends HemsContract {
  constructor() {
    super('dr');
  }

  /**
   * Meter head-end, on its utility's peer: stores daily readings (transient `days`: JSON
   * [{homeId, bus, date, intervalsWh: 96 Wh, holiday?}], at most 200) in the home's private
   * history. Answers counts and per-item refusals, never a home or a reading.
   */
  @Transaction()
  @Returns('string')
  async RecordMeterDays(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RecordMeterDays', ['meter']);
    return canonicalJson(await recordMeterDays(ctx, caller.mspId));
  }

  /**
   * DSO: declares an event over peak slots of one day with a baseline method, a rate per kWh of
   * reduction and a budget out of its pool, split into per-utility allotments. Majority-endorsed.
   */
  @Transaction()
  @Param('eventId', 'string', 'event identifier, in the form of a slot id')
  @Param('terms', 'string', 'JSON {"slotIds":[…],"method","rate" (currency per kWh),"budget" (currency)}')
  @Returns('string')
  async DeclareEvent(ctx: HemsContext, eventId: string, terms: string): Promise<string> {
    const caller = await ctx.requireDso('DeclareEvent');
    return canonicalJson(
      await declareEvent(ctx, caller.mspId, parseEventId(eventId), parseEventTerms(terms)),
    );
  }

  /** Any member: an event and every utility's allotment. */
  @Transaction(false)
  @Param('eventId', 'string', 'event identifier')
  @Returns('string')
  async GetEvent(ctx: HemsContext, eventId: string): Promise<string> {
    await ctx.requireMember('GetEvent');
    return canonicalJson(await drEventView(ctx, await loadDrEvent(ctx, parseEventId(eventId))));
  }

  /** Any member: events in key order, a page at a time. */
  @Transaction(false)
  @Param('pageSize', 'string', 'number of events per page, 1-100')
  @Param('bookmark', 'string', 'bookmark from the previous page, or empty for the first page')
  @Returns('string')
  async ListEvents(ctx: HemsContext, pageSize: string, bookmark: string): Promise<string> {
    await ctx.requireMember('ListEvents');
    const page = await readPage(ctx, KeyType.drEvent, parsePageRequest(pageSize, bookmark), (row) =>
      Promise.resolve(drEventFromBytes(row.value)),
    );
    return canonicalJson({ events: page.items, fetched: page.fetched, bookmark: page.bookmark });
  }

  /**
   * Utility relay or admin, on its own peer: computes and pays the rewards of the homes in
   * transient `homeIds` (JSON, at most 500) out of its allotment, each home once.
   */
  @Transaction()
  @Param('eventId', 'string', 'event identifier')
  @Returns('string')
  async PayRewards(ctx: HemsContext, eventId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PayRewards', ['admin', 'relay']);
    return canonicalJson(await payRewards(ctx, caller.mspId, parseEventId(eventId)));
  }

  /** Utility relay or admin, on its own peer: closes its payments and publishes per-bus totals. */
  @Transaction()
  @Param('eventId', 'string', 'event identifier')
  @Returns('string')
  async PublishRewardTotals(ctx: HemsContext, eventId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('PublishRewardTotals', ['admin', 'relay']);
    return canonicalJson(await publishRewardTotals(ctx, caller.mspId, parseEventId(eventId)));
  }

  /**
   * Relay, on its utility's peer (evaluate): the baseline, metered energy and reward of the
   * device whose certificate is in transient `certificate`.
   */
  @Transaction(false)
  @Param('eventId', 'string', 'event identifier')
  @Returns('string')
  async GetMyReward(ctx: HemsContext, eventId: string): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetMyReward', ['relay']);
    return canonicalJson(await myReward(ctx, caller.mspId, parseEventId(eventId)));
  }

  /** Any member (an auditor's check): recomputes the public parts of an event's rewards. */
  @Transaction(false)
  @Param('eventId', 'string', 'event identifier')
  @Returns('string')
  async AuditEvent(ctx: HemsContext, eventId: string): Promise<string> {
    await ctx.requireMember('AuditEvent');
    return canonicalJson(await auditEvent(ctx, parseEventId(eventId)));
  }
}

import {
  canonicalBytes,
  collectionOf,
  conflict,
  ContractError,
  DR_EVENTS,
  failedPrecondition,
  forbidden,
  invalidArgument,
  parseHomeId,
  parseJsonArgument,
  requireArray,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writePrivate, writeState } from '../lib/state';
import { refusalOf, type ItemRefusal } from '../lib/signed-batch';
import { requireTransientText } from '../lib/transient';
import { loadHomeRefSecret } from '../governance/records';
import { accountIdOf, hmacHex } from '../auction/references';
import { loadSlot } from '../timeslot/records';
import { TokenBook } from '../token/token-ledger';
import { loadAllotment, type AllotmentRecord, type RewardPayment } from './allotments';
import { loadDrEvent, type DrEventRecord } from './events';
import { computeHomeResult, eventDates, loadHomeResult, resultRef, type HomeResult } from './home-results';

/** Homes per PayRewards: each costs two private reads, one public read and two writes. */
export const MAX_REWARD_HOMES = 500;
const MAX_HOME_IDS_BYTES = MAX_REWARD_HOMES * 132 + 2;

export interface RewardsReceipt {
  readonly eventId: string;
  readonly txId: string;
  readonly accepted: number;
  /** Value units paid by this transaction. */
  readonly paid: string;
  readonly refused: readonly ItemRefusal[];
}

/** Per-bus sums of one reward batch, kept private until the utility publishes its totals. */
export interface BusSums {
  homes: number;
  baselineWh: number;
  meteredWh: number;
  reductionWh: number;
  reward: string;
}

export interface RewardBatchRecord {
  readonly eventId: string;
  readonly txId: string;
  readonly buses: Readonly<Record<string, BusSums>>;
  readonly salt: string;
}

export async function openAllotment(
  ctx: HemsContext,
  org: string,
  event: DrEventRecord,
): Promise<AllotmentRecord> {
  const allotment = await loadAllotment(ctx, event.eventId, org);
  if (allotment === undefined) {
    throw failedPrecondition(`event ${event.eventId} has no allotment for ${org}`);
  }
  return allotment;
}

/**
 * Days after the event day during which its rewards are paid. The paid-once markers are private
 * records, which the collection's blockToLive purges eventually: payments close well before.
 */
export const PAYMENT_DAYS = 3;
const DAY_MS = 86_400_000;

/** Rewards are paid after the event day is over and within PAYMENT_DAYS of it. */
function requirePaymentWindow(ctx: HemsContext, event: DrEventRecord): void {
  const dayEnd = Date.parse(`${event.date}T00:00:00Z`) + DAY_MS;
  if (ctx.now.getTime() < dayEnd) {
    throw failedPrecondition(`rewards of event ${event.eventId} are paid once its day is over and metered`);
  }
  if (ctx.now.getTime() > dayEnd + PAYMENT_DAYS * DAY_MS) {
    throw failedPrecondition(
      `rewards of event ${event.eventId} were payable for ${PAYMENT_DAYS} days after its day; payments are closed`,
    );
  }
}

/** Rewards are computed once every slot of the event is dispatched: its homes knew their limits. */
async function requireDispatched(ctx: HemsContext, event: DrEventRecord): Promise<void> {
  for (const slotId of event.slotIds) {
    if ((await loadSlot(ctx, slotId)).dispatch === undefined) {
      throw failedPrecondition(`slot ${slotId} of event ${event.eventId} is not dispatched yet`);
    }
  }
}

function parseHomeIds(ctx: HemsContext): unknown[] {
  const list = requireArray(
    parseJsonArgument(
      requireTransientText(ctx, 'homeIds', MAX_HOME_IDS_BYTES),
      'homeIds',
      MAX_HOME_IDS_BYTES,
    ),
    'homeIds',
    MAX_REWARD_HOMES,
  );
  if (list.length === 0) {
    throw invalidArgument('homeIds must name at least one home');
  }
  return list;
}

function addToBus(buses: Record<string, BusSums>, result: HomeResult): void {
  const sums = (buses[result.bus] ??= { homes: 0, baselineWh: 0, meteredWh: 0, reductionWh: 0, reward: '0' });
  sums.homes += 1;
  sums.baselineWh += result.baselineTotalWh;
  sums.meteredWh += result.meteredTotalWh;
  sums.reductionWh += result.reductionWh;
  sums.reward = (BigInt(sums.reward) + BigInt(result.reward)).toString();
}

/**
 * Pays the rewards of `org`'s homes in transient `homeIds` for event `eventId`, each at most once,
 * out of the utility's allotment. Per home: its baseline from its private history, the reward
 * max(0, baseline − metered) × rate credited to its account, and a private result record. A home
 * without history, without the event day metered, without an account or already paid is refused
 * alone, by position; so is a reward the rest of the allotment no longer covers.
 */
export async function payRewards(ctx: HemsContext, org: string, eventId: string): Promise<RewardsReceipt> {
  const event = await loadDrEvent(ctx, eventId);
  const allotment = await openAllotment(ctx, org, event);
  if (allotment.totalsPublishedAt !== undefined) {
    throw failedPrecondition(`${org} has published its totals of event ${eventId}: its payments are closed`);
  }
  requirePaymentWindow(ctx, event);
  await requireDispatched(ctx, event);
  const list = parseHomeIds(ctx);
  const secret = await loadHomeRefSecret(ctx, org);
  const collection = collectionOf(org);
  const dates = await eventDates(ctx, event);
  const txId = ctx.stub.getTxID();
  const book = new TokenBook(ctx);
  const remaining = BigInt(allotment.allotted) - BigInt(allotment.paid);
  const seen = new Set<string>();
  const buses: Record<string, BusSums> = {};
  const payments: RewardPayment[] = [];
  const refused: ItemRefusal[] = [];
  let paid = 0n;
  let accepted = 0;
  for (const [index, value] of list.entries()) {
    try {
      const homeId = parseHomeId(value, `homeIds[${index}]`);
      const ref = resultRef(secret, eventId, homeId);
      if (seen.has(ref)) {
        throw conflict('the batch names this home twice');
      }
      seen.add(ref);
      if ((await loadHomeResult(ctx, org, eventId, ref)) !== undefined) {
        throw conflict(`the home's reward for event ${eventId} was already paid`);
      }
      const accountId = accountIdOf(secret, homeId);
      const result = await computeHomeResult(ctx, org, secret, event, homeId, accountId, dates);
      const reward = BigInt(result.reward);
      if (reward > 0n) {
        // Read only when there is something to credit: a home paid 0 keeps its account out of the
        // read set, so the auction's transactions on it cannot make the whole batch retry.
        const account = await book.load(accountId);
        if (account === undefined) {
          throw failedPrecondition('the home has no token account: open one with a deposit first');
        }
        if (account.mspId !== org) {
          throw forbidden('the home account belongs to another organization');
        }
      }
      if (paid + reward > remaining) {
        throw failedPrecondition(`the allotment of ${org} for event ${eventId} does not cover this reward`);
      }
      await book.reward(eventId, accountId, org, reward);
      const salt = hmacHex(secret, ['hems.drresult.salt', txId, ref]);
      await writePrivate(ctx.stub, collection, ctx.keys.drResult(eventId, ref), {
        ...result,
        salt,
        paidAt: isoTime(ctx.now),
        txId,
      });
      paid += reward;
      accepted += 1;
      addToBus(buses, result);
      if (reward > 0n) {
        payments.push({ accountId, amount: reward.toString() });
      }
    } catch (error) {
      if (!(error instanceof ContractError)) {
        throw error;
      }
      refused.push(refusalOf(error, index));
    }
  }
  if (accepted > 0) {
    // Salted: its on-chain hash must not let anyone search the sums the public totals withhold.
    const salt = hmacHex(secret, ['hems.drbatch.salt', txId]);
    const batch: RewardBatchRecord = { eventId, txId, buses, salt };
    await writePrivate(ctx.stub, collection, ctx.keys.drBatch(eventId, txId), batch);
    const next: AllotmentRecord = {
      ...allotment,
      paid: (BigInt(allotment.paid) + paid).toString(),
      homes: allotment.homes + accepted,
      rewarded: allotment.rewarded + payments.length,
      batches: [...allotment.batches, txId],
      lastPayments: payments.sort((a, b) => (a.accountId < b.accountId ? -1 : 1)),
      updatedAt: isoTime(ctx.now),
      txId,
    };
    await writeState(ctx.stub, ctx.keys.drAllotment(eventId, org), next);
    await book.flush();
    ctx.stub.setEvent(DR_EVENTS.rewardsPaid, canonicalBytes({ eventId, org, txId, homes: accepted }));
  }
  return { eventId, txId, accepted, paid: paid.toString(), refused };
}

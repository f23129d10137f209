import { formatValue } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { drain } from '../lib/state';
import { allotmentFromBytes, type AllotmentRecord } from './allotments';
import { drEventView, loadDrEvent } from './events';

/** What an auditor can check of one utility's allotment from public data alone. */
export interface AllotmentAudit {
  readonly org: string;
  readonly allotted: string;
  readonly paid: string;
  /** Σ of every payment listed in the allotment's history. */
  readonly listedPayments: string;
  readonly payments: number;
  readonly homes: number;
  readonly totalsPublished: boolean;
}

export interface EventAudit {
  readonly eventId: string;
  readonly consistent: boolean;
  readonly problems: readonly string[];
  readonly utilities: readonly AllotmentAudit[];
}

/**
 * Recomputes the public parts of an event's rewards: each allotment states what the (majority)
 * declaration allotted; each utility paid no more than that; the payments its allotment's history lists add up to
 * what it says it paid, each account at most once, each a whole multiple of the rate (reward ÷ rate
 * is a reduction in whole Wh); its published per-bus totals price each bus's reduction at the rate,
 * claim no more reduction than the bus's baseline and no more reward than was paid. What it cannot
 * check is each home's baseline: that takes the home's private history, which the home itself can
 * read (GetMyReward) and its utility can disclose to the auditor.
 */
export async function auditEvent(ctx: HemsContext, eventId: string): Promise<EventAudit> {
  const { event, allotments, unreadable } = await drEventView(ctx, await loadDrEvent(ctx, eventId));
  const problems: string[] = unreadable.map((org) => `${org}: its allotment does not parse`);
  const rate = BigInt(event.ratePriceUnits);
  for (const [org, share] of Object.entries(event.allotted)) {
    const allotment = allotments.find((entry) => entry.org === org);
    if (allotment === undefined && !unreadable.includes(org)) {
      problems.push(`${org}: its allotment is missing`);
    } else if (allotment !== undefined && allotment.allotted !== share) {
      problems.push(
        `${org}: its allotment states ${formatValue(allotment.allotted)}, not the ${formatValue(share)} the declaration allotted`,
      );
    }
  }
  const utilities: AllotmentAudit[] = [];
  for (const allotment of allotments) {
    utilities.push(await auditAllotment(ctx, allotment, rate, problems));
  }
  return { eventId, consistent: problems.length === 0, problems, utilities };
}

/** The payments every version of the allotment lists: their sum and count; problems appended. */
async function listedPayments(
  ctx: HemsContext,
  allotment: AllotmentRecord,
  rate: bigint,
  problems: string[],
): Promise<{ listed: bigint; payments: number }> {
  const { eventId, org } = allotment;
  const accounts = new Set<string>();
  let listed = 0n;
  let payments = 0;
  for (const version of await drain(ctx.stub.getHistoryForKey(ctx.keys.drAllotment(eventId, org)))) {
    let record: AllotmentRecord;
    try {
      record = allotmentFromBytes(version.value);
    } catch {
      problems.push(`${org}: a version of the allotment was deleted or does not parse`);
      continue;
    }
    for (const payment of record.lastPayments) {
      const amount = BigInt(payment.amount);
      if (accounts.has(payment.accountId)) {
        problems.push(`${org}: account ${payment.accountId} was paid twice`);
      }
      accounts.add(payment.accountId);
      if (amount <= 0n || amount % rate !== 0n) {
        problems.push(`${org}: a payment to ${payment.accountId} is not a whole multiple of the rate`);
      }
      listed += amount;
      payments += 1;
    }
  }
  return { listed, payments };
}

/** The published per-bus totals: each bus's reward is its reduction at the rate, and fits its sums. */
function busTotalProblems(allotment: AllotmentRecord, rate: bigint, problems: string[]): void {
  const { org } = allotment;
  let totalReward = 0n;
  for (const bus of allotment.totals ?? []) {
    if (bus.withheld) {
      continue;
    }
    const { baselineWh = 0, meteredWh = 0, reductionWh = 0 } = bus;
    const reward = BigInt(bus.reward ?? '0');
    totalReward += reward;
    if (reward !== BigInt(reductionWh) * rate) {
      problems.push(`${org}: bus ${bus.bus}'s reward is not its reduction at the rate`);
    }
    if (reductionWh > baselineWh || reductionWh < baselineWh - meteredWh) {
      problems.push(`${org}: bus ${bus.bus}'s reduction does not fit its baseline and metered sums`);
    }
  }
  if (totalReward > BigInt(allotment.paid)) {
    problems.push(`${org}: its bus totals claim more reward than it paid`);
  }
  const homes = (allotment.totals ?? []).reduce((sum, bus) => sum + bus.homes, 0);
  if (allotment.totals !== undefined && homes !== allotment.homes) {
    problems.push(`${org}: its bus totals count ${homes} homes, not the ${allotment.homes} it paid for`);
  }
}

async function auditAllotment(
  ctx: HemsContext,
  allotment: AllotmentRecord,
  rate: bigint,
  problems: string[],
): Promise<AllotmentAudit> {
  const { org } = allotment;
  const { listed, payments } = await listedPayments(ctx, allotment, rate, problems);
  const paid = BigInt(allotment.paid);
  if (paid > BigInt(allotment.allotted)) {
    problems.push(`${org}: paid more than its allotment`);
  }
  if (listed !== paid) {
    problems.push(
      `${org}: its payments add up to ${formatValue(listed.toString())}, not the ${formatValue(allotment.paid)} it states`,
    );
  }
  if (payments !== allotment.rewarded) {
    problems.push(
      `${org}: its history lists ${payments} payments, not the ${allotment.rewarded} homes it says it rewarded`,
    );
  }
  busTotalProblems(allotment, rate, problems);
  return {
    org,
    allotted: allotment.allotted,
    paid: allotment.paid,
    listedPayments: listed.toString(),
    payments,
    homes: allotment.homes,
    totalsPublished: allotment.totalsPublishedAt !== undefined,
  };
}

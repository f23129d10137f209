import { unitsFromStored } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain } from '../lib/state';
import { allotmentFromBytes } from './allotments';
import { drEventFromBytes } from './events';

/**
 * What demand response moved, for the token reconciliation: per DSO, the budgets its events took
 * out of its pool (majority-written event records); per utility, the rewards its allotments say
 * it paid its homes, each capped by what the event's majority-written declaration allotted it.
 * Records that do not parse, do not name their key or exceed that cap are counted, not trusted.
 */
export interface DrTokenFlows {
  readonly budgets: Map<string, bigint>;
  readonly rewards: Map<string, bigint>;
  readonly unreadable: number;
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

export async function drTokenFlows(ctx: HemsContext): Promise<DrTokenFlows> {
  const budgets = new Map<string, bigint>();
  const rewards = new Map<string, bigint>();
  /** What each declaration allotted each utility, by event id and org. */
  const allotted = new Map<string, bigint>();
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.drEvent, []))) {
    try {
      const event = drEventFromBytes(row.value);
      if (ctx.stub.splitCompositeKey(row.key).attributes[0] !== event.eventId) {
        throw new TypeError('an event record does not name its key');
      }
      add(budgets, event.dsoMspId, unitsFromStored(event.budget, 'event budget'));
      for (const [org, share] of Object.entries(event.allotted)) {
        allotted.set(`${event.eventId}\u0000${org}`, unitsFromStored(share, 'allotted'));
      }
    } catch {
      unreadable += 1;
    }
  }
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.drAllotment, []))) {
    const [eventId, org] = ctx.stub.splitCompositeKey(row.key).attributes;
    try {
      const allotment = allotmentFromBytes(row.value);
      if (allotment.eventId !== eventId || allotment.org !== org || org === undefined) {
        throw new TypeError('an allotment does not name its key');
      }
      // The utility's own peer writes `paid`: it is trusted only up to what the majority allotted.
      const paid = unitsFromStored(allotment.paid, 'paid rewards');
      const cap = allotted.get(`${eventId}\u0000${org}`) ?? 0n;
      if (paid > cap) {
        throw new RangeError('an allotment states more paid than its event allotted');
      }
      add(rewards, org, paid);
    } catch {
      unreadable += 1;
    }
  }
  return { budgets, rewards, unreadable };
}

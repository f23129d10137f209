import { unitsFromStored } from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain } from '../lib/state';
import { allotmentFromBytes } from './allotments';
import { drEventFromBytes } from './events';

/**
 * What demand response moved, for the token reconciliation: per DSO, the budgets its events took
 * out of its pool (majority-written event records); per utility, the rewards its allotments say
 * it paid its homes. Records that do not parse or do not name their key are counted, not trusted.
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
  let unreadable = 0;
  for (const row of await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.drEvent, []))) {
    try {
      const event = drEventFromBytes(row.value);
      if (ctx.stub.splitCompositeKey(row.key).attributes[0] !== event.eventId) {
        throw new TypeError('an event record does not name its key');
      }
      add(budgets, event.dsoMspId, unitsFromStored(event.budget, 'event budget'));
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
      add(rewards, org, unitsFromStored(allotment.paid, 'paid rewards'));
    } catch {
      unreadable += 1;
    }
  }
  return { budgets, rewards, unreadable };
}

/**
 * The ledger as the verification reads it, on each utility's own peer with its relay identity
 * (the forecasts, reports and orders are in the utility's private collection) and on the DSO's
 * peer for the public slot records: ListForecastNonces, GetSlot, ListConsumptionRefs, GetHomeRefs
 * and ListOrderRefs, each evaluated (never ordered). Reads are repeated for a while when a peer
 * that was just restarted does not answer yet.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { evaluateJson, type NetworkDescription } from '@hems/network-client';
import type { SlotView } from '@hems/protocol';
import { chunked } from '../bench/lib/forecasts';
import { Connections } from '../bench/lib/fabric';
import type { SentItem } from './item-log';
import type { BatchNonces, LedgerAggregate } from './verify';

const READ_ATTEMPTS = 10;
const READ_PAUSE_MS = 2000;
/** GetHomeRefs takes at most this many home ids at once. */
const HOME_REFS_CHUNK = 1000;

async function read<T>(what: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= READ_ATTEMPTS) {
        throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await delay(READ_PAUSE_MS);
    }
  }
}

export interface LedgerSnapshot {
  /** `${org} ${slotId}` → the org's forecast batches in the slot. */
  readonly batches: Map<string, BatchNonces[]>;
  /** slotId → its aggregates. */
  readonly aggregates: Map<string, LedgerAggregate[]>;
  /** `${org} ${slotId}` → the home references of the org's consumption reports. */
  readonly consumptionRefs: Map<string, string[]>;
  /** `${org} ${slotId}` → homeId → its reference in the slot. */
  readonly homeRefs: Map<string, Map<string, string | null>>;
  /** `${org} ${windowId}` → the org's stored orders in the window. */
  readonly orderCounts: Map<string, number>;
}

/** Distinct `${org} ${key}` groups of the items and their home ids. */
function groups(items: readonly SentItem[]): Map<string, { org: string; key: string; homes: Set<string> }> {
  const found = new Map<string, { org: string; key: string; homes: Set<string> }>();
  for (const item of items) {
    const group = `${item.mspId} ${item.key}`;
    const entry = found.get(group) ?? { org: item.mspId, key: item.key, homes: new Set<string>() };
    entry.homes.add(item.homeId);
    found.set(group, entry);
  }
  return found;
}

/** Reads everything the verification needs about `items` from the ledger. */
export async function readLedger(
  description: NetworkDescription,
  items: readonly SentItem[],
): Promise<LedgerSnapshot> {
  const connections = new Connections(description);
  const relays = new Map<string, ReturnType<Connections['as']>>();
  const relay = (org: string): ReturnType<Connections['as']> => {
    const existing = relays.get(org) ?? connections.as(org, 'relay');
    relays.set(org, existing);
    return existing;
  };
  const dso = connections.as('DSOMSP', 'dso-operator');
  const snapshot: LedgerSnapshot = {
    batches: new Map(),
    aggregates: new Map(),
    consumptionRefs: new Map(),
    homeRefs: new Map(),
    orderCounts: new Map(),
  };
  try {
    for (const [group, { org, key }] of groups(items.filter((item) => item.kind === 'forecast'))) {
      const answer = await read(`ListForecastNonces ${group}`, () =>
        evaluateJson<{ batches: BatchNonces[] }>(relay(org).contract(), 'ListForecastNonces', [key]),
      );
      snapshot.batches.set(group, answer.batches);
      if (!snapshot.aggregates.has(key)) {
        const view = await read(`GetSlot ${key}`, () =>
          evaluateJson<SlotView>(dso.contract(), 'GetSlot', [key]),
        );
        snapshot.aggregates.set(key, view.aggregates);
      }
    }
    for (const [group, { org, key, homes }] of groups(items.filter((item) => item.kind === 'consumption'))) {
      const listed = await read(`ListConsumptionRefs ${group}`, () =>
        evaluateJson<{ refs: string[] }>(relay(org).contract(), 'ListConsumptionRefs', [key]),
      );
      snapshot.consumptionRefs.set(group, listed.refs);
      const refOf = new Map<string, string | null>();
      for (const chunk of chunked([...homes], HOME_REFS_CHUNK)) {
        const answer = await read(`GetHomeRefs ${group}`, () =>
          evaluateJson<{ refs: (string | null)[] }>(relay(org).contract(), 'GetHomeRefs', [key], {
            homes: Buffer.from(JSON.stringify(chunk)),
          }),
        );
        chunk.forEach((homeId, index) => refOf.set(homeId, answer.refs[index] ?? null));
      }
      snapshot.homeRefs.set(group, refOf);
    }
    for (const [group, { org, key }] of groups(items.filter((item) => item.kind === 'order'))) {
      const answer = await read(`ListOrderRefs ${group}`, () =>
        evaluateJson<{ count: number }>(relay(org).contract('auction'), 'ListOrderRefs', [key]),
      );
      snapshot.orderCounts.set(group, answer.count);
    }
  } finally {
    connections.close();
  }
  return snapshot;
}

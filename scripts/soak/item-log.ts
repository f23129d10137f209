/**
 * What the simulated homes sent and what they were told: one record per signed item (a forecast,
 * a consumption report, an order), kept in this process only, and the commits and failed requests
 * over time that the unavailability is measured from.
 */
import type { LoadEvent } from './unavailability';

export const ITEM_KINDS = ['forecast', 'consumption', 'order'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/**
 * - acknowledged: the gateway answered 201 with a transaction id (after the commit)
 * - refused: a definite refusal (4xx other than in-doubt / in-use), nothing was stored for it
 * - unacknowledged: no definite answer before the device gave up (it may or may not be stored)
 */
export type ItemOutcome = 'pending' | 'acknowledged' | 'refused' | 'unacknowledged';

export interface SentItem {
  readonly id: number;
  readonly kind: ItemKind;
  readonly mspId: string;
  readonly bus: string;
  readonly homeId: string;
  /** The slot (forecasts, reports) or trading window (orders). */
  readonly key: string;
  readonly sentAt: number;
  /** A forecast's signed range and nonce: what the ledger must hold. */
  readonly forecast?: { readonly lower: number; readonly upper: number; readonly nonce: string };
  readonly side?: 'offer' | 'bid';
  outcome: ItemOutcome;
  txId?: string;
  ackAt?: number;
  /** The gateway replayed an earlier answer (same Idempotency-Key, or the same signed forecast). */
  replayed?: boolean;
  /** HTTP attempts, retries included. */
  attempts: number;
  /** The gateway answered IDEMPOTENCY_KEY_IN_DOUBT once (it died while running the request). */
  inDoubt: boolean;
  /** The last error, or the refusal. */
  error?: string;
}

export type NewItem = Omit<SentItem, 'id' | 'outcome' | 'attempts' | 'inDoubt' | 'sentAt'>;

export class ItemLog {
  readonly items: SentItem[] = [];
  readonly events: LoadEvent[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(item: NewItem): SentItem {
    const record: SentItem = {
      ...item,
      id: this.items.length + 1,
      sentAt: this.now(),
      outcome: 'pending',
      attempts: 0,
      inDoubt: false,
    };
    this.items.push(record);
    return record;
  }

  acknowledged(item: SentItem, txId: string, replayed: boolean): void {
    item.outcome = 'acknowledged';
    item.txId = txId;
    item.replayed = replayed;
    item.ackAt = this.now();
    this.events.push({ at: item.ackAt, mspId: item.mspId, kind: 'commit' });
  }

  /** A failed request of a utility's device (a retry follows or not). */
  failure(mspId: string): void {
    this.events.push({ at: this.now(), mspId, kind: 'failure' });
  }

  ofKind(kind: ItemKind): SentItem[] {
    return this.items.filter((item) => item.kind === kind);
  }

  /** Items still waiting for an answer. */
  pending(): number {
    return this.items.filter((item) => item.outcome === 'pending').length;
  }
}

/** Items grouped by utility and slot/window: `${mspId} ${key}` → items. */
export function groupByOrgAndKey(items: readonly SentItem[]): Map<string, SentItem[]> {
  const groups = new Map<string, SentItem[]>();
  for (const item of items) {
    const group = `${item.mspId} ${item.key}`;
    groups.set(group, [...(groups.get(group) ?? []), item]);
  }
  return groups;
}

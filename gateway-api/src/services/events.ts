import type { FastifyBaseLogger } from 'fastify';
import type { Caller } from '../identity/caller';
import type { ChaincodeEventSource, LedgerChaincodeEvent } from '../ledger/ports';
import { EventFeed } from './event-feed';

/** Chaincode event names (timeslot-contract.ts SlotEvents; the auction contract, docs/auction.md). */
export const CHAINCODE_EVENTS = {
  slotOpened: 'SlotOpened',
  aggregatePublished: 'AggregatePublished',
  dispatchPublished: 'DispatchPublished',
  slotSettled: 'SlotSettled',
  consumptionPublished: 'ConsumptionPublished',
  windowOpened: 'WindowOpened',
  ordersRevealed: 'OrdersRevealed',
  windowCleared: 'WindowCleared',
  windowSettled: 'WindowSettled',
  gridShareClaimed: 'GridShareClaimed',
} as const;

/** Server-sent event types of the auction's chaincode events; every payload names its window. */
export const WINDOW_EVENT_TYPES = {
  [CHAINCODE_EVENTS.windowOpened]: 'window-opened',
  [CHAINCODE_EVENTS.ordersRevealed]: 'orders-revealed',
  [CHAINCODE_EVENTS.windowCleared]: 'window-cleared',
  [CHAINCODE_EVENTS.windowSettled]: 'window-settled',
  [CHAINCODE_EVENTS.gridShareClaimed]: 'grid-share-claimed',
} as const;

export type WindowEventType = (typeof WINDOW_EVENT_TYPES)[keyof typeof WINDOW_EVENT_TYPES];

/**
 * A window event's public payload as the chaincode emits it (WindowOpened: the window's spec;
 * OrdersRevealed: org and count; WindowCleared: price and totals; WindowSettled: org and whether
 * it was the last; GridShareClaimed: grid account and amount). Only windowId is relied on; the
 * rest is passed on as it is.
 */
export type WindowEventData = Readonly<Record<string, unknown>> & { readonly windowId: string };

interface PriceRange {
  readonly lower: number;
  readonly upper: number;
}

/** SlotOpened's public payload. */
export interface SlotOpenedData {
  readonly slotId: string;
  readonly deadline: string;
  readonly prices: {
    readonly default?: PriceRange;
    readonly buses: readonly (PriceRange & { bus: string })[];
  };
  /** The (utility, bus) pairs expected to submit. */
  readonly buses: readonly { readonly org: string; readonly bus: string }[];
}

/** DispatchPublished's public payload. */
export interface DispatchPublishedData {
  readonly slotId: string;
  readonly lambda: number;
  readonly perBus: readonly { readonly bus: string; readonly lambda: number }[];
  readonly revision: number;
}

export type SlotEvent =
  | {
      readonly id: string;
      readonly blockNumber: bigint;
      readonly type: 'slot-opened';
      readonly data: SlotOpenedData;
    }
  | {
      readonly id: string;
      readonly blockNumber: bigint;
      readonly type: 'dispatch-published';
      readonly data: DispatchPublishedData;
    }
  | {
      readonly id: string;
      readonly blockNumber: bigint;
      readonly type: WindowEventType;
      readonly data: WindowEventData;
    };

/**
 * Event ids: block number, then transaction id (Fabric allows one chaincode event per
 * transaction). Ordered by block number; within a block, by the order the hub received them.
 */
export function eventId(blockNumber: bigint, transactionId: string): string {
  return `${blockNumber}-${transactionId}`;
}

function blockOfEventId(id: string): bigint | undefined {
  const match = /^(\d{1,20})-[0-9a-f]{1,128}$/.exec(id);
  return match?.[1] === undefined ? undefined : BigInt(match[1]);
}

const utf8 = new TextDecoder();

function isWindowEventName(name: string): name is keyof typeof WINDOW_EVENT_TYPES {
  return Object.prototype.hasOwnProperty.call(WINDOW_EVENT_TYPES, name);
}

/**
 * The public payload of a SlotOpened, DispatchPublished or auction window event, or undefined for
 * other events (aggregates, settlements of slots: the slot cache follows those).
 */
export function toSlotEvent(event: LedgerChaincodeEvent): SlotEvent | undefined {
  const id = eventId(event.blockNumber, event.transactionId);
  if (isWindowEventName(event.eventName)) {
    const data = JSON.parse(utf8.decode(event.payload)) as WindowEventData | null;
    if (
      typeof data !== 'object' ||
      data === null ||
      Array.isArray(data) ||
      typeof data.windowId !== 'string'
    ) {
      throw new Error(`${event.eventName} payload without windowId`);
    }
    return { id, blockNumber: event.blockNumber, type: WINDOW_EVENT_TYPES[event.eventName], data };
  }
  if (event.eventName === CHAINCODE_EVENTS.slotOpened) {
    const data = JSON.parse(utf8.decode(event.payload)) as SlotOpenedData;
    if (typeof data.slotId !== 'string' || !Array.isArray(data.buses) || !Array.isArray(data.prices?.buses)) {
      throw new Error('SlotOpened payload without slotId, buses or prices');
    }
    return { id, blockNumber: event.blockNumber, type: 'slot-opened', data };
  }
  if (event.eventName === CHAINCODE_EVENTS.dispatchPublished) {
    const data = JSON.parse(utf8.decode(event.payload)) as DispatchPublishedData;
    if (typeof data.slotId !== 'string' || typeof data.lambda !== 'number' || !Array.isArray(data.perBus)) {
      throw new Error('DispatchPublished payload without slotId, lambda or perBus');
    }
    return { id, blockNumber: event.blockNumber, type: 'dispatch-published', data };
  }
  return undefined;
}

export type CallerView = Pick<Caller, 'mspId' | 'role' | 'bus'>;

/**
 * What `caller` receives of an event. HEMS devices get only events about their own bus and only
 * that bus's prices and λ — the same projection GET /v1/slots/:slotId gives them; other roles get
 * the whole public payload. Window events are public market data: everyone gets them whole.
 * Undefined: not for this caller.
 */
export function viewOf(
  event: SlotEvent,
  caller: CallerView,
  slotBuses: (slotId: string) => SlotOpenedData['buses'] | undefined,
): object | undefined {
  if (caller.role !== 'hems' || (event.type !== 'slot-opened' && event.type !== 'dispatch-published')) {
    return event.data;
  }
  const bus = caller.bus;
  const concernsCaller = (buses: SlotOpenedData['buses']): boolean =>
    buses.some((entry) => entry.org === caller.mspId && entry.bus === bus);
  if (event.type === 'slot-opened') {
    const { slotId, deadline, prices, buses } = event.data;
    if (bus === undefined || !concernsCaller(buses)) {
      return undefined;
    }
    return {
      slotId,
      deadline,
      bus,
      prices: prices.buses.find((entry) => entry.bus === bus) ?? prices.default ?? null,
    };
  }
  const { slotId, lambda, perBus, revision } = event.data;
  // A slot opened before this gateway started is not known here; its λ is sent anyway.
  const buses = slotBuses(slotId);
  if (bus === undefined || (buses !== undefined && !concernsCaller(buses))) {
    return undefined;
  }
  return { slotId, bus, lambda: perBus.find((entry) => entry.bus === bus)?.lambda ?? lambda, revision };
}

export interface Subscriber {
  send(event: SlotEvent): void;
  /** The hub is stopping: end the stream. */
  end(): void;
}

export interface SlotEventHubOptions {
  readonly source: ChaincodeEventSource;
  /** Recent events kept for clients that reconnect with Last-Event-ID. Default 1000. */
  readonly bufferSize?: number;
  /** First block to follow (and the first one the buffer vouches for); default the next one. */
  readonly startBlock?: bigint;
  readonly log?: Pick<FastifyBaseLogger, 'warn'>;
  /**
   * Told of each slot event before any subscriber is: the slot cache drops what the event made
   * stale, so a device that reads its slot on `dispatch-published` never gets the old λ.
   */
  readonly onSlotChange?: (slotId: string, blockNumber: bigint) => void;
}

/**
 * Fans the slot events of the ledger out to server-sent-event subscribers, keeping a bounded
 * buffer of recent events so a reconnecting client can catch up from its Last-Event-ID.
 */
export class SlotEventHub {
  private readonly buffer: SlotEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** Buses of recently opened slots, to tell devices' dispatch events apart by bus. */
  private readonly slotBuses = new Map<string, SlotOpenedData['buses']>();
  private readonly bufferSize: number;
  private readonly feed: EventFeed;
  /** Every event from this block on is in the buffer (or was never emitted). */
  private coveredFrom: bigint | undefined;

  constructor(private readonly options: SlotEventHubOptions) {
    this.bufferSize = options.bufferSize ?? 1000;
    this.coveredFrom = options.startBlock;
    this.feed = new EventFeed({
      source: options.source,
      ...(options.startBlock === undefined ? {} : { startBlock: options.startBlock }),
      onEvent: (event) => this.receive(event),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  start(): void {
    this.feed.start();
  }

  /** Stops following the ledger and ends every subscriber's stream. */
  async stop(): Promise<void> {
    await this.feed.stop();
    for (const subscriber of this.subscribers) {
      subscriber.end();
    }
    this.subscribers.clear();
  }

  /** Registers a subscriber for new events; returns its unsubscribe function. */
  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  busesOf(slotId: string): SlotOpenedData['buses'] | undefined {
    return this.slotBuses.get(slotId);
  }

  /**
   * Buffered events after `lastEventId`. `reset`: the id is older than the buffer (or unknown), so
   * events may have been missed; the client should re-read the slots it cares about.
   */
  since(lastEventId: string | undefined): { events: SlotEvent[]; reset: boolean } {
    if (lastEventId === undefined) {
      return { events: [], reset: false };
    }
    const index = this.buffer.findIndex((event) => event.id === lastEventId);
    if (index >= 0) {
      return { events: this.buffer.slice(index + 1), reset: false };
    }
    const block = blockOfEventId(lastEventId);
    if (block === undefined || this.coveredFrom === undefined || block < this.coveredFrom) {
      return { events: [...this.buffer], reset: true };
    }
    // Within the covered range but not buffered here (e.g. an id another gateway handed out):
    // resend its whole block rather than risk a gap; ids let the client drop duplicates.
    return { events: this.buffer.filter((event) => event.blockNumber >= block), reset: false };
  }

  /** Handles one ledger event (the feed calls this; tests may too). */
  receive(event: LedgerChaincodeEvent): void {
    // The feed delivers whole blocks: from the first one seen on, nothing is missing.
    this.coveredFrom ??= event.blockNumber;
    let slotEvent: SlotEvent | undefined;
    try {
      slotEvent = toSlotEvent(event);
    } catch (error) {
      this.options.log?.warn(
        { transactionId: event.transactionId, err: { message: (error as Error).message } },
        'malformed chaincode event skipped',
      );
      return;
    }
    if (slotEvent === undefined) {
      return;
    }
    if (slotEvent.type === 'slot-opened' || slotEvent.type === 'dispatch-published') {
      this.options.onSlotChange?.(slotEvent.data.slotId, slotEvent.blockNumber);
    }
    if (slotEvent.type === 'slot-opened') {
      this.slotBuses.set(slotEvent.data.slotId, slotEvent.data.buses);
      if (this.slotBuses.size > this.bufferSize) {
        const oldest = this.slotBuses.keys().next().value;
        if (oldest !== undefined) {
          this.slotBuses.delete(oldest);
        }
      }
    }
    this.buffer.push(slotEvent);
    if (this.buffer.length > this.bufferSize) {
      const dropped = this.buffer.shift();
      if (dropped !== undefined) {
        // Later events of the dropped event's block stay, but that block is no longer whole.
        this.coveredFrom = dropped.blockNumber + 1n;
      }
    }
    for (const subscriber of this.subscribers) {
      try {
        subscriber.send(slotEvent);
      } catch (error) {
        // One broken stream must not stop the feed (or the other subscribers).
        this.subscribers.delete(subscriber);
        this.options.log?.warn({ err: { type: (error as Error).name } }, 'event subscriber dropped');
      }
    }
  }
}

/** One server-sent event in the text/event-stream format. */
export function formatServerSentEvent(event: { id?: string; type: string; data: unknown }): string {
  return `${event.id === undefined ? '' : `id: ${event.id}\n`}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

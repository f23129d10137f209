import type { FastifyBaseLogger } from 'fastify';
import {
  SLOT_EVENTS,
  WINDOW_EVENTS,
  type DispatchPublishedData,
  type SlotOpenedData,
  type WindowEventData,
} from '@hems/protocol';
import type { Caller } from '../identity/caller';
import type { ChaincodeEventSource, LedgerChaincodeEvent } from '../ledger/ports';
import { EventFeed } from './event-feed';

export type { DispatchPublishedData, SlotOpenedData, WindowEventData } from '@hems/protocol';

/** Server-sent event types of the auction's chaincode events; every payload names its window. */
export const WINDOW_EVENT_TYPES = {
  [WINDOW_EVENTS.opened]: 'window-opened',
  [WINDOW_EVENTS.revealed]: 'orders-revealed',
  [WINDOW_EVENTS.cleared]: 'window-cleared',
  [WINDOW_EVENTS.reportsClosed]: 'delivery-reports-closed',
  [WINDOW_EVENTS.settled]: 'window-settled',
  [WINDOW_EVENTS.gridClaimed]: 'grid-share-claimed',
} as const;

export type WindowEventType = (typeof WINDOW_EVENT_TYPES)[keyof typeof WINDOW_EVENT_TYPES];

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
  if (event.eventName === SLOT_EVENTS.opened) {
    const data = JSON.parse(utf8.decode(event.payload)) as SlotOpenedData;
    if (typeof data.slotId !== 'string' || !Array.isArray(data.buses) || !Array.isArray(data.prices?.buses)) {
      throw new Error('SlotOpened payload without slotId, buses or prices');
    }
    return { id, blockNumber: event.blockNumber, type: 'slot-opened', data };
  }
  if (event.eventName === SLOT_EVENTS.dispatchPublished) {
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
  allowedKwOf: (slotId: string) => number | undefined = () => undefined,
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
  // A slot opened before this gateway started is not known here; its λ is sent anyway.
  const buses = slotBuses(event.data.slotId);
  if (bus === undefined || (buses !== undefined && !concernsCaller(buses))) {
    return undefined;
  }
  return dispatchView(event.data, bus, allowedKwOf(event.data.slotId));
}

/** A device's view of a dispatch: its bus's λ and, when known, its own allowed power. */
function dispatchView(data: DispatchPublishedData, bus: string, allowedKw: number | undefined): object {
  const { slotId, lambda, perBus, revision } = data;
  return {
    slotId,
    bus,
    lambda: perBus.find((entry) => entry.bus === bus)?.lambda ?? lambda,
    revision,
    // The device's own allowed power when its utility gateway has it in memory.
    ...(allowedKw === undefined ? {} : { allowedKw }),
  };
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
  /**
   * Awaited before a dispatch reaches any subscriber (the feed waits meanwhile): the relay loads
   * the slot's allowed powers, so each device's event can carry its own.
   */
  readonly beforeDispatchDelivery?: (data: DispatchPublishedData) => Promise<void>;
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
  /** Deliveries waiting for a dispatch's preparation, in order. */
  private delivering: Promise<void> | undefined;

  constructor(private readonly options: SlotEventHubOptions) {
    this.bufferSize = options.bufferSize ?? 1000;
    this.coveredFrom = options.startBlock;
    this.feed = new EventFeed({
      source: options.source,
      ...(options.startBlock === undefined ? {} : { startBlock: options.startBlock }),
      onEvent: (event) => {
        this.receive(event);
        return this.settled();
      },
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

  /** Resolves once every event received so far has reached the subscribers. */
  settled(): Promise<void> {
    return this.delivering ?? Promise.resolve();
  }

  /**
   * Handles one ledger event (the feed calls this, then waits for settled(); tests may too).
   * Events reach subscribers in ledger order, a dispatch only after its preparation.
   */
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
    const ready =
      slotEvent.type === 'dispatch-published'
        ? this.options.beforeDispatchDelivery?.(slotEvent.data)
        : undefined;
    if (ready === undefined && this.delivering === undefined) {
      this.deliver(slotEvent);
      return;
    }
    const delivered = slotEvent;
    const next = (this.delivering ?? Promise.resolve())
      .then(() => ready)
      .catch((error: unknown) =>
        this.options.log?.warn({ err: { message: (error as Error).message } }, 'dispatch preparation failed'),
      )
      .then(() => this.deliver(delivered));
    this.delivering = next;
    void next.finally(() => {
      if (this.delivering === next) {
        this.delivering = undefined;
      }
    });
  }

  private deliver(slotEvent: SlotEvent): void {
    if (slotEvent.type === 'slot-opened' || slotEvent.type === 'dispatch-published') {
      this.options.onSlotChange?.(slotEvent.data.slotId, slotEvent.blockNumber);
    }
    if (slotEvent.type === 'slot-opened') {
      this.rememberBuses(slotEvent.data);
    }
    this.keep(slotEvent);
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

  /** Buses of a newly opened slot, the oldest slot's forgotten past the buffer size. */
  private rememberBuses(opened: SlotOpenedData): void {
    this.slotBuses.set(opened.slotId, opened.buses);
    if (this.slotBuses.size > this.bufferSize) {
      const oldest = this.slotBuses.keys().next().value;
      if (oldest !== undefined) {
        this.slotBuses.delete(oldest);
      }
    }
  }

  /** Buffers an event for reconnecting clients, dropping the oldest past the buffer size. */
  private keep(slotEvent: SlotEvent): void {
    this.buffer.push(slotEvent);
    if (this.buffer.length > this.bufferSize) {
      const dropped = this.buffer.shift();
      if (dropped !== undefined) {
        // Later events of the dropped event's block stay, but that block is no longer whole.
        this.coveredFrom = dropped.blockNumber + 1n;
      }
    }
  }
}

/** One server-sent event in the text/event-stream format. */
export function formatServerSentEvent(event: { id?: string; type: string; data: unknown }): string {
  return `${event.id === undefined ? '' : `id: ${event.id}\n`}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

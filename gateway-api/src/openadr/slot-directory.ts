import { SLOT_EVENTS, type SlotView } from '@hems/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { EventFeed } from '../services/event-feed';
import type { EventingLedger, LedgerChaincodeEvent } from '../ledger/ports';
import { loadSlot } from '../resources/slots/service';
import type { SlotLookup } from '../resources/slots/service';

/** Told when a slot opens or its dispatch is published (after the VTN started). */
export interface SlotListener {
  opened(slotId: string): void;
  dispatched(slotId: string): void;
}

export interface SlotDirectoryOptions {
  readonly ledger: EventingLedger;
  /** Public slot data kept current by chaincode events; read before the ledger. */
  readonly slotCache?: SlotLookup;
  /** Slots listed, newest first; default 192 (two days of 15-minute slots). */
  readonly maxSlots?: number;
  /** Blocks replayed on start to find the recent slots; default 5,000. */
  readonly historyBlocks?: number;
  readonly log?: Pick<FastifyBaseLogger, 'warn'>;
}

const utf8 = new TextDecoder();

/**
 * The recent slots the VTN serves as events, newest first, learned from SlotOpened events (the
 * last blocks are replayed on start, so a restarted gateway lists them again); listeners hear of
 * slots opened and dispatched after the start, for subscriptions.
 */
export class SlotDirectory {
  private readonly slots: string[] = [];
  private readonly listeners: SlotListener[] = [];
  private feed: EventFeed | undefined;
  private liveFrom = BigInt(Number.MAX_SAFE_INTEGER);

  constructor(private readonly options: SlotDirectoryOptions) {}

  listen(listener: SlotListener): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    const height = BigInt(await this.options.ledger.blockHeight());
    const history = BigInt(this.options.historyBlocks ?? 5000);
    this.liveFrom = height;
    this.feed = new EventFeed({
      source: this.options.ledger,
      startBlock: height > history ? height - history : 0n,
      onEvent: (event) => this.onEvent(event),
      ...(this.options.log === undefined ? {} : { log: this.options.log }),
    });
    this.feed.start();
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
  }

  /** Slot ids, newest first. */
  recent(): readonly string[] {
    return this.slots;
  }

  /** Adds a slot as if its SlotOpened event arrived (tests, and slots read by id). */
  remember(slotId: string): void {
    if (!this.slots.includes(slotId)) {
      this.slots.unshift(slotId);
      this.slots.length = Math.min(this.slots.length, this.options.maxSlots ?? 192);
    }
  }

  async slot(slotId: string): Promise<SlotView> {
    const cached = this.options.slotCache?.get(slotId) as SlotView | undefined;
    return cached ?? loadSlot(this.options.ledger, slotId);
  }

  private onEvent(event: LedgerChaincodeEvent): void {
    const live = event.blockNumber >= this.liveFrom;
    let slotId: unknown;
    try {
      slotId = (JSON.parse(utf8.decode(event.payload)) as { slotId?: unknown }).slotId;
    } catch {
      return;
    }
    if (typeof slotId !== 'string') {
      return;
    }
    if (event.eventName === SLOT_EVENTS.opened) {
      this.remember(slotId);
      if (live) {
        this.listeners.forEach((listener) => listener.opened(slotId));
      }
    } else if (event.eventName === SLOT_EVENTS.dispatchPublished && live) {
      this.listeners.forEach((listener) => listener.dispatched(slotId));
    }
  }
}

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { timeslot } from '../ledger/contracts';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { EventingLedger, LedgerChaincodeEvent } from '../ledger/ports';
import { decodeJson } from '../ledger/answers';
import { EventFeed, type EventPosition } from './event-feed';
import { SLOT_EVENTS } from '@hems/protocol';

/** GetSlot's public answer: record, derived status, aggregates, bus totals, dispatch. */
export type PublicSlot = Readonly<Record<string, unknown>> & {
  readonly slotId: string;
  readonly status: string;
  readonly deadline: string;
};

/** Events after which a slot's public record differs. */
const SLOT_CHANGING_EVENTS: ReadonlySet<string> = new Set([
  SLOT_EVENTS.opened,
  SLOT_EVENTS.aggregatePublished,
  SLOT_EVENTS.dispatchPublished,
  SLOT_EVENTS.settled,
  // A utility's consumption summary changes its aggregate record and the bus's metered totals.
  SLOT_EVENTS.consumptionPublished,
  // The emergency level goes into the slot record.
  SLOT_EVENTS.emergencyDeclared,
]);

export interface SlotCacheOptions {
  readonly ledger: EventingLedger;
  /** File holding the last processed event, so a restart resumes there. */
  readonly checkpointFile: string;
  /** Slots kept; the least recently changed are dropped first. Default 1000. */
  readonly maxSlots?: number;
  /** Without a checkpoint: the first block to read; default the next committed block. */
  readonly startBlock?: bigint;
  readonly now?: () => number;
  readonly log?: Pick<FastifyBaseLogger, 'warn'>;
}

const utf8 = new TextDecoder();

/** A cached slot and the block it is known to reflect (its read began after that block committed). */
interface CachedSlot {
  readonly slot: PublicSlot;
  readonly asOfBlock: bigint;
}

/**
 * Public slot data (what GetSlot answers) kept up to date from chaincode events: each
 * SlotOpened, AggregatePublished, DispatchPublished, ConsumptionPublished, EmergencyDeclared or
 * SlotSettled re-reads
 * its slot once. The last processed event is checkpointed to a file, so a restarted gateway
 * resumes after it instead of missing the changes made while it was down. A slot that is not cached (evicted, changed
 * before the first checkpoint, or whose re-read failed) is read from the ledger by the caller.
 *
 * An event drops its slot's entry at once, before the re-read: while the re-read runs (or while
 * this cache's event stream lags behind the one that told a device of a new λ, see `invalidate`)
 * callers read the ledger rather than an entry the event has made stale.
 */
export class SlotCache {
  private readonly slots = new Map<string, CachedSlot>();
  /** The re-read in flight (events are handled one at a time); stale once a newer block invalidated it. */
  private reading: { readonly slotId: string; readonly asOfBlock: bigint; stale: boolean } | undefined;
  private readonly maxSlots: number;
  private readonly now: () => number;
  private feed: EventFeed | undefined;
  private position: EventPosition | undefined;

  constructor(private readonly options: SlotCacheOptions) {
    this.maxSlots = options.maxSlots ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** The last processed event (as persisted). */
  get checkpoint(): EventPosition | undefined {
    return this.position;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Reads the checkpoint and starts following events after it. */
  async start(): Promise<void> {
    this.position = await readCheckpoint(this.options.checkpointFile);
    await mkdir(path.dirname(this.options.checkpointFile), { recursive: true });
    const startBlock = this.options.startBlock;
    this.feed = new EventFeed({
      source: this.options.ledger,
      ...(this.position === undefined ? {} : { after: this.position }),
      ...(startBlock === undefined ? {} : { startBlock }),
      onEvent: (event) => this.onEvent(event),
      ...(this.options.log === undefined ? {} : { log: this.options.log }),
    });
    this.feed.start();
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
  }

  /**
   * The slot as GetSlot would answer now, or undefined when it is not cached. OPEN turns into
   * CLOSED at the deadline without a transaction (the chaincode derives it from the time), so
   * that one change is applied here.
   */
  get(slotId: string): PublicSlot | undefined {
    const slot = this.slots.get(slotId)?.slot;
    if (slot?.status === 'OPEN' && this.now() >= Date.parse(slot.deadline)) {
      return { ...slot, status: 'CLOSED' };
    }
    return slot;
  }

  /**
   * The slot changed in block `blockNumber` (e.g. a DispatchPublished another event stream
   * delivered first): an entry or in-flight re-read older than that block is dropped, so the
   * next read goes to the ledger. One that already reflects the block is kept.
   */
  invalidate(slotId: string, blockNumber: bigint): void {
    const cached = this.slots.get(slotId);
    if (cached !== undefined && cached.asOfBlock < blockNumber) {
      this.slots.delete(slotId);
    }
    if (this.reading?.slotId === slotId && this.reading.asOfBlock < blockNumber) {
      this.reading.stale = true;
    }
  }

  private async onEvent(event: LedgerChaincodeEvent): Promise<void> {
    const slotId = SLOT_CHANGING_EVENTS.has(event.eventName) ? slotIdOf(event) : undefined;
    if (slotId !== undefined) {
      this.invalidate(slotId, event.blockNumber);
      const reading = { slotId, asOfBlock: event.blockNumber, stale: false };
      this.reading = reading;
      try {
        const slot = await this.readSlot(slotId);
        // A newer block changed the slot during the read: its answer may predate that block.
        if (!reading.stale) {
          this.store(slot, reading.asOfBlock);
        }
      } catch (error) {
        // Dropped rather than kept stale: callers then read the ledger themselves.
        this.slots.delete(slotId);
        this.options.log?.warn(
          { slotId, err: { type: (error as Error).name } },
          'slot re-read after an event failed; dropped from the cache',
        );
      } finally {
        this.reading = undefined;
      }
    }
    // The position moves only once it is on disk: `checkpoint` is what a restart resumes from.
    const position = { blockNumber: event.blockNumber, transactionId: event.transactionId };
    await writeCheckpoint(this.options.checkpointFile, position);
    this.position = position;
  }

  private async readSlot(slotId: string): Promise<PublicSlot> {
    const reader = this.options.ledger.identities[0];
    if (reader === undefined) {
      throw new Error('this gateway holds no Fabric identity');
    }
    const bytes = await timeslot(this.options.ledger, reader).GetSlot.evaluate({ arguments: [slotId] });
    return decodeJson<PublicSlot>(bytes);
  }

  private store(slot: PublicSlot, asOfBlock: bigint): void {
    this.slots.delete(slot.slotId);
    this.slots.set(slot.slotId, { slot, asOfBlock });
    if (this.slots.size > this.maxSlots) {
      const oldest = this.slots.keys().next().value;
      if (oldest !== undefined) {
        this.slots.delete(oldest);
      }
    }
  }
}

function slotIdOf(event: LedgerChaincodeEvent): string | undefined {
  try {
    const slotId = (JSON.parse(utf8.decode(event.payload)) as { slotId?: unknown }).slotId;
    return typeof slotId === 'string' ? slotId : undefined;
  } catch {
    return undefined;
  }
}

async function readCheckpoint(file: string): Promise<EventPosition | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const saved = JSON.parse(text) as { blockNumber?: unknown; transactionId?: unknown };
  if (
    typeof saved.blockNumber !== 'string' ||
    !/^\d+$/.test(saved.blockNumber) ||
    typeof saved.transactionId !== 'string'
  ) {
    throw new Error(`${file} is not a slot cache checkpoint`);
  }
  return { blockNumber: BigInt(saved.blockNumber), transactionId: saved.transactionId };
}

/** Written to a temporary file and renamed, so a crash never leaves a torn checkpoint. */
async function writeCheckpoint(file: string, position: EventPosition): Promise<void> {
  const temporary = `${file}.tmp`;
  await writeFile(
    temporary,
    JSON.stringify({ blockNumber: position.blockNumber.toString(), transactionId: position.transactionId }),
  );
  await rename(temporary, file);
}

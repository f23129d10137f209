import type { AuctionTransaction, TimeslotTransaction } from '@hems/protocol';
import { HttpError, httpErrorOfRefusal, toHttpError } from '../http/errors';
import { decodeJson } from '../ledger/answers';
import { auction, timeslot, type Transaction } from '../ledger/contracts';
import type { Ledger } from '../ledger/ports';

/** When a batch goes to the ledger: at `maxItems` items, or `maxWaitMs` after its first item. */
export interface RelayBatchOptions {
  /** Items per transaction, 1-1000 (the chaincode's limit); default 500. */
  readonly maxItems?: number;
  /** How long the first item of a batch waits for others; default 50 ms. */
  readonly maxWaitMs?: number;
  /** Batches endorsed, ordered and committed at once; later ones queue. Default 8. */
  readonly maxInFlight?: number;
}

export const DEFAULT_RELAY_BATCH: Required<RelayBatchOptions> = {
  maxItems: 500,
  maxWaitMs: 50,
  maxInFlight: 8,
};

/** One device-signed item as the device sent it, with the home mutual TLS proved. */
export interface RelayItem {
  /** The home: a batch holds at most one item per home. */
  readonly homeId: string;
  /** The item's entry in the transaction's transient `items`. */
  readonly entry: Readonly<Record<string, string>>;
}

/** A device-signed payload as a batch entry: payload and signature in base64, the certificate PEM. */
export function signedEntry(
  payload: string,
  signature: Uint8Array,
  certificatePem: string,
): { payload: string; signature: string; certificate: string } {
  return {
    payload: Buffer.from(payload, 'utf8').toString('base64'),
    signature: Buffer.from(signature).toString('base64'),
    certificate: certificatePem,
  };
}

/**
 * A relay-attested item (an OpenADR VEN's, which holds no Fabric key): the payload and the home's
 * certificate, vouched for by this relay; the chaincode takes it only from a utility the channel
 * settings allow (relayAttestationMspIds) and counts it per bus in public.
 */
export function attestedEntry(
  payload: string,
  certificatePem: string,
): { payload: string; attestation: 'relay'; certificate: string } {
  return {
    payload: Buffer.from(payload, 'utf8').toString('base64'),
    attestation: 'relay',
    certificate: certificatePem,
  };
}

/** The batch entry of an item: device-signed, or relay-attested when it carries no signature. */
export function entryOf(
  payload: string,
  signature: Uint8Array | undefined,
  certificatePem: string,
): ReturnType<typeof signedEntry> | ReturnType<typeof attestedEntry> {
  return signature === undefined
    ? attestedEntry(payload, certificatePem)
    : signedEntry(payload, signature, certificatePem);
}

/** A device's own answer once its item committed. */
export interface RelayAcceptance {
  /** The slot or window: the batch transaction's argument. */
  readonly id: string;
  readonly txId: string;
  /** The transaction time, as the chaincode answered it. */
  readonly at: string;
}

/** A batch transaction: its only argument is the slot or window id, its items are transient. */
export type RelayBatchTransaction =
  | { readonly contract: 'timeslot'; readonly name: TimeslotTransaction }
  | { readonly contract: 'auction'; readonly name: AuctionTransaction };

function batchTransaction(ledger: Ledger, transaction: RelayBatchTransaction): Transaction {
  return transaction.contract === 'auction'
    ? auction(ledger, 'relay')[transaction.name]
    : timeslot(ledger, 'relay')[transaction.name];
}

/** How the items of one kind go to the ledger. */
export interface RelayBatchKind<Item extends RelayItem> {
  /** The batch transaction (arguments: the slot or window id; transient: `items`). */
  readonly transaction: RelayBatchTransaction;
  /** The member of the chaincode's answer holding the transaction time. */
  readonly timeField: string;
  /** Told of every item's outcome once its batch's fate is known (undefined: refused or failed). */
  readonly settled?: (id: string, item: Item, acceptance: RelayAcceptance | undefined) => void;
  /** Told of the accepted items of each committed batch. */
  readonly accepted?: (id: string, items: readonly Item[]) => void;
}

interface Waiting<Item> {
  readonly item: Item;
  readonly resolve: (acceptance: RelayAcceptance) => void;
  readonly reject: (error: HttpError) => void;
}

interface OpenBatch<Item> {
  /** The slot or window its items are for. */
  readonly id: string;
  readonly items: Waiting<Item>[];
  readonly homes: Set<string>;
  timer?: NodeJS.Timeout;
}

interface BatchReceipt {
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/**
 * A relay's micro-batching of device-signed items of one kind: what arrives for a slot or window within a
 * short window goes to the ledger in one transaction, and each device is answered on its own —
 * with the transaction id once the batch committed, or with its item's own refusal. One bad item
 * never costs the others their commit: the chaincode refuses items alone, and a batch that loses
 * an MVCC race is endorsed again as a whole (every item checked again).
 */
export class RelayBatcher<Item extends RelayItem> {
  private readonly options: Required<RelayBatchOptions>;
  private readonly open = new Map<string, OpenBatch<Item>>();
  private readonly queue: OpenBatch<Item>[] = [];
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly kind: RelayBatchKind<Item>,
    options: RelayBatchOptions = {},
  ) {
    this.options = { ...DEFAULT_RELAY_BATCH, ...options };
    const { maxItems } = this.options;
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) {
      throw new RangeError('maxItems must be an integer from 1 to 1000');
    }
  }

  /** Queues the item; resolves once its batch committed with it, rejects with its refusal. */
  submit(id: string, item: Item): Promise<RelayAcceptance> {
    if (this.closed) {
      this.kind.settled?.(id, item, undefined);
      return Promise.reject(new HttpError(503, 'UNAVAILABLE', 'the gateway is shutting down; retry'));
    }
    return new Promise<RelayAcceptance>((resolve, reject) => {
      this.enqueue(id, { item, resolve, reject });
    });
  }

  /** Sends what is batched and waits for every batch on its way. */
  async close(): Promise<void> {
    this.closed = true;
    for (const batch of [...this.open.values()]) {
      this.flush(batch);
    }
    while (this.inFlight > 0 || this.queue.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private enqueue(id: string, waiting: Waiting<Item>): void {
    let batch = this.open.get(id);
    // One item per home and batch: a second item of a home goes into the next batch, so the
    // later one comes later on the ledger too.
    if (batch?.homes.has(waiting.item.homeId) === true) {
      this.flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { id, items: [], homes: new Set() };
      this.open.set(id, batch);
    }
    batch.items.push(waiting);
    batch.homes.add(waiting.item.homeId);
    if (batch.items.length >= this.options.maxItems) {
      this.flush(batch);
    } else if (batch.timer === undefined) {
      const timed = batch;
      timed.timer = setTimeout(() => this.flush(timed), this.options.maxWaitMs);
    }
  }

  private flush(batch: OpenBatch<Item>): void {
    if (this.open.get(batch.id) === batch) {
      this.open.delete(batch.id);
    }
    if (batch.timer !== undefined) {
      clearTimeout(batch.timer);
    }
    this.queue.push(batch);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async send(batch: OpenBatch<Item>): Promise<void> {
    let receipt: BatchReceipt;
    let acceptance: RelayAcceptance;
    try {
      const submitted = await batchTransaction(this.ledger, this.kind.transaction).submit({
        arguments: [batch.id],
        transientData: {
          items: Buffer.from(JSON.stringify(batch.items.map(({ item }) => item.entry)), 'utf8'),
        },
        endorsingOrganizations: [this.ledger.mspId],
        // A batch whose every item was refused changes nothing: its refusals are the answer.
        submitIf: (result) =>
          decodeJson<Partial<BatchReceipt>>(result).refused?.length !== batch.items.length,
      });
      const answer = decodeJson<BatchReceipt & Record<string, unknown>>(submitted.result);
      receipt = answer;
      acceptance = {
        id: batch.id,
        // A skipped batch was never ordered: its refusals carry no transaction id.
        txId: submitted.skipped === true ? '' : submitted.transactionId,
        at: typeof answer[this.kind.timeField] === 'string' ? (answer[this.kind.timeField] as string) : '',
      };
    } catch (error) {
      const failure = toHttpError(error);
      for (const waiting of batch.items) {
        this.kind.settled?.(batch.id, waiting.item, undefined);
        waiting.reject(failure);
      }
      return;
    }
    const refusals = new Map(receipt.refused.map((refusal) => [refusal.index, refusal]));
    this.kind.accepted?.(
      batch.id,
      batch.items.filter((_, index) => !refusals.has(index)).map((waiting) => waiting.item),
    );
    batch.items.forEach((waiting, index) => {
      const refusal = refusals.get(index);
      this.kind.settled?.(batch.id, waiting.item, refusal === undefined ? acceptance : undefined);
      if (refusal === undefined) {
        waiting.resolve(acceptance);
      } else {
        waiting.reject(
          httpErrorOfRefusal(
            refusal.code,
            refusal.message,
            acceptance.txId === '' ? undefined : acceptance.txId,
          ),
        );
      }
    });
  }
}

import { HttpError, httpErrorOfRefusal, toHttpError } from '../http/errors';
import { decodeJson } from '../ledger/answers';
import { timeslot } from '../ledger/contracts';
import type { Ledger } from '../ledger/ports';
import { forecastIdentity, ForecastReplayIndex, type ForecastIdentity } from './forecast-replays';

/** When a batch goes to the ledger: at `maxItems` items, or `maxWaitMs` after its first item. */
export interface ForecastBatchOptions {
  /** Items per transaction, 1-1000 (the chaincode's limit); default 500. */
  readonly maxItems?: number;
  /** How long the first item of a batch waits for others; default 50 ms. */
  readonly maxWaitMs?: number;
  /** Batches endorsed, ordered and committed at once; later ones queue. Default 8. */
  readonly maxInFlight?: number;
}

/** Told of the accepted forecasts of each committed batch (e.g. to learn their home references). */
export type AcceptedForecasts = (slotId: string, accepted: readonly DeviceForecast[]) => void;

export const DEFAULT_FORECAST_BATCH: Required<ForecastBatchOptions> = {
  maxItems: 500,
  maxWaitMs: 50,
  maxInFlight: 8,
};

/** A device-signed forecast as its device sent it, with what mutual TLS proved of the device. */
export interface DeviceForecast {
  readonly payload: string;
  /** Raw signature bytes. */
  readonly signature: Uint8Array;
  readonly certificatePem: string;
  readonly homeId: string;
  readonly bus: string;
}

/** A device's own answer once its item committed. */
export interface ForecastAcceptance {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
  /** True when this answers a retry of a forecast stored earlier (the first receipt). */
  readonly replayed: boolean;
}

interface Waiting {
  readonly forecast: DeviceForecast;
  readonly identity: ForecastIdentity | undefined;
  readonly resolve: (acceptance: ForecastAcceptance) => void;
  readonly reject: (error: HttpError) => void;
}

interface OpenBatch {
  readonly slotId: string;
  readonly items: Waiting[];
  readonly homes: Set<string>;
  timer?: NodeJS.Timeout;
}

interface BatchReceipt {
  readonly txId: string;
  readonly acceptedAt: string;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/**
 * The relay's micro-batching of device-signed forecasts: what arrives for a slot within a short
 * window goes to the ledger in one SubmitForecasts transaction, and each device is answered on its
 * own — with the transaction id once the batch committed, or with its item's own refusal. One bad,
 * duplicated or replayed item never costs the others their commit: the chaincode refuses items
 * alone, a replay is refused here before batching, and a batch that loses an MVCC race is endorsed
 * again as a whole (every item checked again).
 */
export class ForecastBatcher {
  private readonly options: Required<ForecastBatchOptions>;
  private readonly open = new Map<string, OpenBatch>();
  private readonly queue: OpenBatch[] = [];
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly ledger: Ledger,
    options: ForecastBatchOptions = {},
    private readonly onAccepted: AcceptedForecasts = () => undefined,
    private readonly replays = new ForecastReplayIndex(ledger),
  ) {
    this.options = { ...DEFAULT_FORECAST_BATCH, ...options };
    if (
      !Number.isInteger(this.options.maxItems) ||
      this.options.maxItems < 1 ||
      this.options.maxItems > 1000
    ) {
      throw new RangeError('maxItems must be an integer from 1 to 1000');
    }
  }

  async submit(slotId: string, forecast: DeviceForecast): Promise<ForecastAcceptance> {
    if (this.closed) {
      throw new HttpError(503, 'UNAVAILABLE', 'the gateway is shutting down; retry');
    }
    const identity = forecastIdentity(forecast.payload, forecast.bus);
    if (identity !== undefined) {
      const verdict = await this.replays.check(slotId, identity);
      if (verdict.kind === 'stored') {
        return { slotId, txId: verdict.at.txId, acceptedAt: verdict.at.acceptedAt, replayed: true };
      }
      if (verdict.kind !== 'fresh') {
        throw new HttpError(
          409,
          'CONFLICT',
          verdict.kind === 'pending'
            ? 'a forecast with this nonce is being submitted; wait for its answer'
            : 'the payload nonce was already used: every forecast needs a fresh random nonce',
        );
      }
      await this.replays.reserve(slotId, identity);
    }
    return new Promise<ForecastAcceptance>((resolve, reject) => {
      this.enqueue(slotId, { forecast, identity, resolve, reject });
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

  private enqueue(slotId: string, waiting: Waiting): void {
    let batch = this.open.get(slotId);
    // One item per home and batch: a second forecast of a home goes into the next batch, so the
    // later one replaces the earlier on the ledger too.
    if (batch?.homes.has(waiting.forecast.homeId) === true) {
      this.flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { slotId, items: [], homes: new Set() };
      this.open.set(slotId, batch);
    }
    batch.items.push(waiting);
    batch.homes.add(waiting.forecast.homeId);
    if (batch.items.length >= this.options.maxItems) {
      this.flush(batch);
    } else if (batch.timer === undefined) {
      const timed = batch;
      timed.timer = setTimeout(() => this.flush(timed), this.options.maxWaitMs);
    }
  }

  private flush(batch: OpenBatch): void {
    if (this.open.get(batch.slotId) === batch) {
      this.open.delete(batch.slotId);
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

  private async send(batch: OpenBatch): Promise<void> {
    const items = batch.items.map(({ forecast }) => ({
      payload: Buffer.from(forecast.payload, 'utf8').toString('base64'),
      signature: Buffer.from(forecast.signature).toString('base64'),
      certificate: forecast.certificatePem,
    }));
    let receipt: BatchReceipt;
    try {
      const submitted = await timeslot(this.ledger, 'relay').SubmitForecasts.submit({
        arguments: [batch.slotId],
        transientData: { items: Buffer.from(JSON.stringify(items), 'utf8') },
        endorsingOrganizations: [this.ledger.mspId],
      });
      receipt = { ...decodeJson<BatchReceipt>(submitted.result), txId: submitted.transactionId };
    } catch (error) {
      const failure = toHttpError(error);
      await Promise.all(batch.items.map((waiting) => this.answer(batch.slotId, waiting, failure)));
      return;
    }
    const refusals = new Map(receipt.refused.map((refusal) => [refusal.index, refusal]));
    this.onAccepted(
      batch.slotId,
      batch.items.filter((_, index) => !refusals.has(index)).map((waiting) => waiting.forecast),
    );
    await Promise.all(
      batch.items.map((waiting, index) => {
        const refusal = refusals.get(index);
        return this.answer(
          batch.slotId,
          waiting,
          refusal === undefined
            ? { slotId: batch.slotId, txId: receipt.txId, acceptedAt: receipt.acceptedAt, replayed: false }
            : httpErrorOfRefusal(refusal.code, refusal.message, receipt.txId),
        );
      }),
    );
  }

  private async answer(
    slotId: string,
    waiting: Waiting,
    outcome: ForecastAcceptance | HttpError,
  ): Promise<void> {
    const accepted = !(outcome instanceof HttpError);
    if (waiting.identity !== undefined) {
      await this.replays.settle(
        slotId,
        waiting.identity,
        accepted
          ? { txId: outcome.txId, acceptedAt: outcome.acceptedAt, leaf: waiting.identity.leaf }
          : undefined,
      );
    }
    if (accepted) {
      waiting.resolve(outcome);
    } else {
      waiting.reject(outcome);
    }
  }
}

import type { FastifyBaseLogger } from 'fastify';
import type { ChaincodeEventSource, ChaincodeEventStream, LedgerChaincodeEvent } from '../ledger/ports';

/** A position in the chaincode event stream: the last event processed. */
export interface EventPosition {
  readonly blockNumber: bigint;
  readonly transactionId: string;
}

export interface EventFeedOptions {
  readonly source: ChaincodeEventSource;
  /** Resume after this event; it and the events before it in its block are skipped. */
  readonly after?: EventPosition;
  /** Without `after`: the first block to read; default the next committed block. */
  readonly startBlock?: bigint;
  /**
   * Called for each event in ledger order; the next event waits for it. If it throws, the feed
   * reconnects and delivers the same event again.
   */
  readonly onEvent: (event: LedgerChaincodeEvent) => Promise<void> | void;
  readonly log?: Pick<FastifyBaseLogger, 'warn'>;
  /** Reconnect delays: doubling from `initialMs` up to `maxMs`. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
}

/**
 * Follows the chaincode event stream and reconnects after failures (peer restart, network), each
 * time from the last processed event, so no event is lost or handled twice across reconnects.
 * fabric-gateway delivers whole blocks from the start block, so events of the resume block up to
 * and including the last processed one are skipped here.
 */
export class EventFeed {
  private position: EventPosition | undefined;
  private stream: ChaincodeEventStream | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventFeedOptions) {
    this.position = options.after;
  }

  /** The last event processed (undefined until one was). */
  get lastPosition(): EventPosition | undefined {
    return this.position;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops reading; resolves once the event being processed (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.close();
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const initialMs = this.options.reconnect?.initialMs ?? 1000;
    const maxMs = this.options.reconnect?.maxMs ?? 30_000;
    let delay = initialMs;
    while (!this.stopped) {
      try {
        await this.readOnce(() => {
          delay = initialMs;
        });
        if (this.stopped) {
          return;
        }
        this.options.log?.warn('chaincode event stream ended; reconnecting');
      } catch (error) {
        if (this.stopped) {
          return;
        }
        this.options.log?.warn(
          { err: { type: (error as Error).name, message: (error as Error).message } },
          'chaincode event stream failed; reconnecting',
        );
      }
      await new Promise<void>((resolve) => {
        this.wakeRetry = resolve;
        this.retryTimer = setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, maxMs);
    }
  }

  private async readOnce(onProgress: () => void): Promise<void> {
    const resume = this.position;
    const startBlock = resume?.blockNumber ?? this.options.startBlock;
    const stream = this.options.source.chaincodeEvents(startBlock === undefined ? {} : { startBlock });
    this.stream = stream;
    // Skipping within the resume block ends at the last processed transaction.
    let skipping = resume !== undefined;
    try {
      for await (const event of stream) {
        if (this.stopped) {
          return;
        }
        if (skipping && resume !== undefined && event.blockNumber <= resume.blockNumber) {
          if (event.transactionId === resume.transactionId) {
            skipping = false;
          }
          continue;
        }
        skipping = false;
        await this.options.onEvent(event);
        this.position = { blockNumber: event.blockNumber, transactionId: event.transactionId };
        onProgress();
      }
    } finally {
      stream.close();
    }
  }
}

import Fastify, { type FastifyInstance } from 'fastify';
import type {
  ChaincodeEventsOptions,
  ChaincodeEventStream,
  LedgerChaincodeEvent,
  ServiceIdentity,
} from '../src/ledger/ports';
import { authentication } from '../src/plugins/authentication';
import { errorHandler } from '../src/plugins/error-handler';
import { operations, type OperationsOptions } from '../src/plugins/operations';
import type { FailedAuthenticationLimiter } from '../src/plugins/rate-limit';
import { slotRoutes } from '../src/resources/slots/routes';
import { FakeLedger } from './support/fake-ledger';
import { TestApp, TestClients } from './support/gateway';
import { TestPki } from './support/pki';

/**
 * A chaincode event stream the test drives: push events, fail or end it; records close().
 * Iterating waits for the next pushed event like a live gRPC stream.
 */
export class FakeEventStream implements AsyncIterable<LedgerChaincodeEvent> {
  closed = false;
  private readonly queue: LedgerChaincodeEvent[] = [];
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(readonly startBlock: bigint | undefined) {}

  push(...events: LedgerChaincodeEvent[]): void {
    this.queue.push(...events);
    this.notify();
  }

  fail(error: Error): void {
    this.failure = error;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LedgerChaincodeEvent> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure !== undefined) {
        throw this.failure;
      }
      if (this.ended || this.closed) {
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/** The fake contract of test/support plus a chaincode event source. */
export class EventingFakeLedger extends FakeLedger {
  readonly streams: FakeEventStream[] = [];

  chaincodeEvents(options: ChaincodeEventsOptions): ChaincodeEventStream {
    const stream = new FakeEventStream(options.startBlock);
    this.streams.push(stream);
    return stream;
  }

  /** The stream opened last (the live one). */
  get stream(): FakeEventStream {
    const stream = this.streams.at(-1);
    if (stream === undefined) {
      throw new Error('no event stream opened yet');
    }
    return stream;
  }
}

export function chaincodeEvent(
  eventName: string,
  payload: unknown,
  blockNumber: number,
  transactionId: string,
): LedgerChaincodeEvent {
  return {
    eventName,
    payload: Buffer.from(JSON.stringify(payload)),
    blockNumber: BigInt(blockNumber),
    transactionId,
  };
}

/** Lets pending promise chains (event iteration, hooks) run. */
export async function settle(rounds = 10): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Waits (in real time) until `condition` holds, for work that includes file or socket I/O. */
export async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not reached in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * An app with the pieces the operations plugin sits between: error handler and authentication
 * before it, the real slot routes after it. Client certificates travel by reference in a
 * test-only header, as in test/support/gateway.ts.
 */
export class OperationsApp extends TestApp {
  static async create(
    options: {
      mspId?: string;
      identities?: readonly ServiceIdentity[];
      ledger?: FakeLedger;
      pki?: TestPki;
      operations?: Omit<OperationsOptions, 'ledger'>;
      /** Limits failed authentications per address, as buildApp does by default. */
      failureLimiter?: FailedAuthenticationLimiter;
      routes?: (app: FastifyInstance) => void;
    } = {},
  ): Promise<OperationsApp> {
    const pki = options.pki ?? (await TestPki.create());
    const ledger = options.ledger ?? new FakeLedger(options.mspId ?? 'DSOMSP', options.identities ?? ['dso']);
    const clients = new TestClients();
    const app = Fastify({ logger: false });
    await app.register(errorHandler);
    await app.register(authentication, {
      trust: pki.trustStore(),
      clientCertificate: clients.source,
      ...(options.failureLimiter === undefined ? {} : { failureLimiter: options.failureLimiter }),
    });
    await app.register(operations, { ledger, ...options.operations });
    await app.register(slotRoutes(ledger));
    options.routes?.(app);
    return new OperationsApp(app, ledger, pki, clients);
  }
}

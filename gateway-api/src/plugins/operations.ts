import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasChaincodeEvents, type Ledger } from '../ledger/ports';
import { eventRoutes } from '../resources/events/routes';
import type { AllowedPowerBook } from '../services/allowed-powers';
import { SlotEventHub } from '../services/events';
import { idempotency, transactionStatusRoutes, type IdempotencyStore } from './idempotency';
import { metrics, type MetricsOptions } from './metrics';
import { clientRateLimit } from './rate-limit';

export interface OperationsOptions {
  readonly ledger: Ledger;
  readonly metrics?: MetricsOptions;
  /**
   * Requests per verified caller (or per IP on public routes) and window; false: no limit.
   * Default 600/min. Failed authentications are limited by the authentication plugin.
   */
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs?: number } | false;
  /** Idempotency-Key handling for POSTs; default an in-memory store (24 h, 100 000 keys). */
  readonly idempotency?: { readonly store?: IdempotencyStore } | false;
  /**
   * GET /v1/events, fed by the ledger's chaincode events (a ledger without them answers 503);
   * false: not offered.
   */
  readonly events?:
    | {
        readonly bufferSize?: number;
        readonly heartbeatMs?: number;
        readonly maxSubscribers?: number;
        /** Open streams per caller; default 4 (resources/events/routes.ts). */
        readonly maxStreamsPerCaller?: number;
      }
    | false;
  /** The slot cache the event stream invalidates before telling devices of a change. */
  readonly slotCache?: SlotInvalidation;
  /** A relay's allowed powers: loaded at each dispatch and pushed on the devices' streams. */
  readonly allowedPowers?: AllowedPowerBook;
}

export interface SlotInvalidation {
  invalidate(slotId: string, blockNumber: bigint): void;
}

/** The hub of GET /v1/events, when the ledger streams chaincode events. */
function slotEventHub(
  app: FastifyInstance,
  options: OperationsOptions,
  bufferSize: number | undefined,
): SlotEventHub | undefined {
  if (!hasChaincodeEvents(options.ledger)) {
    return undefined;
  }
  const { slotCache, allowedPowers } = options;
  return new SlotEventHub({
    source: options.ledger,
    ...(bufferSize === undefined ? {} : { bufferSize }),
    ...(slotCache === undefined
      ? {}
      : { onSlotChange: (slotId: string, blockNumber: bigint) => slotCache.invalidate(slotId, blockNumber) }),
    ...(allowedPowers === undefined
      ? {}
      : {
          beforeDispatchDelivery: (data: { slotId: string; revision: number }) =>
            allowedPowers.dispatched(data.slotId, data.revision),
        }),
    log: app.log,
  });
}

export const DEFAULT_RATE_LIMIT = { max: 600, timeWindowMs: 60_000 } as const;

/**
 * Operations concerns, registered before the routes so their hooks cover every route: metrics
 * (GET /metrics), per-caller rate limits, idempotent POSTs with GET
 * /v1/transactions/:txId/status, and server-sent slot events (GET /v1/events).
 */
export const operations = fp(
  async (app: FastifyInstance, options: OperationsOptions) => {
    await app.register(metrics, options.metrics ?? {});
    if (options.rateLimit !== false) {
      await app.register(clientRateLimit, options.rateLimit ?? DEFAULT_RATE_LIMIT);
    }
    if (options.idempotency !== false) {
      await app.register(idempotency, options.idempotency ?? {});
    }
    await app.register(transactionStatusRoutes(options.ledger));

    if (options.events !== false) {
      const settings = options.events ?? {};
      const hub = slotEventHub(app, options, settings.bufferSize);
      const book = options.allowedPowers;
      if (hub !== undefined) {
        app.addHook('onReady', (done) => {
          hub.start();
          done();
        });
        // Before the server closes: open event streams would otherwise keep it from closing.
        app.addHook('preClose', async () => {
          await hub.stop();
        });
      }
      await app.register(
        eventRoutes({
          hub,
          mspId: options.ledger.mspId,
          ...(settings.heartbeatMs === undefined ? {} : { heartbeatMs: settings.heartbeatMs }),
          ...(settings.maxSubscribers === undefined ? {} : { maxSubscribers: settings.maxSubscribers }),
          ...(settings.maxStreamsPerCaller === undefined
            ? {}
            : { maxStreamsPerCaller: settings.maxStreamsPerCaller }),
          ...(book === undefined
            ? {}
            : { allowedKwOf: (slotId: string, homeId: string) => book.peek(slotId, homeId)?.allowedKw }),
        }),
      );
    }
  },
  { name: 'operations', dependencies: ['authentication', 'error-handler'] },
);

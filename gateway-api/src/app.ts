// @peculiar/x509 (certificate requests, attributes) needs the metadata polyfill loaded first.
import 'reflect-metadata';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Ledger } from './ledger/ports';
import { authentication, tlsClientCertificate, type ClientCertificateSource } from './plugins/authentication';
import { docs } from './plugins/docs';
import { errorHandler } from './plugins/error-handler';
import { answerClientError, answerFrameworkError, httpConformance } from './plugins/http-conformance';
import type { TrustStore } from './identity/trust-store';
import { operations, type OperationsOptions, type SlotInvalidation } from './plugins/operations';
import {
  DEFAULT_FAILED_AUTHENTICATION_LIMIT,
  FailedAuthenticationLimiter,
  type FailedAuthenticationLimitOptions,
} from './plugins/rate-limit';
import { AllowedPowerBook } from './services/allowed-powers';
import type { ConsumptionBatcher } from './services/consumption-batcher';
import type { OrderBatcher } from './services/order-batcher';
import type { ForecastBatcher } from './services/forecast-batcher';
import type { AggregationFanOut } from './services/utility-gateways';
import { VenRegistry } from './services/ven-registry';
import { accountRoutes } from './resources/accounts/routes';
import { aggregateRoutes } from './resources/aggregates/routes';
import { auditRoutes } from './resources/audit/routes';
import { consumptionRoutes } from './resources/consumption/routes';
import { deviceRoutes, type DeviceRoutesOptions } from './resources/devices/routes';
import { dispatchRoutes } from './resources/dispatch/routes';
import { drRoutes } from './resources/dr/routes';
import { forecastRoutes } from './resources/forecasts/routes';
import { healthRoutes } from './resources/health/routes';
import { meterRoutes } from './resources/meter/routes';
import { orderRoutes } from './resources/orders/routes';
import { revealRoutes } from './resources/reveal/routes';
import { settlementRoutes } from './resources/settlement/routes';
import { slotRoutes } from './resources/slots/routes';
import type { SlotLookup } from './resources/slots/service';
import { venRoutes } from './resources/vens/routes';
import { windowRoutes } from './resources/windows/routes';

export interface AppOptions {
  readonly ledger: Ledger;
  readonly trust: TrustStore;
  /** Defaults to the mutual-TLS peer certificate; route tests inject one. */
  readonly clientCertificate?: ClientCertificateSource;
  readonly logger?: FastifyServerOptions['logger'];
  /** HTTPS server options (key, cert, ca, requestCert) for the real server. */
  readonly https?: HttpsServerOptions;
  /** Maximum request body in bytes. */
  readonly bodyLimit?: number;
  /** Device onboarding: the org's Fabric CA; without it the device routes answer 503. */
  readonly devices?: DeviceRoutesOptions;
  /** Metrics, rate limit, idempotency and events settings. */
  readonly operations?: Omit<OperationsOptions, 'ledger'>;
  /**
   * Failed authentications per remote address and window before the address is refused with 429
   * (default 30 per minute); false: not limited.
   */
  readonly failedAuthenticationLimit?: FailedAuthenticationLimitOptions | false;
  /** On the DSO gateway: asks the utility gateways to aggregate (POST /v1/slots/{id}/aggregates). */
  readonly aggregationFanOut?: AggregationFanOut;
  /**
   * Public slot data fed by chaincode events; GET /v1/slots reads it before asking the peer. With
   * `invalidate`, the event stream drops a slot's entry before it tells devices of the change.
   */
  readonly slotCache?: SlotLookup & Partial<SlotInvalidation>;
  /**
   * A utility gateway's micro-batching of device forecasts (one SubmitForecasts per batch);
   * without it each forecast is its own SubmitForecast transaction. Closed with the app.
   */
  readonly forecastBatcher?: ForecastBatcher;
  /** The same for consumption reports (one ReportConsumptions per batch). Closed with the app. */
  readonly consumptionBatcher?: ConsumptionBatcher;
  /** The same for auction orders and cancellations (SubmitOrders, CancelOrders). Closed with the app. */
  readonly orderBatcher?: OrderBatcher;
  /** Devices' allowed powers in memory; by default a book over `ledger`. */
  readonly allowedPowers?: AllowedPowerBook;
  /**
   * The utility's OpenADR VENs (the VEN routes write them, the VTN reads them); by default a
   * registry over `ledger`. One per process, so that a revocation drops the VTN's cached record.
   */
  readonly vens?: VenRegistry;
}

/**
 * Paths of request data that never go to the logs: bodies may hold forecasts, orders, signatures,
 * enrolment secrets, VEN client secrets, home ids, meter readings and exports, and headers may hold
 * certificates.
 */
export const LOG_REDACTIONS = [
  'req.headers',
  'req.body',
  'body',
  'payload',
  'signature',
  'secret',
  'clientSecret',
  'csr',
  'homeId',
  'availability',
  'readings',
  'homeIds',
  'days',
  'intervalsWh',
  'exports',
];

/** Builds the gateway: one plugin per concern, routes per resource. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const serverOptions: FastifyServerOptions = {
    logger: options.logger ?? { level: 'info', redact: { paths: LOG_REDACTIONS, censor: '[redacted]' } },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // Strict types: a number where a string belongs is a 400, not silently converted.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    requestIdHeader: 'x-request-id',
    // Let in-flight requests finish on close(); idle keep-alive connections are closed.
    forceCloseConnections: 'idle',
    // Refusals before routing, and of requests Node's parser refused, in the API's error shape.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  };
  // The HTTPS instance has the same plugin and route API; only its server type differs.
  const app = (
    options.https
      ? Fastify({ ...(serverOptions as FastifyHttpsOptions<HttpsServer>), https: options.https })
      : Fastify(serverOptions)
  ) as FastifyInstance;
  await app.register(errorHandler);
  await app.register(httpConformance);
  await app.register(docs, { org: options.ledger.mspId });
  await app.register(authentication, {
    trust: options.trust,
    clientCertificate: options.clientCertificate ?? tlsClientCertificate,
    ...(options.failedAuthenticationLimit === false
      ? {}
      : {
          failureLimiter: new FailedAuthenticationLimiter(
            options.failedAuthenticationLimit ?? DEFAULT_FAILED_AUTHENTICATION_LIMIT,
          ),
        }),
  });
  const slotCache = options.slotCache;
  const allowedPowers = options.allowedPowers ?? new AllowedPowerBook(options.ledger);
  const batcher = options.forecastBatcher;
  const reports = options.consumptionBatcher;
  const orders = options.orderBatcher;
  // In-flight batches finish before the Fabric connections close.
  app.addHook('onClose', async () => {
    await Promise.all([batcher?.close(), reports?.close(), orders?.close()]);
  });
  await app.register(operations, {
    ledger: options.ledger,
    ...(options.ledger.identities.includes('relay') ? { allowedPowers } : {}),
    ...(slotCache?.invalidate === undefined
      ? {}
      : { slotCache: { invalidate: (slotId, blockNumber) => slotCache.invalidate?.(slotId, blockNumber) } }),
    ...options.operations,
  });
  await app.register(healthRoutes(options.ledger));
  await app.register(deviceRoutes(options.ledger, options.devices));
  await app.register(
    venRoutes(options.ledger, options.devices, options.vens ?? new VenRegistry(options.ledger)),
  );
  await app.register(slotRoutes(options.ledger, options.slotCache));
  await app.register(forecastRoutes(options.ledger, batcher));
  await app.register(consumptionRoutes(options.ledger, allowedPowers, reports));
  await app.register(dispatchRoutes(options.ledger, allowedPowers));
  await app.register(aggregateRoutes(options.ledger, options.aggregationFanOut));
  await app.register(auditRoutes(options.ledger));
  // The energy auction (docs/auction.md).
  await app.register(windowRoutes(options.ledger));
  await app.register(orderRoutes(options.ledger, orders));
  await app.register(revealRoutes(options.ledger));
  await app.register(meterRoutes(options.ledger));
  await app.register(settlementRoutes(options.ledger));
  await app.register(accountRoutes(options.ledger));
  // Demand response (docs/demand-response.md).
  await app.register(drRoutes(options.ledger));
  return app;
}

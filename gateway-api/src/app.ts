// @peculiar/x509 (certificate requests, attributes) needs the metadata polyfill loaded first.
import 'reflect-metadata';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Ledger } from './ledger/ports';
import { authentication, tlsClientCertificate, type ClientCertificateSource } from './plugins/authentication';
import { docs } from './plugins/docs';
import { errorHandler } from './plugins/error-handler';
import type { TrustStore } from './identity/trust-store';
import { operations } from './plugins/operations';
import { auditRoutes } from './routes/audit';
import { deviceRoutes } from './routes/devices';
import { healthRoutes } from './routes/health';
import { slotRoutes } from './routes/slots';

export interface AppOptions {
  readonly ledger: Ledger;
  readonly trust: TrustStore;
  /** Defaults to the mutual-TLS peer certificate; route tests inject one. */
  readonly clientCertificate?: ClientCertificateSource;
  readonly logger?: FastifyServerOptions['logger'];
  /** HTTPS server options (key, cert, ca, requestCert) for the real server. */
  readonly https?: FastifyServerOptions extends { https?: infer H } ? H : never;
  /** Maximum request body in bytes. */
  readonly bodyLimit?: number;
  /** Device onboarding: the org's Fabric CA (see routes/devices.ts). */
  readonly devices?: unknown;
}

/**
 * Paths of request data that never go to the logs: bodies may hold forecasts, signatures and
 * enrolment secrets, and headers may hold certificates.
 */
export const LOG_REDACTIONS = ['req.headers', 'req.body', 'body', 'payload', 'signature', 'secret', 'csr'];

/** Builds the gateway: one plugin per concern, routes per resource. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: 'info', redact: { paths: LOG_REDACTIONS, censor: '[redacted]' } },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ...(options.https ? { https: options.https } : {}),
    // Strict types: a number where a string belongs is a 400, not silently converted.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Ids in logs, never bodies.
    requestIdHeader: 'x-request-id',
  });
  await app.register(errorHandler);
  await app.register(docs, { org: options.ledger.mspId });
  await app.register(authentication, {
    trust: options.trust,
    clientCertificate: options.clientCertificate ?? tlsClientCertificate,
  });
  await app.register(operations, { ledger: options.ledger });
  await app.register(healthRoutes(options.ledger));
  await app.register(deviceRoutes(options.ledger, options.devices));
  await app.register(slotRoutes(options.ledger));
  await app.register(auditRoutes(options.ledger));
  return app;
}

import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TrustStore } from '../identity/trust-store';
import { tlsClientCertificate, type ClientCertificateSource } from '../plugins/authentication';
import { DeclaredMethods } from '../plugins/http-conformance';
import { DEFAULT_FAILED_AUTHENTICATION_LIMIT, FailedAuthenticationLimiter } from '../plugins/rate-limit';
import type { AllowedPowerBook } from '../services/allowed-powers';
import type { ConsumptionBatcher } from '../services/consumption-batcher';
import type { ForecastBatcher } from '../services/forecast-batcher';
import type { VenRegistry } from '../services/ven-registry';
import { AccessTokens } from './auth/access-tokens';
import { VtnClients } from './auth/clients';
import { tokenRoutes } from './auth/token-routes';
import type { DrResults } from './dr-results';
import { badRequest, useProblems } from './problem';
import { vtnRoutes } from './routes';
import type { SlotDirectory } from './slot-directory';
import { Subscriptions } from './subscriptions';
import { VtnService } from './vtn-service';
import { basePath, OPENADR_VERSIONS } from './versions';

export interface VtnAppOptions {
  /** The utility's MSP id. */
  readonly org: string;
  readonly trust: TrustStore;
  readonly registry: VenRegistry;
  readonly tokenKey: Uint8Array;
  readonly slots: SlotDirectory;
  readonly allowedPowers: AllowedPowerBook;
  readonly forecasts: ForecastBatcher;
  readonly consumption: ConsumptionBatcher;
  /** A home's demand-response results, reported to its VEN (LedgerDrResults); none without it. */
  readonly drResults?: DrResults;
  readonly https?: HttpsServerOptions;
  readonly logger?: FastifyServerOptions['logger'];
  readonly clientCertificate?: ClientCertificateSource;
  readonly allowHttpCallbacks?: boolean;
  readonly tokenLifetimeSeconds?: number;
  readonly fetch?: typeof fetch;
  /** Resolves a webhook's host (tests); the system resolver by default. */
  readonly resolveCallbackHost?: (host: string) => Promise<readonly string[]>;
}

/** Request line and headers the VTN's HTTP parser takes (Node's default is 16 KiB). */
export const VTN_MAX_HEADER_BYTES = 64 * 1024;

/** Request members that never reach the logs: credentials, bearer tokens, report values. */
export const VTN_LOG_REDACTIONS = ['req.headers', 'req.body', 'body'];

/** Parses application/x-www-form-urlencoded (the token endpoint): each parameter at most once. */
function parseForm(body: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.prototype.hasOwnProperty.call(form, name)) {
      throw badRequest(`the form repeats the parameter ${name.slice(0, 32)}`);
    }
    form[name] = value;
  }
  return form;
}

/**
 * The OpenADR 3 VTN of a utility gateway, on its own HTTPS listener: 3.1.0 and 3.0.1, each under
 * its base path, with OAuth2 client credentials, problem objects for errors and JSON bodies.
 */
export async function buildVtnApp(options: VtnAppOptions): Promise<FastifyInstance> {
  const serverOptions: FastifyServerOptions = {
    logger: options.logger ?? { level: 'info', redact: { paths: VTN_LOG_REDACTIONS, censor: '[redacted]' } },
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    forceCloseConnections: 'idle',
  };
  const app = (
    options.https
      ? Fastify({
          ...(serverOptions as FastifyHttpsOptions<HttpsServer>),
          // OpenADR list filters repeat query parameters: room for a query at its bounds, and for
          // one somewhat past them to be refused with a problem rather than by the HTTP parser.
          https: { maxHeaderSize: VTN_MAX_HEADER_BYTES, ...options.https },
        })
      : Fastify(serverOptions)
  ) as FastifyInstance;
  const declared = new DeclaredMethods();
  app.addHook('onRoute', (route) => {
    declared.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });
  useProblems(app, declared);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `OpenADR 3 VTN of ${options.org}`,
        description:
          'OpenADR 3.1.0 and 3.0.1, each under its base path, backed by the HEMS ledger (docs/openadr.md). ' +
          'Clients present an OAuth2 bearer token from POST <base>/auth/token.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  const tokens = new AccessTokens(options.tokenKey, options.tokenLifetimeSeconds);
  const clients = new VtnClients(options.registry, options.trust, options.org);
  const service = new VtnService({
    org: options.org,
    slots: options.slots,
    allowedPowers: options.allowedPowers,
    forecasts: options.forecasts,
    consumption: options.consumption,
    ...(options.drResults === undefined ? {} : { drResults: options.drResults }),
  });
  const subscriptions = new Subscriptions({
    clients,
    ...(options.allowHttpCallbacks === undefined ? {} : { allowHttpCallbacks: options.allowHttpCallbacks }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.resolveCallbackHost === undefined ? {} : { resolve: options.resolveCallbackHost }),
    log: app.log,
  });
  subscriptions.attach(service);
  options.slots.listen(subscriptions);
  const failures = new FailedAuthenticationLimiter(DEFAULT_FAILED_AUTHENTICATION_LIMIT);
  const clientCertificate = options.clientCertificate ?? tlsClientCertificate;
  for (const version of OPENADR_VERSIONS) {
    const prefix = basePath(version);
    await app.register(
      tokenRoutes({
        version,
        tokens,
        clients,
        failures,
        clientCertificate,
      }),
      { prefix },
    );
    await app.register(
      vtnRoutes({ version, org: options.org, tokens, clients, clientCertificate, service, subscriptions }),
      { prefix },
    );
  }
  app.get(OPENAPI_PATH, { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));
  return app;
}

/** Where the VTN serves its OpenAPI document (both versions' routes). */
export const OPENAPI_PATH = '/openadr/openapi.json';

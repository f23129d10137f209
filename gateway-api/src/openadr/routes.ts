import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientCertificateSource } from '../plugins/authentication';
import type { AccessTokens } from './auth/access-tokens';
import type { VtnClients } from './auth/clients';
import { VtnProblem } from './problem';
import type { Json, VersionContext } from './resources/common';
import { eventRoutes } from './resources/events';
import { reportRoutes } from './resources/reports';
import { subscriptionRoutes } from './resources/subscriptions';
import { venRoutes } from './resources/vens';
import * as schemas from './schemas';
import type { Subscriptions } from './subscriptions';
import type { VtnService } from './vtn-service';
import type { OpenAdrVersion } from './versions';

export interface VtnRoutesOptions {
  readonly version: OpenAdrVersion;
  readonly org: string;
  readonly tokens: AccessTokens;
  readonly clients: VtnClients;
  readonly clientCertificate: ClientCertificateSource;
  readonly service: VtnService;
  readonly subscriptions: Subscriptions;
}

/** Explicit JSON nulls are absent members (the specs' nullable members default to null). */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutNulls);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Json)
        .filter(([, member]) => member !== null)
        .map(([key, member]) => [key, withoutNulls(member)]),
    );
  }
  return value;
}

/** A list query parameter given once is a list of one (the query parser leaves it a string). */
function listsOfOne(query: unknown): unknown {
  if (query === null || typeof query !== 'object') {
    return query;
  }
  return Object.fromEntries(
    Object.entries(query as Json).map(([name, value]) => [
      name,
      schemas.common.LIST_QUERY_PARAMETERS.has(name) && typeof value === 'string' ? [value] : value,
    ]),
  );
}

/**
 * The routes of one OpenADR version, under its base path. Every route needs a bearer token whose
 * client is still good now (checked on each request, so a revocation takes effect at once).
 */
export function vtnRoutes(options: VtnRoutesOptions) {
  return (app: FastifyInstance, _opts: unknown, done: (error?: Error) => void): void => {
    const { tokens, clients } = options;
    app.addHook('preValidation', (request: FastifyRequest, _reply: FastifyReply, next: () => void) => {
      if (request.body !== undefined) {
        request.body = withoutNulls(request.body);
      }
      request.query = listsOfOne(request.query);
      next();
    });
    app.addHook('onRequest', async (request, reply) => {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,2048})$/.exec(request.headers.authorization ?? '');
      const claims = match?.[1] === undefined ? undefined : tokens.verify(match[1]);
      const client =
        claims === undefined ? undefined : await clients.clientOf(claims, options.clientCertificate(request));
      if (client === undefined) {
        void reply.header('www-authenticate', 'Bearer realm="openadr"');
        throw new VtnProblem(
          401,
          'Unauthorized',
          'a valid, unexpired bearer token of an active client is required',
        );
      }
      request.vtnClient = client;
    });
    const context: VersionContext = {
      version: options.version,
      org: options.org,
      service: options.service,
      subscriptions: options.subscriptions,
      schemas: options.version === '3.1.0' ? schemas.v310 : schemas.v301,
    };
    eventRoutes(app, context);
    reportRoutes(app, context);
    subscriptionRoutes(app, context);
    venRoutes(app, context);
    done();
  };
}

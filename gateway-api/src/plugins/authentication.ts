import type { X509Certificate } from 'node:crypto';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../http/errors';
import type { Caller, Role } from '../identity/caller';
import type { TrustStore } from '../identity/trust-store';
import type { FailedAuthenticationLimiter } from './rate-limit';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client; set for every /v1 route. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; absent means any authenticated caller. */
    roles?: readonly Role[];
    /** Public route (health, metrics, docs): no client certificate needed. */
    public?: boolean;
  }
}

export type ClientCertificateSource = (request: FastifyRequest) => X509Certificate | undefined;

/** The verified peer certificate of the mutual-TLS connection the request came on. */
export const tlsClientCertificate: ClientCertificateSource = (request) => {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') {
    return undefined;
  }
  const peer = socket.getPeerCertificate(false);
  return peer.raw === undefined ? undefined : new NodeX509Certificate(peer.raw);
};

export interface AuthenticationOptions {
  readonly trust: TrustStore;
  readonly clientCertificate: ClientCertificateSource;
  /** Counts failed authentications per remote address and refuses addresses over the limit. */
  readonly failureLimiter?: FailedAuthenticationLimiter;
}

/**
 * The caller authenticated on each mutual-TLS connection: TLS proved the certificate once, so a
 * kept-alive connection's later requests skip parsing and verifying it again (the chain, the
 * attributes); only what can change meanwhile — validity and revocation — is checked per request.
 */
const callerOfConnection = new WeakMap<object, Caller>();

/** Authenticates the request's certificate; a refusal counts against its remote address. */
function authenticateCounted(options: AuthenticationOptions, request: FastifyRequest): Caller {
  const connection = options.clientCertificate === tlsClientCertificate ? request.raw.socket : undefined;
  try {
    const known = connection === undefined ? undefined : callerOfConnection.get(connection);
    if (known !== undefined) {
      return options.trust.recheck(known);
    }
    const caller = options.trust.authenticate(options.clientCertificate(request));
    if (connection !== undefined) {
      callerOfConnection.set(connection, caller);
    }
    return caller;
  } catch (error) {
    options.failureLimiter?.recordFailure(request.ip);
    throw error;
  }
}

/**
 * Authenticates every non-public request by its client certificate (chain to a channel org's CA,
 * validity, revocation, hems.role) and enforces each route's `config.roles`.
 */
export const authentication = fp(
  (app: FastifyInstance, options: AuthenticationOptions, done: (error?: Error) => void) => {
    app.decorateRequest('caller', null as unknown as Caller);
    app.addHook('onRequest', (request, reply, next) => {
      const config = request.routeOptions.config;
      // The API description is public; so are health checks and metrics (config.public); an
      // unknown route is answered 404 by the not-found handler.
      if (
        config.public === true ||
        request.url.startsWith('/docs') ||
        request.routeOptions.url === undefined
      ) {
        next();
        return;
      }
      const limiter = options.failureLimiter;
      const retryMs = limiter?.retryAfterMs(request.ip);
      if (limiter !== undefined && retryMs !== undefined) {
        const seconds = Math.ceil(retryMs / 1000);
        void reply.header('retry-after', String(seconds));
        next(
          new HttpError(
            429,
            'RATE_LIMITED',
            `more than ${limiter.max} failed authentications from this address; retry in ${seconds} s`,
          ),
        );
        return;
      }
      try {
        request.caller = authenticateCounted(options, request);
        const roles = config.roles;
        if (roles !== undefined && !roles.includes(request.caller.role)) {
          throw new HttpError(403, 'FORBIDDEN', `this operation is for ${roles.join(' or ')} identities`);
        }
        next();
      } catch (error) {
        next(error as Error);
      }
    });
    done();
  },
  { name: 'authentication' },
);

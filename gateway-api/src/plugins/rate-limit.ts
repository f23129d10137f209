import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../http/errors';
import type { ClientCertificateSource } from './authentication';

export interface RateLimitOptions {
  /** Requests per client and window. */
  readonly max: number;
  /** Window length in milliseconds; default one minute. */
  readonly timeWindowMs?: number;
  /** Where the client certificate comes from (the same source authentication uses). */
  readonly clientCertificate: ClientCertificateSource;
}

/**
 * The rate-limit key: the client certificate's SHA-256 fingerprint, so every device, relay or
 * operator has its own budget however many addresses it uses (a home router's NAT puts many
 * devices behind one address). Requests without a certificate (public routes) fall back to the IP.
 */
export function rateLimitKey(request: FastifyRequest, clientCertificate: ClientCertificateSource): string {
  // Authentication ran first on /v1 routes and already parsed the certificate.
  const certificate =
    (request.caller as typeof request.caller | null)?.certificate ?? clientCertificate(request);
  return certificate === undefined ? `ip:${request.ip}` : `cert:${certificate.fingerprint256}`;
}

/** Per-client request budget with @fastify/rate-limit; 429 answers use the API's error format. */
export const clientRateLimit = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    await app.register(rateLimit, {
      global: true,
      max: options.max,
      timeWindow: options.timeWindowMs ?? 60_000,
      keyGenerator: (request) => rateLimitKey(request, options.clientCertificate),
      // Thrown by the plugin, so the error handler renders it like every other error.
      errorResponseBuilder: (_request, context) =>
        new HttpError(
          context.statusCode,
          'RATE_LIMITED',
          `rate limit of ${context.max} requests exceeded; retry in ${context.after}`,
        ),
    });
  },
  { name: 'client-rate-limit' },
);

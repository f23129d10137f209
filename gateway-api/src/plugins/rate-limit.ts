import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../http/errors';

export interface RateLimitOptions {
  /** Requests per client and window. */
  readonly max: number;
  /** Window length in milliseconds; default one minute. */
  readonly timeWindowMs?: number;
}

/**
 * The rate-limit key: the SHA-256 fingerprint of the certificate authentication verified, so
 * every device, relay or operator has its own budget however many addresses it uses (a home
 * router's NAT puts many devices behind one address). Any other request (public routes) is keyed
 * by its address: a certificate that was not verified — the TLS layer accepts any, and leaves the
 * judgement to the authentication plugin — must not buy a fresh budget with each new key pair.
 * Requests that fail authentication never get here; FailedAuthenticationLimiter counts those.
 */
export function rateLimitKey(request: FastifyRequest): string {
  // Authentication's onRequest hook runs before this plugin's and sets caller only on success.
  const caller = request.caller as typeof request.caller | null;
  return caller === null ? `ip:${request.ip}` : `caller:${caller.certificate.fingerprint256}`;
}

/** Per-client request budget with @fastify/rate-limit; 429 answers use the API's error format. */
export const clientRateLimit = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    await app.register(rateLimit, {
      global: true,
      max: options.max,
      timeWindow: options.timeWindowMs ?? 60_000,
      keyGenerator: (request) => rateLimitKey(request),
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

export interface FailedAuthenticationLimitOptions {
  /** Failed authentications per remote address and window before the address is refused. */
  readonly max: number;
  /** Window length in milliseconds; default one minute. */
  readonly timeWindowMs?: number;
  /** Addresses tracked at most; the oldest windows are forgotten first. Default 10 000. */
  readonly maxAddresses?: number;
  readonly now?: () => number;
}

export const DEFAULT_FAILED_AUTHENTICATION_LIMIT = { max: 30, timeWindowMs: 60_000 } as const;

/**
 * Failed authentications per remote address in fixed windows. Once an address has used its
 * budget, its requests are refused before their certificate is checked, so a flood of bad or
 * self-signed certificates costs no signature verifications and cannot outrun the limit by
 * changing keys. Devices sharing the address (NAT) share the budget for the rest of the window,
 * which is why it counts only failures.
 */
export class FailedAuthenticationLimiter {
  private readonly windows = new Map<string, { failures: number; resetAt: number }>();
  private readonly timeWindowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly options: FailedAuthenticationLimitOptions) {
    if (!Number.isInteger(options.max) || options.max < 1) {
      throw new RangeError('the failed-authentication limit must be a positive integer');
    }
    this.timeWindowMs = options.timeWindowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get max(): number {
    return this.options.max;
  }

  /** Milliseconds until `address` may try again, or undefined when it is within its budget. */
  retryAfterMs(address: string): number | undefined {
    const window = this.windows.get(address);
    if (window === undefined) {
      return undefined;
    }
    const left = window.resetAt - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return undefined;
    }
    return window.failures >= this.options.max ? left : undefined;
  }

  recordFailure(address: string): void {
    const now = this.now();
    const window = this.windows.get(address);
    if (window !== undefined && window.resetAt > now) {
      window.failures += 1;
      return;
    }
    this.windows.delete(address);
    this.windows.set(address, { failures: 1, resetAt: now + this.timeWindowMs });
    // Map order is insertion order: the first entries are the oldest windows.
    for (const oldest of this.windows.keys()) {
      if (this.windows.size <= this.maxAddresses) {
        break;
      }
      this.windows.delete(oldest);
    }
  }
}

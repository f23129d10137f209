import { setTimeout as delay } from 'node:timers/promises';
import { GatewayApiError, GatewayConnectionError } from './errors';
import type { RetryOptions } from './types';

/** The retry settings of a client, defaults filled in. */
export type RetrySettings = Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>;

/** Worth retrying unchanged: the gateway, or the network behind it, is temporarily unavailable. */
export function isTransient(error: unknown): boolean {
  return (error instanceof GatewayApiError || error instanceof GatewayConnectionError) && error.transient;
}

/** Equal jitter: between half and all of `ms`. */
export function jitter(ms: number): number {
  return Math.round(ms / 2 + (Math.random() * ms) / 2);
}

/** The retry settings for `options`: 5 attempts, 500 ms doubling up to 10 s by default. */
export function retrySettings(options: RetryOptions | undefined): RetrySettings {
  return {
    attempts: Math.max(1, Math.floor(options?.attempts ?? 5)),
    initialDelayMs: options?.initialDelayMs ?? 500,
    maxDelayMs: options?.maxDelayMs ?? 10_000,
    onRetry: options?.onRetry,
  };
}

/**
 * Runs `attempt` until it succeeds, retrying transient failures (network failures, 429/502/503/504,
 * 409 IDEMPOTENCY_KEY_IN_USE) with jittered exponential backoff, at least any Retry-After.
 */
export async function withRetry<T>(
  settings: RetrySettings,
  attempt: () => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const { attempts, initialDelayMs, maxDelayMs, onRetry } = settings;
  for (let number = 1; ; number += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (number >= attempts || !isTransient(error) || signal?.aborted === true) {
        throw error;
      }
      const backoff = jitter(Math.min(maxDelayMs, initialDelayMs * 2 ** (number - 1)));
      const retryAfter = error instanceof GatewayApiError ? error.retryAfterMs : undefined;
      const delayMs = Math.min(maxDelayMs, Math.max(backoff, retryAfter ?? 0));
      onRetry?.({ attempt: number, delayMs, error: error as Error });
      await delay(delayMs, undefined, signal === undefined ? {} : { signal });
    }
  }
}

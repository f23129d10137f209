import { createHash, createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { canonicalJson } from '@hems/protocol';
import { HttpError } from '../http/errors';
import { DOCUMENTED_ERRORS } from '../http/routes';
import type { Ledger } from '../ledger/ports';
import { MemoryIdempotencyStore } from '../services/idempotency-memory-store';
import type { IdempotencyStore } from '../services/idempotency-store';

export type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../services/idempotency-store';
export {
  MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
} from '../services/idempotency-memory-store';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's request is safe to run again when its key is in doubt after a restart: its
     * device-signed payload's nonce lets the relay answer an item already stored with its first
     * receipt, and a replay never counts twice on the ledger (forecasts).
     */
    rerunInDoubt?: boolean;
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAY_HEADER = 'idempotent-replay';

/** 1-128 visible ASCII characters (no spaces or control characters). */
const KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** Response headers a replay repeats; the rest (rate-limit counters, request id) are per request. */
const REPLAYED_HEADERS = ['content-type', 'x-transaction-id', 'location'];

export interface IdempotencyOptions {
  /** Default an in-memory store; a FileIdempotencyStore survives restarts. Closed with the app. */
  readonly store?: IdempotencyStore;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The body's fingerprint, keyed by the Idempotency-Key itself: a store (a journal on disk) holds
 * only hashed keys, so whoever reads it cannot confirm a guessed body (a deposit's amount, a home
 * id) by hashing it; devices use random keys.
 */
function bodyHashOf(idempotencyKey: string, body: unknown): string {
  let text: string;
  try {
    // Canonical, so the same JSON with its members in another order is the same request.
    text = canonicalJson(body ?? null);
  } catch {
    text = typeof body === 'string' ? body : JSON.stringify(body ?? null);
  }
  return createHmac('sha256', idempotencyKey).update(text, 'utf8').digest('hex');
}

function transactionIdInBody(payload: string): boolean {
  try {
    return typeof (JSON.parse(payload) as { transactionId?: unknown }).transactionId === 'string';
  } catch {
    return false;
  }
}

/**
 * Idempotent POSTs: a request with an `Idempotency-Key` runs once per caller, method, URL and
 * key; a retry with the same body gets the stored response (header `idempotent-replay: true`) and
 * never submits again, the same key with another body is refused (422), and a retry while the
 * first is still running is refused (409). A response is stored when the request got as far as a
 * transaction (status below 500, or a transaction id in the answer); a failure before any
 * transaction existed (the peer unreachable, ...) frees the key so the retry runs. A key whose
 * request was running when the gateway crashed (a persistent store knows it) is in doubt: 409
 * IDEMPOTENCY_KEY_IN_DOUBT, neither run again nor reported as failed.
 */
export const idempotency = fp(
  (app: FastifyInstance, options: IdempotencyOptions, done: (error?: Error) => void) => {
    const store: IdempotencyStore = options.store ?? new MemoryIdempotencyStore();
    const claims = new WeakMap<FastifyRequest, string>();

    app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers[IDEMPOTENCY_HEADER];
      // Public routes have no caller to scope keys by; none of them submits.
      if (request.method !== 'POST' || header === undefined || request.routeOptions.config.public === true) {
        return;
      }
      if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
        throw new HttpError(
          400,
          'INVALID_REQUEST',
          'Idempotency-Key must be one header of 1-128 visible ASCII characters',
        );
      }
      const caller = request.caller;
      const key = sha256([caller.mspId, caller.serial, request.method, request.url, header].join('\n'));
      const bodyHash = bodyHashOf(header, request.body);
      let record;
      try {
        record = await store.claim(key, bodyHash);
      } catch (error) {
        // Fail closed: without a durable claim a crash could make the retry submit twice.
        request.log.error({ err: { type: (error as Error).name } }, 'idempotency store failed');
        throw new HttpError(
          503,
          'IDEMPOTENCY_UNAVAILABLE',
          'the gateway cannot record this Idempotency-Key now; nothing was submitted, retry later',
        );
      }
      if (record === undefined) {
        claims.set(request, key);
        return;
      }
      if (record.bodyHash !== bodyHash) {
        throw new HttpError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was already used with a different request body',
        );
      }
      if (record.state === 'running') {
        throw new HttpError(
          409,
          'IDEMPOTENCY_KEY_IN_USE',
          'a request with this Idempotency-Key is still being processed; retry later',
        );
      }
      if (record.state === 'in-doubt' && request.routeOptions.config.rerunInDoubt === true) {
        // Not a false failure and not a double submission: the payload's nonce decides.
        await store.release(key);
        if ((await store.claim(key, bodyHash)) === undefined) {
          claims.set(request, key);
          return;
        }
        throw new HttpError(
          409,
          'IDEMPOTENCY_KEY_IN_USE',
          'a request with this Idempotency-Key is still being processed; retry later',
        );
      }
      if (record.state === 'in-doubt') {
        // Running it again could submit twice (a deposit, an order), answering a failure could be
        // false: only the client can find out whether it took effect.
        throw new HttpError(
          409,
          'IDEMPOTENCY_KEY_IN_DOUBT',
          'the gateway restarted while the request with this Idempotency-Key was running, so ' +
            'whether it took effect is unknown and it is not run again: check its effect (read ' +
            'the resource, or GET /v1/transactions/{txId}/status for a known transaction id) and ' +
            'if it did not take effect, send it again with a new Idempotency-Key',
        );
      }
      const { response } = record;
      return reply
        .code(response.statusCode)
        .headers({ ...response.headers, [REPLAY_HEADER]: 'true' })
        .send(response.body);
    });

    app.addHook('onSend', async (request, reply, payload) => {
      const key = claims.get(request);
      if (key === undefined) {
        return payload;
      }
      claims.delete(request);
      const body =
        typeof payload === 'string'
          ? payload
          : Buffer.isBuffer(payload)
            ? payload.toString('utf8')
            : undefined;
      const reachedLedger =
        reply.statusCode < 500 ||
        reply.hasHeader('x-transaction-id') ||
        (body !== undefined && transactionIdInBody(body));
      try {
        if (body === undefined || !reachedLedger) {
          await store.release(key);
        } else {
          const headers: Record<string, string> = {};
          for (const name of REPLAYED_HEADERS) {
            const value = reply.getHeader(name);
            if (value !== undefined) {
              headers[name] = String(value);
            }
          }
          await store.complete(key, { statusCode: reply.statusCode, headers, body });
        }
      } catch (error) {
        // The answer still goes out; only a later retry loses its replay.
        request.log.error({ err: { type: (error as Error).name } }, 'idempotency store failed');
      }
      return payload;
    });

    // After the server closed, so in-flight requests have recorded their answers.
    app.addHook('onClose', async () => {
      await store.close?.();
    });
    done();
  },
  { name: 'idempotency', dependencies: ['authentication'] },
);

const txIdParams = {
  type: 'object',
  required: ['txId'],
  additionalProperties: false,
  properties: { txId: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const;

/**
 * GET /v1/transactions/:txId/status: for a client whose submit ended without an answer (timeout,
 * 504 COMMIT_STATUS_UNKNOWN, a dropped connection), whether its transaction committed. Only the
 * commit status: who created or endorsed it is for auditors (/v1/audit/transactions/:txId).
 */
export function transactionStatusRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.get<{ Params: { txId: string } }>(
      '/v1/transactions/:txId/status',
      {
        schema: {
          tags: ['operations'],
          summary: 'Commit status of a transaction by id (404 when it is not on the ledger)',
          params: txIdParams,
          response: {
            // 404 for a transaction not on the ledger, 400 for a malformed id, as for every route.
            ...DOCUMENTED_ERRORS,
            200: {
              type: 'object',
              required: ['transactionId', 'committed', 'validationCode', 'blockNumber'],
              properties: {
                transactionId: { type: 'string' },
                committed: {
                  type: 'boolean',
                  description: 'validation code VALID: its writes are on the ledger',
                },
                validationCode: { type: 'string' },
                blockNumber: { type: 'integer' },
                timestamp: { type: 'string' },
              },
            },
          },
        },
      },
      async (request) => {
        const info = await ledger.transaction(request.params.txId);
        return {
          transactionId: info.transactionId,
          committed: info.validationCode === 'VALID',
          validationCode: info.validationCode,
          blockNumber: info.blockNumber,
          timestamp: info.timestamp,
        };
      },
    );
    done();
  };
}

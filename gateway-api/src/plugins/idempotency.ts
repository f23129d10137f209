import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { canonicalJson } from '@hems/protocol';
import { HttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';

/** The response of a completed request, as replayed to a retry. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type IdempotencyRecord =
  | { readonly state: 'running'; readonly bodyHash: string }
  | { readonly state: 'completed'; readonly bodyHash: string; readonly response: StoredResponse };

/**
 * Where idempotency records live. Asynchronous so that a persistent store (a file, Redis, a
 * database) can replace the in-memory one; `claim` must be atomic per key.
 */
export interface IdempotencyStore {
  /** Claims `key` for a running request, or returns the record that already holds it. */
  claim(key: string, bodyHash: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the response of the request holding `key`. */
  complete(key: string, response: StoredResponse): Promise<void>;
  /** Frees `key`: its request ended without creating a transaction, so a retry may run again. */
  release(key: string): Promise<void>;
}

export interface MemoryIdempotencyStoreOptions {
  /** How long a completed response is replayed; default 24 h. */
  readonly ttlMs?: number;
  /** Most records kept; the oldest are dropped first. Default 100 000. */
  readonly maxEntries?: number;
  /**
   * How long a running claim holds its key. Longer than any submit (endorse + order + commit
   * deadlines are under 2 minutes), so only a request that never answered loses its claim.
   */
  readonly leaseMs?: number;
  readonly now?: () => number;
}

/** Idempotency records in process memory, with TTL and a size bound. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, { record: IdempotencyRecord; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.leaseMs = options.leaseMs ?? 5 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.records.size;
  }

  claim(key: string, bodyHash: string): Promise<IdempotencyRecord | undefined> {
    const now = this.now();
    const existing = this.records.get(key);
    if (existing !== undefined && existing.expiresAt > now) {
      return Promise.resolve(existing.record);
    }
    this.put(key, { state: 'running', bodyHash }, now + this.leaseMs);
    return Promise.resolve(undefined);
  }

  complete(key: string, response: StoredResponse): Promise<void> {
    const existing = this.records.get(key);
    if (existing !== undefined) {
      this.put(
        key,
        { state: 'completed', bodyHash: existing.record.bodyHash, response },
        this.now() + this.ttlMs,
      );
    }
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.records.delete(key);
    return Promise.resolve();
  }

  /** Re-inserts at the end, so map order is (roughly) expiry order for cheap eviction. */
  private put(key: string, record: IdempotencyRecord, expiresAt: number): void {
    this.records.delete(key);
    this.records.set(key, { record, expiresAt });
    const now = this.now();
    for (const [oldest, entry] of this.records) {
      if (this.records.size <= this.maxEntries && entry.expiresAt > now) {
        break;
      }
      this.records.delete(oldest);
    }
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAY_HEADER = 'idempotent-replay';

/** 1-128 visible ASCII characters (no spaces or control characters). */
const KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** Response headers a replay repeats; the rest (rate-limit counters, request id) are per request. */
const REPLAYED_HEADERS = ['content-type', 'x-transaction-id', 'location'];

export interface IdempotencyOptions {
  readonly store?: IdempotencyStore;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function bodyHashOf(body: unknown): string {
  try {
    // Canonical, so the same JSON with its members in another order is the same request.
    return sha256(canonicalJson(body ?? null));
  } catch {
    return sha256(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  }
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
 * transaction existed (the peer unreachable, ...) frees the key so the retry runs.
 */
export const idempotency = fp(
  (app: FastifyInstance, options: IdempotencyOptions, done: (error?: Error) => void) => {
    const store = options.store ?? new MemoryIdempotencyStore();
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
      const bodyHash = bodyHashOf(request.body);
      const record = await store.claim(key, bodyHash);
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

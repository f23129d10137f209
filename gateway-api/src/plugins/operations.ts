import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Ledger } from '../ledger/ports';

/** Operations concerns (metrics, rate limits, idempotency, events); registered before the routes. */
export const operations = fp(
  async (_app: FastifyInstance, _options: { readonly ledger: Ledger }) => {
    // Filled in by the operations work (metrics, rate limit, idempotency, server-sent events).
  },
  { name: 'operations' },
);

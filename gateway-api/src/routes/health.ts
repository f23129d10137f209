import type { FastifyInstance } from 'fastify';
import type { Ledger } from '../ledger/ports';

/**
 * /healthz: the process answers. /readyz: the peer answers and its block height is readable;
 * a height that has not moved for a long time is reported (the channel may be stuck), not failed,
 * because a quiet channel has no new blocks either.
 */
export function healthRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    let lastHeight = -1;
    let lastChange = Date.now();

    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'The gateway process is up',
          response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
        },
      },
      () => ({ status: 'ok' }),
    );

    app.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          tags: ['operations'],
          summary: 'The peer is reachable and its ledger readable',
          response: {
            200: {
              type: 'object',
              properties: {
                status: { type: 'string' },
                org: { type: 'string' },
                blockHeight: { type: 'integer' },
                secondsSinceNewBlock: { type: 'integer' },
              },
            },
            503: { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } },
          },
        },
      },
      async (_request, reply) => {
        try {
          const height = await ledger.blockHeight();
          if (height !== lastHeight) {
            lastHeight = height;
            lastChange = Date.now();
          }
          return {
            status: 'ready',
            org: ledger.mspId,
            blockHeight: height,
            secondsSinceNewBlock: Math.floor((Date.now() - lastChange) / 1000),
          };
        } catch {
          return reply.status(503).send({ status: 'unavailable', reason: 'the peer did not answer' });
        }
      },
    );
    done();
  };
}

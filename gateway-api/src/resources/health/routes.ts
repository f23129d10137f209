import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { healthRoute, readinessRoute } from './schemas';

/**
 * /healthz: the process answers. /readyz: the peer answers and its block height is readable;
 * a height that has not moved for a long time is reported (the channel may be stuck), not failed,
 * because a quiet channel has no new blocks either.
 */
export function healthRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    let lastHeight = -1;
    let lastChange = Date.now();

    app.get('/healthz', healthRoute, () => ({ status: 'ok' }));

    app.get('/readyz', readinessRoute, async (_request, reply) => {
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
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { withTransactionId } from '../common/answers';
import { requireOwnUtility } from '../common/guards';
import { releaseOwnEscrow, revealOwnOrders } from './service';
import { RELEASE_BODY_LIMIT, escrowReleaseRoute, revealRoute } from './schemas';

/**
 * POST /v1/windows/:windowId/reveal and /escrow-release on a utility gateway (its schedulers do
 * both on their own: the reveal at the close, the release after the clearing).
 */
export function revealRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post(
      '/v1/windows/:windowId/reveal',
      { config: { roles: ['admin', 'relay'] }, schema: revealRoute },
      async (request, reply) => {
        requireOwnUtility(
          ledger,
          request,
          "revealing a utility's orders",
          `only ${ledger.mspId} itself reveals its orders`,
        );
        return withTransactionId(reply, await revealOwnOrders(ledger, request.params.windowId));
      },
    );

    app.post(
      '/v1/windows/:windowId/escrow-release',
      {
        config: { roles: ['admin'] },
        bodyLimit: RELEASE_BODY_LIMIT,
        schema: escrowReleaseRoute,
      },
      async (request, reply) => {
        requireOwnUtility(
          ledger,
          request,
          "releasing a utility's escrows",
          `only ${ledger.mspId} itself releases its escrows`,
        );
        const accounts = request.body?.accounts ?? [];
        return withTransactionId(reply, await releaseOwnEscrow(ledger, request.params.windowId, accounts));
      },
    );
  });
}

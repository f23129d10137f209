import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { withTransactionId } from '../common/answers';
import { requireOwnUtility, type CallerRequest } from '../common/guards';
import { commitOwnOrders, releaseOwnEscrow, revealOwnOrders } from './service';
import { commitmentRoute, escrowReleaseRoute, revealRoute } from './schemas';

/**
 * POST /v1/windows/:windowId/reveal and /escrow-release on a utility gateway (its schedulers do
 * both on their own: the reveal at the close, the release after the clearing).
 */
export function revealRoutes(ledger: Ledger): RoutesPlugin {
  /** Only the utility itself, its own people at its own gateway, does `action`. */
  const requireUtilityItself = (request: CallerRequest, what: string, action: string): void =>
    requireOwnUtility(ledger, request, what, `only ${ledger.mspId} itself ${action}`);
  return routes((app) => {
    app.post('/v1/windows/:windowId/commitment', commitmentRoute, async (request, reply) => {
      requireUtilityItself(request, "committing to a utility's orders", 'commits to its orders');
      return withTransactionId(reply, await commitOwnOrders(ledger, request.params.windowId));
    });

    app.post('/v1/windows/:windowId/reveal', revealRoute, async (request, reply) => {
      requireUtilityItself(request, "revealing a utility's orders", 'reveals its orders');
      return withTransactionId(reply, await revealOwnOrders(ledger, request.params.windowId));
    });

    app.post('/v1/windows/:windowId/escrow-release', escrowReleaseRoute, async (request, reply) => {
      requireUtilityItself(request, "releasing a utility's escrows", 'releases its escrows');
      const accounts = request.body?.accounts ?? [];
      return withTransactionId(reply, await releaseOwnEscrow(ledger, request.params.windowId, accounts));
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import { auction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import { submittedAnswer } from '../common/answers';
import { requireOwnUtility } from '../common/guards';
import { settlementRoute } from './schemas';

/**
 * POST /v1/windows/:windowId/settlement: a utility settles its own accounts of the window on its
 * own peer (sellers paid in proportion to what they delivered, out of what the buyers were charged
 * at their delivery reports); once per org, after every org with trades has reported its
 * deliveries, or once the market operator closed the reports (from reportBy on) without them.
 */
export function settlementRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/windows/:windowId/settlement', settlementRoute, async (request, reply) => {
      const refusal = `${ledger.mspId} settles its accounts through its own admins only`;
      requireOwnUtility(ledger, request, "settling a utility's accounts", refusal);
      const submitted = await auction(ledger, 'relay').SettleWindow.submit({
        arguments: [request.params.windowId],
        endorsingOrganizations: [ledger.mspId],
      });
      return submittedAnswer(reply, submitted);
    });
  });
}

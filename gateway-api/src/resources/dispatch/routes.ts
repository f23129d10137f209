import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { requireOwnDevice, requireOwnOperator } from '../common/guards';
import { allowedPowerOf, publishDispatch } from './service';
import { allowedPowerRoute, publishDispatchRoute } from './schemas';

/** λ of a slot: published by the DSO, read by each device as its own allowed power. */
export function dispatchRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.get('/v1/slots/:slotId/dispatch', allowedPowerRoute, async (request) => {
      requireOwnDevice(ledger, request);
      return allowedPowerOf(ledger, request.params.slotId, request.caller);
    });

    app.post('/v1/slots/:slotId/dispatch', publishDispatchRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'dso', 'dispatch');
      const { submitted, answer } = await publishDispatch(ledger, request.params.slotId, request.body);
      void reply.status(201).header('x-transaction-id', submitted.transactionId);
      return answer;
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import type { AllowedPowerBook } from '../../services/allowed-powers';
import { requireOwnDevice, requireOwnOperator } from '../common/guards';
import { publishDispatch } from './service';
import { allowedPowerRoute, publishDispatchRoute } from './schemas';

/** λ of a slot: published by the DSO, read by each device as its own allowed power (from memory). */
export function dispatchRoutes(ledger: Ledger, allowedPowers: AllowedPowerBook): RoutesPlugin {
  return routes((app) => {
    app.get('/v1/slots/:slotId/dispatch', allowedPowerRoute, async (request) => {
      const { homeId } = requireOwnDevice(ledger, request);
      // From the relay's memory: one evaluation per slot and dispatch, not one per device.
      return allowedPowers.allowedPowerOf(request.params.slotId, {
        homeId,
        certificatePem: request.caller.certificatePem,
      });
    });

    app.post('/v1/slots/:slotId/dispatch', publishDispatchRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'dso', 'dispatch');
      const { submitted, answer } = await publishDispatch(ledger, request.params.slotId, request.body);
      void reply.status(201).header('x-transaction-id', submitted.transactionId);
      return answer;
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { requireOwnDevice, requireOwnOperator } from '../common/guards';
import { decodeJson } from '../../ledger/answers';
import { submittedAnswer } from '../common/answers';
import {
  declareEmergency,
  deviceSlotView,
  forecastProofOf,
  openSlot,
  publicSlotReader,
  type SlotLookup,
} from './service';
import { emergencyRoute, openSlotRoute, receiptRoute, slotRoute } from './schemas';

/**
 * GET /v1/slots/:slotId for everyone (devices: their own bus), its receipt, and for the DSO POST
 * /v1/slots and a slot's emergency.
 */
export function slotRoutes(ledger: Ledger, cache?: SlotLookup): RoutesPlugin {
  const publicSlot = publicSlotReader(ledger, cache);
  return routes((app) => {
    app.get('/v1/slots/:slotId', slotRoute, async (request) => {
      const slot = await publicSlot(request.params.slotId);
      if (request.caller.role !== 'hems') {
        return slot;
      }
      const { bus } = requireOwnDevice(ledger, request);
      return deviceSlotView(slot, bus);
    });

    app.get('/v1/slots/:slotId/receipt', receiptRoute, async (request) => {
      const { bus } = requireOwnDevice(ledger, request);
      return { ...(await forecastProofOf(ledger, request.params.slotId, request.caller)), bus };
    });

    app.post('/v1/slots', openSlotRoute, async (request, reply) => {
      // The gateway acts as its own org's DSO identity only for that org's operators.
      requireOwnOperator(ledger, request, 'dso', 'opening a slot');
      const submitted = await openSlot(ledger, request.body);
      void reply.status(201).header('x-transaction-id', submitted.transactionId);
      return decodeJson(submitted.result);
    });

    app.post('/v1/slots/:slotId/emergency', emergencyRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'dso', 'declaring an emergency');
      return submittedAnswer(
        reply,
        await declareEmergency(ledger, request.params.slotId, request.body.level),
      );
    });
  });
}

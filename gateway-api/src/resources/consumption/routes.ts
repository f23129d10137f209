import { routes, type RoutesPlugin } from '../../http/routes';
import { decodeJson } from '../../ledger/answers';
import { timeslot, type Transaction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import { requireOwnPublication } from '../aggregates/service';
import { transactionHeader } from '../common/answers';
import { relayForDevice } from '../common/relay';
import { publishOwnConsumption } from './service';
import { publishConsumptionRoute, reportConsumptionRoute } from './schemas';

/** Metered consumption: each device's signed report, and its utility's per-bus summaries. */
export function consumptionRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/slots/:slotId/consumption', reportConsumptionRoute, async (request, reply) => {
      const relay = (): Transaction => timeslot(ledger, 'relay').ReportConsumption;
      const submitted = await relayForDevice(ledger, request, request.params.slotId, relay);
      transactionHeader(reply, submitted, 201);
      // Only the receipt: the drawn power stays in the utility's private collection.
      const receipt = decodeJson<{ slotId: string; txId: string; recordedAt: string }>(submitted.result);
      return { slotId: receipt.slotId, txId: receipt.txId, recordedAt: receipt.recordedAt };
    });

    app.post('/v1/slots/:slotId/consumption-summaries', publishConsumptionRoute, async (request) => {
      requireOwnPublication(ledger, request, 'consumption summaries');
      return publishOwnConsumption(ledger, request.params.slotId);
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import { decodeJson } from '../../ledger/answers';
import { timeslot, type Transaction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import type { AllowedPowerBook } from '../../services/allowed-powers';
import type { ConsumptionBatcher } from '../../services/consumption-batcher';
import { requireOwnPublication } from '../aggregates/service';
import { transactionHeader } from '../common/answers';
import { requireOwnDevice } from '../common/guards';
import { relaySigned, signatureBytes } from '../common/relay';
import { publishOwnConsumption } from './service';
import { publishConsumptionRoute, reportConsumptionRoute } from './schemas';

/** Metered consumption: each device's signed report, and its utility's per-bus summaries. */
export function consumptionRoutes(
  ledger: Ledger,
  allowedPowers: AllowedPowerBook,
  batcher?: ConsumptionBatcher,
): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/slots/:slotId/consumption', reportConsumptionRoute, async (request, reply) => {
      const { slotId } = request.params;
      const { homeId } = requireOwnDevice(ledger, request);
      // The batch of the home's forecast in effect, which the chaincode reads the forecast from.
      const forecastBatch = await allowedPowers.forecastBatchOf(slotId, {
        homeId,
        certificatePem: request.caller.certificatePem,
      });
      if (batcher !== undefined) {
        const accepted = await batcher.submit(slotId, {
          payload: request.body.payload,
          signature: signatureBytes(request.body.signature),
          certificatePem: request.caller.certificatePem,
          homeId,
          forecastBatch,
        });
        void reply.status(201).header('x-transaction-id', accepted.txId);
        return accepted;
      }
      const relay: Transaction = timeslot(ledger, 'relay').ReportConsumption;
      const submitted = await relaySigned(ledger, relay, slotId, request.caller, request.body, {
        forecastBatch: Buffer.from(forecastBatch, 'utf8'),
      });
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

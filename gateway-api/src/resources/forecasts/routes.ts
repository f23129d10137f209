import { routes, type RoutesPlugin } from '../../http/routes';
import { timeslot, type Transaction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import type { ForecastBatcher } from '../../services/forecast-batcher';
import { submittedAnswer } from '../common/answers';
import { requireOwnDevice } from '../common/guards';
import { relayForDevice, signatureBytes } from '../common/relay';
import { submitForecastRoute } from './schemas';

/**
 * POST /v1/slots/:slotId/forecast: a HEMS device's signed forecast range, relayed by its utility —
 * batched with other devices' forecasts (SubmitForecasts) when the gateway batches, else one
 * SubmitForecast transaction each. Either way the device is answered once its forecast committed.
 */
export function forecastRoutes(ledger: Ledger, batcher?: ForecastBatcher): RoutesPlugin {
  return routes((app) => {
    // A retry whose Idempotency-Key was running when the gateway died is run again: the
    // forecast's nonce answers it with the first receipt if it was stored (see idempotency.ts).
    const route = { ...submitForecastRoute, config: { ...submitForecastRoute.config, rerunInDoubt: true } };
    app.post('/v1/slots/:slotId/forecast', route, async (request, reply) => {
      const { slotId } = request.params;
      if (batcher === undefined) {
        const relay = (): Transaction => timeslot(ledger, 'relay').SubmitForecast;
        return submittedAnswer(reply, await relayForDevice(ledger, request, slotId, relay), 201);
      }
      const { homeId, bus } = requireOwnDevice(ledger, request);
      const accepted = await batcher.submit(slotId, {
        payload: request.body.payload,
        signature: signatureBytes(request.body.signature),
        certificatePem: request.caller.certificatePem,
        homeId,
        bus,
      });
      void reply.status(201).header('x-transaction-id', accepted.txId);
      if (accepted.replayed) {
        // A retry of a forecast stored earlier: the first submission's receipt, as for a retry
        // with the same Idempotency-Key.
        void reply.header('idempotent-replay', 'true');
      }
      return { slotId: accepted.slotId, txId: accepted.txId, acceptedAt: accepted.acceptedAt };
    });
  });
}

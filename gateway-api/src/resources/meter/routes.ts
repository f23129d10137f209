import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { batchAnswer, withTransactionId } from '../common/answers';
import { requireOwnOperator } from '../common/guards';
import {
  mintForProduction,
  postAvailableEnergy,
  recordMeterDays,
  recordSlotReadings,
  reportDelivery,
} from './service';
import {
  availableEnergyRoute,
  meterDaysRoute,
  meterReportRoute,
  productionRoute,
  slotReadingsRoute,
} from './schemas';

export { AVAILABILITY_BODY_LIMIT, READINGS_BODY_LIMIT } from './schemas';

/**
 * The meter head-end's posts on its own utility's gateway: per-home available energy before
 * trading, per-trade delivered and received energy after delivery, per-home readings and exports
 * of a slot, whole metered days for the demand-response baselines. All are private: they go to
 * the utility's peer in transient data only, and no message repeats a home id or a reading.
 */
export function meterRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/windows/:windowId/available-energy', availableEnergyRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'meter', 'posting available energy');
      const { windowId } = request.params;
      return withTransactionId(reply, await postAvailableEnergy(ledger, windowId, request.body.availability));
    });

    app.post('/v1/slots/:slotId/meter-readings', slotReadingsRoute, async (request) => {
      requireOwnOperator(ledger, request, 'meter', 'recording meter readings');
      return recordSlotReadings(ledger, request.params.slotId, request.body.readings);
    });

    app.post('/v1/slots/:slotId/production', productionRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'meter', 'minting production tokens');
      const submitted = await mintForProduction(ledger, request.params.slotId, request.body.exports);
      return batchAnswer(reply, submitted);
    });

    app.post('/v1/meter/days', meterDaysRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'meter', 'recording metered days');
      return batchAnswer(reply, await recordMeterDays(ledger, request.body.days));
    });

    app.post('/v1/windows/:windowId/meter-reports', meterReportRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'meter', 'reporting delivery');
      const { windowId } = request.params;
      return withTransactionId(reply, await reportDelivery(ledger, windowId, request.body.readings));
    });
  });
}

import { routes, type RoutesPlugin } from '../../http/routes';
import { timeslot, type Transaction } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import { submittedAnswer } from '../common/answers';
import { relayForDevice } from '../common/relay';
import { submitForecastRoute } from './schemas';

/** POST /v1/slots/:slotId/forecast: a HEMS device's signed forecast range, relayed by its utility. */
export function forecastRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/slots/:slotId/forecast', submitForecastRoute, async (request, reply) => {
      const relay = (): Transaction => timeslot(ledger, 'relay').SubmitForecast;
      return submittedAnswer(reply, await relayForDevice(ledger, request, request.params.slotId, relay), 201);
    });
  });
}

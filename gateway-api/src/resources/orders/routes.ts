import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { transactionHeader } from '../common/answers';
import { relayOrder } from './service';
import { cancelOrderRoute, submitOrderRoute } from './schemas';

/**
 * Sealed orders of HEMS devices: signed by the device's own key, relayed by its utility's gateway
 * as the relay identity. The order's values travel only in transient data to the utility's own
 * peer; the request body is redacted from the logs.
 */
export function orderRoutes(ledger: Ledger): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/windows/:windowId/orders', submitOrderRoute, async (request, reply) => {
      const { submitted, receipt } = await relayOrder(ledger, request, 'order');
      transactionHeader(reply, submitted, 201);
      return receipt;
    });

    app.delete('/v1/windows/:windowId/orders', cancelOrderRoute, async (request, reply) => {
      const { submitted, receipt } = await relayOrder(ledger, request, 'cancel');
      transactionHeader(reply, submitted);
      return { ...receipt, cancelled: true };
    });
  });
}

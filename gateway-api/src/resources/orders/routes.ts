import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import type { OrderBatcher } from '../../services/order-batcher';
import { relayOrder } from './service';
import { cancelOrderRoute, submitOrderRoute } from './schemas';

/**
 * Sealed orders of HEMS devices: signed by the device's own key, relayed by its utility's gateway
 * as the relay identity. The order's values travel only in transient data to the utility's own
 * peer; the request body is redacted from the logs. With `batcher`, many devices' items share one
 * transaction, and each device is still answered once its own item committed.
 */
export function orderRoutes(ledger: Ledger, batcher?: OrderBatcher): RoutesPlugin {
  return routes((app) => {
    app.post('/v1/windows/:windowId/orders', submitOrderRoute, async (request, reply) => {
      const { txId, receipt } = await relayOrder(ledger, request, 'order', batcher);
      void reply.status(201).header('x-transaction-id', txId);
      return receipt;
    });

    app.delete('/v1/windows/:windowId/orders', cancelOrderRoute, async (request, reply) => {
      const { txId, receipt } = await relayOrder(ledger, request, 'cancel', batcher);
      void reply.header('x-transaction-id', txId);
      return { ...receipt, cancelled: true };
    });
  });
}

import { resourceRoutes } from '../../http/routes';
import { answerObject, boolean, signedBody, text, windowIdParams } from '../common/schemas';

const route = resourceRoutes('orders');

export const orderBody = signedBody(
  'The exact canonical JSON text the device signed: {"energyKwh","escrow","limitPrice","nonce","side","windowId"} ' +
    '(side offer or bid, kWh with <= 3 decimals, currency per MWh with <= 4 decimals, escrow a currency decimal string, base64 nonce of >= 16 bytes)',
);

export const cancelBody = signedBody(
  'The exact canonical JSON text the device signed: {"action":"cancel","nonce","windowId"}',
);

/** What the gateway answers about an order: never its side, energy or price. */
export const orderReceipt = answerObject(
  { windowId: text, txId: text },
  {
    acceptedAt: text,
    replaced: boolean,
    cancelled: boolean,
    cancelledAt: text,
    escrow: { type: 'string', description: 'The public escrow of a bid, in currency' },
    refunded: { type: 'string', description: 'Escrow refunded, in currency' },
  },
);

export const submitOrderRoute = route(
  "HEMS device: submit (or replace) its signed sealed order; relayed as the utility's relay identity",
  { roles: ['hems'], params: windowIdParams, body: orderBody, response: { 201: orderReceipt } },
);

export const cancelOrderRoute = route(
  "HEMS device: cancel its order with a signed cancellation; a bid's escrow is refunded",
  { roles: ['hems'], params: windowIdParams, body: cancelBody, response: { 200: orderReceipt } },
);

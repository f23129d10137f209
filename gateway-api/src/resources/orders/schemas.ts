import { answerObject, boolean, signedBody, text, windowIdParams } from '../common/schemas';

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

export const submitOrderRoute = {
  tags: ['orders'],
  summary:
    "HEMS device: submit (or replace) its signed sealed order; relayed as the utility's relay identity",
  params: windowIdParams,
  body: orderBody,
  response: { 201: orderReceipt },
} as const;

export const cancelOrderRoute = {
  tags: ['orders'],
  summary: "HEMS device: cancel its order with a signed cancellation; a bid's escrow is refunded",
  params: windowIdParams,
  body: cancelBody,
  response: { 200: orderReceipt },
} as const;

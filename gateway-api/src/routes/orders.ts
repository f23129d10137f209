import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors';
import type { Ledger, SubmitResult } from '../ledger/ports';
import {
  certificateTransient,
  decodeJson,
  requireOwnDevice,
  signatureBytes,
  signedBody,
  windowIdParams,
  type SignedBody,
  type WindowIdParams,
} from './common';

const orderBody = signedBody(
  'The exact canonical JSON text the device signed: {"energyKwh","escrow","limitPrice","nonce","side","windowId"} ' +
    '(side offer or bid, kWh with <= 3 decimals, currency per MWh with <= 4 decimals, escrow a currency decimal string, base64 nonce of >= 16 bytes)',
);

const cancelBody = signedBody(
  'The exact canonical JSON text the device signed: {"action":"cancel","nonce","windowId"}',
);

/** What the gateway answers about an order: never its side, energy or price. */
const orderReceipt = {
  type: 'object',
  required: ['windowId', 'txId'],
  properties: {
    windowId: { type: 'string' },
    txId: { type: 'string' },
    acceptedAt: { type: 'string' },
    replaced: { type: 'boolean' },
    cancelled: { type: 'boolean' },
    cancelledAt: { type: 'string' },
    escrow: { type: 'string', description: 'The public escrow of a bid, in currency' },
    refunded: { type: 'string', description: 'Escrow refunded, in currency' },
  },
} as const;

/**
 * A light look at the signed payload before it goes to the peer: a JSON object for this window,
 * an order or a cancellation as the route expects. The chaincode checks everything else; messages
 * here never repeat a value of the payload.
 */
function checkPayload(payload: string, id: string, kind: 'order' | 'cancel'): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new HttpError(400, 'INVALID_REQUEST', 'payload must be the signed JSON text');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'INVALID_REQUEST', 'payload must be a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  if (record.windowId !== id) {
    throw new HttpError(400, 'INVALID_REQUEST', 'payload.windowId must be the window in the URL');
  }
  if (kind === 'order' && record.action !== undefined) {
    throw new HttpError(
      400,
      'INVALID_REQUEST',
      'a cancellation goes to DELETE /v1/windows/{windowId}/orders',
    );
  }
  if (kind === 'cancel' && record.action !== 'cancel') {
    throw new HttpError(400, 'INVALID_REQUEST', 'payload.action must be "cancel"');
  }
}

/** The receipt's public members of the chaincode's answer (anything else it said is dropped). */
function receipt(id: string, submitted: SubmitResult): Record<string, unknown> {
  const answer = decodeJson<Record<string, unknown> | null>(submitted.result) ?? {};
  const pick = (name: string, type: 'string' | 'boolean'): Record<string, unknown> =>
    typeof answer[name] === type ? { [name]: answer[name] } : {};
  return {
    windowId: id,
    txId: submitted.transactionId,
    ...pick('acceptedAt', 'string'),
    ...pick('replaced', 'boolean'),
    ...pick('cancelled', 'boolean'),
    ...pick('cancelledAt', 'string'),
    ...pick('escrow', 'string'),
    ...pick('refunded', 'string'),
  };
}

/** Relays the device's signed request in transient data, endorsed on its own utility's peer only. */
async function relay(
  ledger: Ledger,
  request: FastifyRequest<{ Params: WindowIdParams; Body: SignedBody }>,
  transaction: 'SubmitOrder' | 'CancelOrder',
): Promise<SubmitResult> {
  return ledger.contract('relay', 'auction').submit(transaction, {
    arguments: [request.params.windowId],
    transientData: {
      payload: Buffer.from(request.body.payload, 'utf8'),
      signature: signatureBytes(request.body.signature),
      certificate: certificateTransient(request),
    },
    endorsingOrganizations: [ledger.mspId],
  });
}

/**
 * Sealed orders of HEMS devices: signed by the device's own key, relayed by its utility's gateway
 * as the relay identity. The order's values travel only in transient data to the utility's own
 * peer; the request body is redacted from the logs.
 */
export function orderRoutes(ledger: Ledger) {
  return (app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void => {
    app.post<{ Params: WindowIdParams; Body: SignedBody }>(
      '/v1/windows/:windowId/orders',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['orders'],
          summary:
            "HEMS device: submit (or replace) its signed sealed order; relayed as the utility's relay identity",
          params: windowIdParams,
          body: orderBody,
          response: { 201: orderReceipt },
        },
      },
      async (request, reply) => {
        requireOwnDevice(ledger, request);
        checkPayload(request.body.payload, request.params.windowId, 'order');
        const submitted = await relay(ledger, request, 'SubmitOrder');
        void reply.status(201).header('x-transaction-id', submitted.transactionId);
        return receipt(request.params.windowId, submitted);
      },
    );

    app.delete<{ Params: WindowIdParams; Body: SignedBody }>(
      '/v1/windows/:windowId/orders',
      {
        config: { roles: ['hems'] },
        schema: {
          tags: ['orders'],
          summary: "HEMS device: cancel its order with a signed cancellation; a bid's escrow is refunded",
          params: windowIdParams,
          body: cancelBody,
          response: { 200: orderReceipt },
        },
      },
      async (request, reply) => {
        requireOwnDevice(ledger, request);
        checkPayload(request.body.payload, request.params.windowId, 'cancel');
        const submitted = await relay(ledger, request, 'CancelOrder');
        void reply.header('x-transaction-id', submitted.transactionId);
        return { ...receipt(request.params.windowId, submitted), cancelled: true };
      },
    );

    done();
  };
}

import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import { auction } from '../../ledger/contracts';
import type { Ledger, SubmitResult } from '../../ledger/ports';
import type { OrderBatcher } from '../../services/order-batcher';
import { requireOwnDevice } from '../common/guards';
import { relayForDevice, signatureBytes, type DeviceRequest } from '../common/relay';

/**
 * A light look at the signed payload before it goes to the peer: a JSON object for this window,
 * an order or a cancellation as the route expects. The chaincode checks everything else; messages
 * here never repeat a value of the payload.
 */
export function checkPayload(payload: string, id: string, kind: 'order' | 'cancel'): void {
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
export function receiptOf(id: string, submitted: SubmitResult): Record<string, unknown> {
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

/** What the routes answer: the transaction id and the receipt's public members. */
export interface RelayedOrder {
  readonly txId: string;
  readonly receipt: Record<string, unknown>;
}

/**
 * Relays a device's signed order or cancellation of the window in the URL, after a light look at
 * its payload: in the relay's next batch when `batcher` is given, else as its own transaction.
 * Answers once the item committed, with the receipt's public members.
 */
export async function relayOrder(
  ledger: Ledger,
  request: DeviceRequest & { readonly params: { readonly windowId: string } },
  kind: 'order' | 'cancel',
  batcher?: OrderBatcher,
): Promise<RelayedOrder> {
  const { windowId } = request.params;
  if (batcher !== undefined) {
    const { homeId } = requireOwnDevice(ledger, request);
    checkPayload(request.body.payload, windowId, kind);
    const order = {
      payload: request.body.payload,
      signature: signatureBytes(request.body.signature),
      certificatePem: request.caller.certificatePem,
      homeId,
    };
    const accepted = await (kind === 'order'
      ? batcher.submit(windowId, order)
      : batcher.cancel(windowId, order));
    return {
      txId: accepted.txId,
      receipt: {
        windowId,
        txId: accepted.txId,
        ...(kind === 'order' ? { acceptedAt: accepted.at } : { cancelledAt: accepted.at }),
      },
    };
  }
  const submitted = await relayForDevice(
    ledger,
    request,
    windowId,
    () => (kind === 'order' ? auction(ledger, 'relay').SubmitOrder : auction(ledger, 'relay').CancelOrder),
    () => checkPayload(request.body.payload, windowId, kind),
  );
  return { txId: submitted.transactionId, receipt: receiptOf(windowId, submitted) };
}

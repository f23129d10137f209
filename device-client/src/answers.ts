import { GatewayApiError } from './errors';
import { headerValue, isRecord, type JsonResponse } from './transport';
import type { OrderReceipt } from './types';

/** The gateway's answers as the client reads them: a JSON object, or BAD_RESPONSE. */

export function expectRecord(body: unknown, what: string, statusCode: number): Record<string, unknown> {
  if (!isRecord(body)) {
    throw new GatewayApiError(
      statusCode,
      'BAD_RESPONSE',
      `the gateway answered ${what} that is not a JSON object`,
    );
  }
  return body;
}

/** An order or cancellation receipt: the members it has, never the order's values. */
export function orderReceiptOf(body: unknown, statusCode: number, replay: string | undefined): OrderReceipt {
  const receipt = expectRecord(body, 'an order receipt', statusCode);
  const optional = (name: string, type: 'string' | 'boolean'): Record<string, unknown> =>
    typeof receipt[name] === type ? { [name]: receipt[name] } : {};
  return {
    windowId: String(receipt.windowId),
    txId: String(receipt.txId),
    ...optional('acceptedAt', 'string'),
    ...optional('replaced', 'boolean'),
    ...optional('cancelled', 'boolean'),
    ...optional('escrow', 'string'),
    ...optional('refunded', 'string'),
    replayed: replay === 'true',
  };
}

/**
 * A forecast or consumption receipt: the slot, the transaction, the time member `at` names, and
 * whether the gateway replayed an earlier attempt's answer (same Idempotency-Key).
 */
export function slotReceiptOf<At extends 'acceptedAt' | 'recordedAt'>(
  response: JsonResponse,
  what: string,
  at: At,
): { readonly slotId: string; readonly txId: string; readonly replayed: boolean } & Record<At, string> {
  const receipt = expectRecord(response.body, what, response.statusCode);
  return {
    slotId: String(receipt.slotId),
    txId: String(receipt.txId),
    [at]: String(receipt[at]),
    replayed: headerValue(response.headers, 'idempotent-replay') === 'true',
  } as { slotId: string; txId: string; replayed: boolean } & Record<At, string>;
}

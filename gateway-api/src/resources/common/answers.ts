import { decodeJson } from '../../ledger/answers';
import type { SubmitResult } from '../../ledger/ports';

/** What the answer helpers use of a Fastify reply. */
export interface TransactionReply {
  status(statusCode: number): TransactionReply;
  header(key: string, value: string): TransactionReply;
}

/** Names the committed transaction in the x-transaction-id header, with `statusCode`. */
export function transactionHeader(reply: TransactionReply, submitted: SubmitResult, statusCode = 200): void {
  reply.status(statusCode).header('x-transaction-id', submitted.transactionId);
}

/** A submitted transaction's answer as the chaincode gave it, with its id in x-transaction-id. */
export function submittedAnswer(reply: TransactionReply, submitted: SubmitResult, statusCode = 200): unknown {
  transactionHeader(reply, submitted, statusCode);
  return decodeJson(submitted.result);
}

/** An operation's own answer, with the transaction it committed in x-transaction-id. */
export function withTransactionId<T extends { readonly txId: string }>(
  reply: TransactionReply,
  result: T,
): T {
  reply.header('x-transaction-id', result.txId);
  return result;
}

/** What a batch transaction answers (RecordMeterReadings, RecordMeterDays, PayRewards, ...). */
export interface BatchReceipt {
  /** Items the transaction took. */
  readonly accepted: number;
  /** Items refused, by position in the request, with the reason (never a value). */
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/**
 * A batch is worth ordering only when it took an item (submitIf): one in which every item was
 * refused would change nothing, and is endorsed but not ordered.
 */
export function someAccepted(result: Uint8Array): boolean {
  return decodeJson<Partial<BatchReceipt> | null>(result)?.accepted !== 0;
}

/**
 * A batch's answer as the chaincode gave it, its transaction in x-transaction-id; a batch that was
 * not ordered (every item refused) answers without `txId`, since no such transaction committed.
 */
export function batchAnswer(reply: TransactionReply, submitted: SubmitResult): Record<string, unknown> {
  const decoded = decodeJson<Record<string, unknown> | null>(submitted.result) ?? {};
  const answer = Object.fromEntries(Object.entries(decoded).filter(([name]) => name !== 'txId'));
  if (submitted.skipped === true) {
    return answer;
  }
  transactionHeader(reply, submitted);
  return { ...answer, txId: submitted.transactionId };
}

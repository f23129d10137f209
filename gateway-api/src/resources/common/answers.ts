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

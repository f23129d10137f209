import { CommitError, CommitStatusError, EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { chaincodeRefusal } from '@hems/network-client';

/** An error the API answers with: HTTP status, a stable code, a message safe to show and log. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly transactionId?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Chaincode refusal codes (ErrorCode of @hems/protocol) to HTTP statuses. */
const STATUS_OF_REFUSAL: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 422,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FAILED_PRECONDITION: 409,
};

/** A chaincode refusal (code and message without the code) as the API answers it. */
export function httpErrorOfRefusal(code: string, message: string, transactionId?: string): HttpError {
  return new HttpError(STATUS_OF_REFUSAL[code] ?? 400, code, message, transactionId);
}

/** MVCC_READ_CONFLICT and PHANTOM_READ_CONFLICT: retrying the transaction may succeed. */
export function isRetryableCommitFailure(error: unknown): boolean {
  return error instanceof CommitError && [11, 12].includes(error.code);
}

function transactionIdOf(error: unknown): string | undefined {
  const id = (error as { transactionId?: unknown } | undefined)?.transactionId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Maps anything a handler throws to an HttpError: chaincode refusals keep their code and message
 * (they never contain private values), Fabric failures are mapped by type with their transaction
 * id, everything else is a 500 without details.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) {
    return error;
  }
  const refusal = chaincodeRefusal(error);
  if (refusal !== undefined) {
    return httpErrorOfRefusal(
      refusal.code,
      refusal.message.slice(refusal.code.length + 2),
      transactionIdOf(error),
    );
  }
  const txId = transactionIdOf(error);
  if (error instanceof CommitError) {
    const retryable = isRetryableCommitFailure(error);
    return new HttpError(
      retryable ? 409 : 502,
      retryable ? 'CONFLICT' : 'COMMIT_FAILED',
      `transaction was not committed: validation code ${error.code}${retryable ? ' (concurrent update; retry)' : ''}`,
      txId,
    );
  }
  if (error instanceof CommitStatusError) {
    return new HttpError(
      504,
      'COMMIT_STATUS_UNKNOWN',
      'the commit status of the transaction is unknown; look it up by transaction id',
      txId,
    );
  }
  if (error instanceof EndorseError) {
    return new HttpError(502, 'ENDORSEMENT_FAILED', 'the peers did not endorse the transaction', txId);
  }
  if (error instanceof GatewayError && error.name === 'SubmitError') {
    return new HttpError(503, 'ORDERING_FAILED', 'the transaction could not be sent for ordering', txId);
  }
  if (error instanceof GatewayError) {
    return new HttpError(503, 'LEDGER_UNAVAILABLE', 'the Fabric network did not answer', txId);
  }
  return new HttpError(500, 'INTERNAL', 'internal error');
}

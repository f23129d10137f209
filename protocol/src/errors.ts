/**
 * Errors a transaction answers with. The message starts with a stable code so that clients (the
 * REST gateway) can map a chaincode refusal to a status without parsing prose:
 *
 *   INVALID_ARGUMENT    malformed or out-of-range input            -> 400 / 422
 *   FORBIDDEN           caller's MSP or role may not do this        -> 403
 *   NOT_FOUND           the slot, record or proposal does not exist -> 404
 *   CONFLICT            it exists already / was done already        -> 409
 *   FAILED_PRECONDITION the slot is in the wrong state for this     -> 409
 *
 * Messages never contain a submitted forecast value, a home id or key material: they end up in
 * peer logs and client logs, which are outside the home's utility.
 */
export type ErrorCode = 'INVALID_ARGUMENT' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'FAILED_PRECONDITION';

export class ContractError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = 'ContractError';
    this.code = code;
  }
}

export function invalidArgument(detail: string): ContractError {
  return new ContractError('INVALID_ARGUMENT', detail);
}

export function forbidden(detail: string): ContractError {
  return new ContractError('FORBIDDEN', detail);
}

export function notFound(detail: string): ContractError {
  return new ContractError('NOT_FOUND', detail);
}

export function conflict(detail: string): ContractError {
  return new ContractError('CONFLICT', detail);
}

export function failedPrecondition(detail: string): ContractError {
  return new ContractError('FAILED_PRECONDITION', detail);
}

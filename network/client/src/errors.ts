import { GatewayError } from '@hyperledger/fabric-gateway';

// Only what a peer reports as the chaincode's own answer counts: gRPC status names such as
// NOT_FOUND or FAILED_PRECONDITION also appear in infrastructure errors.
const CODE =
  /chaincode response \d+, ((INVALID_ARGUMENT|FORBIDDEN|NOT_FOUND|CONFLICT|FAILED_PRECONDITION): .*)/s;

/**
 * The chaincode's refusal (e.g. "FORBIDDEN: ...") inside a Fabric error, or undefined when the
 * failure is not a chaincode refusal (network, timeout, MVCC conflict, ...). Peers wrap the
 * chaincode message as "chaincode response 500, <message>" in the error details.
 */
export function chaincodeRefusal(error: unknown): { code: string; message: string } | undefined {
  const texts: string[] = [];
  if (error instanceof GatewayError) {
    texts.push(...error.details.map((detail) => detail.message));
  }
  if (error instanceof Error) {
    texts.push(error.message);
  }
  for (const text of texts) {
    const match = CODE.exec(text);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      return { code: match[2], message: match[1].trim() };
    }
  }
  return undefined;
}

/** A Fabric error with the per-peer details the gateway attached (each endorser's answer). */
export function describeFabricError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const details =
    error instanceof GatewayError
      ? error.details.map((detail) => `${detail.mspId}@${detail.address}: ${detail.message}`).join('; ')
      : '';
  const txId = (error as { transactionId?: unknown }).transactionId;
  return `${error.message}${details ? ` [${details}]` : ''}${typeof txId === 'string' ? ` (tx ${txId})` : ''}`;
}

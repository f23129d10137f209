export type FabricCaErrorKind =
  'bad-request' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable' | 'failed';

/**
 * A refusal or failure of the CA. `httpStatus` (not `statusCode`, so that Fastify never mistakes
 * it for one of its own client errors) and `caCode` are the CA's; the message is safe to log.
 */
export class FabricCaError extends Error {
  constructor(
    message: string,
    readonly kind: FabricCaErrorKind,
    readonly httpStatus?: number,
    readonly caCode?: number,
  ) {
    super(message);
    this.name = 'FabricCaError';
  }
}

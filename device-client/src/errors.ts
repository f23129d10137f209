/**
 * An error answer of the gateway: its JSON body `{statusCode, code, message, transactionId?}`
 * (or, for an answer that is not such JSON, the HTTP status and a generic code).
 */
export class GatewayApiError extends Error {
  override readonly name = 'GatewayApiError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly transactionId?: string,
    /** From a `Retry-After` header (429/503), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** Worth retrying unchanged: the gateway or the network behind it is temporarily unavailable. */
  get transient(): boolean {
    return (
      this.statusCode === 502 ||
      this.statusCode === 503 ||
      this.statusCode === 504 ||
      this.statusCode === 429 ||
      // The same Idempotency-Key is still running: a later retry gets its stored answer.
      (this.statusCode === 409 && this.code === 'IDEMPOTENCY_KEY_IN_USE')
    );
  }

  toJSON(): { statusCode: number; code: string; message: string; transactionId?: string } {
    return {
      statusCode: this.statusCode,
      code: this.code,
      message: this.message,
      ...(this.transactionId === undefined ? {} : { transactionId: this.transactionId }),
    };
  }
}

/** Node error codes of TLS certificate and handshake failures: retrying cannot help. */
const TLS_FAILURE = /CERT|SSL|TLS|SIGNATURE|ISSUER|ALTNAME/;

/** No HTTP answer: connection refused or reset, timeout, TLS failure. */
export class GatewayConnectionError extends Error {
  override readonly name = 'GatewayConnectionError';

  constructor(
    /** TIMEOUT, or the Node error code (ECONNREFUSED, ECONNRESET, CERT_HAS_EXPIRED, ...). */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Network failures and timeouts are worth a retry; certificate and TLS failures are not. */
  get transient(): boolean {
    return !TLS_FAILURE.test(this.code);
  }
}

import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { GatewayApiError, GatewayConnectionError } from './errors';

/** Largest JSON answer read, in bytes. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Longest gateway error message passed on, in characters. */
const MAX_MESSAGE_CHARACTERS = 500;

/** TLS material of a connection to the gateway: the trust root, and the client identity if any. */
export interface TransportTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly signal?: AbortSignal | undefined;
  /** Socket inactivity allowed before the request fails with TIMEOUT; 0 = none. */
  readonly timeoutMs?: number;
}

export interface JsonResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** Checks and normalizes the gateway's base URL: HTTPS, no credentials, query or fragment. */
export function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError('gatewayUrl must be an absolute https:// URL');
  }
  if (url.protocol !== 'https:') {
    throw new TypeError('gatewayUrl must be an https:// URL (the gateway requires mutual TLS)');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new TypeError('gatewayUrl must not contain credentials, a query or a fragment');
  }
  return url;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` in ms: delay-seconds or an HTTP date. */
function retryAfterMs(headers: IncomingHttpHeaders): number | undefined {
  const value = headerValue(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') {
    return undefined;
  }
  if (/^\d{1,9}$/.test(value)) {
    return Number(value) * 1000;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The error an answer outside 2xx stands for. */
export function errorFromResponse(
  statusCode: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
): GatewayApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const record = isRecord(parsed) ? parsed : {};
  const code =
    typeof record.code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(record.code)
      ? record.code
      : `HTTP_${statusCode}`;
  const message =
    typeof record.message === 'string' && record.message.length > 0
      ? record.message.slice(0, MAX_MESSAGE_CHARACTERS)
      : `the gateway answered HTTP ${statusCode}`;
  const transactionId =
    typeof record.transactionId === 'string'
      ? record.transactionId
      : headerValue(headers, 'x-transaction-id');
  return new GatewayApiError(statusCode, code, message, transactionId, retryAfterMs(headers));
}

/** Wraps a failure of the connection (not an HTTP answer) for the caller. */
export function connectionError(error: unknown): Error {
  if (
    error instanceof GatewayConnectionError ||
    error instanceof GatewayApiError ||
    (error instanceof Error && error.name === 'AbortError')
  ) {
    return error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : 'unknown failure';
  return new GatewayConnectionError(
    typeof code === 'string' ? code : 'CONNECTION_FAILED',
    `no answer from the gateway: ${message}`,
    { cause: error },
  );
}

/** Reads a whole answer (at most MAX_BODY_BYTES). */
export async function readBody(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      if (size > MAX_BODY_BYTES) {
        response.destroy();
        throw new GatewayApiError(
          response.statusCode ?? 0,
          'BAD_RESPONSE',
          `the gateway answer exceeds ${MAX_BODY_BYTES} bytes`,
        );
      }
      chunks.push(bytes);
    }
  } catch (error) {
    throw connectionError(error);
  }
  if (!response.complete) {
    throw new GatewayConnectionError('ECONNRESET', 'the gateway closed the connection mid-answer');
  }
  return Buffer.concat(chunks);
}

/**
 * HTTPS to one gateway with node:https: a keep-alive agent holding the trust root and, for a
 * device, its client certificate and key (mutual TLS).
 */
export class Transport {
  private readonly agent: https.Agent;
  private readonly basePath: string;

  constructor(
    private readonly base: URL,
    tls: TransportTls,
    private readonly defaultTimeoutMs: number,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      ca: tls.ca,
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key }),
      minVersion: 'TLSv1.2',
    });
    this.basePath = base.pathname.replace(/\/+$/, '');
  }

  /** Sends a request; resolves with the answer's head (its body not read yet). */
  open(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ request: ClientRequest; response: IncomingMessage }> {
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(body.length) }),
      ...options.headers,
    };
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      let request: ClientRequest;
      try {
        options.signal?.throwIfAborted();
        request = https.request(
          {
            protocol: 'https:',
            // URL keeps IPv6 literals in brackets; node:https wants them bare.
            hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: this.base.port === '' ? 443 : Number(this.base.port),
            path: `${this.basePath}${path}`,
            method,
            agent: this.agent,
            headers,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          },
          (response) => resolve({ request, response }),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error('the request could not be sent'));
        return;
      }
      request.on('error', (error) => reject(connectionError(error)));
      if (timeoutMs > 0) {
        request.setTimeout(timeoutMs, () => {
          request.destroy(
            new GatewayConnectionError('TIMEOUT', `no answer from the gateway within ${timeoutMs} ms`),
          );
        });
      }
      request.end(body);
    });
  }

  /** Sends a request and reads its JSON answer; answers outside 2xx become GatewayApiError. */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<JsonResponse> {
    const { response } = await this.open(method, path, options);
    const statusCode = response.statusCode ?? 0;
    const bytes = await readBody(response);
    if (statusCode < 200 || statusCode > 299) {
      throw errorFromResponse(statusCode, response.headers, bytes);
    }
    let body: unknown;
    try {
      body = bytes.length === 0 ? undefined : JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new GatewayApiError(
        statusCode,
        'BAD_RESPONSE',
        'the gateway answered something that is not JSON',
      );
    }
    return { statusCode, headers: response.headers, body };
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

export { headerValue, isRecord };

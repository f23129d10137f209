import { request as httpsRequest } from 'node:https';
import { FabricCaError, type FabricCaErrorKind } from './fabric-ca-error';

/** Largest answer read from the CA (a CRL of a busy CA can be large). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const KIND_OF_STATUS: Readonly<Record<number, FabricCaErrorKind>> = {
  400: 'bad-request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
};

interface CaResponse {
  success?: unknown;
  result?: unknown;
  errors?: unknown;
}

interface CaFault {
  code?: unknown;
  message?: unknown;
}

/** One POST to Fabric CA's REST API. */
export interface CaPost {
  readonly url: URL;
  readonly payload: Buffer;
  /** The Authorization header: Fabric CA's token or HTTP basic. */
  readonly authorization: string;
  /** PEM certificate(s) the CA's TLS certificate must chain to. */
  readonly roots: readonly string[];
  readonly timeoutMs: number;
  /** `Fabric CA <name>`, as messages name the CA. */
  readonly where: string;
  /** What the request does, as messages name it. */
  readonly operation: string;
  /** Values that must never appear in a message. */
  readonly secrets: readonly (string | undefined)[];
}

/** Strips what must never reach a log or a client: request bodies the CA echoes, secrets. */
function redacted(text: string, secrets: readonly (string | undefined)[]): string {
  let safe = text.replace(/body=[\s\S]*$/, 'body=[redacted]');
  for (const secret of secrets) {
    if (secret !== undefined && secret.length > 0) {
      safe = safe.split(secret).join('[redacted]');
    }
  }
  // eslint-disable-next-line no-control-regex
  safe = safe.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return safe.length > 300 ? `${safe.slice(0, 300)}...` : safe;
}

/** Sends the request; a transport failure is an `unavailable` FabricCaError. */
async function send(post: CaPost): Promise<{ status: number; text: string }> {
  const { url, where, operation } = post;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpsRequest(
      {
        protocol: 'https:',
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        ca: [...post.roots],
        agent: false,
        timeout: post.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': post.payload.length,
          authorization: post.authorization,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new FabricCaError(`${where}: ${operation} answered more than 4 MiB`, 'failed'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => {
      req.destroy(
        new FabricCaError(`${where}: ${operation} timed out after ${post.timeoutMs} ms`, 'unavailable'),
      );
    });
    req.on('error', reject);
    req.end(post.payload);
  }).catch((error: unknown) => {
    if (error instanceof FabricCaError) {
      throw error;
    }
    const detail =
      error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : 'error';
    throw new FabricCaError(
      `${where} at ${url.origin} is unreachable (${operation}): ${redacted(String(detail), post.secrets)}`,
      'unavailable',
    );
  });
}

/** The CA's `result`, or the FabricCaError its status and `errors` make of the answer. */
function resultOf(post: CaPost, status: number, text: string): unknown {
  const { where, operation } = post;
  let parsed: CaResponse;
  try {
    parsed = JSON.parse(text) as CaResponse;
  } catch {
    throw new FabricCaError(
      `${where}: ${operation} answered HTTP ${status} with a body that is not JSON`,
      status >= 500 || status < 400 ? 'failed' : (KIND_OF_STATUS[status] ?? 'failed'),
      status,
    );
  }
  const faults = Array.isArray(parsed.errors) ? (parsed.errors as CaFault[]) : [];
  if (status >= 400 || faults.length > 0 || parsed.success !== true) {
    const fault = faults[0];
    const caCode = typeof fault?.code === 'number' ? fault.code : undefined;
    const message =
      typeof fault?.message === 'string' ? redacted(fault.message, post.secrets) : 'no reason given';
    throw new FabricCaError(
      `${where}: ${operation} refused (HTTP ${status}${caCode === undefined ? '' : `, code ${caCode}`}): ${message}`,
      KIND_OF_STATUS[status] ?? 'failed',
      status,
      caCode,
    );
  }
  return parsed.result;
}

/** POSTs JSON to the CA over TLS and answers its `result`; every failure is a FabricCaError. */
export async function postToCa(post: CaPost): Promise<unknown> {
  const { status, text } = await send(post);
  return resultOf(post, status, text);
}

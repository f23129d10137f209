import { request } from 'node:https';

/** A utility's gateway as the DSO gateway reaches it. */
export interface UtilityGateway {
  readonly mspId: string;
  readonly url: string;
  /** The CA that issued the utility gateway's TLS certificate. */
  readonly caPem: string;
}

export interface UtilityAggregationOutcome {
  readonly org: string;
  readonly statusCode: number;
  readonly result: unknown;
}

/** Asks every utility to aggregate a slot on its own peer (only the utility can list its forecasts). */
export type AggregationFanOut = (slotId: string) => Promise<UtilityAggregationOutcome[]>;

/**
 * The DSO gateway's fan-out: POST /v1/slots/{slotId}/aggregates on each utility gateway over
 * mutual TLS, as the DSO's own operator identity. Each utility answers for itself; one utility
 * being down does not hide the others' outcomes.
 */
export function createAggregationFanOut(
  utilities: readonly UtilityGateway[],
  client: { readonly certificatePem: Buffer | string; readonly privateKeyPem: Buffer | string },
  timeoutMs = 60_000,
): AggregationFanOut {
  /**
   * Why a utility gateway could not be reached, from the socket error's code only: its message
   * would name hosts, addresses and TLS internals the DSO's callers have no use for.
   */
  const unreachableMessage = (error: Error & { code?: string }): string => {
    if (error.message === 'timeout' || error.code === 'ETIMEDOUT') {
      return 'the utility gateway did not answer in time';
    }
    if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EHOSTUNREACH') {
      return 'the utility gateway is not reachable';
    }
    return error.code?.startsWith('ERR_TLS') === true || error.code?.includes('CERT') === true
      ? 'the TLS connection to the utility gateway failed'
      : 'the utility gateway is not reachable';
  };
  const post = (gateway: UtilityGateway, slotId: string): Promise<UtilityAggregationOutcome> =>
    new Promise((resolve) => {
      const req = request(
        new URL(`/v1/slots/${encodeURIComponent(slotId)}/aggregates`, gateway.url),
        {
          method: 'POST',
          ca: gateway.caPem,
          cert: client.certificatePem,
          key: client.privateKeyPem,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            let result: unknown;
            try {
              result = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              result = { message: 'the utility gateway did not answer JSON' };
            }
            resolve({ org: gateway.mspId, statusCode: res.statusCode ?? 502, result });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error: Error & { code?: string }) =>
        resolve({
          org: gateway.mspId,
          statusCode: 503,
          result: { code: 'UTILITY_GATEWAY_UNAVAILABLE', message: unreachableMessage(error) },
        }),
      );
      req.end();
    });
  return (slotId) => Promise.all(utilities.map((gateway) => post(gateway, slotId)));
}

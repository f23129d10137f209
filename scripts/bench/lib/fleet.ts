/**
 * Bench devices talking to their utility gateways over mutual TLS, the way real devices connect:
 *
 * - `keep-alive`: each device holds one connection (an always-on device with an open event
 *   stream does) and sends every request on it; the handshake is paid once per device.
 * - `new-connection`: every request opens a new connection with a full TLS handshake and no
 *   session resumption (a device that wakes once per slot, the worst case).
 *
 * Each device's key, certificate and trust root are parsed once into a TLS secure context, as a
 * device's TLS stack does; the request bodies are what HemsClient sends.
 */
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { NetworkDescription } from '@hems/network-client';
import { gatewayCaPem, gatewayUrl } from '@hems/testkit';
import type { BenchDevice } from './devices';

export const CONNECTION_MODES = ['keep-alive', 'new-connection'] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];

export interface FleetResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

interface FleetMember {
  readonly device: BenchDevice;
  readonly url: URL;
  readonly agent: https.Agent;
}

/** Longest a request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 120_000;

export class DeviceFleet {
  private readonly members: FleetMember[];

  constructor(
    description: NetworkDescription,
    devices: readonly BenchDevice[],
    readonly mode: ConnectionMode,
  ) {
    const caOf = new Map<string, string>();
    this.members = devices.map((device) => {
      const ca = caOf.get(device.mspId) ?? gatewayCaPem(description, device.mspId);
      caOf.set(device.mspId, ca);
      const secureContext: SecureContext = createSecureContext({
        ca,
        cert: device.certificatePem,
        key: device.privateKeyPem,
      });
      const agent = new https.Agent(
        mode === 'keep-alive'
          ? { keepAlive: true, maxSockets: 1, secureContext }
          : { keepAlive: false, maxCachedSessions: 0, secureContext },
      );
      return { device, url: new URL(gatewayUrl(device.mspId)), agent };
    });
  }

  get size(): number {
    return this.members.length;
  }

  device(index: number): BenchDevice {
    return this.member(index).device;
  }

  request(index: number, method: 'GET' | 'POST', path: string, body?: unknown): Promise<FleetResponse> {
    const member = this.member(index);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: member.url.hostname,
          port: member.url.port,
          method,
          path,
          agent: member.agent,
          servername: member.url.hostname,
          headers: {
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': String(payload.length) }),
          },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('request timed out')));
      request.on('error', reject);
      request.end(payload);
    });
  }

  close(): void {
    for (const member of this.members) {
      member.agent.destroy();
    }
  }

  private member(index: number): FleetMember {
    const member = this.members[index];
    if (member === undefined) {
      throw new RangeError(`no fleet device ${index}`);
    }
    return member;
  }
}

/** The error of an answer that is not `status`, with the gateway's code and message. */
export function unexpectedAnswer(response: FleetResponse, status: number, what: string): Error | undefined {
  if (response.status === status) {
    return undefined;
  }
  const body = response.body as { code?: unknown; message?: unknown } | undefined;
  return new Error(`${what} answered ${response.status} ${String(body?.code)}: ${String(body?.message)}`);
}

/**
 * Opens every device's connection (keep-alive fleets) with one request to the health route: what
 * counts is the mutual-TLS handshake, so any answer will do (the public routes' per-address rate
 * limit may answer 429 to a whole fleet on one address). Answers the seconds it took.
 */
export async function connectFleet(
  fleet: DeviceFleet,
  concurrency: number,
  runPool: (
    items: readonly number[],
    concurrency: number,
    work: (item: number) => Promise<void>,
  ) => Promise<{ failures: number; firstError: string | undefined }>,
): Promise<number> {
  const started = performance.now();
  const outcome = await runPool([...Array(fleet.size).keys()], concurrency, async (index) => {
    const response = await fleet.request(index, 'GET', '/healthz');
    if (response.status >= 500) {
      throw new Error(`GET /healthz answered ${response.status}`);
    }
  });
  if (outcome.failures > 0) {
    throw new Error(`${outcome.failures} devices could not connect, first: ${outcome.firstError}`);
  }
  return Math.round((performance.now() - started) / 100) / 10;
}

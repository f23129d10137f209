import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { findIdentity, readCredentials, type NetworkDescription } from '@hems/network-client';

/**
 * Running gateway processes on this machine, one per peer org of a local network, and calling
 * them as the network's enrolled identities: used by the end-to-end tests, the demo and the
 * benchmarks. Ports default to the gateway's defaults; tests pass their own.
 */

/** The gateway's default port per org (DEFAULT_PORTS of gateway-api/src/config.ts). */
const DEFAULT_PORTS = { DSOMSP: 9443, UtilityAMSP: 9444, UtilityBMSP: 9445, RegulatorMSP: 9446 };

/** The gateway's entry point in this checkout (built by `npm run build`), from src/ or dist/. */
const GATEWAY_MAIN = path.join(__dirname, '..', '..', 'gateway-api', 'dist', 'main.js');

let ports: Readonly<Record<string, number>> = DEFAULT_PORTS;

export function useGatewayPorts(next: Readonly<Record<string, number>>): void {
  ports = next;
}

export function gatewayUrl(mspId: string): string {
  const port = ports[mspId];
  if (port === undefined) {
    throw new Error(`no gateway port for ${mspId}`);
  }
  return `https://localhost:${port}`;
}

/** The CA that issued the gateway's TLS certificate (the org's CA), for clients to trust. */
export function gatewayCaPem(description: NetworkDescription, mspId: string): string {
  const ca = description.certificateAuthorities.find((candidate) => candidate.mspId === mspId);
  if (ca === undefined) {
    throw new Error(`no CA of ${mspId}`);
  }
  return readFileSync(ca.tlsCertPath, 'utf8');
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A JSON request over mutual TLS as one of the network's enrolled identities (or none). */
export function callGateway<T = unknown>(
  description: NetworkDescription,
  gatewayMspId: string,
  as: { mspId: string; name: string } | undefined,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<ApiResponse<T>> {
  const credentials =
    as === undefined ? undefined : readCredentials(findIdentity(description, as.mspId, as.name));
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${gatewayUrl(gatewayMspId)}${urlPath}`,
      {
        method,
        ca: gatewayCaPem(description, gatewayMspId),
        ...(credentials ? { cert: credentials.certificate, key: credentials.privateKeyPem } : {}),
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            body: (text ? JSON.parse(text) : undefined) as T,
            headers: res.headers,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** One gateway process per peer org against the network whose state folder is given. */
export class GatewayProcesses {
  private readonly children = new Map<string, ChildProcess>();

  constructor(private readonly stateDir: string) {}

  async start(description: NetworkDescription, mspIds: readonly string[]): Promise<void> {
    for (const mspId of mspIds) {
      const port = ports[mspId];
      const child = spawn(process.execPath, [GATEWAY_MAIN], {
        env: {
          ...process.env,
          HEMS_NETWORK_STATE: this.stateDir,
          HEMS_GATEWAY_ORG: mspId,
          ...(port === undefined ? {} : { HEMS_GATEWAY_PORT: String(port) }),
          // The DSO gateway reaches the utility gateways on these same ports.
          HEMS_UTILITY_GATEWAYS: JSON.stringify(
            Object.fromEntries(Object.keys(ports).map((org) => [org, gatewayUrl(org)])),
          ),
          // Request logs go to the gateway's log level; the parent keeps only warnings.
          HEMS_GATEWAY_LOG_LEVEL: process.env.HEMS_GATEWAY_LOG_LEVEL ?? 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      this.children.set(mspId, child);
    }
    for (const mspId of mspIds) {
      await this.waitHealthy(description, mspId);
    }
  }

  private async waitHealthy(description: NetworkDescription, mspId: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const health = await callGateway(description, mspId, undefined, 'GET', '/readyz');
        if (health.status === 200) {
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || this.children.get(mspId)?.exitCode !== null) {
        throw new Error(`gateway of ${mspId} did not become ready`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Graceful stop (SIGTERM), as an operator would. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) {
              resolve();
              return;
            }
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    this.children.clear();
  }
}

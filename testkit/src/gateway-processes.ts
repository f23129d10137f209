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

/** How `GatewayProcesses.start` runs the gateways it starts. */
export interface GatewayStartOptions {
  /**
   * Extra environment of these processes, over the harness's own (e.g.
   * HEMS_GATEWAY_BATCH_WAIT_MS for a gateway whose forecast batches wait longer).
   */
  readonly env?: Readonly<Record<string, string>>;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** One gateway process per peer org against the network whose state folder is given. */
export class GatewayProcesses {
  private readonly children = new Map<string, ChildProcess>();

  constructor(private readonly stateDir: string) {}

  async start(
    description: NetworkDescription,
    mspIds: readonly string[],
    options: GatewayStartOptions = {},
  ): Promise<void> {
    for (const mspId of mspIds) {
      const running = this.children.get(mspId);
      if (running !== undefined && !hasExited(running)) {
        throw new Error(`the gateway of ${mspId} is running already: stop it first`);
      }
    }
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
          ...options.env,
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
      const child = this.children.get(mspId);
      if (Date.now() > deadline || child === undefined || hasExited(child)) {
        throw new Error(`gateway of ${mspId} did not become ready`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Stops the gateways of `mspIds` (default: all of them) and waits for their processes to exit:
   * SIGTERM is an operator's graceful stop, SIGKILL a crash.
   */
  async stop(mspIds?: readonly string[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const stopping = mspIds ?? [...this.children.keys()];
    await Promise.all(
      stopping.map(
        (mspId) =>
          new Promise<void>((resolve) => {
            const child = this.children.get(mspId);
            if (child === undefined || hasExited(child)) {
              resolve();
              return;
            }
            child.once('exit', () => resolve());
            child.kill(signal);
          }),
      ),
    );
    for (const mspId of stopping) {
      this.children.delete(mspId);
    }
  }
}

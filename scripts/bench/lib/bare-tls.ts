/**
 * The ceiling a mutual-TLS HTTPS service can reach on this machine, to put the gateway's figures
 * in proportion: a bare Node.js HTTPS server asking for client certificates (as the gateway does)
 * answers a tiny JSON POST with 201, and a client in the same process calls it on 127.0.0.1 in
 * three ways:
 *
 *   full-handshake  a new connection per request, full TLS handshake (no session cache), as a
 *                   device that keeps nothing between forecasts;
 *   resumed         a new connection per request resuming a TLS session (TLS 1.3 ticket), as a
 *                   device that keeps its session ticket;
 *   keep-alive      requests on kept-alive connections: the cost of HTTP over TLS alone.
 *
 * Server and client share one event loop, so the rates are those of both together: comparable
 * between modes and with the gateway measured from the same load generator, not a server limit.
 * TLS versions and ciphers are Node's defaults (TLS 1.3).
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { errorMessage } from './runner';
import { round, summarize } from './stats';

export const TLS_CLIENT_MODES = ['full-handshake', 'resumed', 'keep-alive'] as const;
export type TlsClientMode = (typeof TLS_CLIENT_MODES)[number];

/** PEM material of both ends, e.g. a utility gateway's TLS pair and a bench device's certificate. */
export interface BareTlsMaterial {
  readonly serverKeyPem: string;
  readonly serverCertPem: string;
  /** The CAs whose client certificates the server accepts (a gateway's org CAs). */
  readonly clientCaPem: string | readonly string[];
  readonly clientKeyPem: string;
  readonly clientCertPem: string;
  /** The CAs the client trusts for the server certificate (a gateway's TLS CA). */
  readonly serverCaPem: string | readonly string[];
  /** The name the client checks the server certificate for; default `localhost`. */
  readonly serverName?: string;
}

/** How long to run: a number of requests or a duration (exactly one), with requests in flight. */
export interface BareTlsLoad {
  readonly concurrency: number;
  readonly requests?: number;
  readonly durationMs?: number;
}

export interface BareTlsResult {
  readonly mode: TlsClientMode;
  readonly concurrency: number;
  /** Requests answered 201. */
  readonly requests: number;
  readonly failures: number;
  readonly firstError: string | undefined;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** TLS handshakes the server completed (connections opened). */
  readonly handshakes: number;
  /** Share of answered requests whose connection resumed a TLS session (client's view). */
  readonly resumedFraction: number;
  /** Negotiated protocol, e.g. TLSv1.3. */
  readonly protocol: string | undefined;
}

/** The bare server: its port, and counters of the handshakes it completed. */
export interface BareTlsServer {
  readonly port: number;
  readonly handshakes: () => { readonly total: number; readonly resumed: number };
  readonly close: () => Promise<void>;
}

const pems = (value: string | readonly string[]): string[] =>
  typeof value === 'string' ? [value] : [...value];

/** The tiny forecast-sized request body: parsed by the server so it is a real JSON POST. */
const BODY = Buffer.from(JSON.stringify({ slotId: '2025-01-01T00:00Z', kWh: 1.25, nonce: 'bench' }));
const ANSWER = Buffer.from(JSON.stringify({ status: 'accepted' }));

function answer(req: IncomingMessage, res: ServerResponse): void {
  // The gateway identifies the caller by the certificate of the connection, also when the session
  // was resumed (the certificate is then the session's, not sent again): so must this server.
  const socket = req.socket as TLSSocket;
  if (!socket.authorized || Object.keys(socket.getPeerCertificate()).length === 0) {
    res.writeHead(401).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': ANSWER.length }).end(ANSWER);
  });
}

/** Starts the bare mutual-TLS server on 127.0.0.1 on a free port. */
export async function startBareTlsServer(material: BareTlsMaterial): Promise<BareTlsServer> {
  const server: Server = createServer(
    {
      key: material.serverKeyPem,
      cert: material.serverCertPem,
      ca: pems(material.clientCaPem),
      // Unlike the gateway, which lets its auth plugin judge the certificate for precise errors,
      // TLS itself refuses a client without a valid certificate: the check costs the same.
      requestCert: true,
      rejectUnauthorized: true,
    },
    answer,
  );
  let total = 0;
  let resumed = 0;
  server.on('secureConnection', (socket: TLSSocket) => {
    total += 1;
    resumed += socket.isSessionReused() ? 1 : 0;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    handshakes: () => ({ total, resumed }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * The client agent of a mode. With keepAlive off Node's agent sends `Connection: close` and opens
 * a connection per request; its session cache (maxCachedSessions) keeps the last session per
 * server from the socket's 'session' event, which in TLS 1.3 carries the ticket the server sends
 * after the handshake, and offers it on the next connection. The client's key, certificate and
 * CAs are parsed once into a secure context: given as PEM options, Node parses them again for
 * every new connection (a third of its time on this machine), which is not the handshake cost
 * this measures.
 */
function agentFor(mode: TlsClientMode, material: BareTlsMaterial, concurrency: number): Agent {
  const tls = {
    secureContext: createSecureContext({
      ca: pems(material.serverCaPem),
      cert: material.clientCertPem,
      key: material.clientKeyPem,
    }),
    servername: material.serverName ?? 'localhost',
  };
  switch (mode) {
    case 'full-handshake':
      return new Agent({ ...tls, keepAlive: false, maxCachedSessions: 0 });
    case 'resumed':
      return new Agent({ ...tls, keepAlive: false, maxCachedSessions: 100 });
    case 'keep-alive':
      return new Agent({ ...tls, keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }
}

interface Answered {
  readonly resumed: boolean;
  readonly protocol: string | undefined;
}

function post(port: number, agent: Agent): Promise<Answered> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/forecasts',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': BODY.length },
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        // Read before the body ends: a closed connection no longer tells.
        const answered = { resumed: socket.isSessionReused(), protocol: socket.getProtocol() ?? undefined };
        res.resume();
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode === 201 ? resolve(answered) : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

function checkLoad(load: BareTlsLoad): void {
  if (!Number.isInteger(load.concurrency) || load.concurrency < 1) {
    throw new RangeError('concurrency must be a positive whole number');
  }
  if ((load.requests === undefined) === (load.durationMs === undefined)) {
    throw new RangeError('give either requests or durationMs');
  }
  if (load.requests !== undefined && (!Number.isInteger(load.requests) || load.requests < 1)) {
    throw new RangeError('requests must be a positive whole number');
  }
  if (load.durationMs !== undefined && !(load.durationMs > 0)) {
    throw new RangeError('durationMs must be positive');
  }
}

/** Calls a running bare server in one client mode; every request is answered or counted failed. */
export async function measureBareTls(
  server: BareTlsServer,
  material: BareTlsMaterial,
  mode: TlsClientMode,
  load: BareTlsLoad,
): Promise<BareTlsResult> {
  checkLoad(load);
  const agent = agentFor(mode, material, load.concurrency);
  const latenciesMs: number[] = [];
  let started = 0;
  let failures = 0;
  let resumed = 0;
  let firstError: string | undefined;
  let protocol: string | undefined;
  const handshakesBefore = server.handshakes().total;
  const t0 = performance.now();
  const deadline = load.durationMs === undefined ? Infinity : t0 + load.durationMs;
  const more = (): boolean =>
    load.requests === undefined ? performance.now() < deadline : started < load.requests;
  const worker = async (): Promise<void> => {
    while (more()) {
      started += 1;
      const t = performance.now();
      try {
        const answered = await post(server.port, agent);
        latenciesMs.push(performance.now() - t);
        resumed += answered.resumed ? 1 : 0;
        protocol ??= answered.protocol;
      } catch (error) {
        failures += 1;
        firstError ??= errorMessage(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: load.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary = summarize(latenciesMs);
  return {
    mode,
    concurrency: load.concurrency,
    requests: latenciesMs.length,
    failures,
    firstError,
    seconds: round(seconds, 3),
    requestsPerSecond: round(latenciesMs.length / seconds),
    p50Ms: summary.p50Ms,
    p95Ms: summary.p95Ms,
    handshakes: server.handshakes().total - handshakesBefore,
    resumedFraction: latenciesMs.length === 0 ? 0 : round(resumed / latenciesMs.length, 3),
    protocol,
  };
}

/** Starts the bare server, measures the given modes one after another, stops it. */
export async function benchBareTls(
  material: BareTlsMaterial,
  load: BareTlsLoad,
  modes: readonly TlsClientMode[] = TLS_CLIENT_MODES,
): Promise<BareTlsResult[]> {
  checkLoad(load);
  const server = await startBareTlsServer(material);
  try {
    const results: BareTlsResult[] = [];
    for (const mode of modes) {
      results.push(await measureBareTls(server, material, mode, load));
    }
    return results;
  } finally {
    await server.close();
  }
}

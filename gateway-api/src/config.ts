import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { loadNetworkDescription, type NetworkDescription } from '@hems/network-client';
import { ORDER_COMMIT_LEAD_MS } from '@hems/protocol';
import type { TrustedCa } from './identity/trust-store';
import type { EnrolmentAttemptOptions } from './services/enrolment-attempts';

/** One running gateway instance: which org it serves, where it listens, its TLS material. */
export interface GatewayConfig {
  readonly mspId: string;
  readonly host: string;
  readonly port: number;
  readonly tlsCertPem: Buffer;
  readonly tlsKeyPem: Buffer;
  readonly network: NetworkDescription;
  /** CAs of every channel org: client certificates must chain to one of them. */
  readonly trustedCas: readonly TrustedCa[];
  /** Folder for the gateway's own state (idempotency records, event checkpoint). */
  readonly stateDir: string;
  /** Server-sent event streams one client certificate may hold open at once. */
  readonly maxEventStreamsPerCaller: number;
  /** How long before each window's close a utility gateway commits to its sealed orders. */
  readonly orderCommitLeadMs: number;
  /** A utility gateway's batching of device items; undefined: one transaction per item. */
  readonly relayBatch: { readonly maxItems: number; readonly maxWaitMs: number } | undefined;
  /** Limits of failed device enrolments (POST /v1/enroll), below the CA's own lockout. */
  readonly enrolmentAttempts: EnrolmentAttemptOptions;
  /** Open event streams at most, over all callers. */
  readonly maxEventStreams: number;
}

/** An integer environment variable within [min, max], or `fallback` when unset. */
function integerSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const text = env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * HEMS_GATEWAY_BATCH_ITEMS (0-1000, default 500; 0: no batching, one transaction per forecast or
 * report) and HEMS_GATEWAY_BATCH_WAIT_MS (1-5000, default 50): a batch of device forecasts (or of
 * consumption reports) goes to the ledger when it is full or when its first item waited that long.
 */
export function relayBatchSettings(
  env: NodeJS.ProcessEnv,
): { maxItems: number; maxWaitMs: number } | undefined {
  const maxItems = integerSetting(env, 'HEMS_GATEWAY_BATCH_ITEMS', 0, 1000, 500);
  const maxWaitMs = integerSetting(env, 'HEMS_GATEWAY_BATCH_WAIT_MS', 1, 5000, 50);
  return maxItems === 0 ? undefined : { maxItems, maxWaitMs };
}

/** Default of HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: a device needs one, a reconnect briefly two. */
export const DEFAULT_MAX_EVENT_STREAMS_PER_CALLER = 4;

/** HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: an integer 1-1000, default 4. */
export function maxEventStreamsPerCaller(env: NodeJS.ProcessEnv): number {
  const text = env.HEMS_GATEWAY_MAX_STREAMS_PER_CALLER;
  if (text === undefined || text === '') {
    return DEFAULT_MAX_EVENT_STREAMS_PER_CALLER;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1000) {
    throw new Error('HEMS_GATEWAY_MAX_STREAMS_PER_CALLER must be an integer from 1 to 1000');
  }
  return value;
}

/**
 * HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS: milliseconds 500-600000 before each window's close at which a
 * utility gateway commits to its sealed orders (orders reaching it later are refused), default
 * ORDER_COMMIT_LEAD_MS (3000): enough for a majority-endorsed commit and one retry.
 */
export function orderCommitLeadMs(env: NodeJS.ProcessEnv): number {
  const text = env.HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS;
  if (text === undefined || text === '') {
    return ORDER_COMMIT_LEAD_MS;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 500 || value > 600_000) {
    throw new Error('HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS must be an integer from 500 to 600000');
  }
  return value;
}

/** Default ports: one gateway per peer org on loopback. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  DSOMSP: 9443,
  UtilityAMSP: 9444,
  UtilityBMSP: 9445,
  RegulatorMSP: 9446,
};

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') {
    throw new Error(`${name} is required`);
  }
  return value;
}

/**
 * Reads the configuration from the environment and the network description:
 *   HEMS_GATEWAY_ORG (MSP id, required), HEMS_GATEWAY_HOST (127.0.0.1), HEMS_GATEWAY_PORT,
 *   HEMS_GATEWAY_TLS_CERT / HEMS_GATEWAY_TLS_KEY (default: the gateway TLS certificate the
 *   network scripts enrolled for the org), HEMS_NETWORK_STATE (network description folder),
 *   HEMS_GATEWAY_MAX_STREAMS_PER_CALLER (open event streams per client certificate, default 4),
 *   HEMS_GATEWAY_MAX_EVENT_STREAMS (open event streams in all, default 20,000: one per always-on
 *   device), HEMS_GATEWAY_BATCH_ITEMS / HEMS_GATEWAY_BATCH_WAIT_MS (relayBatchSettings).
 */
/** HEMS_GATEWAY_ENROL_* and HEMS_GATEWAY_CA_PASSWORD_ATTEMPTS (the CA's cfg.identities.passwordattempts). */
export function enrolmentAttemptSettings(env: NodeJS.ProcessEnv): EnrolmentAttemptOptions {
  return {
    maxFailuresPerId: integerSetting(env, 'HEMS_GATEWAY_ENROL_MAX_FAILURES_PER_ID', 1, 100, 3),
    maxFailuresPerSource: integerSetting(env, 'HEMS_GATEWAY_ENROL_MAX_FAILURES_PER_SOURCE', 1, 100_000, 20),
    windowMs: integerSetting(env, 'HEMS_GATEWAY_ENROL_WINDOW_MS', 1_000, 86_400_000, 900_000),
    maxFailuresSinceSuccess: integerSetting(env, 'HEMS_GATEWAY_ENROL_MAX_FAILURES_SINCE_SUCCESS', 1, 100, 6),
    caPasswordAttempts: integerSetting(env, 'HEMS_GATEWAY_CA_PASSWORD_ATTEMPTS', 1, 100, 10),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const mspId = required(env.HEMS_GATEWAY_ORG, 'HEMS_GATEWAY_ORG');
  const network = loadNetworkDescription(env.HEMS_NETWORK_STATE);
  if (!network.peers.some((peer) => peer.mspId === mspId)) {
    throw new Error(`HEMS_GATEWAY_ORG ${mspId} has no peer in the network`);
  }
  const described = (network.gateways ?? []).find((gateway) => gateway.mspId === mspId);
  const certPath = env.HEMS_GATEWAY_TLS_CERT ?? described?.tlsCertPath;
  const keyPath = env.HEMS_GATEWAY_TLS_KEY ?? described?.tlsKeyPath;
  const port = Number(env.HEMS_GATEWAY_PORT ?? DEFAULT_PORTS[mspId] ?? 9443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error('HEMS_GATEWAY_PORT must be a port number');
  }
  return {
    mspId,
    host: env.HEMS_GATEWAY_HOST ?? '127.0.0.1',
    port,
    tlsCertPem: readFileSync(
      required(certPath, 'HEMS_GATEWAY_TLS_CERT (or a gateway TLS certificate in network.json)'),
    ),
    tlsKeyPem: readFileSync(required(keyPath, 'HEMS_GATEWAY_TLS_KEY (or a gateway TLS key in network.json)')),
    network,
    trustedCas: network.certificateAuthorities.map((ca) => ({
      mspId: ca.mspId,
      certificate: new X509Certificate(readFileSync(ca.tlsCertPath)),
    })),
    stateDir: env.HEMS_GATEWAY_STATE ?? `${network.stateDir}/gateways/${mspId}`,
    maxEventStreamsPerCaller: maxEventStreamsPerCaller(env),
    orderCommitLeadMs: orderCommitLeadMs(env),
    relayBatch: relayBatchSettings(env),
    enrolmentAttempts: enrolmentAttemptSettings(env),
    maxEventStreams: integerSetting(env, 'HEMS_GATEWAY_MAX_EVENT_STREAMS', 1, 100_000, 20_000),
  };
}

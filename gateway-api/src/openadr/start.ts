import path from 'node:path';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TrustStore } from '../identity/trust-store';
import type { EventingLedger } from '../ledger/ports';
import type { SlotLookup } from '../resources/slots/service';
import type { AllowedPowerBook } from '../services/allowed-powers';
import { ConsumptionBatcher } from '../services/consumption-batcher';
import { ForecastBatcher } from '../services/forecast-batcher';
import type { VenRegistry } from '../services/ven-registry';
import { buildVtnApp, VTN_LOG_REDACTIONS } from './app';
import { tokenKeyFile } from './auth/access-tokens';
import { LedgerDrResults } from './dr-results';
import { SlotDirectory } from './slot-directory';

/** What a utility gateway shares with its VTN. */
export interface VtnStartOptions {
  readonly ledger: EventingLedger;
  readonly trust: TrustStore;
  readonly stateDir: string;
  readonly slotCache: SlotLookup;
  /** The registry the gateway's VEN routes use: a revocation there is seen here at once. */
  readonly registry: VenRegistry;
  readonly allowedPowers: AllowedPowerBook;
  readonly forecastBatcher?: ForecastBatcher;
  readonly consumptionBatcher?: ConsumptionBatcher;
  readonly https: HttpsServerOptions;
  readonly log: FastifyBaseLogger;
  readonly env: NodeJS.ProcessEnv;
}

/** A started VTN and how to stop it. */
export interface RunningVtn {
  readonly app: FastifyInstance;
  stop(): Promise<void>;
}

/**
 * The VTN port: HEMS_GATEWAY_OPENADR_PORT, by default the gateway's port + 1000; `off` serves none.
 */
export function vtnPort(env: NodeJS.ProcessEnv, gatewayPort: number): number | undefined {
  const text = env.HEMS_GATEWAY_OPENADR_PORT;
  if (text === 'off') {
    return undefined;
  }
  const port = text === undefined ? gatewayPort + 1000 : Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error('HEMS_GATEWAY_OPENADR_PORT must be a port number or off');
  }
  return port;
}

/**
 * Starts a utility gateway's OpenADR VTN on its own port, sharing the gateway's ledger, allowed
 * powers and relay batches (its own batches of one when the gateway does not batch). The token key
 * is HEMS_GATEWAY_OPENADR_TOKEN_KEY (a file every instance of the utility shares), by default in
 * the gateway's state folder.
 */
export async function startVtn(options: VtnStartOptions, host: string, port: number): Promise<RunningVtn> {
  const { ledger, env } = options;
  const forecasts =
    options.forecastBatcher ??
    new ForecastBatcher(ledger, { maxItems: 1 }, (slotId, accepted) => {
      options.allowedPowers.learn(slotId, accepted).catch(() => undefined);
    });
  const consumption = options.consumptionBatcher ?? new ConsumptionBatcher(ledger, { maxItems: 1 });
  const slots = new SlotDirectory({ ledger, slotCache: options.slotCache, log: options.log });
  const app = await buildVtnApp({
    org: ledger.mspId,
    trust: options.trust,
    registry: options.registry,
    tokenKey: tokenKeyFile(
      env.HEMS_GATEWAY_OPENADR_TOKEN_KEY ?? path.join(options.stateDir, 'openadr-token.key'),
    ),
    slots,
    allowedPowers: options.allowedPowers,
    forecasts,
    consumption,
    drResults: new LedgerDrResults(ledger),
    https: options.https,
    logger: {
      level: env.HEMS_GATEWAY_LOG_LEVEL ?? 'info',
      redact: { paths: VTN_LOG_REDACTIONS, censor: '[redacted]' },
    },
    allowHttpCallbacks: env.HEMS_GATEWAY_OPENADR_HTTP_CALLBACKS === '1',
  });
  await slots.start();
  await app.listen({ host, port });
  return {
    app,
    stop: async () => {
      await slots.stop();
      await app.close();
      if (options.forecastBatcher === undefined) {
        await forecasts.close();
      }
      if (options.consumptionBatcher === undefined) {
        await consumption.close();
      }
    },
  };
}

/**
 * The VTN of a utility gateway (one holding the relay identity) on vtnPort, or undefined for any
 * other gateway or with HEMS_GATEWAY_OPENADR_PORT=off.
 */
export async function startUtilityVtn(
  options: VtnStartOptions,
  host: string,
  gatewayPort: number,
): Promise<RunningVtn | undefined> {
  const port = options.ledger.identities.includes('relay') ? vtnPort(options.env, gatewayPort) : undefined;
  if (port === undefined) {
    return undefined;
  }
  const vtn = await startVtn(options, host, port);
  options.log.info({ port }, 'OpenADR VTN listening');
  return vtn;
}

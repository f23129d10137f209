#!/usr/bin/env node
/*
 * A gateway instance for one organization: HTTPS with mutual TLS on loopback, the org's Fabric
 * identities to its own peer. `HEMS_GATEWAY_ORG=UtilityAMSP node gateway-api/dist/main.js`
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp, LOG_REDACTIONS } from './app';
import { loadConfig } from './config';
import { TrustStore, type Roster } from './identity/trust-store';
import { FabricLedger } from './ledger/fabric-ledger';
import { governance } from './ledger/contracts';
import { publishOwnAggregates } from './resources/aggregates/service';
import { commitOwnOrders, releaseOwnEscrow, revealOwnOrders } from './resources/reveal/service';
import { CommitScheduler } from './services/commit-scheduler';
import { closeDeliveryReports } from './resources/windows/service';
import { ReleaseScheduler } from './services/release-scheduler';
import { ReportClosureScheduler } from './services/report-closure-scheduler';
import { RevealScheduler } from './services/reveal-scheduler';
import { AggregationScheduler } from './services/aggregation-scheduler';
import { FabricCaRestClient, loadRegistrarFromMsp } from './services/fabric-ca';
import { ChaincodeRevocations } from './services/revocations';
import { createAggregationFanOut, type UtilityGateway } from './services/utility-gateways';
import { DEFAULT_PORTS } from './config';
import { findIdentity, readCredentials } from '@hems/network-client';
import { SlotCache } from './services/slot-cache';
import { createRelayServices } from './services/relay-services';
import { EnrolmentAttempts } from './services/enrolment-attempts';
import { FileIdempotencyStore } from './services/idempotency-file-store';
import { startUtilityVtn, type RunningVtn } from './openadr/start';
import { VenRegistry } from './services/ven-registry';

async function main(): Promise<void> {
  const config = loadConfig();
  const ledger = new FabricLedger(config.network, config.mspId);
  // Revoked device certificates are refused by the gateway as by the chaincode: one list per
  // utility, read from the ledger and refreshed in the background.
  const revocations = new ChaincodeRevocations({ ledger });
  await revocations.start();
  // Fail closed: without the revocation lists a revoked device would be let in.
  if (revocations.status().refreshedAt === undefined) {
    throw new Error('the revocation lists could not be read from the ledger');
  }
  // Which org may hold which role comes from the chaincode's channel settings.
  const settings = JSON.parse(
    Buffer.from(await governance(ledger, ledger.identities[0] ?? 'relay').GetSettings.evaluate()).toString(
      'utf8',
    ),
  ) as Roster;
  const trust = new TrustStore(config.trustedCas, revocations, undefined, {
    dsoMspIds: settings.dsoMspIds,
    utilityMspIds: settings.utilityMspIds,
    auditorMspIds: settings.auditorMspIds,
  });
  // Device onboarding at the org's own Fabric CA, as its registrar.
  const ca = config.network.certificateAuthorities.find((candidate) => candidate.mspId === config.mspId);
  const devices =
    ca === undefined
      ? undefined
      : {
          ca: new FabricCaRestClient({
            url: ca.url,
            caName: ca.caName,
            tlsTrustedRoots: readFileSync(ca.tlsCertPath, 'utf8'),
            registrar: loadRegistrarFromMsp(ca.registrarMspPath),
          }),
          attempts: new EnrolmentAttempts(config.enrolmentAttempts),
        };
  mkdirSync(config.stateDir, { recursive: true });
  // Idempotency records survive a restart: a device's retry after a crash never submits twice.
  const idempotencyStore = await FileIdempotencyStore.open({
    file: path.join(config.stateDir, 'idempotency.jsonl'),
  });
  // Public slot data from chaincode events, resuming after a restart from its checkpoint.
  const slotCache = new SlotCache({ ledger, checkpointFile: path.join(config.stateDir, 'slot-cache.json') });
  // The DSO gateway reaches the utility gateways to trigger their aggregation. Their URLs come
  // from HEMS_UTILITY_GATEWAYS ({"UtilityAMSP":"https://host:port", ...}) or the default ports.
  const aggregationFanOut = ledger.identities.includes('dso') ? dsoFanOut(config) : undefined;
  // A utility gateway answers its devices' allowed powers from memory and batches their
  // forecasts; the book learns each batch's home references as it commits.
  const relayLog = { warn: (object: object, message: string) => app.log.warn(object, message) };
  const { allowedPowers, forecastBatcher, consumptionBatcher, orderBatcher } = createRelayServices(
    ledger,
    config.relayBatch,
    relayLog,
  );
  // One VEN registry for the admin routes and the VTN: a revocation is seen by both at once.
  const vens = new VenRegistry(ledger);
  const app = await buildApp({
    vens,
    allowedPowers,
    ...(forecastBatcher === undefined ? {} : { forecastBatcher }),
    ...(consumptionBatcher === undefined ? {} : { consumptionBatcher }),
    ...(orderBatcher === undefined ? {} : { orderBatcher }),
    aggregationFanOut,
    logger: {
      level: process.env.HEMS_GATEWAY_LOG_LEVEL ?? 'info',
      redact: { paths: LOG_REDACTIONS, censor: '[redacted]' },
    },
    ledger,
    trust,
    slotCache,
    devices,
    operations: {
      idempotency: { store: idempotencyStore },
      events: {
        maxStreamsPerCaller: config.maxEventStreamsPerCaller,
        maxSubscribers: config.maxEventStreams,
      },
    },
    https: {
      key: config.tlsKeyPem,
      cert: config.tlsCertPem,
      // Ask every client for a certificate, and let the authentication plugin judge it so a
      // refusal is a precise JSON error rather than a failed TLS handshake.
      ca: trust.caCertificatesPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
  });

  await slotCache.start();
  const log = app.log;
  const schedulers = ledger.identities.includes('relay')
    ? [
        // A utility gateway publishes its aggregates at each slot's deadline; the plan is rebuilt
        // from the ledger on start, so a restart loses nothing.
        new AggregationScheduler({ ledger, publish: (slotId) => publishOwnAggregates(ledger, slotId), log }),
        // ... and commits to its sealed orders of each trading window just before its close (the
        // orders of a utility without a commitment do not trade) ...
        new CommitScheduler({
          ledger,
          commit: (windowId) => commitOwnOrders(ledger, windowId),
          leadMs: config.orderCommitLeadMs,
          log,
        }),
        // ... and reveals its orders of each trading window at its close, so the clearing never
        // waits for a person; rebuilt from the ledger on start like the aggregation plan.
        new RevealScheduler({ ledger, reveal: (windowId) => revealOwnOrders(ledger, windowId), log }),
        // ... and releases its escrows of each window once it is cleared, so the bids that did not
        // trade are refunded at once (a utility without trades makes no delivery report that would).
        new ReleaseScheduler({ ledger, release: (windowId) => releaseOwnEscrow(ledger, windowId), log }),
      ]
    : ledger.identities.includes('market')
      ? [
          // The market operator's gateway closes the delivery reports of its windows at reportBy
          // (majority-endorsed), so settlements never wait on a silent utility or a person.
          new ReportClosureScheduler({
            ledger,
            close: (windowId) => closeDeliveryReports(ledger, windowId),
            log,
          }),
        ]
      : [];
  for (const scheduler of schedulers) {
    await scheduler.start();
  }

  // Started once the gateway listens; stopped first on shutdown.
  const started: { vtn?: RunningVtn } = {};
  // Graceful shutdown: stop accepting, let in-flight submits finish (close waits for them), then
  // close the Fabric connections.
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      return;
    }
    closing = true;
    app.log.info({ signal }, 'shutting down');
    schedulers
      .reduce((stopped, scheduler) => stopped.then(() => scheduler.stop()), Promise.resolve())
      .then(() => started.vtn?.stop())
      .then(() => slotCache.stop())
      .then(() => revocations.stop())
      .then(() => app.close())
      .then(() => ledger.close())
      .catch((error: unknown) => app.log.error({ err: error }, 'shutdown failed'))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info({ org: config.mspId, port: config.port }, 'gateway listening');
  // A utility gateway is also its homes' OpenADR 3 VTN, on its own port (docs/openadr.md).
  started.vtn = await startUtilityVtn(
    {
      ledger,
      trust,
      stateDir: config.stateDir,
      slotCache,
      registry: vens,
      allowedPowers,
      ...(forecastBatcher === undefined ? {} : { forecastBatcher }),
      ...(consumptionBatcher === undefined ? {} : { consumptionBatcher }),
      https: {
        key: config.tlsKeyPem,
        cert: config.tlsCertPem,
        ca: trust.caCertificatesPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      log: app.log,
      env: process.env,
    },
    config.host,
    config.port,
  );
  app.log.info({ ...idempotencyStore.recovery }, 'idempotency records loaded');
}

function dsoFanOut(config: ReturnType<typeof loadConfig>): ReturnType<typeof createAggregationFanOut> {
  const urls = JSON.parse(process.env.HEMS_UTILITY_GATEWAYS ?? '{}') as Record<string, string>;
  const utilities: UtilityGateway[] = config.network.certificateAuthorities
    .filter((ca) =>
      config.network.identities.some((identity) => identity.mspId === ca.mspId && identity.name === 'relay'),
    )
    .map((ca) => ({
      mspId: ca.mspId,
      url: urls[ca.mspId] ?? `https://localhost:${DEFAULT_PORTS[ca.mspId] ?? 9444}`,
      caPem: readFileSync(ca.tlsCertPath, 'utf8'),
    }));
  const operator = readCredentials(findIdentity(config.network, config.mspId, 'dso-operator'));
  return createAggregationFanOut(utilities, {
    certificatePem: operator.certificate,
    privateKeyPem: operator.privateKeyPem,
  });
}

main().catch((error: unknown) => {
  console.error('gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

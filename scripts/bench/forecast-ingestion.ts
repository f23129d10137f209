/*
 * Forecast ingestion benchmark: N HEMS devices each submit one signed forecast for one slot,
 * (1) through their utility gateways over REST with mutual TLS (HemsClient, one connection per
 * device, retries off), and (2) the same device-signed forecasts submitted directly with the raw
 * fabric-gateway client as the utility's relay. Both wait for the commit (the REST forecast POST
 * answers 201 only after SubmitForecast committed), so each latency is submit-to-commit. Devices
 * alternate between UtilityAMSP and UtilityBMSP and between feeder buses bus-1 and bus-2.
 *
 * Benchmark devices skip CA registration by default (--issuer direct, see lib/devices.ts): their
 * certificates are signed with the org CA's key in the CA's format, and the gateway and chaincode
 * checks on them are identical to those on CA-enrolled devices.
 */
import { HemsClient } from '@hems/device-client';
import { gatewayCaPem, gatewayUrl } from '@hems/testkit';
import { FEEDER_PAIRS, requireFeederEnrolment, type BenchContext } from './lib/context';
import { spreadDevices, type BenchDevice } from './lib/devices';
import { benchSlotId, openSlot, UTILITIES } from './lib/fabric';
import { relaySubmitForecast, randomRange } from './lib/forecasts';
import type { IngestionMode } from './lib/options';
import { seededRandom } from './lib/random';
import { runPool } from './lib/runner';
import { round, summarize } from './lib/stats';
import type { Cell } from './lib/table';

export interface IngestionResult {
  readonly mode: IngestionMode;
  readonly devices: number;
  readonly concurrency: number;
  readonly slotId: string;
  readonly committed: number;
  readonly failures: number;
  readonly firstError: string | null;
  readonly seconds: number;
  readonly committedTxPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export const INGESTION_HEADERS = [
  'mode',
  'devices',
  'conc.',
  'committed',
  'failures',
  'seconds',
  'tx/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
];

export function ingestionRow(result: IngestionResult): Cell[] {
  return [
    result.mode === 'gateway' ? 'REST gateway (mTLS)' : 'raw fabric-gateway',
    result.devices,
    result.concurrency,
    result.committed,
    result.failures,
    result.seconds,
    result.committedTxPerSecond,
    result.p50Ms,
    result.p95Ms,
    result.p99Ms,
    result.maxMs,
  ];
}

/** One device submitting through its utility's gateway; the client is closed afterwards. */
async function submitThroughGateway(
  context: BenchContext,
  device: BenchDevice,
  slotId: string,
  random: () => number,
): Promise<void> {
  const client = new HemsClient({
    gatewayUrl: gatewayUrl(device.mspId),
    gatewayCaPem: gatewayCaPem(context.description, device.mspId),
    certificatePem: device.certificatePem,
    privateKeyPem: device.privateKeyPem,
    // A retry would hide a failure and stretch a latency: every attempt counts once.
    retry: { attempts: 1 },
  });
  try {
    const receipt = await client.submitForecast(slotId, randomRange(random));
    if (receipt.txId === '' || receipt.replayed) {
      throw new Error('the gateway answered without a fresh transaction id');
    }
  } finally {
    client.close();
  }
}

export async function benchIngestion(context: BenchContext): Promise<IngestionResult[]> {
  await requireFeederEnrolment(context);
  const { concurrency } = context.options;
  const dso = context.connections.as('DSOMSP', 'dso-operator');
  const relays = new Map(
    UTILITIES.map((mspId) => [mspId, context.connections.as(mspId, 'relay').contract()]),
  );
  const results: IngestionResult[] = [];
  for (const count of context.options.devices) {
    const devices = await spreadDevices(context.description, context.options.issuer, FEEDER_PAIRS, count);
    for (const mode of context.options.modes) {
      const slotId = benchSlotId(`ingest-${mode}-${count}`);
      await openSlot(dso, slotId);
      const random = seededRandom(count);
      console.log(`ingestion: ${count} devices, ${mode}, slot ${slotId} ...`);
      const outcome = await runPool(devices, concurrency, async (device) => {
        if (mode === 'gateway') {
          await submitThroughGateway(context, device, slotId, random);
          return;
        }
        const relay = relays.get(device.mspId);
        if (relay === undefined) {
          throw new Error(`no relay of ${device.mspId}`);
        }
        await relaySubmitForecast(relay, device, slotId, randomRange(random));
      });
      if (outcome.firstError !== undefined) {
        console.error(
          `ingestion ${mode} ${count}: first of ${outcome.failures} failures: ${outcome.firstError}`,
        );
      }
      const latency = summarize(outcome.latenciesMs);
      results.push({
        mode,
        devices: count,
        concurrency,
        slotId,
        committed: outcome.succeeded,
        failures: outcome.failures,
        firstError: outcome.firstError ?? null,
        seconds: round(outcome.seconds, 2),
        committedTxPerSecond: round(outcome.succeeded / outcome.seconds),
        p50Ms: latency.p50Ms,
        p95Ms: latency.p95Ms,
        p99Ms: latency.p99Ms,
        maxMs: latency.maxMs,
      });
    }
  }
  return results;
}

/** Raw throughput over gateway throughput per device count: the gateway's overhead factor. */
export function gatewayOverhead(results: readonly IngestionResult[]): { devices: number; ratio: number }[] {
  return [...new Set(results.map((result) => result.devices))].flatMap((devices) => {
    const gateway = results.find((result) => result.devices === devices && result.mode === 'gateway');
    const raw = results.find((result) => result.devices === devices && result.mode === 'raw');
    return gateway !== undefined && raw !== undefined && gateway.committedTxPerSecond > 0
      ? [{ devices, ratio: round(raw.committedTxPerSecond / gateway.committedTxPerSecond, 2) }]
      : [];
  });
}

/*
 * Forecast ingestion: the one-transaction-per-forecast path and the batched path on the same
 * network in the same run, through the REST gateways and through the raw Fabric client.
 *
 *   raw-single            the utility's relay submits each device-signed forecast as its own
 *                         SubmitForecast transaction (raw fabric-gateway, one gRPC connection per
 *                         utility)
 *   raw-batched           the relay submits SubmitForecasts transactions of --batch-items
 *                         device-signed forecasts, --batches-in-flight at once
 *   rest-single           devices POST to gateways that do not batch (one SubmitForecast each),
 *                         each device on its own kept-alive mutual-TLS connection
 *   rest-batched          ≥ 10,000 devices, each holding its own mutual-TLS connection (as an
 *                         always-on device with an open event stream does), POST forecasts for
 *                         successive slots for --seconds; the gateways batch
 *   rest-new-connection   every POST on a new mutual-TLS connection with a full handshake; beside
 *                         it the same load against a bare Node.js mutual-TLS server (bare-tls)
 *
 * Every forecast counts only once committed (a REST 201 comes after the commit). CPU seconds per
 * forecast are summed over the network's processes (peers, orderers, CAs, chaincode servers,
 * gateways) and, apart, the load generator.
 */
import { readFileSync } from 'node:fs';
import type { Contract } from '@hyperledger/fabric-gateway';
import { gatewayCaPem } from '@hems/testkit';
import { benchBareTls, type BareTlsResult } from './lib/bare-tls';
import { FEEDER_PAIRS, requireFeederEnrolment, type BenchContext } from './lib/context';
import { spreadDevices, type BenchDevice } from './lib/devices';
import { benchSlotId, openSlot, UTILITIES, withBenchGateways } from './lib/fabric';
import { connectFleet, DeviceFleet, unexpectedAnswer, type ConnectionMode } from './lib/fleet';
import {
  batchItem,
  chunked,
  randomRange,
  relaySubmitBatch,
  relaySubmitForecast,
  signDeviceForecast,
} from './lib/forecasts';
import { seededRandom } from './lib/random';
import { CpuMeter, poolResult, type BenchResult } from './lib/results';
import { runPool } from './lib/runner';

/** One forecast to send: a device (by fleet index) and a slot. */
interface Submission {
  readonly device: number;
  readonly slotId: string;
}

/** Slots opened for a run: enough for `items` forecasts of `devices` devices (one per device and slot). */
async function openSlots(context: BenchContext, label: string, count: number): Promise<string[]> {
  const dso = context.connections.as('DSOMSP', 'dso-operator');
  const slots: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const slotId = benchSlotId(`${label}-${index}`);
    await openSlot(dso, slotId, 120);
    slots.push(slotId);
  }
  return slots;
}

/** Round-major submissions: every device once for the first slot, then the next slot, ... */
function submissions(devices: number, slots: readonly string[]): Submission[] {
  return slots.flatMap((slotId) => Array.from({ length: devices }, (_, device) => ({ device, slotId })));
}

/** POSTs the device's signed forecast; resolves on 201 (after the commit). */
async function postForecast(fleet: DeviceFleet, submission: Submission, random: () => number): Promise<void> {
  const device = fleet.device(submission.device);
  const { payload, signature } = signDeviceForecast(device, submission.slotId, randomRange(random));
  const response = await fleet.request(submission.device, 'POST', `/v1/slots/${submission.slotId}/forecast`, {
    payload: payload.toString('utf8'),
    signature: signature.toString('base64'),
  });
  const error = unexpectedAnswer(response, 201, 'the forecast POST');
  if (error !== undefined) {
    throw error;
  }
}

/** REST through gateways started with `batching` (HEMS_GATEWAY_FORECAST_BATCH_ITEMS 0 = off). */
async function restRun(
  context: BenchContext,
  mode: string,
  settings: {
    readonly devices: number;
    readonly connection: ConnectionMode;
    readonly concurrency: number;
    readonly seconds?: number;
    readonly batchItems: number;
  },
): Promise<BenchResult> {
  const { description, options } = context;
  const env = {
    HEMS_GATEWAY_FORECAST_BATCH_ITEMS: String(settings.batchItems),
    HEMS_GATEWAY_FORECAST_BATCH_WAIT_MS: String(options.batchWaitMs),
  };
  return withBenchGateways(description, UTILITIES, env, async () => {
    const devices = await spreadDevices(description, options.issuer, FEEDER_PAIRS, settings.devices);
    const fleet = new DeviceFleet(description, devices, settings.connection);
    try {
      // A sustained run needs enough slots that devices never run out of fresh ones.
      const slotCount =
        settings.seconds === undefined ? 1 : Math.ceil((settings.seconds * 3000) / devices.length) + 1;
      const slots = await openSlots(context, mode, slotCount);
      const connectSeconds =
        settings.connection === 'keep-alive'
          ? await connectFleet(fleet, Math.min(256, settings.concurrency), runPool)
          : null;
      console.log(`ingestion ${mode}: ${devices.length} devices, ${slots.length} slot(s) ...`);
      const random = seededRandom(devices.length);
      const meter = new CpuMeter(description.stateDir);
      const { result: outcome, cpu } = await meter.measure(() =>
        runPool(
          submissions(devices.length, slots),
          settings.concurrency,
          (submission) => postForecast(fleet, submission, random),
          settings.seconds === undefined ? {} : { forMs: settings.seconds * 1000 },
        ),
      );
      return poolResult('ingestion', mode, outcome, cpu, {
        details: {
          devices: devices.length,
          connection: settings.connection,
          concurrency: settings.concurrency,
          batchItems: settings.batchItems,
          batchWaitMs: settings.batchItems > 0 ? options.batchWaitMs : null,
          connectSeconds,
        },
      });
    } finally {
      fleet.close();
    }
  });
}

/** The bare Node.js mutual-TLS server with the UtilityA gateway's TLS pair and a bench device. */
async function bareTlsRun(context: BenchContext, device: BenchDevice): Promise<BareTlsResult> {
  const { description, options } = context;
  const gateway = (description.gateways ?? []).find((entry) => entry.mspId === device.mspId);
  if (gateway === undefined) {
    throw new Error(`the network description has no gateway TLS pair of ${device.mspId}`);
  }
  const caPem = gatewayCaPem(description, device.mspId);
  const [fullHandshake] = await benchBareTls(
    {
      serverKeyPem: readFileSync(gateway.tlsKeyPath, 'utf8'),
      serverCertPem: readFileSync(gateway.tlsCertPath, 'utf8'),
      clientCaPem: caPem,
      clientKeyPem: device.privateKeyPem,
      clientCertPem: device.certificatePem,
      serverCaPem: caPem,
    },
    { concurrency: options.newConnectionConcurrency, requests: options.newConnectionRequests },
    ['full-handshake'],
  );
  if (fullHandshake === undefined) {
    throw new Error('internal: no bare TLS result');
  }
  return fullHandshake;
}

/** The raw relay path: SubmitForecast per forecast, or SubmitForecasts per batch. */
async function rawRun(context: BenchContext, batchItems: number, items: number): Promise<BenchResult> {
  const { description, options } = context;
  const mode = batchItems === 1 ? 'raw-single' : 'raw-batched';
  const devices = await spreadDevices(
    description,
    options.issuer,
    FEEDER_PAIRS,
    Math.min(items, options.restDevices),
  );
  const slots = await openSlots(context, mode, Math.ceil(items / devices.length));
  const work = submissions(devices.length, slots).slice(0, items);
  const relays = new Map<string, Contract>(
    UTILITIES.map((mspId) => [mspId, context.connections.as(mspId, 'relay').contract()]),
  );
  const random = seededRandom(items);
  console.log(`ingestion ${mode}: ${items} forecasts of ${devices.length} devices ...`);
  const meter = new CpuMeter(description.stateDir);
  if (batchItems === 1) {
    const { result: outcome, cpu } = await meter.measure(() =>
      runPool(work, options.concurrency * 4, async ({ device: index, slotId }) => {
        const device = devices[index]!;
        await relaySubmitForecast(relays.get(device.mspId)!, device, slotId, randomRange(random));
      }),
    );
    return poolResult('ingestion', mode, outcome, cpu, { details: { concurrency: options.concurrency * 4 } });
  }
  // Batches of one utility and one slot, signed by the devices before the clock starts.
  const batches = UTILITIES.flatMap((mspId) =>
    slots.flatMap((slotId) =>
      chunked(
        work
          .filter((entry) => entry.slotId === slotId && devices[entry.device]?.mspId === mspId)
          .map(({ device: index }) => batchItem(devices[index]!, slotId, randomRange(random))),
        batchItems,
      ).map((items) => ({ mspId, slotId, items })),
    ),
  );
  let committed = 0;
  const itemLatencies: number[] = [];
  const { result: outcome, cpu } = await meter.measure(() =>
    runPool(batches, options.batchesInFlight, async (batch) => {
      const started = performance.now();
      const accepted = await relaySubmitBatch(
        relays.get(batch.mspId)!,
        batch.mspId,
        batch.slotId,
        batch.items,
      );
      committed += accepted;
      const ms = performance.now() - started;
      for (let item = 0; item < accepted; item += 1) {
        itemLatencies.push(ms);
      }
    }),
  );
  return poolResult('ingestion', mode, { ...outcome, items: work.length }, cpu, {
    committed,
    latenciesMs: itemLatencies,
    details: { batchItems, batchesInFlight: options.batchesInFlight, transactions: outcome.succeeded },
  });
}

/** Every ingestion mode, in the order of the report. */
export async function benchIngestion(context: BenchContext): Promise<{
  results: BenchResult[];
  bareTls: BareTlsResult | null;
}> {
  await requireFeederEnrolment(context);
  const { options } = context;
  const results: BenchResult[] = [];
  let bareTls: BareTlsResult | null = null;
  const modes = options.modes;
  if (modes.includes('raw')) {
    results.push(await rawRun(context, 1, options.singleItems));
    results.push(await rawRun(context, options.batchItems, options.rawItems));
  }
  if (modes.includes('gateway')) {
    results.push(
      await restRun(context, 'rest-single', {
        devices: options.singleItems,
        connection: 'keep-alive',
        concurrency: options.concurrency,
        batchItems: 0,
      }),
    );
    for (const devices of options.devices) {
      results.push(
        await restRun(context, 'rest-batched', {
          devices,
          connection: 'keep-alive',
          concurrency: options.restConcurrency,
          seconds: options.seconds,
          batchItems: options.batchItems,
        }),
      );
    }
    const [first] = await spreadDevices(context.description, options.issuer, FEEDER_PAIRS, 1);
    if (first !== undefined) {
      bareTls = await bareTlsRun(context, first);
    }
    results.push(
      await restRun(context, 'rest-new-connection', {
        devices: options.newConnectionRequests,
        connection: 'new-connection',
        concurrency: options.newConnectionConcurrency,
        batchItems: options.batchItems,
      }),
    );
  }
  return { results, bareTls };
}

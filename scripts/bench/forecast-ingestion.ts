/*
 * Forecast ingestion benchmark (not a test): N HEMS devices each submit one signed forecast for
 * one slot, (1) through their utility gateways over REST with mutual TLS, and (2) the same kind of
 * signed forecasts submitted directly with the raw fabric-gateway client as the utility's relay.
 * Prints committed transactions per second, p50/p95/p99 submit-to-commit latency and failures, and
 * writes them as JSON under reports/. The ratio of the two is the gateway's overhead.
 *
 *   npm run network:up
 *   npm run bench:ingestion -- --devices 200 --concurrency 32
 *
 * Devices are enrolled once through the gateways (register + CSR) and their credentials cached in
 * the network's state folder, so later runs start at once.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectAs, loadNetworkDescription, submitJson, type NetworkDescription } from '@hems/network-client';
import { HemsClient, type DeviceCredentials } from '../../gateway-api/src/client';
import {
  GatewayProcesses,
  callGateway,
  gatewayCaPem,
  gatewayUrl,
} from '../../gateway-api/src/local/gateway-processes';

const UTILITIES: readonly string[] = ['UtilityAMSP', 'UtilityBMSP'];

interface BenchDevice {
  readonly homeId: string;
  readonly mspId: string;
  readonly credentials: DeviceCredentials;
}

interface RunResult {
  readonly mode: string;
  readonly devices: number;
  readonly concurrency: number;
  readonly committed: number;
  readonly failures: number;
  readonly seconds: number;
  readonly txPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive whole number`);
  }
  return value;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return 0;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Runs `work` for every item with at most `concurrency` in flight; returns latencies and failures. */
async function measure<T>(
  mode: string,
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<RunResult> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const firstError: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let index = next++; index < items.length; index = next++) {
        const item = items[index];
        if (item === undefined) {
          break;
        }
        const t0 = performance.now();
        try {
          await work(item);
          latencies.push(performance.now() - t0);
        } catch (error) {
          failures += 1;
          if (firstError.length === 0) {
            firstError.push(error instanceof Error ? error.message : String(error));
          }
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (firstError[0] !== undefined) {
    console.error(`${mode}: first failure: ${firstError[0]}`);
  }
  latencies.sort((a, b) => a - b);
  return {
    mode,
    devices: items.length,
    concurrency,
    committed: latencies.length,
    failures,
    seconds: Math.round(seconds * 100) / 100,
    txPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
    p50Ms: Math.round(percentile(latencies, 50)),
    p95Ms: Math.round(percentile(latencies, 95)),
    p99Ms: Math.round(percentile(latencies, 99)),
  };
}

/** Enrols devices through the utility gateways (admin registers, device sends a CSR); cached. */
async function benchDevices(description: NetworkDescription, count: number): Promise<BenchDevice[]> {
  const cacheFile = path.join(description.stateDir, 'bench', 'devices.json');
  const cached: BenchDevice[] = existsSync(cacheFile)
    ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as BenchDevice[])
    : [];
  const started = performance.now();
  const before = cached.length;
  for (let index = cached.length; index < count; index += 1) {
    const mspId = UTILITIES[index % UTILITIES.length] ?? 'UtilityAMSP';
    const homeId = `bench-${mspId === 'UtilityAMSP' ? 'a' : 'b'}-${String(index).padStart(5, '0')}`;
    const registered = await callGateway<{ enrollmentId: string; secret: string }>(
      description,
      mspId,
      { mspId, name: 'orgadmin' },
      'POST',
      '/v1/devices',
      { homeId, bus: 'bus-1' },
    );
    if (registered.status !== 201) {
      throw new Error(`registering ${homeId} failed: ${JSON.stringify(registered.body)}`);
    }
    const credentials = await HemsClient.enroll({
      gatewayUrl: gatewayUrl(mspId),
      gatewayCaPem: gatewayCaPem(description, mspId),
      enrollmentId: registered.body.enrollmentId,
      secret: registered.body.secret,
    });
    cached.push({ homeId, mspId, credentials });
  }
  if (cached.length > 0) {
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(cached), { mode: 0o600 });
  }
  if (count > before) {
    console.log(
      `enrolled ${count - before} devices through the gateways in ${Math.round(performance.now() - started)} ms`,
    );
  }
  return cached.slice(0, count);
}

async function openSlot(description: NetworkDescription, label: string): Promise<string> {
  const dso = connectAs(description, { mspId: 'DSOMSP', identity: 'dso-operator' });
  try {
    const slotId = `bench-${label}-${Date.now().toString(36)}`;
    const deadline = new Date(Date.now() + 30 * 60_000).toISOString();
    await submitJson(dso.contract(), 'OpenSlot', {
      args: [slotId, deadline, JSON.stringify({ default: { lower: 20, upper: 80 } })],
    });
    return slotId;
  } finally {
    dso.close();
  }
}

function table(results: readonly RunResult[]): string {
  const header = [
    'mode',
    'devices',
    'concurrency',
    'committed',
    'failures',
    'seconds',
    'tx/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
  ];
  const rows = results.map((r) => [
    r.mode,
    r.devices,
    r.concurrency,
    r.committed,
    r.failures,
    r.seconds,
    r.txPerSecond,
    r.p50Ms,
    r.p95Ms,
    r.p99Ms,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => String(row[column]).length)),
  );
  return [header, ...rows]
    .map((row) => row.map((cell, column) => String(cell).padEnd(widths[column] ?? 0)).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  const count = option('devices', 100);
  const concurrency = option('concurrency', 32);
  const description = loadNetworkDescription();
  const gateways = new GatewayProcesses(description.stateDir);
  await gateways.start(description, ['DSOMSP', ...UTILITIES]);
  try {
    const devices = await benchDevices(description, count);
    const clients = new Map(
      devices.map((device) => [
        device,
        new HemsClient({
          gatewayUrl: gatewayUrl(device.mspId),
          gatewayCaPem: gatewayCaPem(description, device.mspId),
          ...device.credentials,
        }),
      ]),
    );

    const viaGateway = await openSlot(description, 'gateway');
    const gatewayRun = await measure('REST gateway (mTLS)', devices, concurrency, async (device) => {
      await clients.get(device)?.submitForecast(viaGateway, { lower: 1.25, upper: 3.5 });
    });

    const raw = await openSlot(description, 'raw');
    const relays = new Map(
      UTILITIES.map((mspId) => [mspId, connectAs(description, { mspId, identity: 'relay' })]),
    );
    const rawRun = await measure('raw fabric-gateway', devices, concurrency, async (device) => {
      const signed = clients.get(device)?.signForecast(raw, { lower: 1.25, upper: 3.5 });
      const relay = relays.get(device.mspId);
      if (signed === undefined || relay === undefined) {
        throw new Error('no client');
      }
      await submitJson(relay.contract(), 'SubmitForecast', {
        args: [raw],
        transientData: {
          payload: Buffer.from(signed.payload),
          signature: Buffer.from(signed.signature, 'base64'),
          certificate: Buffer.from(device.credentials.certificatePem),
        },
        endorsingOrganizations: [device.mspId],
      });
    });
    for (const relay of relays.values()) {
      relay.close();
    }
    for (const client of clients.values()) {
      client.close();
    }

    const results = [gatewayRun, rawRun];
    console.log(
      `\nForecast ingestion, ${count} devices, one slot, concurrency ${concurrency}:\n${table(results)}`,
    );
    console.log(
      `gateway overhead: ${Math.round((rawRun.txPerSecond / Math.max(gatewayRun.txPerSecond, 0.1)) * 100) / 100}x throughput ratio (raw / gateway)`,
    );
    const reports = path.join(__dirname, '..', '..', 'reports');
    mkdirSync(reports, { recursive: true });
    const file = path.join(reports, `bench-ingestion-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length }, results }, null, 2),
    );
    console.log(`results: ${file}`);
  } finally {
    await gateways.stop();
  }
}

main().catch((error: unknown) => {
  console.error('benchmark failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

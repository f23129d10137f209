/**
 * Benchmark HEMS devices per (utility, bus), cached under `<network state>/bench/devices/` so later
 * runs start at once. Two ways to get them:
 *
 * - `direct` (default): certificates signed with the org CA's own signing key, read from the
 *   fabric-ca-server home in the network state folder (./pki.ts). Skips only the CA registration
 *   and enrolment round trips; the certificates are what the CA would issue, and the gateway and
 *   chaincode run exactly the same checks on them. About 0.1 ms a device: 100,000 in some 10 s,
 *   and reading 100,000 back from the cache takes under a second.
 * - `ca`: each device is registered by the org admin through its gateway (POST /v1/devices) and
 *   enrols with its own CSR (HemsClient.enroll), i.e. through the Fabric CA server: bcrypt per
 *   registration and enrolment, so minutes for a few hundred devices. For small N.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate } from 'node:timers/promises';
import type { NetworkDescription } from '@hems/network-client';
import { HemsClient } from '@hems/device-client';
import { callGateway, gatewayCaPem, gatewayUrl } from '@hems/testkit';
import type { Issuer } from './options';
import { issueDeviceCertificate, loadSigningCa, type SigningCa } from './pki';

export interface BenchDevice {
  readonly mspId: string;
  readonly homeId: string;
  readonly bus: string;
  readonly enrollmentId: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

interface CacheFile {
  /** SHA-256 of the issuing CA certificate: a new network (new CA) invalidates the cache. */
  readonly caFingerprint: string;
  readonly devices: BenchDevice[];
}

/** Devices issued between two turns of the event loop (each takes about 0.1 ms). */
const ISSUE_CHUNK = 1000;

/** Short org tag for home ids: UtilityAMSP -> a. */
export function orgTag(mspId: string): string {
  const match = /^Utility([A-Za-z0-9]+)MSP$/.exec(mspId);
  return (match?.[1] ?? mspId).toLowerCase();
}

/** Home id of the index-th bench device of (org, bus): valid for hems.home and enrolment ids. */
export function benchHomeId(issuer: Issuer, mspId: string, bus: string, index: number): string {
  return `bench${issuer === 'ca' ? 'ca' : ''}-${orgTag(mspId)}-${bus}-${String(index).padStart(5, '0')}`;
}

function caHomeOf(description: NetworkDescription, mspId: string): { home: string; certificatePem: string } {
  const ca = description.certificateAuthorities.find((candidate) => candidate.mspId === mspId);
  if (ca === undefined) {
    throw new Error(`the network has no CA of ${mspId}`);
  }
  // The fabric-ca-server home is the folder of its ca-cert.pem (network/.state/ca/<org>).
  return { home: path.dirname(ca.tlsCertPath), certificatePem: readFileSync(ca.tlsCertPath, 'utf8') };
}

function readCache(file: string, caFingerprint: string): BenchDevice[] {
  if (!existsSync(file)) {
    return [];
  }
  const cached = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
  return cached.caFingerprint === caFingerprint ? cached.devices : [];
}

function writeCache(file: string, contents: CacheFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename, so an interrupted run never leaves a truncated cache.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(contents), { mode: 0o600 });
  renameSync(temporary, file);
}

async function issueDirect(
  ca: SigningCa,
  mspId: string,
  bus: string,
  from: number,
  to: number,
): Promise<BenchDevice[]> {
  const issued: BenchDevice[] = [];
  for (let index = from; index < to; index += 1) {
    if (index > from && (index - from) % ISSUE_CHUNK === 0) {
      // Issuing is synchronous CPU work: let timers and I/O (other pairs' caches) run meanwhile.
      await setImmediate();
    }
    const homeId = benchHomeId('direct', mspId, bus, index);
    const enrollmentId = `hems-${homeId}`;
    const { certificatePem, privateKeyPem } = issueDeviceCertificate(ca, { enrollmentId, homeId, bus });
    issued.push({ mspId, homeId, bus, enrollmentId, certificatePem, privateKeyPem });
  }
  return issued;
}

/** Registers through the org gateway as its admin, then enrols with the device's own CSR. */
async function enrolThroughCa(
  description: NetworkDescription,
  mspId: string,
  bus: string,
  from: number,
  to: number,
): Promise<BenchDevice[]> {
  const enrolled: BenchDevice[] = [];
  for (let index = from; index < to; index += 1) {
    const homeId = benchHomeId('ca', mspId, bus, index);
    const registered = await callGateway<{ enrollmentId: string; secret: string }>(
      description,
      mspId,
      { mspId, name: 'orgadmin' },
      'POST',
      '/v1/devices',
      { homeId, bus },
    );
    if (registered.status !== 201) {
      throw new Error(`registering bench device ${homeId} failed: ${JSON.stringify(registered.body)}`);
    }
    const credentials = await HemsClient.enroll({
      gatewayUrl: gatewayUrl(mspId),
      gatewayCaPem: gatewayCaPem(description, mspId),
      enrollmentId: registered.body.enrollmentId,
      secret: registered.body.secret,
    });
    enrolled.push({ mspId, homeId, bus, enrollmentId: registered.body.enrollmentId, ...credentials });
  }
  return enrolled;
}

/**
 * The first `count` bench devices of (mspId, bus), issuing or enrolling the missing ones. The `ca`
 * issuer needs the org's gateway running (on the ports set with useGatewayPorts).
 */
export async function benchDevices(
  description: NetworkDescription,
  issuer: Issuer,
  mspId: string,
  bus: string,
  count: number,
): Promise<BenchDevice[]> {
  const { home, certificatePem } = caHomeOf(description, mspId);
  const caFingerprint = createHash('sha256').update(certificatePem).digest('hex');
  const file = path.join(description.stateDir, 'bench', 'devices', `${issuer}-${mspId}-${bus}.json`);
  let cached = readCache(file, caFingerprint);
  if (cached.length < count) {
    const started = performance.now();
    const added =
      issuer === 'direct'
        ? await issueDirect(await loadSigningCa(home), mspId, bus, cached.length, count)
        : await enrolThroughCa(description, mspId, bus, cached.length, count);
    // concat, not push(...added): a spread of 100,000 arguments overflows the stack.
    cached = cached.concat(added);
    writeCache(file, { caFingerprint, devices: cached });
    console.log(
      `${issuer === 'direct' ? 'issued' : 'enrolled through Fabric CA'} ${added.length} bench devices of ${mspId} on ${bus} in ${Math.round(performance.now() - started)} ms`,
    );
  }
  return cached.slice(0, count);
}

/**
 * `count` devices spread round-robin over the given (utility, bus) pairs, e.g. both utilities and
 * both feeder buses: device i belongs to pair i mod pairs.length.
 */
export async function spreadDevices(
  description: NetworkDescription,
  issuer: Issuer,
  pairs: readonly { readonly mspId: string; readonly bus: string }[],
  count: number,
): Promise<BenchDevice[]> {
  const perPair = await Promise.all(
    pairs.map((pair, index) =>
      benchDevices(description, issuer, pair.mspId, pair.bus, Math.ceil((count - index) / pairs.length)),
    ),
  );
  return Array.from({ length: count }, (_, index) => {
    const device = perPair[index % pairs.length]?.[Math.floor(index / pairs.length)];
    if (device === undefined) {
      throw new Error(`internal: no bench device ${index}`);
    }
    return device;
  });
}

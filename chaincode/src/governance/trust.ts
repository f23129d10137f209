import {
  collectionOf,
  conflict,
  invalidArgument,
  normalizeSerial,
  notFound,
  parseCertificate,
  requireString,
  splitPemBundle,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { HOME_REF_SECRET_KEY } from '../lib/keys';
import { readPrivate, readState, writeState } from '../lib/state';
import { requireTransient } from '../lib/transient';
import {
  loadRevocations,
  orgCertificatesFromBytes,
  type OrgCertificatesRecord,
  type RevocationsRecord,
} from './records';

/**
 * The trust anchors of a utility: the CA certificates that issue its device certificates, its
 * revocations, and its secret for home references.
 */

export const MAX_CA_BUNDLE_BYTES = 64 * 1024;
export const MAX_CA_CERTIFICATES = 10;
export const MAX_REVOCATIONS = 100000;
export const MIN_SECRET_BYTES = 32;
export const MAX_SECRET_BYTES = 64;

/** Registers (or rotates, by replacing) the CA certificates of `org` from a PEM bundle. */
export async function registerOrgCAs(
  ctx: HemsContext,
  org: string,
  certificates: string,
): Promise<OrgCertificatesRecord> {
  const bundle = requireString(certificates, 'certificates');
  if (Buffer.byteLength(bundle, 'utf8') > MAX_CA_BUNDLE_BYTES) {
    throw invalidArgument(`certificates must be at most ${MAX_CA_BUNDLE_BYTES} bytes`);
  }
  const pems = splitPemBundle(bundle);
  if (pems.length === 0 || pems.length > MAX_CA_CERTIFICATES) {
    throw invalidArgument(`certificates must hold 1-${MAX_CA_CERTIFICATES} PEM certificates`);
  }
  const now = ctx.now;
  const parsed = pems.map((pem, index) => {
    const certificate = parseCertificate(pem, `certificates[${index}]`);
    if (!certificate.ca) {
      throw invalidArgument(`certificates[${index}] is not a CA certificate (basicConstraints CA:TRUE)`);
    }
    if (now > new Date(certificate.validTo) || now < new Date(certificate.validFrom)) {
      throw invalidArgument(`certificates[${index}] is not valid at the transaction time`);
    }
    return certificate;
  });
  const fingerprints = parsed.map((certificate) => certificate.fingerprint256);
  if (new Set(fingerprints).size !== fingerprints.length) {
    throw invalidArgument('certificates lists the same certificate twice');
  }
  const record: OrgCertificatesRecord = {
    mspId: org,
    certificates: parsed.map((certificate) => certificate.toString()),
    fingerprints,
    registeredAt: isoTime(now),
    txId: ctx.stub.getTxID(),
  };
  await writeState(ctx.stub, ctx.keys.orgCertificates(org), record);
  return record;
}

export async function orgCertificatesOf(ctx: HemsContext, org: string): Promise<OrgCertificatesRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.orgCertificates(org));
  if (bytes === undefined) {
    throw notFound(`${org} has not registered CA certificates`);
  }
  return orgCertificatesFromBytes(bytes);
}

/** Adds a device certificate serial of `org` to the org's revocation list. */
export async function revokeDeviceCertificate(
  ctx: HemsContext,
  org: string,
  serial: string,
  reason: string,
): Promise<{ mspId: string; serial: string; revoked: number }> {
  const normalized = normalizeSerial(requireString(serial, 'serial'));
  const why = requireString(reason, 'reason');
  // eslint-disable-next-line no-control-regex
  if (why.length > 200 || /[\u0000-\u001f\u007f]/.test(why)) {
    throw invalidArgument('reason must be at most 200 printable characters');
  }
  const current = await loadRevocations(ctx, org);
  if (current.revoked.some((entry) => entry.serial === normalized)) {
    throw conflict(`certificate ${normalized} of ${org} is already revoked`);
  }
  if (current.revoked.length >= MAX_REVOCATIONS) {
    throw invalidArgument(`${org} has reached ${MAX_REVOCATIONS} revocations; rotate its CA instead`);
  }
  const revoked = [...current.revoked, { serial: normalized, revokedAt: isoTime(ctx.now), reason: why }].sort(
    (a, b) => (a.serial < b.serial ? -1 : 1),
  );
  const record: RevocationsRecord = { mspId: org, revoked };
  await writeState(ctx.stub, ctx.keys.revocations(org), record);
  return { mspId: org, serial: normalized, revoked: revoked.length };
}

/**
 * Stores the utility's secret for home references (transient field `secret`) in its own
 * collection. Set once: a new secret would give every home a new reference in the middle of open
 * slots.
 */
export async function setHomeRefSecret(
  ctx: HemsContext,
  org: string,
): Promise<{ mspId: string; collection: string }> {
  const secret = requireTransient(ctx, 'secret', MAX_SECRET_BYTES);
  if (secret.length < MIN_SECRET_BYTES) {
    throw invalidArgument(
      `transient field 'secret' must be ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} random bytes`,
    );
  }
  const collection = collectionOf(org);
  if ((await readPrivate(ctx.stub, collection, HOME_REF_SECRET_KEY)) !== undefined) {
    throw conflict(`${org} has already set its home-reference secret`);
  }
  await ctx.stub.putPrivateData(collection, HOME_REF_SECRET_KEY, secret);
  return { mspId: org, collection };
}

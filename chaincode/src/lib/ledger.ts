import { createHash, createHmac, X509Certificate } from 'node:crypto';
import { KeyEndorsementPolicy } from 'fabric-shim';
import type { HemsContext } from './context';
import {
  collectionOf,
  type DeviceIdentity,
  failedPrecondition,
  forbidden,
  invalidArgument,
  MAX_CERTIFICATE_PEM_BYTES,
  notFound,
  verifyDeviceCertificate,
  verifyDeviceSignature,
} from '@hems/protocol';
import { HOME_REF_SECRET_KEY, KeyType } from './keys';
import { drain, readPrivate, readState } from './state';
import { orgCertificatesFromBytes, revocationsFromBytes, type RevocationsRecord } from '../model/governance';
import { aggregateFromBytes, slotFromBytes, type AggregateRecord, type SlotRecord } from '../model/slot';

/** Reads of the records the contracts share, with the refusals a missing record gets. */

export async function loadSlot(ctx: HemsContext, slotId: string): Promise<SlotRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.slot(slotId));
  if (bytes === undefined) {
    throw notFound(`slot ${slotId} does not exist`);
  }
  return slotFromBytes(bytes);
}

/** All aggregate records of a slot, or of one org in it, in key order (org, bus). */
export async function loadAggregates(
  ctx: HemsContext,
  slotId: string,
  org?: string,
): Promise<AggregateRecord[]> {
  const attributes = org === undefined ? [slotId] : [slotId, org];
  const rows = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.aggregate, attributes));
  return rows.map((row) => aggregateFromBytes(row.value));
}

export async function loadOrgCertificates(ctx: HemsContext, org: string): Promise<X509Certificate[]> {
  const bytes = await readState(ctx.stub, ctx.keys.orgCertificates(org));
  if (bytes === undefined) {
    throw failedPrecondition(`${org} has not registered its CA certificates (governance:RegisterOrgCAs)`);
  }
  return orgCertificatesFromBytes(bytes).certificates.map((pem) => new X509Certificate(pem));
}

export async function loadRevocations(ctx: HemsContext, org: string): Promise<RevocationsRecord> {
  const bytes = await readState(ctx.stub, ctx.keys.revocations(org));
  return bytes === undefined ? { mspId: org, revoked: [] } : revocationsFromBytes(bytes);
}

export async function loadRevokedSerials(ctx: HemsContext, org: string): Promise<Set<string>> {
  return new Set((await loadRevocations(ctx, org)).revoked.map((entry) => entry.serial));
}

export async function loadHomeRefSecret(ctx: HemsContext, org: string): Promise<Uint8Array> {
  const secret = await readPrivate(ctx.stub, collectionOf(org), HOME_REF_SECRET_KEY);
  if (secret === undefined) {
    throw failedPrecondition(`${org} has not set its home-reference secret (governance:SetHomeRefSecret)`);
  }
  return secret;
}

/**
 * A home's pseudonym for one slot inside its utility's collection: HMAC-SHA256 of the slot and
 * the home id under the utility's secret. Without the secret nobody can enumerate home ids against
 * the key hashes Fabric puts on the shared ledger; and because the slot is in it, a reference a
 * home reveals to prove one submission says nothing about its other slots.
 */
export function homeReference(secret: Uint8Array, slotId: string, homeId: string): string {
  return createHmac('sha256', secret).update(`hems.home\u0000${slotId}\u0000${homeId}`, 'utf8').digest('hex');
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Endorsement policy "a peer of `org`" for a key that only that org's peer can compute. */
export function peerOfOrgPolicy(org: string): Uint8Array {
  const policy = new KeyEndorsementPolicy();
  policy.addOrgs('PEER', org);
  return policy.getPolicy();
}

/** A transient field, required, with a size limit. Transient data never reaches the ledger. */
export function requireTransient(ctx: HemsContext, name: string, maxBytes: number): Uint8Array {
  const value = ctx.stub.getTransient().get(name);
  if (value === undefined || value.length === 0) {
    throw invalidArgument(`transient field '${name}' is required`);
  }
  if (value.length > maxBytes) {
    throw invalidArgument(`transient field '${name}' is larger than ${maxBytes} bytes`);
  }
  return value;
}

/** Largest signature a device may send (DER ECDSA P-256 is at most 72 bytes). */
export const MAX_SIGNATURE_BYTES = 256;

/**
 * Verifies a device certificate of `org` at the transaction time against the org's registered CA
 * certificates and its revocation list.
 */
export async function verifyDevice(ctx: HemsContext, org: string, pem: string): Promise<DeviceIdentity> {
  return verifyDeviceCertificate({
    pem,
    org,
    trustedCertificates: await loadOrgCertificates(ctx, org),
    revokedSerials: await loadRevokedSerials(ctx, org),
    at: ctx.now,
  });
}

/** A device-signed payload from transient data, after its certificate and signature verified. */
export interface SignedDevicePayload {
  readonly device: DeviceIdentity;
  readonly payload: Uint8Array;
}

/**
 * Reads the transient trio `payload`, `signature`, `certificate` that a relay forwards for one of
 * its devices, and checks that the device's certificate is valid for `org` and that the signature
 * covers the exact payload bytes. `what` names the payload in the refusal.
 */
export async function verifySignedDevicePayload(
  ctx: HemsContext,
  org: string,
  maxPayloadBytes: number,
  what: string,
): Promise<SignedDevicePayload> {
  const payload = requireTransient(ctx, 'payload', maxPayloadBytes);
  const signature = requireTransient(ctx, 'signature', MAX_SIGNATURE_BYTES);
  const pem = Buffer.from(requireTransient(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES)).toString('utf8');
  const device = await verifyDevice(ctx, org, pem);
  if (!verifyDeviceSignature(device.publicKey, payload, signature)) {
    throw forbidden(`${what} signature does not verify against the device certificate`);
  }
  return { device, payload };
}

/** A required transient field holding JSON, parsed (the refusal names the field, never its content). */
export function requireTransientJson(ctx: HemsContext, name: string, maxBytes: number): unknown {
  const text = Buffer.from(requireTransient(ctx, name, maxBytes)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument(`transient field '${name}' is not valid JSON`);
  }
}

import type { X509Certificate } from 'node:crypto';
import {
  createDeviceCertificateVerifier,
  type DeviceIdentity,
  forbidden,
  MAX_CERTIFICATE_PEM_BYTES,
  verifyDeviceSignature,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { requireTransient, requireTransientText } from '../lib/transient';
import { loadOrgCertificates, loadRevokedSerials } from './records';

/** Largest signature a device may send (DER ECDSA P-256 is at most 72 bytes). */
export const MAX_SIGNATURE_BYTES = 256;

/**
 * One per chaincode process: it remembers certificates whose issuer signature verified (against
 * the same CA set), never a time or revocation verdict, so every peer's answer stays the same.
 */
const verifyCertificate = createDeviceCertificateVerifier();

/** What a device certificate of an org is checked against, read once per transaction. */
export interface DeviceTrust {
  readonly org: string;
  readonly trustedCertificates: readonly X509Certificate[];
  readonly revokedSerials: ReadonlySet<string>;
}

export async function loadDeviceTrust(ctx: HemsContext, org: string): Promise<DeviceTrust> {
  return {
    org,
    trustedCertificates: await loadOrgCertificates(ctx, org),
    revokedSerials: await loadRevokedSerials(ctx, org),
  };
}

/** A device certificate checked against `trust` at the transaction time: CPU work, no ledger read. */
export function verifyDeviceAgainst(ctx: HemsContext, trust: DeviceTrust, pem: string): DeviceIdentity {
  return verifyCertificate({ pem, ...trust, at: ctx.now });
}

/**
 * Verifies a device certificate of `org` at the transaction time against the org's registered CA
 * certificates and its revocation list.
 */
export async function verifyDevice(ctx: HemsContext, org: string, pem: string): Promise<DeviceIdentity> {
  return verifyDeviceAgainst(ctx, await loadDeviceTrust(ctx, org), pem);
}

/** The device whose certificate is in transient field `certificate`, verified for `org`. */
export async function verifyTransientDevice(ctx: HemsContext, org: string): Promise<DeviceIdentity> {
  return verifyDevice(ctx, org, requireTransientText(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES));
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
  const pem = requireTransientText(ctx, 'certificate', MAX_CERTIFICATE_PEM_BYTES);
  const device = await verifyDevice(ctx, org, pem);
  if (!verifyDeviceSignature(device.publicKey, payload, signature)) {
    throw forbidden(`${what} signature does not verify against the device certificate`);
  }
  return { device, payload };
}

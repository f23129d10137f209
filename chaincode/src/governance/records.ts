import { X509Certificate } from 'node:crypto';
import {
  collectionOf,
  failedPrecondition,
  parseStoredRecord as stored,
  type SettingsChange,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { HOME_REF_SECRET_KEY } from '../lib/keys';
import { readPrivate, readState } from '../lib/state';

/** An org's registered CA certificates (PEM), used to verify its HEMS device certificates. */
export interface OrgCertificatesRecord {
  readonly mspId: string;
  readonly certificates: readonly string[];
  /** SHA-256 fingerprints, as node:crypto prints them, for operators to compare. */
  readonly fingerprints: readonly string[];
  readonly registeredAt: string;
  readonly txId: string;
}

export interface RevokedCertificate {
  readonly serial: string;
  readonly revokedAt: string;
  readonly reason: string;
}

/**
 * One revocation list per org, not one key per device: SubmitForecast reads it, and a per-device
 * key name in the public read set would let every member link a home's submissions across slots.
 */
export interface RevocationsRecord {
  readonly mspId: string;
  readonly revoked: readonly RevokedCertificate[];
}

export interface EnrolmentRecord {
  readonly org: string;
  readonly bus: string;
  readonly homes: number;
  readonly updatedAt: string;
}

export type ProposalStatus = 'PENDING' | 'APPLIED';

export interface SettingsProposal {
  readonly proposalId: string;
  readonly change: SettingsChange;
  readonly proposedBy: string;
  readonly approvals: readonly string[];
  readonly status: ProposalStatus;
  readonly createdAt: string;
  readonly appliedAt?: string;
  readonly appliedVersion?: number;
}

export function orgCertificatesFromBytes(bytes: Uint8Array): OrgCertificatesRecord {
  return stored(bytes, 'org certificates', ['mspId', 'certificates']);
}

export function revocationsFromBytes(bytes: Uint8Array): RevocationsRecord {
  return stored(bytes, 'revocations', ['mspId', 'revoked']);
}

export function enrolmentFromBytes(bytes: Uint8Array): EnrolmentRecord {
  return stored(bytes, 'enrolment', ['org', 'bus', 'homes']);
}

export function proposalFromBytes(bytes: Uint8Array): SettingsProposal {
  return stored(bytes, 'settings proposal', ['proposalId', 'change', 'approvals', 'status']);
}

/** Reads of the governance records the other features rely on, with the refusals a missing one gets. */

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

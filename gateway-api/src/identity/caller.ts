import type { X509Certificate } from 'node:crypto';

/** Roles carried in the `hems.role` attribute of MSP-issued client certificates. */
export const ROLES = ['hems', 'dso', 'market', 'auditor', 'meter', 'admin', 'relay'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated client of a request, derived from its verified mTLS certificate only. */
export interface Caller {
  readonly mspId: string;
  readonly role: Role;
  /** Enrolment id (certificate CN). */
  readonly name: string;
  /** Upper-case hex serial without leading zero bytes, as the chaincode keeps revocations. */
  readonly serial: string;
  /** For HEMS devices: hems.home and hems.bus. */
  readonly homeId?: string;
  readonly bus?: string;
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
}

export function isRole(value: string | undefined): value is Role {
  return value !== undefined && (ROLES as readonly string[]).includes(value);
}

import { X509Certificate } from 'node:crypto';
import { DEFAULT_SETTINGS, fabricAttributes, normalizeSerial } from '@hems/protocol';
import { HttpError } from '../http/errors';
import { isRole, type Caller, type Role } from './caller';

/** A CA certificate of one of the channel's organizations. */
export interface TrustedCa {
  readonly mspId: string;
  readonly certificate: X509Certificate;
}

/** Where revocations come from: each org's CA revocation list (and the chaincode's list). */
export interface RevocationSource {
  isRevoked(mspId: string, serial: string): boolean;
}

export const NO_REVOCATIONS: RevocationSource = { isRevoked: () => false };

/** Which MSPs play which part (the chaincode's channel settings): a role is only valid there. */
export interface Roster {
  readonly dsoMspIds: readonly string[];
  readonly utilityMspIds: readonly string[];
  readonly auditorMspIds: readonly string[];
}

export const DEFAULT_ROSTER: Roster = DEFAULT_SETTINGS;

/** The orgs whose CAs may issue each role; `admin` belongs to every org. */
function mspsForRole(roster: Roster, role: Role): readonly string[] | undefined {
  switch (role) {
    case 'dso':
    case 'market':
      // The market operator of the energy auction is a DSO role (docs/auction.md).
      return roster.dsoMspIds;
    case 'auditor':
      return roster.auditorMspIds;
    case 'hems':
    case 'relay':
    case 'meter':
      return roster.utilityMspIds;
    case 'admin':
      return undefined;
  }
}

/**
 * Verifies client certificates against the CAs of the channel's organizations: issued and signed
 * by one of them, both valid now, not revoked, with a known `hems.role`. The caller's MSP is the
 * org whose CA issued the certificate — never something the client claims.
 */
export class TrustStore {
  constructor(
    private readonly cas: readonly TrustedCa[],
    private readonly revocations: RevocationSource = NO_REVOCATIONS,
    private readonly clock: () => Date = () => new Date(),
    private readonly roster: Roster = DEFAULT_ROSTER,
  ) {}

  get caCertificatesPem(): string[] {
    return this.cas.map((ca) => ca.certificate.toString());
  }

  /**
   * What may change while a connection stays open, for a caller authenticated on it before:
   * the certificate's validity at this moment and its revocation.
   */
  recheck(caller: Caller): Caller {
    const now = this.clock();
    if (now > new Date(caller.certificate.validTo)) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the client certificate is expired or not yet valid');
    }
    if (this.revocations.isRevoked(caller.mspId, caller.serial)) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the client certificate has been revoked');
    }
    return caller;
  }

  authenticate(certificate: X509Certificate | undefined): Caller {
    if (certificate === undefined) {
      throw new HttpError(
        401,
        'UNAUTHENTICATED',
        'a client certificate issued by a channel organization is required',
      );
    }
    const issuer = this.cas.find(
      (ca) => certificate.checkIssued(ca.certificate) && certificate.verify(ca.certificate.publicKey),
    );
    if (issuer === undefined) {
      throw new HttpError(
        401,
        'UNAUTHENTICATED',
        'the client certificate was not issued by a CA of the channel',
      );
    }
    const now = this.clock();
    if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the client certificate is expired or not yet valid');
    }
    const serial = normalizeSerial(certificate.serialNumber);
    if (this.revocations.isRevoked(issuer.mspId, serial)) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the client certificate has been revoked');
    }
    const attrs = fabricAttributes(certificate);
    const role = attrs['hems.role'];
    if (!isRole(role)) {
      throw new HttpError(403, 'FORBIDDEN', 'the client certificate carries no known hems.role attribute');
    }
    // Any channel org's CA can write any attribute: hems.role=dso from a utility's CA is not a DSO.
    const allowed = mspsForRole(this.roster, role);
    if (allowed !== undefined && !allowed.includes(issuer.mspId)) {
      throw new HttpError(
        403,
        'FORBIDDEN',
        `hems.role=${role} is not valid for a certificate of ${issuer.mspId}`,
      );
    }
    const name = /CN=([^\n,+]+)/.exec(certificate.subject)?.[1] ?? '';
    const homeId = attrs['hems.home'];
    const bus = attrs['hems.bus'];
    return {
      mspId: issuer.mspId,
      role,
      name,
      serial,
      ...(homeId === undefined ? {} : { homeId }),
      ...(bus === undefined ? {} : { bus }),
      certificate,
      certificatePem: certificate.toString(),
    };
  }
}

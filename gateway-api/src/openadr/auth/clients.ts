import { createHash, X509Certificate } from 'node:crypto';
import type { TrustStore } from '../../identity/trust-store';
import type { VenRecord, VenRegistry } from '../../services/ven-registry';
import { hashVenSecret, verifyVenSecret, type VenSecretHash } from '../../services/ven-secrets';
import type { AccessClaims } from './access-tokens';

/** Client secrets checked at once; a token request beyond it is answered 429. */
export const MAX_SECRET_CHECKS = 4;

/** A client the VTN serves: one VEN (a home of this utility), or the DSO's business logic. */
export type VtnClient =
  | { readonly role: 'ven'; readonly clientId: string; readonly scope: string; readonly ven: VenRecord }
  | { readonly role: 'bl'; readonly clientId: string; readonly scope: string; readonly mspId: string };

/**
 * Who may hold a token: a VEN whose credentials are registered, not revoked, and whose home
 * certificate is valid and not revoked (a revoked device's VEN is refused); or a DSO identity
 * authenticated by its mutual-TLS certificate (RFC 8705 tls_client_auth) as business logic.
 */
export class VtnClients {
  constructor(
    private readonly registry: VenRegistry,
    private readonly trust: TrustStore,
    private readonly orgMspId: string,
  ) {}

  /** A hash no secret matches, verified for unknown client ids so they take as long as known ones. */
  private readonly decoy: Promise<VenSecretHash> = hashVenSecret(
    createHash('sha256').update('decoy').digest('hex'),
  );

  /**
   * The VEN of a client id and secret, or undefined for any mismatch: one answer, in about the
   * same time (one slow hash), whether the client id exists or not.
   */
  async venOf(clientId: string, secret: string): Promise<VenRecord | undefined | 'busy'> {
    // Each check is a slow hash (about 100 ms and 32 MiB): a few at a time, the rest turned away,
    // so a flood of token requests cannot queue minutes of work on the gateway's thread pool.
    if (this.checking >= MAX_SECRET_CHECKS) {
      return 'busy';
    }
    this.checking += 1;
    try {
      const ven = await this.usableVen(clientId);
      const matches = await verifyVenSecret(secret, ven?.secret ?? (await this.decoy));
      return ven !== undefined && matches ? ven : undefined;
    } finally {
      this.checking -= 1;
    }
  }

  /** Secret checks running now. */
  private checking = 0;

  /** A registered VEN whose credentials and home certificate are still good. */
  async usableVen(clientId: string): Promise<VenRecord | undefined> {
    const ven = await this.registry.find(clientId).catch(() => undefined);
    if (ven === undefined || ven.revokedAt !== undefined) {
      return undefined;
    }
    try {
      // Issued by this utility's CA, valid now, not revoked, a home's (hems.role=hems).
      const home = this.trust.authenticate(new X509Certificate(ven.certificate));
      return home.mspId === this.orgMspId && home.role === 'hems' ? ven : undefined;
    } catch {
      return undefined;
    }
  }

  /** The DSO identity of a mutual-TLS client certificate, for a business-logic token. */
  businessLogicOf(certificate: X509Certificate | undefined): string | undefined {
    if (certificate === undefined) {
      return undefined;
    }
    try {
      const caller = this.trust.authenticate(certificate);
      return caller.role === 'dso' ? caller.mspId : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The client a verified token names, checked again now, so a revocation takes effect at once: a
   * VEN's credentials and home certificate; for business logic, the certificate the token is bound
   * to, presented again on this connection and still a valid DSO identity.
   */
  async clientOf(
    claims: AccessClaims,
    certificate: X509Certificate | undefined,
  ): Promise<VtnClient | undefined> {
    if (claims.role === 'bl') {
      const mspId = this.businessLogicOf(certificate);
      const bound =
        certificate !== undefined && claims.cnf?.['x5t#S256'] === certificateThumbprint(certificate);
      return mspId === undefined || !bound || claims.sub !== `bl:${mspId}`
        ? undefined
        : { role: 'bl', clientId: claims.sub, scope: claims.scope, mspId };
    }
    const ven = await this.usableVen(claims.sub);
    return ven === undefined ? undefined : { role: 'ven', clientId: claims.sub, scope: claims.scope, ven };
  }
}

/** RFC 8705's certificate thumbprint: base64url of SHA-256 over the DER certificate. */
export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

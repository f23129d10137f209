import type { FastifyBaseLogger } from 'fastify';
import { HttpError } from '../../http/errors';
import type { Ledger } from '../../ledger/ports';
import type { FabricCaClient, RevocationReason } from '../../services/fabric-ca';
import { issueVenCertificate, venEnrollmentId } from '../../services/ven-certificates';
import type { VenRegistry } from '../../services/ven-registry';
import { hashVenSecret, newVenCredentials } from '../../services/ven-secrets';
import { revokeDevice } from '../devices/service';
import { MAX_VEN_NAME_CHARACTERS } from './schemas';

type Log = Pick<FastifyBaseLogger, 'warn'>;

/** A VEN is withdrawn, not compromised: its home certificate is no longer needed. */
const CERTIFICATE_REVOCATION_REASON: RevocationReason = 'cessationofoperation';

/** What the admin asks for: the home, its bus, and optionally the VEN's name. */
export interface VenRequest {
  readonly homeId: string;
  readonly bus: string;
  readonly venName?: string;
}

/** The answer to a registration: the credentials, the secret in clear this once. */
export interface RegisteredVen {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly venId: string;
  readonly venName: string;
  readonly enrollmentId: string;
}

export interface RevokedVen {
  readonly clientId: string;
  readonly revokedAt: string;
  readonly revokedSerials: string[];
}

/** RegisterVen and RevokeVen are the admin's, as is recording certificate revocations. */
export function requireAdminIdentity(ledger: Ledger): void {
  if (!ledger.identities.includes('admin')) {
    throw new HttpError(
      503,
      'UNAVAILABLE',
      'this gateway holds no admin identity to manage VENs on the ledger',
    );
  }
}

async function requireNoActiveVen(registry: VenRegistry, homeId: string): Promise<void> {
  const vens = await registry.list();
  if (vens.some((ven) => ven.homeId === homeId && ven.revokedAt === undefined)) {
    throw new HttpError(409, 'CONFLICT', 'this home already has a VEN; revoke it first');
  }
}

/**
 * Registers a VEN of a home: refuses a home that has an active VEN, has the CA issue the home's
 * certificate, makes the credentials and stores them (the secret only as its scrypt hash, in
 * transient data) with RegisterVen. The secret leaves only in the answer.
 */
export async function registerVen(
  ca: FabricCaClient,
  registry: VenRegistry,
  log: Log,
  request: VenRequest,
): Promise<RegisteredVen> {
  const venName = request.venName ?? request.homeId;
  // The chaincode counts UTF-16 code units; the schema counts characters.
  if (venName.length > MAX_VEN_NAME_CHARACTERS) {
    throw new HttpError(
      400,
      'INVALID_REQUEST',
      `venName must be at most ${MAX_VEN_NAME_CHARACTERS} characters`,
    );
  }
  await requireNoActiveVen(registry, request.homeId);
  const { clientId, clientSecret, venId } = newVenCredentials();
  const { enrollmentId, certificate } = await issueVenCertificate(ca, { ...request, venId }, log);
  const secret = await hashVenSecret(clientSecret);
  try {
    await registry.register({ clientId, venId, venName, certificate, secret });
  } catch (error) {
    // The certificate of this attempt's CA identity (oadr-<venId>) is left unused: nobody holds
    // its key, and the next attempt registers another identity.
    log.warn({ enrollmentId }, "a VEN's home certificate was issued but RegisterVen failed");
    throw error;
  }
  return { clientId, clientSecret, venId, venName, enrollmentId };
}

/**
 * Revokes the VEN's home certificate at the CA and records it on the ledger, as a device's; an
 * identity the CA does not know has nothing to revoke. A failure says that the credentials are
 * revoked all the same (`already`: by an earlier attempt).
 */
async function revokeHomeCertificate(
  ledger: Ledger,
  ca: FabricCaClient,
  log: Log,
  venId: string,
  already: boolean,
): Promise<string[]> {
  try {
    return await revokeDevice(ledger, ca, log, venEnrollmentId(venId), CERTIFICATE_REVOCATION_REASON);
  } catch (error) {
    if (!(error instanceof HttpError)) {
      throw error;
    }
    if (error.code === 'NOT_FOUND') {
      return [];
    }
    // Revoking an identity at the CA again is harmless, so a failed CA step can be run again; serials
    // the CA revoked but the ledger did not record are named in the message instead.
    const retry = error.code === 'REVOCATION_NOT_RECORDED' ? '' : '; revoke the VEN again to finish';
    throw new HttpError(
      error.statusCode,
      error.code,
      `the VEN's credentials ${already ? 'were already' : 'are'} revoked, but the revocation of its ` +
        `home certificate did not complete: ${error.message}${retry}`,
      error.transactionId,
    );
  }
}

/** RevokeVen: the time of the revocation, or the refusal of a VEN that is already revoked. */
async function revokeCredentials(
  registry: VenRegistry,
  clientId: string,
): Promise<{ revokedAt: string } | { conflict: HttpError }> {
  try {
    return await registry.revoke(clientId);
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 409 && error.code === 'CONFLICT') {
      return { conflict: error };
    }
    throw error;
  }
}

/**
 * Revokes a VEN: its credentials on the ledger first (RevokeVen), so they stop working even when
 * the CA is down, then its home certificate at the CA, recorded on the ledger's revocation list as a
 * device's. Revoking at the CA again revokes nothing, so a VEN already revoked is a CONFLICT, unless
 * an earlier attempt left its certificate unrevoked: then this one finishes the revocation.
 */
export async function revokeVen(
  ledger: Ledger,
  ca: FabricCaClient,
  registry: VenRegistry,
  log: Log,
  clientId: string,
): Promise<RevokedVen> {
  const outcome = await revokeCredentials(registry, clientId);
  const conflict = 'conflict' in outcome ? outcome.conflict : undefined;
  // revoke() dropped the cached record: this reads it as it is now.
  const record = await registry.find(clientId);
  const revokedAt = 'revokedAt' in outcome ? outcome.revokedAt : record?.revokedAt;
  if (record === undefined || revokedAt === undefined) {
    throw conflict ?? new HttpError(404, 'NOT_FOUND', 'no VEN with this client id is registered');
  }
  const revokedSerials = await revokeHomeCertificate(ledger, ca, log, record.venId, conflict !== undefined);
  if (conflict !== undefined && revokedSerials.length === 0) {
    throw conflict;
  }
  return { clientId, revokedAt, revokedSerials };
}

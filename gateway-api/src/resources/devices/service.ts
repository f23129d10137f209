import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { chaincodeRefusal } from '@hems/network-client';
import { HttpError, toHttpError } from '../../http/errors';
import { governance } from '../../ledger/contracts';
import type { Ledger } from '../../ledger/ports';
import {
  FabricCaError,
  type FabricCaClient,
  type FabricCaErrorKind,
  type RevocationReason,
} from '../../services/fabric-ca';

/** Home ids that can be written into an enrolment id as they are (no ':', CN at most 64). */
const READABLE_HOME_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,58}$/;
/** Each device secret enrols exactly once. */
const MAX_ENROLLMENTS = 1;

/**
 * The enrolment id of a home's identity at the CA: `<prefix>-<homeId>` when that is a valid
 * enrolment id, else `<prefix>~` + 128 bits of SHA-256(homeId). Fabric CA requires the CSR's CN to
 * equal the enrolment id, a CN holds at most 64 characters (hence a 4-character prefix), and HTTP
 * basic authentication cannot carry ':' in a user name. '~' never occurs in home ids, so the two
 * forms cannot collide. `hems` names a HEMS device, `oadr` an OpenADR VEN's home certificate.
 */
export function homeEnrollmentId(prefix: 'hems' | 'oadr', homeId: string): string {
  if (READABLE_HOME_ID.test(homeId)) {
    return `${prefix}-${homeId}`;
  }
  return `${prefix}~${createHash('sha256').update(homeId, 'utf8').digest('hex').slice(0, 32)}`;
}

/** The enrolment id of a home's HEMS device (see homeEnrollmentId). */
export function deviceEnrollmentId(homeId: string): string {
  return homeEnrollmentId('hems', homeId);
}

type CaOperation = 'register' | 'enroll' | 'revoke';

/** One answer for every failed enrolment, so a caller cannot tell which part was wrong. */
function enrollmentRefused(): HttpError {
  return new HttpError(
    401,
    'ENROLLMENT_REFUSED',
    'unknown enrolment id, wrong secret, or the secret has already been used',
  );
}

function conflict(operation: CaOperation): HttpError {
  return new HttpError(
    409,
    'CONFLICT',
    operation === 'register' ? 'this device is already registered' : 'the CA refused: conflict',
  );
}

const unavailable = (): HttpError =>
  new HttpError(503, 'CA_UNAVAILABLE', "the organization's Fabric CA did not answer");

/** How each kind of CA refusal is answered, per operation; the rest is a 502. */
const CA_REFUSALS: Readonly<
  Record<FabricCaErrorKind, Partial<Record<CaOperation, (operation: CaOperation) => HttpError>>>
> = {
  unavailable: { register: unavailable, enroll: unavailable, revoke: unavailable },
  conflict: { register: conflict, enroll: conflict, revoke: conflict },
  unauthenticated: { enroll: enrollmentRefused },
  forbidden: { enroll: () => new HttpError(403, 'FORBIDDEN', 'the CA refused to issue this certificate') },
  'bad-request': {
    enroll: () => new HttpError(400, 'INVALID_CSR', 'the CA refused the certificate request'),
  },
  'not-found': {
    revoke: () => new HttpError(404, 'NOT_FOUND', 'the CA has no such device identity'),
    enroll: enrollmentRefused,
  },
  failed: {},
};

/** A CA refusal as the API answers it; the CA's own (sanitized) message only goes to the log. */
export function caFailure(
  log: Pick<FastifyBaseLogger, 'warn'>,
  error: unknown,
  operation: CaOperation,
): Error {
  if (!(error instanceof FabricCaError)) {
    return error instanceof Error ? error : new Error('unexpected failure');
  }
  log.warn({ caStatus: error.httpStatus, caCode: error.caCode, operation }, error.message);
  return (
    CA_REFUSALS[error.kind][operation]?.(operation) ??
    new HttpError(502, 'CA_FAILED', `the organization's Fabric CA refused or failed to ${operation}`)
  );
}

/** Registers a home's device at the CA; answers its enrolment id and one-time secret. */
export async function registerDevice(
  ca: FabricCaClient,
  log: Pick<FastifyBaseLogger, 'warn'>,
  home: { readonly homeId: string; readonly bus: string },
): Promise<{ enrollmentId: string; secret: string }> {
  const enrollmentId = deviceEnrollmentId(home.homeId);
  try {
    const secret = await ca.register({
      enrollmentId,
      // Fabric CA would generate secrets with a non-cryptographic RNG; this one is 192 bits.
      secret: randomBytes(24).toString('base64url'),
      type: 'client',
      attributes: [
        { name: 'hems.role', value: 'hems', ecert: true },
        { name: 'hems.home', value: home.homeId, ecert: true },
        { name: 'hems.bus', value: home.bus, ecert: true },
      ],
      maxEnrollments: MAX_ENROLLMENTS,
    });
    return { enrollmentId, secret };
  } catch (error) {
    throw caFailure(log, error, 'register');
  }
}

/**
 * Records serials revoked at the CA on the ledger's revocation list (governance
 * RevokeDeviceCertificate), where the chaincode and the gateways check them.
 */
async function recordRevocations(
  ledger: Ledger,
  serials: readonly string[],
  reason: RevocationReason,
): Promise<void> {
  const contract = governance(ledger, 'admin');
  const unrecorded: string[] = [];
  let firstFailure: HttpError | undefined;
  for (const serial of serials) {
    try {
      await contract.RevokeDeviceCertificate.submit({ arguments: [serial, reason] });
    } catch (error) {
      if (chaincodeRefusal(error)?.code === 'CONFLICT') {
        continue; // already on the ledger's list
      }
      unrecorded.push(serial);
      firstFailure ??= toHttpError(error);
    }
  }
  if (firstFailure !== undefined) {
    throw new HttpError(
      502,
      'REVOCATION_NOT_RECORDED',
      `revoked at the CA, but not recorded on the ledger (${firstFailure.message}): ${unrecorded.join(', ')}`,
      firstFailure.transactionId,
    );
  }
}

/** Revokes a device's certificates at the CA and on the ledger; answers the serials revoked now. */
export async function revokeDevice(
  ledger: Ledger,
  ca: FabricCaClient,
  log: Pick<FastifyBaseLogger, 'warn'>,
  enrollmentId: string,
  reason: RevocationReason,
): Promise<string[]> {
  if (!ledger.identities.includes('admin')) {
    throw new HttpError(
      503,
      'UNAVAILABLE',
      'this gateway holds no admin identity to record revocations on the ledger',
    );
  }
  let serials: string[];
  try {
    const result = await ca.revoke({ enrollmentId, reason });
    serials = [...new Set(result.revoked.map((certificate) => certificate.serial))];
  } catch (error) {
    throw caFailure(log, error, 'revoke');
  }
  await recordRevocations(ledger, serials, reason);
  return serials;
}

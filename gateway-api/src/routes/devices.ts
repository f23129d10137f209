// @peculiar/x509 needs the metadata polyfill before it parses anything.
import 'reflect-metadata';
import { createHash, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { BasicConstraintsExtension, Pkcs10CertificateRequest } from '@peculiar/x509';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { chaincodeRefusal } from '@hems/network-client';
import { HttpError, toHttpError } from '../http/errors';
import type { Ledger } from '../ledger/ports';
import {
  FabricCaError,
  REVOCATION_REASONS,
  type FabricCaClient,
  type RevocationReason,
} from '../services/fabric-ca';

/** What device onboarding needs: the org's Fabric CA, as its registrar. */
export interface DeviceRoutesOptions {
  readonly ca: FabricCaClient;
}

/** Same pattern as the chaincode's home ids. */
const HOME_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$';
const BUS_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$';
/** Home ids that can be written into an enrolment id as they are (no ':', CN at most 64). */
const READABLE_HOME_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,58}$/;
/** Enrolment ids of devices: `hems-<homeId>` or `hems~<32 hex>` (see deviceEnrollmentId). */
export const DEVICE_ENROLLMENT_ID_PATTERN = '^hems(-[A-Za-z0-9][A-Za-z0-9._@-]{0,58}|~[0-9a-f]{32})$';
export const MAX_CSR_CHARACTERS = 4096;
/** Each device secret enrols exactly once. */
const MAX_ENROLLMENTS = 1;

/**
 * The enrolment id of a home's device: `hems-<homeId>` when that is a valid enrolment id, else
 * `hems~` + 128 bits of SHA-256(homeId). Fabric CA requires the CSR's CN to equal the enrolment id,
 * a CN holds at most 64 characters, and HTTP basic authentication cannot carry ':' in a user
 * name. '~' never occurs in home ids, so the two forms cannot collide.
 */
export function deviceEnrollmentId(homeId: string): string {
  if (READABLE_HOME_ID.test(homeId)) {
    return `hems-${homeId}`;
  }
  return `hems~${createHash('sha256').update(homeId, 'utf8').digest('hex').slice(0, 32)}`;
}

const enrollmentIdSchema = {
  type: 'string',
  pattern: DEVICE_ENROLLMENT_ID_PATTERN,
  description: 'Enrolment id of a HEMS device, as POST /v1/devices answered it',
} as const;

const registerBody = {
  type: 'object',
  required: ['homeId', 'bus'],
  additionalProperties: false,
  properties: {
    homeId: { type: 'string', pattern: HOME_ID_PATTERN, description: 'Home identifier (hems.home)' },
    bus: { type: 'string', pattern: BUS_PATTERN, description: 'Feeder bus of the home (hems.bus)' },
  },
} as const;

const enrollBody = {
  type: 'object',
  required: ['enrollmentId', 'secret', 'csr'],
  additionalProperties: false,
  properties: {
    enrollmentId: enrollmentIdSchema,
    secret: { type: 'string', pattern: '^[!-~]{1,128}$', description: 'The one-time enrolment secret' },
    csr: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_CSR_CHARACTERS,
      description:
        'PEM PKCS#10 request made by the device with its own ECDSA P-256 key; subject CN = enrollmentId',
    },
  },
} as const;

const revokeParams = {
  type: 'object',
  required: ['enrollmentId'],
  additionalProperties: false,
  properties: { enrollmentId: enrollmentIdSchema },
} as const;

const revokeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reason: {
      type: 'string',
      enum: REVOCATION_REASONS,
      description: 'RFC 5280 reason as Fabric CA names it; default unspecified',
    },
  },
} as const;

const errorRef = { $ref: 'ErrorResponse#' } as const;

function configured(options: DeviceRoutesOptions | undefined): DeviceRoutesOptions {
  if (options === undefined) {
    throw new HttpError(503, 'NOT_CONFIGURED', 'device onboarding is not configured');
  }
  return options;
}

function isDeviceRoutesOptions(value: unknown): value is DeviceRoutesOptions {
  const ca = (value as { ca?: unknown } | null | undefined)?.ca;
  return (
    typeof ca === 'object' &&
    ca !== null &&
    ['register', 'enroll', 'revoke', 'generateCrl'].every(
      (method) => typeof (ca as Record<string, unknown>)[method] === 'function',
    )
  );
}

/** Devices are managed by an admin of the org whose gateway (and CA) this is. */
function requireOwnAdmin(ledger: Ledger, request: FastifyRequest): void {
  if (request.caller.mspId !== ledger.mspId) {
    throw new HttpError(403, 'FORBIDDEN', `devices of ${ledger.mspId} are managed by its own admins only`);
  }
}

/** The device's CSR: PEM PKCS#10, ECDSA P-256 key, valid self-signature, CN = enrolment id, no CA. */
async function checkCsr(pem: string, enrollmentId: string): Promise<void> {
  const match =
    /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/.exec(
      pem,
    );
  let csr: Pkcs10CertificateRequest;
  try {
    if (match?.[1] === undefined) {
      throw new Error('not PEM');
    }
    csr = new Pkcs10CertificateRequest(Buffer.from(match[1].replace(/\s+/g, ''), 'base64'));
  } catch {
    throw new HttpError(400, 'INVALID_CSR', 'csr is not a PEM-encoded PKCS#10 certificate request');
  }
  let curve: string | undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  } catch {
    curve = undefined;
  }
  if (curve !== 'prime256v1') {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR key must be an ECDSA P-256 key');
  }
  let signed = false;
  try {
    signed = await csr.verify(webcrypto);
  } catch {
    signed = false;
  }
  if (!signed) {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR signature does not verify with its own key');
  }
  const commonNames = csr.subjectName.getField('CN');
  // Only the CN: the CA copies other subject fields (O, OU, ...) into the certificate, where they
  // must not be chosen by the device.
  const otherFields = csr.subjectName
    .toJSON()
    .flatMap((rdn) => Object.keys(rdn))
    .filter((type) => type !== 'CN');
  if (otherFields.length > 0) {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR subject must hold only a CN');
  }
  if (commonNames.length !== 1 || commonNames[0] !== enrollmentId) {
    throw new HttpError(
      400,
      'INVALID_CSR',
      'the CSR subject must have exactly one CN, equal to enrollmentId',
    );
  }
  const constraints = csr.extensions.find((extension) => extension instanceof BasicConstraintsExtension);
  if (constraints instanceof BasicConstraintsExtension && constraints.ca) {
    throw new HttpError(400, 'INVALID_CSR', 'a device CSR must not request a CA certificate');
  }
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

/** A CA refusal as the API answers it; the CA's own (sanitized) message only goes to the log. */
function caFailure(request: FastifyRequest, error: unknown, operation: CaOperation): Error {
  if (!(error instanceof FabricCaError)) {
    return error instanceof Error ? error : new Error('unexpected failure');
  }
  request.log.warn({ caStatus: error.httpStatus, caCode: error.caCode, operation }, error.message);
  switch (error.kind) {
    case 'unavailable':
      return new HttpError(503, 'CA_UNAVAILABLE', "the organization's Fabric CA did not answer");
    case 'conflict':
      return new HttpError(
        409,
        'CONFLICT',
        operation === 'register' ? 'this device is already registered' : 'the CA refused: conflict',
      );
    case 'unauthenticated':
      if (operation === 'enroll') {
        return enrollmentRefused();
      }
      break;
    case 'forbidden':
      if (operation === 'enroll') {
        return new HttpError(403, 'FORBIDDEN', 'the CA refused to issue this certificate');
      }
      break;
    case 'bad-request':
      if (operation === 'enroll') {
        return new HttpError(400, 'INVALID_CSR', 'the CA refused the certificate request');
      }
      break;
    case 'not-found':
      if (operation === 'revoke') {
        return new HttpError(404, 'NOT_FOUND', 'the CA has no such device identity');
      }
      if (operation === 'enroll') {
        return enrollmentRefused();
      }
      break;
    case 'failed':
      break;
  }
  return new HttpError(502, 'CA_FAILED', `the organization's Fabric CA refused or failed to ${operation}`);
}

/**
 * Device onboarding with the org's Fabric CA. An admin registers a home's device and hands it
 * the one-time secret; the device makes its own key pair and CSR and enrols through the public
 * /v1/enroll (its private key never reaches the gateway); an admin revokes a device at the CA and
 * on the ledger (governance RevokeDeviceCertificate), where the chaincode and the gateways check
 * it. Without options.ca the routes answer 503.
 */
export function deviceRoutes(ledger: Ledger, options: unknown) {
  if (options !== undefined && !isDeviceRoutesOptions(options)) {
    throw new Error('deviceRoutes: options must be { ca: FabricCaClient } or undefined');
  }
  const devices = options;
  return (app: FastifyInstance, _opts: unknown, done: (error?: Error) => void): void => {
    app.post<{ Body: { homeId: string; bus: string } }>(
      '/v1/devices',
      {
        config: { roles: ['admin'] },
        schema: {
          tags: ['devices'],
          summary:
            "Org admin: register a home's HEMS device at the org's Fabric CA; the one-time secret is shown once",
          body: registerBody,
          response: {
            201: {
              type: 'object',
              required: ['enrollmentId', 'secret'],
              properties: { enrollmentId: { type: 'string' }, secret: { type: 'string' } },
            },
            409: errorRef,
            503: errorRef,
          },
        },
      },
      async (request, reply) => {
        const { ca } = configured(devices);
        requireOwnAdmin(ledger, request);
        const enrollmentId = deviceEnrollmentId(request.body.homeId);
        let secret: string;
        try {
          secret = await ca.register({
            enrollmentId,
            // Fabric CA would generate secrets with a non-cryptographic RNG; this one is 192 bits.
            secret: randomBytes(24).toString('base64url'),
            type: 'client',
            attributes: [
              { name: 'hems.role', value: 'hems', ecert: true },
              { name: 'hems.home', value: request.body.homeId, ecert: true },
              { name: 'hems.bus', value: request.body.bus, ecert: true },
            ],
            maxEnrollments: MAX_ENROLLMENTS,
          });
        } catch (error) {
          throw caFailure(request, error, 'register');
        }
        void reply.status(201).header('cache-control', 'no-store');
        return { enrollmentId, secret };
      },
    );

    app.post<{ Body: { enrollmentId: string; secret: string; csr: string } }>(
      '/v1/enroll',
      {
        config: { public: true },
        bodyLimit: 16 * 1024,
        schema: {
          tags: ['devices'],
          summary:
            'HEMS device (no client certificate yet): enrol once with its secret and its own CSR, get its certificate',
          body: enrollBody,
          response: {
            201: {
              type: 'object',
              required: ['certificate'],
              properties: { certificate: { type: 'string', description: 'PEM certificate' } },
            },
            400: errorRef,
            401: errorRef,
            409: errorRef,
            503: errorRef,
          },
        },
      },
      async (request, reply) => {
        const { ca } = configured(devices);
        const { enrollmentId, secret, csr } = request.body;
        await checkCsr(csr, enrollmentId);
        let certificate: string;
        try {
          certificate = await ca.enroll({ enrollmentId, secret, csrPem: csr });
        } catch (error) {
          throw caFailure(request, error, 'enroll');
        }
        void reply.status(201).header('cache-control', 'no-store');
        return { certificate };
      },
    );

    app.post<{ Params: { enrollmentId: string }; Body: { reason?: RevocationReason } }>(
      '/v1/devices/:enrollmentId/revoke',
      {
        config: { roles: ['admin'] },
        // The body is optional: no body means no options.
        preValidation: (request, _reply, next) => {
          request.body ??= {};
          next();
        },
        schema: {
          tags: ['devices'],
          summary:
            "Org admin: revoke a device's certificates at the CA and record them in the chaincode's revocation list",
          params: revokeParams,
          body: revokeBody,
          response: {
            200: {
              type: 'object',
              required: ['enrollmentId', 'revokedSerials'],
              properties: {
                enrollmentId: { type: 'string' },
                revokedSerials: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Upper-case hex serials revoked now (empty when nothing was left to revoke)',
                },
              },
            },
            404: errorRef,
            502: errorRef,
            503: errorRef,
          },
        },
      },
      async (request) => {
        const { ca } = configured(devices);
        requireOwnAdmin(ledger, request);
        if (!ledger.identities.includes('admin')) {
          throw new HttpError(
            503,
            'UNAVAILABLE',
            'this gateway holds no admin identity to record revocations on the ledger',
          );
        }
        const { enrollmentId } = request.params;
        const reason = request.body.reason ?? 'unspecified';
        let serials: string[];
        try {
          const result = await ca.revoke({ enrollmentId, reason });
          serials = [...new Set(result.revoked.map((certificate) => certificate.serial))];
        } catch (error) {
          throw caFailure(request, error, 'revoke');
        }
        const governance = ledger.contract('admin', 'governance');
        const unrecorded: string[] = [];
        let firstFailure: HttpError | undefined;
        for (const serial of serials) {
          try {
            await governance.submit('RevokeDeviceCertificate', { arguments: [serial, reason] });
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
        return { enrollmentId, revokedSerials: serials };
      },
    );

    done();
  };
}

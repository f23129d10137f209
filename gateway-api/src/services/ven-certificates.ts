// @peculiar/x509 needs the metadata polyfill before it builds anything.
import 'reflect-metadata';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { HttpError } from '../http/errors';
import { caFailure } from '../resources/devices/service';
import { FabricCaError, type FabricCaClient } from './fabric-ca';

/**
 * The certificate of an OpenADR VEN's home. An OpenADR VEN holds no Fabric key, so the utility's
 * CA issues its home a device certificate (hems.role=hems, hems.home, hems.bus) that the relay
 * attaches to the VEN's items: it is the CA's attestation of the home id and bus, checked by the
 * chaincode like any device's and revocable at the CA like any device's. Its key pair is made here
 * and dropped once the certificate is issued, so nobody can sign as that device: the VEN's items
 * are attested by the relay, never device-signed.
 */

type Log = Pick<FastifyBaseLogger, 'warn'>;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** The throwaway identity enrols exactly once. */
const MAX_ENROLLMENTS = 1;

const silent: Log = { warn: () => undefined };

/**
 * The CA identity of one VEN's home certificate: `oadr-<venId>`, one per VEN, so a home whose VEN
 * was revoked can be issued another (Fabric CA never registers an id twice), and never that of the
 * home's HEMS device (`hems-…`).
 */
export function venEnrollmentId(venId: string): string {
  if (!/^ven-[0-9a-f]{24}$/.test(venId)) {
    throw new RangeError('a VEN id is ven- and 24 hex digits');
  }
  return `oadr-${venId}`;
}

function alreadyAtCa(): HttpError {
  return new HttpError(
    409,
    'CONFLICT',
    "the CA already holds this VEN's identity (a VEN id drawn twice); issue the VEN again",
  );
}

/** A refusal of the gateway's own enrolment is the CA's failure, not the admin's request. */
function enrolmentFailure(log: Log, error: unknown): Error {
  const mapped = caFailure(log, error, 'enroll');
  return mapped instanceof HttpError && mapped.statusCode < 500
    ? new HttpError(502, 'CA_FAILED', "the organization's Fabric CA refused to issue the VEN's certificate")
    : mapped;
}

/** A PKCS#10 request with CN = the enrolment id, signed with the throwaway key. */
async function certificateRequest(enrollmentId: string, keys: webcrypto.CryptoKeyPair): Promise<string> {
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      // As a JSON name, so no character of the id is read as DN syntax.
      name: [{ CN: [enrollmentId] }],
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    },
    webcrypto,
  );
  return csr.toString('pem');
}

async function sameKey(certificatePem: string, publicKey: webcrypto.CryptoKey): Promise<boolean> {
  try {
    const issued = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
    return issued.equals(Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey)));
  } catch {
    return false;
  }
}

/**
 * Registers the home's VEN identity at the CA with the device attributes and enrols it once with a
 * CSR of a fresh P-256 key pair, which is not extractable and is dropped on return (never stored,
 * never logged). Answers the enrolment id and the certificate (PEM).
 */
export async function issueVenCertificate(
  ca: FabricCaClient,
  home: { readonly homeId: string; readonly bus: string; readonly venId: string },
  log: Log = silent,
): Promise<{ enrollmentId: string; certificate: string }> {
  const enrollmentId = venEnrollmentId(home.venId);
  let secret: string;
  try {
    secret = await ca.register({
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
  } catch (error) {
    if (error instanceof FabricCaError && error.kind === 'conflict') {
      log.warn({ caStatus: error.httpStatus, caCode: error.caCode, operation: 'register' }, error.message);
      throw alreadyAtCa();
    }
    throw caFailure(log, error, 'register');
  }
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify']);
  let certificate: string;
  try {
    certificate = await ca.enroll({
      enrollmentId,
      secret,
      csrPem: await certificateRequest(enrollmentId, keys),
    });
  } catch (error) {
    throw enrolmentFailure(log, error);
  }
  if (!(await sameKey(certificate, keys.publicKey))) {
    throw new HttpError(
      502,
      'CA_FAILED',
      "the organization's Fabric CA answered a certificate for another key",
    );
  }
  return { enrollmentId, certificate };
}

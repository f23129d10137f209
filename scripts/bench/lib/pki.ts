/**
 * Benchmark device certificates signed directly with an org CA's signing key, in the shape Fabric
 * CA gives an enrolled HEMS device: subject `…, OU=client, CN=<enrolment id>`, key usage
 * digitalSignature, CA:false, subject and authority key identifiers, and the Fabric attribute
 * extension 1.2.3.4.5.6.7.8.1 with `{"attrs":{"hems.bus","hems.home","hems.role":"hems",
 * "hf.Affiliation":"","hf.EnrollmentID","hf.Type":"client"}}` (keys sorted, as Fabric CA writes
 * them). Only the CA round trip (register + enrol, a bcrypt hash each) is skipped: the gateway and
 * the chaincode check these certificates exactly as CA-enrolled ones.
 */
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { fabricAttributesExtension, privateKeyPem } from '@hems/testkit';

// The extension in which Fabric CA writes enrolment attributes (the test PKI writes it too).
export { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';

x509.cryptoProvider.set(webcrypto);

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Fabric CA backdates certificates by 5 minutes against clock skew. */
const BACKDATE_MS = 5 * 60_000;
/** Fabric CA's default enrolment certificate lifetime. */
const LIFETIME_MS = 365 * 24 * 3600_000;

export interface SigningCa {
  readonly certificatePem: string;
  readonly certificate: x509.X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
  /** Hex key identifier of the CA certificate: the devices' authority key identifier. */
  readonly keyId: string;
}

export interface DeviceCertificateRequest {
  readonly enrollmentId: string;
  readonly homeId: string;
  readonly bus: string;
  /** Issuing time; default now. */
  readonly now?: Date;
}

export interface IssuedDevice {
  readonly certificatePem: string;
  /** PKCS#8 PEM of the device's own P-256 key. */
  readonly privateKeyPem: string;
  /** Upper-case hex serial. */
  readonly serial: string;
}

function publicKeyDer(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * The signing key of a fabric-ca-server home folder: the `msp/keystore/*_sk` file whose public key
 * is the one in `ca-cert.pem` (the keystore also holds the TLS key).
 */
export function findCaSigningKeyPem(caHome: string): string {
  const certificatePem = readFileSync(path.join(caHome, 'ca-cert.pem'), 'utf8');
  const expected = publicKeyDer(createPublicKey(certificatePem));
  const keystore = path.join(caHome, 'msp', 'keystore');
  for (const name of readdirSync(keystore)
    .filter((file) => file.endsWith('_sk'))
    .sort()) {
    const pem = readFileSync(path.join(keystore, name), 'utf8');
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      continue;
    }
    if (publicKeyDer(key).equals(expected)) {
      return pem;
    }
  }
  throw new Error(`no key in ${keystore} matches ${path.join(caHome, 'ca-cert.pem')}`);
}

/** The CA of a fabric-ca-server home folder, ready to sign device certificates. */
export async function loadSigningCa(caHome: string): Promise<SigningCa> {
  const certificatePem = readFileSync(path.join(caHome, 'ca-cert.pem'), 'utf8');
  return signingCaOf(certificatePem, findCaSigningKeyPem(caHome));
}

/** A signing CA from its certificate and private key (PEM, PKCS#8 or SEC1). */
export async function signingCaOf(certificatePem: string, privateKeyPem: string): Promise<SigningCa> {
  const certificate = new x509.X509Certificate(certificatePem);
  const pkcs8 = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256, false, ['sign']);
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(certificate.publicKey)).keyId;
  return { certificatePem, certificate, signingKey, keyId };
}

/** The Fabric attributes of an enrolled HEMS device, keys in Fabric CA's (sorted) order. */
export function deviceAttributes(request: DeviceCertificateRequest): Record<string, string> {
  const attrs: Record<string, string> = {
    'hems.bus': request.bus,
    'hems.home': request.homeId,
    'hems.role': 'hems',
    'hf.Affiliation': '',
    'hf.EnrollmentID': request.enrollmentId,
    'hf.Type': 'client',
  };
  return Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A positive serial of 20 random bytes, as Fabric CA issues them. */
function randomSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex').toUpperCase();
}

/** The device's subject: the CA's C/ST/O/L, then OU=client and CN=<enrolment id>. */
function deviceSubject(ca: SigningCa, enrollmentId: string): x509.JsonName {
  const kept = ca.certificate.subjectName
    .toJSON()
    .filter((rdn) => !Object.keys(rdn).some((type) => type === 'OU' || type === 'CN'));
  return [...kept, { OU: ['client'] }, { CN: [enrollmentId] }];
}

/** A new P-256 key pair for a device and its certificate signed by `ca`. */
export async function issueDeviceCertificate(
  ca: SigningCa,
  request: DeviceCertificateRequest,
): Promise<IssuedDevice> {
  const now = request.now ?? new Date();
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const notAfter = new Date(Math.min(now.getTime() + LIFETIME_MS, ca.certificate.notAfter.getTime()));
  const serial = randomSerial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: deviceSubject(ca, request.enrollmentId),
    issuer: ca.certificate.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ECDSA_P256,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId),
      fabricAttributesExtension(deviceAttributes(request)),
    ],
  });
  return {
    certificatePem: `${certificate.toString('pem')}\n`,
    privateKeyPem: privateKeyPem(keys.privateKey),
    serial,
  };
}

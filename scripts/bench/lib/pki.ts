/**
 * Benchmark device certificates signed directly with an org CA's signing key, in the shape Fabric
 * CA gives an enrolled HEMS device: subject `…, OU=client, CN=<enrolment id>`, key usage
 * digitalSignature, CA:false, subject and authority key identifiers, and the Fabric attribute
 * extension 1.2.3.4.5.6.7.8.1 with `{"attrs":{"hems.bus","hems.home","hems.role":"hems",
 * "hf.Affiliation":"","hf.EnrollmentID","hf.Type":"client"}}` (keys sorted, as Fabric CA writes
 * them). Only the CA round trip (register + enrol, a bcrypt hash each) is skipped: the gateway and
 * the chaincode check these certificates exactly as CA-enrolled ones.
 *
 * Bench runs need up to 100,000 devices, so each certificate is assembled from DER parts (./der.ts)
 * with Node's own crypto: an ECDH P-256 key pair, a SHA-1 key identifier and one ECDSA signature by
 * the CA, about 0.1 ms a device. @peculiar/x509 only reads the CA certificate and encodes the parts
 * every device of a CA shares, once. The certificates are byte for byte what the former
 * @peculiar/x509 X509CertificateGenerator issuer produced (test/bench/pki.spec.ts compares them).
 */
import 'reflect-metadata';
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  KeyObject,
  randomBytes,
  sign,
  webcrypto,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';
import {
  bitString,
  derChildren,
  derContents,
  objectIdentifier,
  pem,
  sequence,
  TAG,
  tlv,
  unsignedInteger,
  x509Time,
} from './der';

// The extension in which Fabric CA writes enrolment attributes (the test PKI writes it too).
export { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';

x509.cryptoProvider.set(webcrypto);

/** Fabric CA backdates certificates by 5 minutes against clock skew. */
const BACKDATE_MS = 5 * 60_000;
/** Fabric CA's default enrolment certificate lifetime. */
const LIFETIME_MS = 365 * 24 * 3600_000;

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
/** [0] EXPLICIT INTEGER 2: an X.509 v3 certificate. */
const VERSION_3 = hex('a003020102');
/** AlgorithmIdentifier ecdsa-with-SHA256 (no parameters). */
const ECDSA_WITH_SHA256 = hex('300a06082a8648ce3d040302');
/** SubjectPublicKeyInfo of an id-ecPublicKey prime256v1 key, up to its uncompressed point. */
const P256_SPKI_PREFIX = hex('3059301306072a8648ce3d020106082a8648ce3d030107034200');
/** PKCS#8 of a P-256 key as OpenSSL writes it: version, algorithm, ECPrivateKey { 1, d, [1] point }. */
const P256_PKCS8_PREFIX = hex('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420');
const P256_PKCS8_POINT = hex('a144034200');
/** Extension subjectKeyIdentifier (not critical) up to its 20-byte key identifier. */
const SUBJECT_KEY_ID_PREFIX = hex('301d0603551d0e04160414');
const COMMON_NAME = hex('0603550403');
const FABRIC_ATTRIBUTES = objectIdentifier(FABRIC_ATTRIBUTES_OID);
/** @peculiar/x509 writes a name value as PrintableString when it has only these characters. */
const PRINTABLE = /^[A-Za-z0-9 '()+,-./:=?]*$/;

/** What every device certificate of one CA shares, DER-encoded once. */
export interface CertificateTemplate {
  /** The CA certificate's subject, exactly as in the CA certificate: the devices' issuer. */
  readonly issuer: Buffer;
  /** The relative distinguished names before CN: the CA's C/ST/O/L, then OU=client. */
  readonly subjectPrefix: Buffer;
  /** The CA certificate's notAfter (ms): no device outlives its CA. */
  readonly notAfterLimit: number;
  /** Extensions key usage, basic constraints and authority key identifier. */
  readonly keyUsage: Buffer;
  readonly basicConstraints: Buffer;
  readonly authorityKeyId: Buffer;
}

export interface SigningCa {
  readonly certificatePem: string;
  readonly certificate: x509.X509Certificate;
  /** The CA's P-256 private key; signs each device certificate with ECDSA-SHA256. */
  readonly signingKey: KeyObject;
  /** Hex key identifier of the CA certificate: the devices' authority key identifier. */
  readonly keyId: string;
  readonly template: CertificateTemplate;
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

/** The variable part of one device certificate. */
export interface DeviceCertificateFields extends DeviceCertificateRequest {
  /** The device's public key: an uncompressed P-256 point (65 bytes, 0x04 || x || y). */
  readonly publicPoint: Uint8Array;
  /** Hex serial number (positive). */
  readonly serial: string;
  readonly now: Date;
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

/** The subject of a certificate, exactly as encoded in it. */
function rawSubject(certificate: x509.X509Certificate): Buffer {
  const [tbs] = derChildren(Buffer.from(certificate.rawData));
  const fields = derChildren(tbs ?? Buffer.alloc(0));
  // serialNumber, signature, issuer, validity, subject after the optional [0] version.
  const subject = fields[fields[0]?.[0] === 0xa0 ? 5 : 4];
  if (subject === undefined) {
    throw new Error('the CA certificate has no subject');
  }
  return subject;
}

/** A signing CA from its certificate and private key (PEM, PKCS#8 or SEC1). */
export async function signingCaOf(certificatePem: string, privateKeyPem: string): Promise<SigningCa> {
  const certificate = new x509.X509Certificate(certificatePem);
  const signingKey = createPrivateKey(privateKeyPem);
  if (signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the CA signing key must be an ECDSA P-256 key');
  }
  if (!publicKeyDer(signingKey).equals(Buffer.from(certificate.publicKey.rawData))) {
    throw new Error('the CA signing key does not match the CA certificate');
  }
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(certificate.publicKey)).keyId;
  const kept = certificate.subjectName
    .toJSON()
    .filter((rdn) => !Object.keys(rdn).some((type) => type === 'OU' || type === 'CN'));
  const template: CertificateTemplate = {
    issuer: rawSubject(certificate),
    subjectPrefix: derContents(Buffer.from(new x509.Name([...kept, { OU: ['client'] }]).toArrayBuffer())),
    notAfterLimit: certificate.notAfter.getTime(),
    keyUsage: Buffer.from(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true).rawData),
    basicConstraints: Buffer.from(new x509.BasicConstraintsExtension(false, undefined, true).rawData),
    authorityKeyId: Buffer.from(new x509.AuthorityKeyIdentifierExtension(keyId).rawData),
  };
  return { certificatePem, certificate, signingKey, keyId, template };
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

/** The RDN CN=<enrolment id>, encoded as @peculiar/x509 encodes a name given as JSON. */
function commonNameRdn(enrollmentId: string): Buffer {
  if (PRINTABLE.test(enrollmentId)) {
    const value = tlv(TAG.printableString, Buffer.from(enrollmentId, 'latin1'));
    return tlv(TAG.set, sequence(COMMON_NAME, value));
  }
  // UTF8String and @peculiar/x509's escape handling: rare, not worth a second encoder.
  return derContents(Buffer.from(new x509.Name([{ CN: [enrollmentId] }]).toArrayBuffer()));
}

/** The DER TBSCertificate of a device certificate: what the CA signs. */
export function deviceTbsCertificate(ca: SigningCa, fields: DeviceCertificateFields): Buffer {
  if (fields.publicPoint.length !== 65 || fields.publicPoint[0] !== 0x04) {
    throw new Error('a device public key must be an uncompressed P-256 point (65 bytes)');
  }
  const { template } = ca;
  const now = fields.now.getTime();
  const subjectKeyId = createHash('sha1').update(fields.publicPoint).digest();
  const attributes = Buffer.from(JSON.stringify({ attrs: deviceAttributes(fields) }), 'utf8');
  return sequence(
    VERSION_3,
    unsignedInteger(Buffer.from(fields.serial.length % 2 === 0 ? fields.serial : `0${fields.serial}`, 'hex')),
    ECDSA_WITH_SHA256,
    template.issuer,
    sequence(
      x509Time(new Date(now - BACKDATE_MS)),
      x509Time(new Date(Math.min(now + LIFETIME_MS, template.notAfterLimit))),
    ),
    sequence(template.subjectPrefix, commonNameRdn(fields.enrollmentId)),
    Buffer.concat([P256_SPKI_PREFIX, fields.publicPoint]),
    tlv(
      0xa3,
      sequence(
        template.keyUsage,
        template.basicConstraints,
        Buffer.concat([SUBJECT_KEY_ID_PREFIX, subjectKeyId]),
        template.authorityKeyId,
        sequence(FABRIC_ATTRIBUTES, tlv(TAG.octetString, attributes)),
      ),
    ),
  );
}

/** The device certificate: the TBSCertificate signed by the CA with ECDSA-SHA256. */
export function signDeviceCertificate(ca: SigningCa, fields: DeviceCertificateFields): Buffer {
  const tbs = deviceTbsCertificate(ca, fields);
  const signature = sign('sha256', tbs, ca.signingKey);
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

/** A new P-256 key pair for a device and its certificate signed by `ca` (about 0.1 ms). */
export function issueDeviceCertificate(ca: SigningCa, request: DeviceCertificateRequest): IssuedDevice {
  // ECDH key generation is the same EC key generation as generateKeyPair, and hands out the raw
  // point and scalar: OpenSSL 3's SPKI and PKCS#8 encoders cost more than all the rest together.
  const keys = createECDH('prime256v1');
  const publicPoint = keys.generateKeys();
  const scalar = keys.getPrivateKey();
  const serial = randomSerial();
  const certificate = signDeviceCertificate(ca, {
    ...request,
    publicPoint,
    serial,
    now: request.now ?? new Date(),
  });
  const privateKey = Buffer.concat([
    P256_PKCS8_PREFIX,
    Buffer.alloc(32 - scalar.length),
    scalar,
    P256_PKCS8_POINT,
    publicPoint,
  ]);
  return {
    certificatePem: pem('CERTIFICATE', certificate),
    privateKeyPem: pem('PRIVATE KEY', privateKey),
    serial,
  };
}

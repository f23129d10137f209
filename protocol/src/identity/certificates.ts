import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { forbidden, invalidArgument } from '../errors';
import { isHomeId, parseBusId } from '../validation';

/** Fabric CA writes enrolment attributes as JSON `{"attrs":{...}}` in this extension. */
export const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
export const MAX_CERTIFICATE_PEM_BYTES = 8 * 1024;

/** What a verified HEMS device certificate says about the device. */
export interface DeviceIdentity {
  readonly homeId: string;
  readonly bus: string;
  readonly serial: string;
  readonly publicKey: KeyObject;
  /** The subject's common name: the identity's enrolment id at its CA (`hems-…` a device, `oadr-…` a VEN's home). */
  readonly commonName: string;
}

/** The enrolment ids of OpenADR VEN homes start so (gateway-api's venEnrollmentId). */
export const VEN_IDENTITY_PREFIX = 'oadr-';

function commonNameOf(certificate: X509Certificate): string {
  const line = certificate.subject.split('\n').find((entry) => entry.startsWith('CN='));
  return line === undefined ? '' : line.slice(3);
}

export function parseCertificate(pem: string, name: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalidArgument(`${name} is not a valid PEM X.509 certificate`);
  }
}

/** Splits a PEM bundle into certificates; anything between blocks is ignored. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(PEM_BLOCK) ?? [];
}

/** Serial numbers as upper-case hex without leading zero bytes, the form node:crypto reports. */
export function normalizeSerial(serial: string): string {
  const hex = serial.trim().toUpperCase();
  if (!/^[0-9A-F]{1,64}$/.test(hex)) {
    throw invalidArgument('serial must be 1-64 hexadecimal digits');
  }
  return hex.replace(/^(00)+(?=.)/, '');
}

/** The Fabric attributes of a certificate (empty when it has none). */
export function fabricAttributes(certificate: X509Certificate): Record<string, string> {
  let extensionValue: ArrayBuffer | undefined;
  try {
    const parsed = AsnConvert.parse(certificate.raw, Certificate);
    extensionValue = parsed.tbsCertificate.extensions?.find((ext) => ext.extnID === FABRIC_ATTRIBUTES_OID)
      ?.extnValue.buffer;
  } catch {
    throw invalidArgument('certificate could not be decoded');
  }
  if (extensionValue === undefined) {
    return {};
  }
  try {
    const decoded = JSON.parse(Buffer.from(extensionValue).toString('utf8')) as { attrs?: unknown };
    const attrs = decoded.attrs;
    if (typeof attrs !== 'object' || attrs === null) {
      return {};
    }
    return Object.fromEntries(
      Object.entries(attrs as Record<string, unknown>).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    throw invalidArgument('certificate attribute extension is not valid JSON');
  }
}

function isValidAt(certificate: X509Certificate, at: Date): boolean {
  return new Date(certificate.validFrom) <= at && at <= new Date(certificate.validTo);
}

function isP256(certificate: X509Certificate): boolean {
  const key = certificate.publicKey;
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export interface DeviceCertificateCheck {
  readonly pem: string;
  readonly org: string;
  readonly trustedCertificates: readonly X509Certificate[];
  readonly revokedSerials: ReadonlySet<string>;
  readonly at: Date;
}

/** What a certificate check learns independently of time and revocations. */
interface InspectedCertificate {
  readonly certificate: X509Certificate;
  readonly issuer: X509Certificate;
  readonly attrs: Record<string, string>;
}

function inspect(check: DeviceCertificateCheck): InspectedCertificate {
  if (Buffer.byteLength(check.pem, 'utf8') > MAX_CERTIFICATE_PEM_BYTES) {
    throw invalidArgument(`device certificate is larger than ${MAX_CERTIFICATE_PEM_BYTES} bytes`);
  }
  const certificate = parseCertificate(check.pem, 'device certificate');
  const issuer = check.trustedCertificates.find(
    (ca) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey),
  );
  if (issuer === undefined) {
    throw forbidden(`device certificate was not issued by a CA registered for ${check.org}`);
  }
  return { certificate, issuer, attrs: isP256(certificate) ? fabricAttributes(certificate) : {} };
}

function identityOf(inspected: InspectedCertificate, check: DeviceCertificateCheck): DeviceIdentity {
  const { certificate, issuer, attrs } = inspected;
  if (!isValidAt(certificate, check.at) || !isValidAt(issuer, check.at)) {
    throw forbidden('device certificate is expired or not yet valid at the transaction time');
  }
  const serial = normalizeSerial(certificate.serialNumber);
  if (check.revokedSerials.has(serial)) {
    throw forbidden('device certificate has been revoked');
  }
  if (!isP256(certificate)) {
    throw invalidArgument('device certificate must hold an ECDSA P-256 key');
  }
  if (attrs['hems.role'] !== 'hems') {
    throw forbidden('device certificate does not carry hems.role=hems');
  }
  const homeId = attrs['hems.home'];
  if (homeId === undefined || attrs['hems.bus'] === undefined) {
    throw forbidden('device certificate must carry the hems.home and hems.bus attributes');
  }
  if (!isHomeId(homeId)) {
    throw invalidArgument('device certificate hems.home attribute is malformed');
  }
  const bus = parseBusId(attrs['hems.bus'], 'device certificate hems.bus attribute');
  return { homeId, bus, serial, publicKey: certificate.publicKey, commonName: commonNameOf(certificate) };
}

/**
 * Verifies a HEMS device certificate: issued (and signed) by one of the org's registered CA
 * certificates, both valid at the transaction time, not revoked, ECDSA P-256, with the attributes
 * hems.role=hems, hems.home and hems.bus.
 */
export function verifyDeviceCertificate(check: DeviceCertificateCheck): DeviceIdentity {
  return identityOf(inspect(check), check);
}

/** A verifier of device certificates that remembers what does not depend on time or revocations. */
export type DeviceCertificateVerifier = (check: DeviceCertificateCheck) => DeviceIdentity;

/**
 * verifyDeviceCertificate with a bounded memory of parsed certificates whose issuer signature
 * verified against the same trusted CA set: a relay batch carries hundreds of certificates that
 * the same process saw in earlier slots, and the issuer's ECDSA check and the attribute decoding
 * are most of a certificate's cost. Validity at the given time and the revocation list are checked
 * on every call, so the answer is the same as without the memory.
 */
export function createDeviceCertificateVerifier(maxEntries = 50_000): DeviceCertificateVerifier {
  const remembered = new Map<string, InspectedCertificate>();
  return (check) => {
    const key = `${check.trustedCertificates.map((ca) => ca.fingerprint256).join(',')}\n${check.pem}`;
    let inspected = remembered.get(key);
    if (inspected === undefined) {
      inspected = inspect(check);
      if (remembered.size >= maxEntries) {
        // Oldest first: a Map iterates in insertion order.
        remembered.delete(remembered.keys().next().value!);
      }
      remembered.set(key, inspected);
    }
    return identityOf(inspected, check);
  };
}

/**
 * ECDSA-SHA256 over the exact payload bytes. Accepts DER (what OpenSSL and node:crypto produce)
 * and IEEE P1363 r||s (what WebCrypto produces, 64 bytes for P-256).
 */
export function verifyDeviceSignature(
  publicKey: KeyObject,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length === 0 || signature.length > 80) {
    return false;
  }
  const dsaEncoding = signature.length === 64 ? 'ieee-p1363' : 'der';
  try {
    return verify('sha256', payload, { key: publicKey, dsaEncoding }, signature);
  } catch {
    return false;
  }
}

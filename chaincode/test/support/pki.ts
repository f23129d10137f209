import { KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';

x509.cryptoProvider.set(webcrypto);

type KeyPair = webcrypto.CryptoKeyPair;

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Certificates are generated at test time; these bound their validity around the tests' clock. */
export const VALID_FROM = new Date('2026-01-01T00:00:00Z');
export const VALID_TO = new Date('2027-12-31T00:00:00Z');

export interface TestCa {
  readonly name: string;
  readonly certificate: x509.X509Certificate;
  readonly pem: string;
  readonly keys: KeyPair;
}

export interface TestDevice {
  readonly homeId: string;
  readonly bus: string;
  readonly pem: string;
  readonly serial: string;
  readonly privateKey: KeyObject;
}

export interface DeviceOptions {
  readonly homeId: string;
  readonly bus: string;
  readonly role?: string | null;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Extra or replacement Fabric attributes. */
  readonly attrs?: Record<string, string>;
  /** Fabric attributes to leave out. */
  readonly omit?: readonly string[];
  /** Use a P-384 key instead of P-256. */
  readonly p384?: boolean;
}

let serialCounter = 0x1000;

function nextSerial(): string {
  serialCounter += 1;
  return `0${serialCounter.toString(16).toUpperCase()}A1`;
}

/** A test certificate authority per org, like Fabric CA issuing enrolment certificates. */
export async function createCa(name: string, notBefore = VALID_FROM, notAfter = VALID_TO): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=ca.${name.toLowerCase()}.example.com, O=${name}, C=US`,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, certificate, pem: certificate.toString('pem'), keys };
}

export async function issueDevice(ca: TestCa, options: DeviceOptions): Promise<TestDevice> {
  const algorithm = options.p384 ? { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } : ECDSA;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const attrs: Record<string, string> = {
    'hf.EnrollmentID': options.homeId,
    'hems.home': options.homeId,
    'hems.bus': options.bus,
    ...(options.role === null ? {} : { 'hems.role': options.role ?? 'hems' }),
    ...options.attrs,
  };
  for (const name of options.omit ?? []) {
    delete attrs[name];
  }
  const serial = nextSerial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${options.homeId}, OU=client, O=${ca.name}, C=US`,
    issuer: ca.certificate.subject,
    notBefore: options.notBefore ?? VALID_FROM,
    notAfter: options.notAfter ?? VALID_TO,
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      new x509.Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(JSON.stringify({ attrs }))),
    ],
  });
  return {
    homeId: options.homeId,
    bus: options.bus,
    pem: certificate.toString('pem'),
    serial: serial.replace(/^0+/, ''),
    privateKey: KeyObject.from(keys.privateKey),
  };
}

export interface ForecastInput {
  readonly slotId: string;
  readonly lower: unknown;
  readonly upper: unknown;
  readonly nonce?: unknown;
}

export function freshNonce(): string {
  return randomBytes(16).toString('base64');
}

/** What a HEMS device sends its utility: payload bytes, signature, certificate. */
export function signForecast(
  device: TestDevice,
  input: ForecastInput,
  encoding: 'der' | 'ieee-p1363' = 'der',
): { payload: Buffer; signature: Buffer; certificate: string } {
  const payload = Buffer.from(
    JSON.stringify({
      slotId: input.slotId,
      lower: input.lower,
      upper: input.upper,
      nonce: input.nonce ?? freshNonce(),
    }),
  );
  return signPayload(device, payload, encoding);
}

export function signPayload(
  device: TestDevice,
  payload: Buffer,
  encoding: 'der' | 'ieee-p1363' = 'der',
): { payload: Buffer; signature: Buffer; certificate: string } {
  const signature = sign('sha256', payload, { key: device.privateKey, dsaEncoding: encoding });
  return { payload, signature, certificate: device.pem };
}

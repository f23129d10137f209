import { KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';
import { TrustStore, type RevocationSource } from '../../src/identity/trust-store';

x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256 with SHA-256: the key and signature algorithm of every test certificate. */
export const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type KeyPair = webcrypto.CryptoKeyPair;
type KeyAlgorithm = webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;

export interface TestCa {
  readonly mspId: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  /** The CA certificate as PEM, e.g. as a TLS trust root. */
  readonly pem: string;
}

export interface ClientOptions {
  readonly name: string;
  readonly attrs?: Record<string, string>;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** A fixed serial number (hex); by default the next one of this module's counter. */
  readonly serialNumber?: string;
}

/** A certificate with its private key, both PEM (PKCS#8 for the key), as a TLS server or MSP uses. */
export interface Credentials {
  readonly certificatePem: string;
  readonly keyPem: string;
}

interface IssueOptions {
  readonly subject: string;
  readonly publicKey: x509.PublicKey | webcrypto.CryptoKey;
  readonly serialNumber?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly extensions?: x509.Extension[];
}

let serial = 0x5000;

function nextSerial(): string {
  serial += 1;
  return serial.toString(16);
}

export function generateKeys(algorithm: KeyAlgorithm = ECDSA): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

/** A private key as PKCS#8 PEM. */
export function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The extension in which Fabric CA puts a certificate's attributes (1.2.3.4.5.6.7.8.1). */
export function fabricAttributesExtension(attrs: Record<string, string>): x509.Extension {
  return new x509.Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(JSON.stringify({ attrs })));
}

function issue(ca: TestCa, options: IssueOptions): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? nextSerial(),
    subject: options.subject,
    issuer: ca.certificate.subject,
    notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2039-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    publicKey: options.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: options.extensions ?? [],
  });
}

/** A self-signed CA; its subject is `CN=ca.<mspId in lower case>, O=<mspId>`. */
export async function createCa(mspId: string): Promise<TestCa> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=ca.${mspId.toLowerCase()}, O=${mspId}`,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { mspId, certificate, keys, pem: certificate.toString('pem') };
}

/** A client certificate as Fabric CA issues it: Fabric attributes in extension 1.2.3.4.5.6.7.8.1. */
export async function issueClient(ca: TestCa, options: ClientOptions): Promise<X509Certificate> {
  const keys = await generateKeys();
  const certificate = await issue(ca, {
    subject: `CN=${options.name}, OU=client, O=${ca.mspId}`,
    publicKey: keys.publicKey,
    serialNumber: options.serialNumber,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      fabricAttributesExtension(options.attrs ?? {}),
    ],
  });
  return new X509Certificate(certificate.toString('pem'));
}

/** A new key pair and a certificate for it with the given subject (e.g. `CN=admin`), both PEM. */
export async function issueCredentials(
  ca: TestCa,
  subject: string,
  extensions: x509.Extension[] = [],
): Promise<Credentials> {
  const keys = await generateKeys();
  const certificate = await issue(ca, { subject, publicKey: keys.publicKey, extensions });
  return { certificatePem: certificate.toString('pem'), keyPem: privateKeyPem(keys.privateKey) };
}

/** A TLS server certificate for a local test server: subjectAltName localhost and 127.0.0.1. */
export function issueServer(ca: TestCa, name = 'localhost'): Promise<Credentials> {
  return issueCredentials(ca, `CN=${name}`, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);
}

/** What Fabric CA does with an enrolment CSR: a certificate (PEM) for its key, subject and attributes. */
export async function issueFromCsr(
  ca: TestCa,
  csrPem: string,
  attrs: Record<string, string>,
): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const certificate = await issue(ca, {
    subject: csr.subject,
    publicKey: csr.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      fabricAttributesExtension(attrs),
    ],
  });
  return certificate.toString('pem');
}

/** What a device does before enrolling: its own key pair and a PKCS#10 CSR (PEM) with CN = `cn`. */
export async function createCsr(
  cn: string,
  algorithm: KeyAlgorithm = ECDSA,
  extensions: x509.Extension[] = [],
  extraSubject = '',
): Promise<string> {
  const keys = await generateKeys(algorithm);
  const signingAlgorithm =
    algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}${extraSubject}`,
    keys,
    signingAlgorithm,
    extensions,
  });
  return csr.toString('pem');
}

/** A trust store over the given CAs. */
export function trustStoreOf(cas: Iterable<TestCa>, revocations?: RevocationSource): TrustStore {
  return new TrustStore(
    [...cas].map((ca) => ({
      mspId: ca.mspId,
      certificate: new X509Certificate(ca.pem),
    })),
    revocations,
  );
}

/** CAs of the channel's orgs, a foreign CA, and client certificates for every role. */
export class TestPki {
  readonly cas = new Map<string, TestCa>();
  foreign!: TestCa;

  static async create(): Promise<TestPki> {
    const pki = new TestPki();
    for (const mspId of ['DSOMSP', 'UtilityAMSP', 'UtilityBMSP', 'RegulatorMSP']) {
      pki.cas.set(mspId, await createCa(mspId));
    }
    pki.foreign = await createCa('MalloryMSP');
    return pki;
  }

  ca(mspId: string): TestCa {
    const ca = this.cas.get(mspId);
    if (ca === undefined) {
      throw new Error(`no CA for ${mspId}`);
    }
    return ca;
  }

  trustStore(revocations?: RevocationSource): TrustStore {
    return trustStoreOf(this.cas.values(), revocations);
  }

  device(mspId: string, homeId: string, bus: string): Promise<X509Certificate> {
    return issueClient(this.ca(mspId), {
      name: `hems-${homeId}`,
      attrs: { 'hems.role': 'hems', 'hems.home': homeId, 'hems.bus': bus },
    });
  }

  role(mspId: string, role: string, name = role): Promise<X509Certificate> {
    return issueClient(this.ca(mspId), { name, attrs: { 'hems.role': role } });
  }
}

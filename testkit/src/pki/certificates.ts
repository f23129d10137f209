import { X509Certificate, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTES_OID } from '@hems/protocol';
import { nextSerial, type TestCa } from './ca';
import { ECDSA, generateKeys, privateKeyPem, type KeyAlgorithm } from './keys';

/** A certificate with its private key, both PEM (PKCS#8 for the key), as a TLS server or MSP uses. */
export interface Credentials {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export interface IssueOptions {
  readonly subject: string;
  readonly publicKey: x509.PublicKey | webcrypto.CryptoKey;
  /** A fixed serial number (hex); by default nextSerial(). */
  readonly serialNumber?: string | undefined;
  /** Default 2020-01-01. */
  readonly notBefore?: Date | undefined;
  /** Default 2039-01-01. */
  readonly notAfter?: Date | undefined;
  readonly extensions?: x509.Extension[];
}

export interface ClientOptions {
  readonly name: string;
  readonly attrs?: Record<string, string>;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** A fixed serial number (hex); by default nextSerial(). */
  readonly serialNumber?: string;
}

/** The extension in which Fabric CA puts a certificate's attributes (1.2.3.4.5.6.7.8.1). */
export function fabricAttributesExtension(attrs: Record<string, string>): x509.Extension {
  return new x509.Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(JSON.stringify({ attrs })));
}

/** A certificate for `publicKey` signed by the CA (ECDSA P-256 with SHA-256). */
export function issue(ca: TestCa, options: IssueOptions): Promise<x509.X509Certificate> {
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

/** A client certificate as Fabric CA issues it: Fabric attributes in extension 1.2.3.4.5.6.7.8.1. */
export async function issueClient(ca: TestCa, options: ClientOptions): Promise<X509Certificate> {
  const keys = await generateKeys();
  const certificate = await issue(ca, {
    subject: `CN=${options.name}, OU=client, O=${ca.name}`,
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

import * as x509 from '@peculiar/x509';
import { ECDSA, generateKeys, type KeyPair } from './keys';

/** A test certificate authority, like the Fabric CA of an org. */
export interface TestCa {
  /** The org's name (its MSP id in the gateway's tests). */
  readonly name: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
  /** The CA certificate as PEM, e.g. as a TLS trust root. */
  readonly pem: string;
}

export interface CaOptions {
  /** Default `CN=ca.<name in lower case>, O=<name>`. */
  readonly subject?: string;
  /** Default 2020-01-01. */
  readonly notBefore?: Date;
  /** Default 2040-01-01. */
  readonly notAfter?: Date;
}

let serialCounter = 0x1000;

/**
 * The next serial number of a test certificate (hex): unique in the test process, with a leading
 * zero the ledger's serial normalization must strip.
 */
export function nextSerial(): string {
  serialCounter += 1;
  return `0${serialCounter.toString(16).toUpperCase()}A1`;
}

/** A self-signed CA for `name`. */
export async function createCa(name: string, options: CaOptions = {}): Promise<TestCa> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: options.subject ?? `CN=ca.${name.toLowerCase()}, O=${name}`,
    notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, certificate, keys, pem: certificate.toString('pem') };
}

import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FABRIC_ATTRIBUTES_OID } from '@hems/chaincode';
import { TrustStore, type RevocationSource } from '../../src/identity/trust-store';

x509.cryptoProvider.set(webcrypto);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type KeyPair = webcrypto.CryptoKeyPair;

export interface TestCa {
  readonly mspId: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
}

export interface ClientOptions {
  readonly name: string;
  readonly attrs?: Record<string, string>;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

let serial = 0x5000;

export async function createCa(mspId: string): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  serial += 1;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString(16),
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
  return { mspId, certificate, keys };
}

/** A client certificate as Fabric CA issues it: Fabric attributes in extension 1.2.3.4.5.6.7.8.1. */
export async function issueClient(ca: TestCa, options: ClientOptions): Promise<X509Certificate> {
  const keys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  serial += 1;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString(16),
    subject: `CN=${options.name}, OU=client, O=${ca.mspId}`,
    issuer: ca.certificate.subject,
    notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2039-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      new x509.Extension(
        FABRIC_ATTRIBUTES_OID,
        false,
        Buffer.from(JSON.stringify({ attrs: options.attrs ?? {} })),
      ),
    ],
  });
  return new X509Certificate(certificate.toString('pem'));
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
    return new TrustStore(
      [...this.cas.values()].map((ca) => ({
        mspId: ca.mspId,
        certificate: new X509Certificate(ca.certificate.toString('pem')),
      })),
      revocations,
    );
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

// @peculiar/x509 needs the metadata polyfill before it loads.
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  KeyObject,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import { fabricAttributes, verifyDeviceCertificate } from '@hems/protocol';
import {
  createCa,
  ECDSA,
  fabricAttributesExtension,
  generateKeys,
  privateKeyPem,
  type KeyPair,
} from '@hems/testkit';
import { derChildren, derContents, pem } from '../../scripts/bench/lib/der';
import {
  deviceAttributes,
  deviceTbsCertificate,
  FABRIC_ATTRIBUTES_OID,
  findCaSigningKeyPem,
  issueDeviceCertificate,
  loadSigningCa,
  signingCaOf,
  type DeviceCertificateRequest,
  type SigningCa,
} from '../../scripts/bench/lib/pki';

const FABRIC_SUBJECT = 'C=US, ST=North Carolina, O=Hyperledger, OU=Fabric';
const YEAR_MS = 365 * 24 * 3600_000;

/** A fabric-ca-server home: ca-cert.pem and a keystore with the CA key and an unrelated (TLS) key. */
async function caHome(name: string): Promise<{ dir: string; pem: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ca-'));
  const { keys, pem } = await createCa(name, {
    subject: `${FABRIC_SUBJECT}, CN=${name}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 10 * YEAR_MS),
  });
  const keystore = path.join(dir, 'msp', 'keystore');
  mkdirSync(keystore, { recursive: true });
  writeFileSync(path.join(dir, 'ca-cert.pem'), pem);
  // The TLS key sorts first, so the right key must be found by matching, not by position.
  writeFileSync(path.join(keystore, '0000_sk'), privateKeyPem((await generateKeys()).privateKey));
  writeFileSync(path.join(keystore, 'ffff_sk'), privateKeyPem(keys.privateKey));
  writeFileSync(path.join(keystore, 'IssuerSecretKey'), 'not a key');
  return { dir, pem };
}

/** A CA whose key both issuers can use: the new one (SigningCa) and the previous one (keys). */
interface ReferenceCa {
  readonly ca: SigningCa;
  readonly keys: KeyPair;
  readonly pem: string;
}

async function referenceCa(subject: string, notAfter: Date): Promise<ReferenceCa> {
  const { keys, pem } = await createCa('reference', {
    subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter,
  });
  return { ca: await signingCaOf(pem, privateKeyPem(keys.privateKey)), keys, pem };
}

/**
 * The previous issuer, verbatim: @peculiar/x509's certificate generator with a WebCrypto key. The
 * DER-template issuer must produce exactly its TBSCertificate.
 */
async function previousIssuer(
  reference: ReferenceCa,
  request: DeviceCertificateRequest & { readonly now: Date },
  publicKey: KeyPair['publicKey'],
  serialNumber: string,
): Promise<x509.X509Certificate> {
  const { certificate, keyId } = reference.ca;
  const kept = certificate.subjectName
    .toJSON()
    .filter((rdn) => !Object.keys(rdn).some((type) => type === 'OU' || type === 'CN'));
  return x509.X509CertificateGenerator.create({
    serialNumber,
    subject: [...kept, { OU: ['client'] }, { CN: [request.enrollmentId] }],
    issuer: certificate.subjectName,
    notBefore: new Date(request.now.getTime() - 5 * 60_000),
    notAfter: new Date(Math.min(request.now.getTime() + YEAR_MS, certificate.notAfter.getTime())),
    signingAlgorithm: ECDSA,
    publicKey,
    signingKey: reference.keys.privateKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      new x509.AuthorityKeyIdentifierExtension(keyId),
      fabricAttributesExtension(deviceAttributes(request)),
    ],
  });
}

/** TBSCertificate, signature algorithm and signature value (without the unused-bits octet). */
function certificateParts(certificate: x509.X509Certificate): { tbs: Buffer; signature: Buffer } {
  const [tbs, , signature] = derChildren(Buffer.from(certificate.rawData));
  if (tbs === undefined || signature === undefined) {
    throw new Error('not a certificate');
  }
  return { tbs, signature: derContents(signature).subarray(1) };
}

/** The uncompressed point of a P-256 SubjectPublicKeyInfo. */
function publicPoint(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  return spki.subarray(spki.length - 65);
}

function extensionsOf(
  certificate: x509.X509Certificate,
): { type: string; critical: boolean; value: string }[] {
  return certificate.extensions.map((extension) => ({
    type: extension.type,
    critical: extension.critical,
    value: Buffer.from(extension.value).toString('hex'),
  }));
}

describe('bench device certificates signed with the org CA key', () => {
  const homes: string[] = [];
  after(() => homes.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  async function newCa(name: string): Promise<{ dir: string; pem: string }> {
    const home = await caHome(name);
    homes.push(home.dir);
    return home;
  }

  it('finds the keystore key that matches ca-cert.pem', async () => {
    const { dir, pem } = await newCa('ca-a');
    const keyPem = findCaSigningKeyPem(dir);
    const expected = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    expect(createPublicKey(keyPem).export({ type: 'spki', format: 'der' }).equals(expected)).to.equal(true);
  });

  it('refuses a CA home whose keystore lacks the CA key', async () => {
    const { dir } = await newCa('ca-b');
    rmSync(path.join(dir, 'msp', 'keystore', 'ffff_sk'));
    expect(() => findCaSigningKeyPem(dir)).to.throw('matches');
  });

  it('refuses a signing key that is not the CA certificate’s', async () => {
    const { pem } = await newCa('ca-f');
    const other = privateKeyPem((await generateKeys()).privateKey);
    let refused: unknown;
    await signingCaOf(pem, other).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(Error).with.property('message').that.includes('does not match');
  });

  it('issues certificates the chaincode accepts as HEMS devices of the org, with Fabric CA attributes', async () => {
    const { dir, pem } = await newCa('ca-utilitya');
    const ca = await loadSigningCa(dir);
    const now = new Date();
    const device = issueDeviceCertificate(ca, {
      enrollmentId: 'hems-bench-a-bus-1-00001',
      homeId: 'bench-a-bus-1-00001',
      bus: 'bus-1',
      now,
    });
    const certificate = new X509Certificate(device.certificatePem);
    const identity = verifyDeviceCertificate({
      pem: device.certificatePem,
      org: 'UtilityAMSP',
      trustedCertificates: [new X509Certificate(pem)],
      revokedSerials: new Set(),
      at: now,
    });
    expect(identity.homeId).to.equal('bench-a-bus-1-00001');
    expect(identity.bus).to.equal('bus-1');
    expect(identity.serial).to.equal(device.serial);
    expect(fabricAttributes(certificate)).to.deep.equal({
      'hems.bus': 'bus-1',
      'hems.home': 'bench-a-bus-1-00001',
      'hems.role': 'hems',
      'hf.Affiliation': '',
      'hf.EnrollmentID': 'hems-bench-a-bus-1-00001',
      'hf.Type': 'client',
    });
    expect(certificate.subject.split('\n')).to.deep.equal([
      'C=US',
      'ST=North Carolina',
      'O=Hyperledger',
      'OU=client',
      'CN=hems-bench-a-bus-1-00001',
    ]);
    expect(certificate.issuer).to.equal(new X509Certificate(pem).subject);
    expect(certificate.ca).to.equal(false);
    expect(certificate.verify(createPublicKey(pem))).to.equal(true);
    const parsed = new x509.X509Certificate(device.certificatePem);
    expect(await parsed.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })).to.equal(true);
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).to.equal(ca.keyId);
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.usages).to.equal(
      x509.KeyUsageFlags.digitalSignature,
    );
    // Backdated by 5 minutes like Fabric CA; never beyond the CA's own validity.
    expect(now.getTime() - parsed.notBefore.getTime()).to.be.within(299_000, 301_000);
    expect(parsed.notAfter.getTime()).to.be.at.most(ca.certificate.notAfter.getTime());
    // The private key is the device's: it signs what the certificate's key verifies.
    const signature = sign('sha256', Buffer.from('forecast'), device.privateKeyPem);
    expect(verify('sha256', Buffer.from('forecast'), certificate.publicKey, signature)).to.equal(true);
    // PKCS#8 PEM exactly as node:crypto writes the same key.
    expect(createPrivateKey(device.privateKeyPem).export({ type: 'pkcs8', format: 'pem' })).to.equal(
      device.privateKeyPem,
    );
  });

  it('has the subject, issuer, validity and extensions the previous @peculiar/x509 issuer gave', async () => {
    const reference = await referenceCa(
      `${FABRIC_SUBJECT}, CN=ca-utilitya.hems.local`,
      new Date(Date.now() + 15 * YEAR_MS),
    );
    const request = {
      enrollmentId: 'hems-bench-a-bus-2-00042',
      homeId: 'bench-a-bus-2-00042',
      bus: 'bus-2',
      now: new Date(),
    };
    const device = issueDeviceCertificate(reference.ca, request);
    const current = new x509.X509Certificate(device.certificatePem);
    const previous = await previousIssuer(
      reference,
      request,
      (await generateKeys()).publicKey,
      device.serial,
    );
    expect(current.subject).to.equal(previous.subject);
    expect(current.issuer).to.equal(previous.issuer);
    expect(current.notBefore.getTime()).to.equal(previous.notBefore.getTime());
    expect(current.notAfter.getTime()).to.equal(previous.notAfter.getTime());
    expect(current.serialNumber).to.equal(previous.serialNumber);
    expect(current.signatureAlgorithm).to.deep.equal(previous.signatureAlgorithm);
    // Same extensions, order and criticality; only the subject key identifier (a hash of the
    // device's own key) differs, and it is the SHA-1 of the device key as before.
    const [currentExtensions, previousExtensions] = [extensionsOf(current), extensionsOf(previous)];
    expect(currentExtensions.map(({ type, critical }) => [type, critical])).to.deep.equal([
      ['2.5.29.15', true],
      ['2.5.29.19', true],
      ['2.5.29.14', false],
      ['2.5.29.35', false],
      [FABRIC_ATTRIBUTES_OID, false],
    ]);
    expect(currentExtensions.filter(({ type }) => type !== '2.5.29.14')).to.deep.equal(
      previousExtensions.filter(({ type }) => type !== '2.5.29.14'),
    );
    expect(current.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).to.equal(
      (await x509.SubjectKeyIdentifierExtension.create(current.publicKey)).keyId,
    );
    const attributes = current.getExtension(FABRIC_ATTRIBUTES_OID);
    expect(JSON.parse(Buffer.from(attributes?.value ?? new ArrayBuffer(0)).toString('utf8'))).to.deep.equal({
      attrs: deviceAttributes(request),
    });
    expect(new X509Certificate(device.certificatePem).subject).to.equal(
      new X509Certificate(Buffer.from(previous.rawData)).subject,
    );
    // The PEM layout is the previous one (64-character lines, final newline).
    expect(pem('CERTIFICATE', Buffer.from(previous.rawData))).to.equal(`${previous.toString('pem')}\n`);
  });

  describe('encodes the TBSCertificate byte for byte as the previous issuer did', () => {
    const cases = [
      {
        title: 'a Fabric CA subject and a plain enrolment id',
        subject: `${FABRIC_SUBJECT}, CN=ca-utilitya.hems.local`,
        caNotAfter: new Date(Date.now() + 15 * YEAR_MS),
        enrollmentId: 'hems-bench-a-bus-1-00001',
        now: new Date(),
      },
      {
        title: 'an enrolment id outside PrintableString (UTF8String)',
        subject: `${FABRIC_SUBJECT}, CN=ca-utilityb.hems.local`,
        caNotAfter: new Date(Date.now() + 15 * YEAR_MS),
        enrollmentId: 'hems_bench@b-é',
        now: new Date(),
      },
      {
        title: 'a CA expiring within the year (device validity cut at the CA’s)',
        subject: 'CN=ca.utilityb, O=Utility B, L=Raleigh',
        caNotAfter: new Date(Date.now() + 100 * 24 * 3600_000),
        enrollmentId: 'hems-bench-b-bus-2-00007',
        now: new Date(),
      },
      {
        title: 'validity past 2049 (GeneralizedTime)',
        subject: `${FABRIC_SUBJECT}, CN=ca-utilitya.hems.local`,
        caNotAfter: new Date('2070-01-01T00:00:00Z'),
        enrollmentId: 'hems-bench-a-bus-1-00002',
        now: new Date('2049-12-01T12:34:56.789Z'),
      },
    ];
    for (const testCase of cases) {
      it(testCase.title, async () => {
        const reference = await referenceCa(testCase.subject, testCase.caNotAfter);
        const request = {
          enrollmentId: testCase.enrollmentId,
          homeId: 'bench-x',
          bus: 'bus-1',
          now: testCase.now,
        };
        const keys = await generateKeys();
        const serial = issueDeviceCertificate(reference.ca, request).serial;
        const previous = certificateParts(await previousIssuer(reference, request, keys.publicKey, serial));
        // The bytes extracted are what the previous issuer signed.
        const caKey = createPublicKey(reference.pem);
        expect(verify('sha256', previous.tbs, caKey, previous.signature)).to.equal(true);
        const tbs = deviceTbsCertificate(reference.ca, {
          ...request,
          publicPoint: publicPoint(KeyObject.from(keys.publicKey)),
          serial,
        });
        expect(tbs.toString('hex')).to.equal(previous.tbs.toString('hex'));
        expect(createHash('sha256').update(tbs).digest('hex')).to.equal(
          createHash('sha256').update(previous.tbs).digest('hex'),
        );
      });
    }
  });

  it('gives each device its own key and serial', async () => {
    const ca = await loadSigningCa((await newCa('ca-c')).dir);
    const request = { enrollmentId: 'hems-x', homeId: 'x', bus: 'bus-2' };
    const [first, second] = [issueDeviceCertificate(ca, request), issueDeviceCertificate(ca, request)];
    expect(first.serial).to.not.equal(second.serial);
    expect(first.privateKeyPem).to.not.equal(second.privateKeyPem);
    expect(first.serial).to.match(/^[0-9A-F]{40}$/);
    expect(new X509Certificate(first.certificatePem).serialNumber).to.equal(first.serial);
  });

  it('is refused by the chaincode for another org whose CA did not sign it', async () => {
    const ca = await loadSigningCa((await newCa('ca-d')).dir);
    const other = await newCa('ca-e');
    const device = issueDeviceCertificate(ca, { enrollmentId: 'hems-y', homeId: 'y', bus: 'bus-1' });
    expect(() =>
      verifyDeviceCertificate({
        pem: device.certificatePem,
        org: 'UtilityBMSP',
        trustedCertificates: [new X509Certificate(other.pem)],
        revokedSerials: new Set(),
        at: new Date(),
      }),
    ).to.throw('was not issued by a CA registered for UtilityBMSP');
  });

  it('lists the attributes in Fabric CA order', () => {
    expect(Object.keys(deviceAttributes({ enrollmentId: 'e', homeId: 'h', bus: 'b' }))).to.deep.equal([
      'hems.bus',
      'hems.home',
      'hems.role',
      'hf.Affiliation',
      'hf.EnrollmentID',
      'hf.Type',
    ]);
  });
});

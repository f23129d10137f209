// @peculiar/x509 needs the metadata polyfill before it loads.
import 'reflect-metadata';
import { createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import { fabricAttributes, verifyDeviceCertificate } from '@hems/protocol';
import { createCa, generateKeys, privateKeyPem } from '@hems/testkit';
import {
  deviceAttributes,
  findCaSigningKeyPem,
  issueDeviceCertificate,
  loadSigningCa,
} from '../../scripts/bench/lib/pki';

/** A fabric-ca-server home: ca-cert.pem and a keystore with the CA key and an unrelated (TLS) key. */
async function caHome(name: string): Promise<{ dir: string; pem: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ca-'));
  const { keys, pem } = await createCa(name, {
    subject: `C=US, ST=North Carolina, O=Hyperledger, OU=Fabric, CN=${name}`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 10 * 365 * 24 * 3600_000),
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

  it('issues certificates the chaincode accepts as HEMS devices of the org, with Fabric CA attributes', async () => {
    const { dir, pem } = await newCa('ca-utilitya');
    const ca = await loadSigningCa(dir);
    const now = new Date();
    const device = await issueDeviceCertificate(ca, {
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
    expect(certificate.ca).to.equal(false);
    const parsed = new x509.X509Certificate(device.certificatePem);
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
  });

  it('gives each device its own key and serial', async () => {
    const ca = await loadSigningCa((await newCa('ca-c')).dir);
    const request = { enrollmentId: 'hems-x', homeId: 'x', bus: 'bus-2' };
    const [first, second] = await Promise.all([
      issueDeviceCertificate(ca, request),
      issueDeviceCertificate(ca, request),
    ]);
    expect(first?.serial).to.not.equal(second?.serial);
    expect(first?.privateKeyPem).to.not.equal(second?.privateKeyPem);
    expect(first?.serial).to.match(/^[0-9A-F]{40}$/);
  });

  it('is refused by the chaincode for another org whose CA did not sign it', async () => {
    const ca = await loadSigningCa((await newCa('ca-d')).dir);
    const other = await newCa('ca-e');
    const device = await issueDeviceCertificate(ca, { enrollmentId: 'hems-y', homeId: 'y', bus: 'bus-1' });
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

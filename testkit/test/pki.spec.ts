import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import {
  fabricAttributes,
  normalizeSerial,
  verifyDeviceCertificate,
  verifyDeviceSignature,
} from '@hems/protocol';
import {
  createCa,
  createCsr,
  issueClient,
  issueDevice,
  issueFromCsr,
  issueServer,
  signForecast,
  signPayload,
} from '../src';

// The shared test PKI against the protocol's own certificate and signature checks.

describe('testkit PKI', () => {
  it('issues device certificates the protocol accepts, and signs with their keys', async () => {
    const ca = await createCa('UtilityAMSP');
    const device = await issueDevice(ca, { homeId: 'home-1', bus: 'bus-1' });
    const identity = verifyDeviceCertificate({
      pem: device.pem,
      org: 'UtilityAMSP',
      trustedCertificates: [new X509Certificate(ca.pem)],
      revokedSerials: new Set(),
      at: new Date('2026-06-01T00:00:00Z'),
    });
    expect(identity).to.include({ homeId: 'home-1', bus: 'bus-1', serial: normalizeSerial(device.serial) });
    for (const encoding of ['der', 'ieee-p1363'] as const) {
      const signed = signForecast(device, { slotId: 's-1', lower: 1, upper: 2 }, encoding);
      expect(verifyDeviceSignature(identity.publicKey, signed.payload, signed.signature)).to.be.true;
      expect(signed.certificate).to.equal(device.pem);
    }
    const other = signPayload(device, Buffer.from('{}'));
    expect(verifyDeviceSignature(identity.publicKey, Buffer.from('{ }'), other.signature)).to.be.false;
  });

  it('issues client, server and CSR certificates from one CA with unique serials', async () => {
    const ca = await createCa('DSOMSP');
    const client = await issueClient(ca, { name: 'admin', attrs: { 'hems.role': 'dso' } });
    expect(client.subject).to.include('CN=admin');
    expect(fabricAttributes(client)).to.deep.equal({ 'hems.role': 'dso' });
    const server = new X509Certificate((await issueServer(ca)).certificatePem);
    expect(server.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1');
    const fromCsr = new X509Certificate(
      await issueFromCsr(ca, await createCsr('hems-7'), { 'hems.home': '7' }),
    );
    expect(fromCsr.subject).to.equal('CN=hems-7');
    expect(fromCsr.checkIssued(new X509Certificate(ca.pem))).to.be.true;
    expect(new Set([client.serialNumber, server.serialNumber, fromCsr.serialNumber]).size).to.equal(3);
  });
});

import { expect } from 'chai';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import {
  AuctionContract,
  contracts,
  DrContract,
  GovernanceContract,
  TimeslotContract,
  TokenContract,
} from '../src/index';
import {
  allowedPowerKw,
  canonicalJson,
  collectionOf,
  FABRIC_ATTRIBUTES_OID,
  fabricAttributes,
  normalizeSerial,
  parseStoredRecord,
  splitPemBundle,
} from '@hems/protocol';
import { createCa } from './support/pki';

describe('chaincode entry point', () => {
  it('exports the timeslot contract first (the default), then governance, auction, token and dr', () => {
    expect(contracts).to.deep.equal([
      TimeslotContract,
      GovernanceContract,
      AuctionContract,
      TokenContract,
      DrContract,
    ]);
    expect(new TimeslotContract().getName()).to.equal('timeslot');
    expect(new GovernanceContract().getName()).to.equal('governance');
    expect(new AuctionContract().getName()).to.equal('auction');
    expect(new TokenContract().getName()).to.equal('token');
    expect(new DrContract().getName()).to.equal('dr');
    expect(collectionOf('UtilityAMSP')).to.equal('UtilityAMSPPrivateCollection');
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every depth, drops undefined members and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: null, f: true })).to.equal(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":null,"f":true}',
    );
  });

  it('refuses values JSON cannot hold deterministically', () => {
    expect(() => canonicalJson({ x: Number.NaN })).to.throw(/non-finite number at \$\.x/);
    expect(() => canonicalJson([Infinity])).to.throw(/\$\[0\]/);
    expect(() => canonicalJson({ f: () => 1 })).to.throw(/function/);
    expect(() => canonicalJson(10n)).to.throw(/bigint/);
  });

  it('reports corrupted stored records', () => {
    expect(() => parseStoredRecord(Buffer.from('{'), 'slot', [])).to.throw(/stored slot is not valid JSON/);
    expect(() => parseStoredRecord(Buffer.from('[1]'), 'slot', [])).to.throw(/not a JSON object/);
    expect(() => parseStoredRecord(Buffer.from('{"a":1}'), 'slot', ['a', 'b'])).to.throw(/lacks b/);
  });
});

describe('certificate helpers', () => {
  it('read no attributes from a certificate without the Fabric extension', async () => {
    const ca = await createCa('Plain');
    expect(fabricAttributes(new X509Certificate(ca.pem))).to.deep.equal({});
  });

  it('refuse an attribute extension that is not JSON, and ignore one without attrs', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const make = async (value: string): Promise<X509Certificate> => {
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: 'CN=x',
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2027-01-01T00:00:00Z'),
        signingAlgorithm: alg,
        keys,
        extensions: [new x509.Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(value))],
      });
      return new X509Certificate(cert.toString('pem'));
    };
    const notJson = await make('not json');
    expect(() => fabricAttributes(notJson)).to.throw(/not valid JSON/);
    expect(fabricAttributes(await make('{"other":1}'))).to.deep.equal({});
    expect(fabricAttributes(await make('{"attrs":{"a":"b","n":1}}'))).to.deep.equal({ a: 'b' });
  });

  it('split PEM bundles and normalize serial numbers', async () => {
    const a = await createCa('A');
    const b = await createCa('B');
    expect(splitPemBundle(`junk\n${a.pem}\nmore junk\n${b.pem}`)).to.have.length(2);
    expect(normalizeSerial(' 000a1B ')).to.equal('0A1B');
    expect(normalizeSerial('00')).to.equal('00');
  });
});

describe('allowed power (paper eq. 1)', () => {
  it('interpolates between Lmin and Lmax to the watt', () => {
    expect(allowedPowerKw(0, 1, 5)).to.equal(1);
    expect(allowedPowerKw(1, 1, 5)).to.equal(5);
    expect(allowedPowerKw(0.333, 0.1, 0.2)).to.equal(0.133);
  });
});

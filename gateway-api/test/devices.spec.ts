import 'reflect-metadata';
import { createHash, X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import { deviceAttributes } from './support/expectations';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import sinon, { type SinonStub } from 'sinon';
import { buildApp } from '../src/app';
import type { Ledger, LedgerContract, ServiceIdentity } from '../src/ledger/ports';
import {
  deviceEnrollmentId,
  deviceRoutes,
  MAX_CSR_CHARACTERS,
  type DeviceRoutesOptions,
} from '../src/resources/devices/routes';
import { FabricCaError, type FabricCaClient } from '../src/services/fabric-ca';
import { createCa, createCsr, ECDSA, issueClient, trustStoreOf, type TestCa } from './support/pki';

const CERT_HEADER = 'x-test-certificate';

interface FakeContract {
  readonly evaluate: SinonStub<
    Parameters<LedgerContract['evaluate']>,
    ReturnType<LedgerContract['evaluate']>
  >;
  readonly submit: SinonStub<Parameters<LedgerContract['submit']>, ReturnType<LedgerContract['submit']>>;
}

/** The Ledger port with sinon stubs; one fake contract per (identity, contract name). */
class StubLedger implements Ledger {
  readonly contracts = new Map<string, FakeContract>();
  readonly contract = sinon.spy((identity: ServiceIdentity, name: 'timeslot' | 'governance' = 'timeslot') =>
    this.fake(identity, name),
  );
  readonly blockHeight = sinon.stub<[], Promise<number>>().resolves(7);
  readonly block = sinon.stub().rejects(new Error('not used'));
  readonly transaction = sinon.stub().rejects(new Error('not used'));
  readonly close = sinon.stub();

  constructor(
    readonly mspId: string,
    readonly identities: readonly ServiceIdentity[],
  ) {}

  fake(identity: ServiceIdentity, name: 'timeslot' | 'governance' = 'timeslot'): FakeContract {
    const key = `${identity}/${name}`;
    let contract = this.contracts.get(key);
    if (contract === undefined) {
      contract = {
        evaluate: sinon.stub<
          Parameters<LedgerContract['evaluate']>,
          ReturnType<LedgerContract['evaluate']>
        >(),
        submit: sinon.stub<Parameters<LedgerContract['submit']>, ReturnType<LedgerContract['submit']>>(),
      };
      this.contracts.set(key, contract);
    }
    return contract;
  }
}

interface FakeCa {
  readonly register: SinonStub<
    Parameters<FabricCaClient['register']>,
    ReturnType<FabricCaClient['register']>
  >;
  readonly enroll: SinonStub<Parameters<FabricCaClient['enroll']>, ReturnType<FabricCaClient['enroll']>>;
  readonly revoke: SinonStub<Parameters<FabricCaClient['revoke']>, ReturnType<FabricCaClient['revoke']>>;
  readonly generateCrl: SinonStub<[], Promise<string>>;
}

function fakeCa(): FakeCa {
  return {
    register: sinon.stub<Parameters<FabricCaClient['register']>, ReturnType<FabricCaClient['register']>>(),
    enroll: sinon.stub<Parameters<FabricCaClient['enroll']>, ReturnType<FabricCaClient['enroll']>>(),
    revoke: sinon.stub<Parameters<FabricCaClient['revoke']>, ReturnType<FabricCaClient['revoke']>>(),
    generateCrl: sinon.stub<[], Promise<string>>(),
  };
}

interface Gateway {
  readonly app: FastifyInstance;
  readonly ledger: StubLedger;
  readonly logs: string[];
  send(certificate: X509Certificate | undefined, options: InjectOptions): Promise<LightMyRequestResponse>;
}

describe('device onboarding routes', () => {
  let cas: Map<string, TestCa>;
  let adminA: X509Certificate;
  let adminB: X509Certificate;
  let relayA: X509Certificate;
  let deviceA: X509Certificate;
  let dso: X509Certificate;
  let ca: FakeCa;
  let gateway: Gateway;
  let validCsr: string;

  async function start(
    devices: DeviceRoutesOptions | undefined,
    identities: readonly ServiceIdentity[] = ['relay', 'admin'],
  ): Promise<Gateway> {
    const ledger = new StubLedger('UtilityAMSP', identities);
    const trust = trustStoreOf(cas.values());
    const known = new Map<string, X509Certificate>();
    const logs: string[] = [];
    const app = await buildApp({
      ledger,
      trust,
      clientCertificate: (request) => {
        const name = request.headers[CERT_HEADER];
        return typeof name === 'string' ? known.get(name) : undefined;
      },
      logger: {
        level: 'trace',
        stream: new Writable({
          write(chunk: Buffer, _encoding, callback) {
            logs.push(chunk.toString('utf8'));
            callback();
          },
        }),
      },
      devices,
    });
    return {
      app,
      ledger,
      logs,
      send: (certificate, options) => {
        const headers = { ...(options.headers as Record<string, string> | undefined) };
        if (certificate !== undefined) {
          known.set(certificate.fingerprint256, certificate);
          headers[CERT_HEADER] = certificate.fingerprint256;
        }
        return app.inject({ ...options, headers });
      },
    };
  }

  function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
    return response.json<T>();
  }

  before(async () => {
    cas = new Map();
    for (const mspId of ['DSOMSP', 'UtilityAMSP', 'UtilityBMSP']) {
      cas.set(mspId, await createCa(mspId));
    }
    const a = cas.get('UtilityAMSP')!;
    adminA = await issueClient(a, { name: 'orgadmin', attrs: { 'hems.role': 'admin' } });
    relayA = await issueClient(a, { name: 'relay', attrs: { 'hems.role': 'relay' } });
    deviceA = await issueClient(a, {
      name: 'hems-a-001',
      attrs: { 'hems.role': 'hems', 'hems.home': 'home-a-001', 'hems.bus': 'bus-1' },
    });
    adminB = await issueClient(cas.get('UtilityBMSP')!, {
      name: 'orgadmin',
      attrs: { 'hems.role': 'admin' },
    });
    dso = await issueClient(cas.get('DSOMSP')!, { name: 'dso-operator', attrs: { 'hems.role': 'dso' } });
    validCsr = await createCsr('hems-home-a-101');
  });

  beforeEach(async () => {
    ca = fakeCa();
    gateway = await start({ ca });
  });

  afterEach(async () => {
    await gateway.app.close();
  });

  describe('deviceEnrollmentId', () => {
    it('is hems-<homeId> when possible, else a hash that cannot collide with it', () => {
      expect(deviceEnrollmentId('home-a-101')).to.equal('hems-home-a-101');
      expect(deviceEnrollmentId('owner@example.org')).to.equal('hems-owner@example.org');
      const colon = deviceEnrollmentId('meter:1234');
      expect(colon).to.equal(`hems~${createHash('sha256').update('meter:1234').digest('hex').slice(0, 32)}`);
      const long = 'h'.repeat(60);
      expect(deviceEnrollmentId(long)).to.match(/^hems~[0-9a-f]{32}$/);
      expect(deviceEnrollmentId('h'.repeat(59))).to.equal(`hems-${'h'.repeat(59)}`);
      expect(deviceEnrollmentId(long)).to.not.equal(deviceEnrollmentId(`${long}x`));
    });

    it('refuses options that are not a Fabric CA client', () => {
      const ledger = new StubLedger('UtilityAMSP', ['admin']);
      expect(() => deviceRoutes(ledger, { ca: {} })).to.throw('FabricCaClient');
      expect(() => deviceRoutes(ledger, 'yes')).to.throw('FabricCaClient');
      expect(() => deviceRoutes(ledger, undefined)).to.not.throw();
    });
  });

  describe('POST /v1/devices', () => {
    it("registers the home's device at the CA with hems attributes, one enrolment, and shows the secret once", async () => {
      ca.register.callsFake((request) => Promise.resolve(request.secret ?? 'none'));
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices',
        payload: { homeId: 'home-a-101', bus: 'bus-2' },
      });
      expect(response.statusCode).to.equal(201);
      expect(response.headers['cache-control']).to.equal('no-store');
      const body = json<{ enrollmentId: string; secret: string }>(response);
      expect(Object.keys(body)).to.have.members(['enrollmentId', 'secret']);
      expect(body.enrollmentId).to.equal('hems-home-a-101');
      expect(body.secret).to.match(/^[A-Za-z0-9_-]{32}$/);
      sinon.assert.calledOnceWithExactly(ca.register, {
        enrollmentId: 'hems-home-a-101',
        secret: body.secret,
        type: 'client',
        attributes: deviceAttributes('home-a-101', 'bus-2'),
        maxEnrollments: 1,
      });
      expect(gateway.logs.join('')).to.not.contain(body.secret);
      // A fresh secret every time.
      const again = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices',
        payload: { homeId: 'home-a-102', bus: 'bus-2' },
      });
      expect(json<{ secret: string }>(again).secret).to.not.equal(body.secret);
    });

    it('derives a hashed enrolment id for home ids with ":" or too long for a CN', async () => {
      ca.register.resolves('s3cret');
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices',
        payload: { homeId: 'urn:home:42', bus: 'bus-1' },
      });
      expect(response.statusCode).to.equal(201);
      expect(json(response).enrollmentId).to.match(/^hems~[0-9a-f]{32}$/);
      expect(ca.register.firstCall.args[0].attributes[1]).to.deep.equal({
        name: 'hems.home',
        value: 'urn:home:42',
        ecert: true,
      });
    });

    it('refuses callers without a certificate, other roles and other orgs’ admins before the CA', async () => {
      const payload = { homeId: 'home-a-101', bus: 'bus-1' };
      const none = await gateway.send(undefined, { method: 'POST', url: '/v1/devices', payload });
      expect(none.statusCode).to.equal(401);
      for (const caller of [relayA, deviceA, dso]) {
        const response = await gateway.send(caller, { method: 'POST', url: '/v1/devices', payload });
        expect(response.statusCode, caller.subject).to.equal(403);
        expect(json(response).message).to.contain('admin');
      }
      const foreign = await gateway.send(adminB, { method: 'POST', url: '/v1/devices', payload });
      expect(foreign.statusCode).to.equal(403);
      expect(json(foreign).message).to.contain('UtilityAMSP');
      sinon.assert.notCalled(ca.register);
    });

    it('refuses bad and hostile bodies with 400 before the CA', async () => {
      const bodies: unknown[] = [
        {},
        { homeId: 'home-a-101' },
        { bus: 'bus-1' },
        { homeId: 'home-a-101', bus: 'bus-1', role: 'admin' },
        { homeId: 'home-a-101', bus: 'bus-1', attributes: [{ name: 'hems.role', value: 'dso' }] },
        { homeId: '', bus: 'bus-1' },
        { homeId: '-home', bus: 'bus-1' },
        { homeId: 'h'.repeat(129), bus: 'bus-1' },
        { homeId: 'home a', bus: 'bus-1' },
        { homeId: 'home\n', bus: 'bus-1' },
        { homeId: 'home\u0000', bus: 'bus-1' },
        { homeId: 'hömé', bus: 'bus-1' },
        { homeId: '<script>alert(1)</script>', bus: 'bus-1' },
        { homeId: '../../etc/passwd', bus: 'bus-1' },
        { homeId: "home'; DROP TABLE users;--", bus: 'bus-1' },
        { homeId: 'home-a-101', bus: 'bus:1' },
        { homeId: 'home-a-101', bus: 'b'.repeat(33) },
        { homeId: 'home-a-101', bus: 'bus-1,hems.role=dso' },
        { homeId: { $ne: 1 }, bus: 'bus-1' },
        { homeId: ['home-a-101', 'x'], bus: 'bus-1' },
        [],
        'homeId=home-a-101',
      ];
      for (const payload of bodies) {
        const response = await gateway.send(adminA, {
          method: 'POST',
          url: '/v1/devices',
          payload: payload as InjectOptions['payload'],
          headers: { 'content-type': 'application/json' },
        });
        expect(response.statusCode, JSON.stringify(payload)).to.equal(400);
      }
      sinon.assert.notCalled(ca.register);
    });

    it('maps a duplicate registration to 409 and CA outages to 503/502, without CA details', async () => {
      ca.register.rejects(
        new FabricCaError(
          "Fabric CA ca-utilitya: register refused (HTTP 409, code 74): Identity 'hems-home-a-101' is already registered",
          'conflict',
          409,
          74,
        ),
      );
      const payload = { homeId: 'home-a-101', bus: 'bus-1' };
      const duplicate = await gateway.send(adminA, { method: 'POST', url: '/v1/devices', payload });
      expect(duplicate.statusCode).to.equal(409);
      expect(json(duplicate)).to.include({ code: 'CONFLICT', message: 'this device is already registered' });
      expect(json(duplicate)).to.not.have.property('secret');

      ca.register.rejects(
        new FabricCaError('Fabric CA ca-utilitya at https://localhost:7254 is unreachable', 'unavailable'),
      );
      const down = await gateway.send(adminA, { method: 'POST', url: '/v1/devices', payload });
      expect(down.statusCode).to.equal(503);
      expect(json(down).code).to.equal('CA_UNAVAILABLE');

      ca.register.rejects(new FabricCaError('register refused (HTTP 403, code 71)', 'forbidden', 403, 71));
      const refused = await gateway.send(adminA, { method: 'POST', url: '/v1/devices', payload });
      expect(refused.statusCode).to.equal(502);
      expect(json(refused).code).to.equal('CA_FAILED');

      ca.register.rejects(new TypeError('boom at /srv/secret/path'));
      const bug = await gateway.send(adminA, { method: 'POST', url: '/v1/devices', payload });
      expect(bug.statusCode).to.equal(500);
      expect(bug.body).to.not.contain('/srv');
    });
  });

  describe('POST /v1/enroll', () => {
    const certificatePem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

    it('enrols a device with its own CSR, without a client certificate, and returns its certificate', async () => {
      ca.enroll.resolves(certificatePem);
      const response = await gateway.send(undefined, {
        method: 'POST',
        url: '/v1/enroll',
        payload: { enrollmentId: 'hems-home-a-101', secret: 'one-time:secret!', csr: validCsr },
      });
      expect(response.statusCode).to.equal(201);
      expect(json(response)).to.deep.equal({ certificate: certificatePem });
      sinon.assert.calledOnceWithExactly(ca.enroll, {
        enrollmentId: 'hems-home-a-101',
        secret: 'one-time:secret!',
        csrPem: validCsr,
      });
      expect(gateway.logs.join('')).to.not.contain('one-time:secret!');
    });

    it('accepts the hashed form of enrolment ids and the NEW CERTIFICATE REQUEST label', async () => {
      ca.enroll.resolves(certificatePem);
      const id = deviceEnrollmentId('urn:home:42');
      const csr = (await createCsr(id)).replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST');
      const response = await gateway.send(undefined, {
        method: 'POST',
        url: '/v1/enroll',
        payload: { enrollmentId: id, secret: 's', csr },
      });
      expect(response.statusCode).to.equal(201);
      expect(ca.enroll.firstCall.args[0].csrPem).to.equal(csr);
    });

    it('refuses CSRs that are not PKCS#10 with an ECDSA P-256 key, signed, for this enrolment id', async () => {
      const otherCert = adminA.toString();
      const body = validCsr.split('\n');
      const tampered = [...body];
      // Flip a character inside the base64 of the signature (last full line before the footer).
      const line = tampered.length - 3;
      const text = tampered[line] ?? '';
      tampered[line] = `${text.slice(0, 10)}${text[10] === 'A' ? 'B' : 'A'}${text.slice(11)}`;
      const notPkcs10 = 'not a PEM-encoded PKCS#10';
      const notP256 = 'ECDSA P-256';
      const cases: [string, string, string][] = [
        ['garbage', 'hello', notPkcs10],
        ['empty PEM', '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n', notPkcs10],
        [
          'bad base64 DER',
          '-----BEGIN CERTIFICATE REQUEST-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n',
          notPkcs10,
        ],
        ['a certificate', otherCert, notPkcs10],
        ['two CSRs', `${validCsr}\n${validCsr}`, notPkcs10],
        [
          'RSA key',
          await createCsr('hems-home-a-101', {
            name: 'RSASSA-PKCS1-v1_5',
            modulusLength: 2048,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: 'SHA-256',
          }),
          notP256,
        ],
        ['P-384 key', await createCsr('hems-home-a-101', { name: 'ECDSA', namedCurve: 'P-384' }), notP256],
        ['wrong CN', await createCsr('hems-home-a-999'), 'CN, equal to enrollmentId'],
        [
          'extra subject fields (an OU=admin smuggled in)',
          await createCsr('hems-home-a-101', undefined, [], ', O=x/OU=admin, OU=admin'),
          'only a CN',
        ],
        ['tampered signature', tampered.join('\n'), 'signature does not verify'],
        [
          'CA request',
          await createCsr('hems-home-a-101', ECDSA, [
            new x509.BasicConstraintsExtension(true, undefined, true),
          ]),
          'CA certificate',
        ],
      ];
      for (const [what, csr, reason] of cases) {
        const response = await gateway.send(undefined, {
          method: 'POST',
          url: '/v1/enroll',
          payload: { enrollmentId: 'hems-home-a-101', secret: 's3cret', csr },
        });
        expect(response.statusCode, what).to.equal(400);
        expect(json(response).code, what).to.equal('INVALID_CSR');
        expect(json<{ message: string }>(response).message, what).to.contain(reason);
      }
      const huge = await gateway.send(undefined, {
        method: 'POST',
        url: '/v1/enroll',
        payload: {
          enrollmentId: 'hems-home-a-101',
          secret: 's3cret',
          csr: `${validCsr}${' '.repeat(MAX_CSR_CHARACTERS)}`,
        },
      });
      expect(huge.statusCode).to.equal(400);
      sinon.assert.notCalled(ca.enroll);
    });

    it('refuses bad bodies and non-device enrolment ids with 400', async () => {
      const bodies: unknown[] = [
        {},
        { enrollmentId: 'hems-home-a-101', secret: 's' },
        { enrollmentId: 'hems-home-a-101', csr: validCsr },
        { enrollmentId: 'relay', secret: 's', csr: validCsr },
        { enrollmentId: 'orgadmin', secret: 's', csr: validCsr },
        { enrollmentId: 'admin', secret: 's', csr: validCsr },
        { enrollmentId: 'hems-', secret: 's', csr: validCsr },
        { enrollmentId: 'hems~ABC', secret: 's', csr: validCsr },
        { enrollmentId: 'hems-a:b', secret: 's', csr: validCsr },
        { enrollmentId: 'hems-home-a-101', secret: '', csr: validCsr },
        { enrollmentId: 'hems-home-a-101', secret: 'with space', csr: validCsr },
        { enrollmentId: 'hems-home-a-101', secret: 'x'.repeat(129), csr: validCsr },
        { enrollmentId: 'hems-home-a-101', secret: 's', csr: validCsr, profile: 'tls' },
      ];
      for (const payload of bodies) {
        const response = await gateway.send(undefined, {
          method: 'POST',
          url: '/v1/enroll',
          payload: payload as InjectOptions['payload'],
        });
        expect(response.statusCode, JSON.stringify(payload).slice(0, 80)).to.equal(400);
      }
      sinon.assert.notCalled(ca.enroll);
    });

    it('answers 401 for a wrong or used secret and 409 when the CA says the identity is enrolled', async () => {
      ca.enroll.rejects(
        new FabricCaError(
          'enroll refused (HTTP 401, code 20): Authentication failure',
          'unauthenticated',
          401,
          20,
        ),
      );
      const payload = { enrollmentId: 'hems-home-a-101', secret: 'Wr0ng-secret', csr: validCsr };
      const wrong = await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload });
      expect(wrong.statusCode).to.equal(401);
      expect(json(wrong).code).to.equal('ENROLLMENT_REFUSED');
      expect(wrong.body).to.not.contain('Wr0ng-secret');
      expect(gateway.logs.join('')).to.not.contain('Wr0ng-secret');

      ca.enroll.rejects(new FabricCaError('enroll refused (HTTP 409)', 'conflict', 409));
      const twice = await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload });
      expect(twice.statusCode).to.equal(409);

      ca.enroll.rejects(new FabricCaError('enroll refused (HTTP 404)', 'not-found', 404));
      expect(
        (await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload })).statusCode,
      ).to.equal(401);

      ca.enroll.rejects(
        new FabricCaError('enroll refused (HTTP 400): CSR input validation failed', 'bad-request', 400),
      );
      const badAtCa = await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload });
      expect(badAtCa.statusCode).to.equal(400);
      expect(json(badAtCa).code).to.equal('INVALID_CSR');

      ca.enroll.rejects(new FabricCaError('enroll refused (HTTP 403)', 'forbidden', 403));
      expect(
        (await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload })).statusCode,
      ).to.equal(403);

      ca.enroll.rejects(new FabricCaError('timed out', 'unavailable'));
      expect(
        (await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload })).statusCode,
      ).to.equal(503);

      ca.enroll.rejects(new FabricCaError('HTTP 500', 'failed', 500));
      expect(
        (await gateway.send(undefined, { method: 'POST', url: '/v1/enroll', payload })).statusCode,
      ).to.equal(502);
    });
  });

  describe('POST /v1/devices/:enrollmentId/revoke', () => {
    it('revokes at the CA and records every revoked serial in the chaincode as the admin identity', async () => {
      ca.revoke.resolves({
        revoked: [
          { serial: '0ABC', aki: 'a1' },
          { serial: '7F01', aki: 'a1' },
          { serial: '0ABC', aki: 'a1' },
        ],
      });
      const governance = gateway.ledger.fake('admin', 'governance');
      governance.submit.resolves({ result: Buffer.from('{}'), transactionId: 'tx1' });
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices/hems-home-a-101/revoke',
        payload: { reason: 'keycompromise' },
      });
      expect(response.statusCode).to.equal(200);
      expect(json(response)).to.deep.equal({
        enrollmentId: 'hems-home-a-101',
        revokedSerials: ['0ABC', '7F01'],
      });
      sinon.assert.calledOnceWithExactly(ca.revoke, {
        enrollmentId: 'hems-home-a-101',
        reason: 'keycompromise',
      });
      sinon.assert.calledWith(gateway.ledger.contract, 'admin', 'governance');
      expect(governance.submit.args).to.deep.equal([
        ['RevokeDeviceCertificate', { arguments: ['0ABC', 'keycompromise'] }],
        ['RevokeDeviceCertificate', { arguments: ['7F01', 'keycompromise'] }],
      ]);
      sinon.assert.callOrder(ca.revoke, governance.submit);
    });

    it('defaults the reason, and takes serials already on the ledger as recorded', async () => {
      ca.revoke.resolves({ revoked: [{ serial: '0ABC', aki: 'a1' }] });
      const governance = gateway.ledger.fake('admin', 'governance');
      governance.submit.rejects(
        new Error(
          '10 ABORTED: failed to endorse transaction: chaincode response 500, CONFLICT: certificate 0ABC of UtilityAMSP is already revoked',
        ),
      );
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices/hems-home-a-101/revoke',
      });
      expect(response.statusCode).to.equal(200);
      expect(json(response).revokedSerials).to.deep.equal(['0ABC']);
      expect(ca.revoke.firstCall.args[0]).to.deep.equal({
        enrollmentId: 'hems-home-a-101',
        reason: 'unspecified',
      });
    });

    it('answers an empty list when the CA had nothing left to revoke', async () => {
      ca.revoke.resolves({ revoked: [] });
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: `/v1/devices/${deviceEnrollmentId('urn:home:42')}/revoke`,
        payload: {},
      });
      expect(response.statusCode).to.equal(200);
      expect(json(response).revokedSerials).to.deep.equal([]);
      expect(gateway.ledger.contracts.get('admin/governance')?.submit.called ?? false).to.equal(false);
    });

    it('says which serials the ledger did not record when the chaincode step fails', async () => {
      ca.revoke.resolves({
        revoked: [
          { serial: '0ABC', aki: 'a1' },
          { serial: '0DEF', aki: 'a1' },
        ],
      });
      const governance = gateway.ledger.fake('admin', 'governance');
      governance.submit.onFirstCall().resolves({ result: Buffer.from('{}'), transactionId: 'tx1' });
      governance.submit
        .onSecondCall()
        .rejects(new Error('INVALID_ARGUMENT: UtilityAMSP has reached 10000 revocations'));
      const response = await gateway.send(adminA, {
        method: 'POST',
        url: '/v1/devices/hems-home-a-101/revoke',
      });
      expect(response.statusCode).to.equal(502);
      expect(json(response).code).to.equal('REVOCATION_NOT_RECORDED');
      expect(json<{ message: string }>(response).message).to.contain('0DEF').and.not.contain('0ABC');
    });

    it('maps CA refusals: unknown identity 404, outage 503, anything else 502, and records nothing', async () => {
      const url = '/v1/devices/hems-home-a-101/revoke';
      ca.revoke.rejects(new FabricCaError('Identity hems-home-a-101 was not found', 'not-found', 404, 47));
      expect((await gateway.send(adminA, { method: 'POST', url })).statusCode).to.equal(404);
      ca.revoke.rejects(new FabricCaError('unreachable', 'unavailable'));
      expect((await gateway.send(adminA, { method: 'POST', url })).statusCode).to.equal(503);
      ca.revoke.rejects(new FabricCaError('Authorization failure', 'forbidden', 403, 71));
      expect((await gateway.send(adminA, { method: 'POST', url })).statusCode).to.equal(502);
      expect(gateway.ledger.contracts.get('admin/governance')?.submit.called ?? false).to.equal(false);
    });

    it('refuses other roles, other orgs’ admins, bad ids and reasons, and gateways without an admin identity', async () => {
      const url = '/v1/devices/hems-home-a-101/revoke';
      expect((await gateway.send(undefined, { method: 'POST', url })).statusCode).to.equal(401);
      for (const caller of [relayA, deviceA, dso, adminB]) {
        expect((await gateway.send(caller, { method: 'POST', url })).statusCode, caller.subject).to.equal(
          403,
        );
      }
      for (const id of ['relay', 'orgadmin', 'peer0', 'hems-', 'hems~xyz', '%00hems-a', 'hems-a%0A']) {
        const response = await gateway.send(adminA, { method: 'POST', url: `/v1/devices/${id}/revoke` });
        expect(response.statusCode, id).to.equal(400);
      }
      for (const payload of [
        { reason: 'because' },
        { reason: 'removefromcrl' },
        { reason: 'unspecified', x: 1 },
      ]) {
        const response = await gateway.send(adminA, { method: 'POST', url, payload });
        expect(response.statusCode, JSON.stringify(payload)).to.equal(400);
      }
      sinon.assert.notCalled(ca.revoke);

      await gateway.app.close();
      gateway = await start({ ca }, ['relay']);
      const noAdmin = await gateway.send(adminA, { method: 'POST', url });
      expect(noAdmin.statusCode).to.equal(503);
      sinon.assert.notCalled(ca.revoke);
    });
  });

  describe('without a configured CA', () => {
    it('answers 503 "device onboarding is not configured" on every device route', async () => {
      await gateway.app.close();
      gateway = await start(undefined);
      const calls: [X509Certificate | undefined, InjectOptions][] = [
        [adminA, { method: 'POST', url: '/v1/devices', payload: { homeId: 'home-a-101', bus: 'bus-1' } }],
        [
          undefined,
          {
            method: 'POST',
            url: '/v1/enroll',
            payload: { enrollmentId: 'hems-x', secret: 's', csr: validCsr },
          },
        ],
        [adminA, { method: 'POST', url: '/v1/devices/hems-x/revoke' }],
      ];
      for (const [certificate, options] of calls) {
        const response = await gateway.send(certificate, options);
        expect(response.statusCode, JSON.stringify(options.url)).to.equal(503);
        expect(json(response)).to.include({
          code: 'NOT_CONFIGURED',
          message: 'device onboarding is not configured',
        });
      }
      // Authentication still comes first.
      expect((await gateway.send(undefined, { method: 'POST', url: '/v1/devices' })).statusCode).to.equal(
        401,
      );
    });
  });

  it('describes the device routes in the OpenAPI document', async () => {
    const response = await gateway.send(undefined, { method: 'GET', url: '/docs/json' });
    const paths = json<{ paths: Record<string, { post?: { tags?: string[] } }> }>(response).paths;
    for (const route of ['/v1/devices', '/v1/enroll', '/v1/devices/{enrollmentId}/revoke']) {
      expect(paths[route]?.post?.tags, route).to.deep.equal(['devices']);
    }
  });
});

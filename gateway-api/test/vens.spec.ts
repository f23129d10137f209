import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import sinon, { type SinonStub } from 'sinon';
import type { ServiceIdentity, TransactionOptions } from '../src/ledger/ports';
import { checkCsr } from '../src/resources/devices/csr';
import { FabricCaError, type FabricCaClient } from '../src/services/fabric-ca';
import { venEnrollmentId } from '../src/services/ven-certificates';
import type { VenRecord } from '../src/services/ven-registry';
import { verifyVenSecret } from '../src/services/ven-secrets';
import {
  deviceAttributes,
  expectBadBodies,
  expectError,
  expectNoneOf,
  ledgerCall,
} from './support/expectations';
import { refusal, type FakeLedger } from './support/fake-ledger';
import { TestGateway } from './support/gateway';
import { issueClient, issueFromCsr, TestPki } from './support/pki';
import { DSO_IDENTITIES, UTILITY_IDENTITIES } from './support/suite';

type Stub<K extends keyof FabricCaClient> = SinonStub<
  Parameters<FabricCaClient[K]>,
  ReturnType<FabricCaClient[K]>
>;

interface FakeCa {
  readonly register: Stub<'register'>;
  readonly enroll: Stub<'enroll'>;
  readonly revoke: Stub<'revoke'>;
  readonly generateCrl: Stub<'generateCrl'>;
}

/** A Fabric CA that registers anything and enrols a CSR with the attributes it was registered with. */
function fakeCa(pki: TestPki): FakeCa {
  const attributes = new Map<string, Record<string, string>>();
  const ca: FakeCa = {
    register: sinon.stub<Parameters<FabricCaClient['register']>, ReturnType<FabricCaClient['register']>>(),
    enroll: sinon.stub<Parameters<FabricCaClient['enroll']>, ReturnType<FabricCaClient['enroll']>>(),
    revoke: sinon.stub<Parameters<FabricCaClient['revoke']>, ReturnType<FabricCaClient['revoke']>>(),
    generateCrl: sinon.stub<[], Promise<string>>(),
  };
  ca.register.callsFake((request) => {
    attributes.set(
      request.enrollmentId,
      Object.fromEntries(request.attributes.map((attribute) => [attribute.name, attribute.value])),
    );
    return Promise.resolve(request.secret ?? 'generated');
  });
  ca.enroll.callsFake((request) =>
    issueFromCsr(pki.ca('UtilityAMSP'), request.csrPem, attributes.get(request.enrollmentId) ?? {}),
  );
  ca.revoke.resolves({ revoked: [{ serial: '0ABC', aki: 'a1' }] });
  return ca;
}

const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';
const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
const REGISTERED_AT = '2026-11-20T10:00:00.000Z';
const REVOKED_AT = '2026-11-20T11:00:00.000Z';

/** The governance contract's VEN transactions over a map, as the chaincode keeps them (vens.ts). */
class VenChaincode {
  readonly records = new Map<string, VenRecord>();

  constructor(ledger: FakeLedger) {
    ledger
      .on('RegisterVen', (options: TransactionOptions) => this.register(options))
      .on('GetVen', (options: TransactionOptions) => this.get(text(options.transientData?.clientId)))
      .on('RevokeVen', (options: TransactionOptions) => {
        const found = this.get(text(options.transientData?.clientId));
        if (found.revokedAt !== undefined) {
          throw refusal('CONFLICT', 'this VEN is already revoked');
        }
        this.records.set(found.clientId, { ...found, revokedAt: REVOKED_AT });
        return { revokedAt: REVOKED_AT };
      })
      // Whole records, secret hash and certificate included: the answer schema must drop them.
      .on('ListVens', () => ({ vens: [...this.records.values()] }))
      .on('RevokeDeviceCertificate', {});
  }

  private register(options: TransactionOptions): { registeredAt: string } {
    const ven = JSON.parse(text(options.transientData?.ven)) as Omit<
      VenRecord,
      'homeId' | 'bus' | 'createdAt'
    >;
    if (this.records.has(ven.clientId)) {
      throw refusal('CONFLICT', 'a VEN with this client id is already registered');
    }
    const extension = new x509.X509Certificate(ven.certificate).getExtension(FABRIC_ATTRIBUTES_OID);
    const { attrs } = JSON.parse(Buffer.from(extension?.value ?? new ArrayBuffer(0)).toString('utf8')) as {
      attrs: Record<string, string>;
    };
    this.records.set(ven.clientId, {
      ...ven,
      homeId: attrs['hems.home'] ?? '',
      bus: attrs['hems.bus'] ?? '',
      createdAt: REGISTERED_AT,
    });
    return { registeredAt: REGISTERED_AT };
  }

  private get(clientId: string): VenRecord {
    const found = this.records.get(clientId);
    if (found === undefined) {
      throw refusal('NOT_FOUND', 'no VEN with this client id is registered');
    }
    return found;
  }
}

interface Registered {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly venId: string;
  readonly venName: string;
  readonly enrollmentId: string;
}

describe('OpenADR VEN routes', () => {
  let pki: TestPki;
  let admin: X509Certificate;
  let otherAdmin: X509Certificate;
  let dsoAdmin: X509Certificate;
  let others: X509Certificate[];
  let ca: FakeCa;
  let logs: string[];
  let gateway: TestGateway;
  let chaincode: VenChaincode;

  async function start(
    mspId = 'UtilityAMSP',
    identities: readonly ServiceIdentity[] = UTILITY_IDENTITIES,
    configured = true,
  ): Promise<void> {
    logs = [];
    gateway = await TestGateway.create(mspId, identities, {
      pki,
      logs,
      ...(configured ? { devices: { ca } } : {}),
    });
    chaincode = new VenChaincode(gateway.ledger);
  }

  const register = (body: unknown, caller = admin): Promise<LightMyRequestResponse> =>
    gateway.post(caller, '/v1/vens', body);
  const list = (caller = admin): Promise<LightMyRequestResponse> => gateway.get(caller, '/v1/vens');
  const revoke = (clientId: string, caller = admin): Promise<LightMyRequestResponse> =>
    gateway.request(caller, { method: 'DELETE', url: `/v1/vens/${clientId}` });

  /** Everything the gateway sent the ledger, as text: arguments and transient values. */
  const sentToLedger = (): string =>
    gateway.ledger.calls
      .flatMap((call) => [
        ...(call.options.arguments ?? []),
        ...Object.values(call.options.transientData ?? {}).map(text),
      ])
      .join('\n');

  before(async () => {
    pki = await TestPki.create();
    admin = await pki.role('UtilityAMSP', 'admin', 'orgadmin');
    otherAdmin = await pki.role('UtilityBMSP', 'admin', 'orgadmin');
    dsoAdmin = await pki.role('DSOMSP', 'admin', 'orgadmin');
    others = [
      await pki.role('UtilityAMSP', 'relay'),
      await pki.role('UtilityAMSP', 'meter'),
      await pki.device('UtilityAMSP', 'home-a-101', 'bus-1'),
      await pki.role('DSOMSP', 'dso'),
      await pki.role('RegulatorMSP', 'auditor'),
    ];
  });

  beforeEach(async () => {
    ca = fakeCa(pki);
    await start();
  });

  afterEach(() => gateway.app.close());

  describe('POST /v1/vens', () => {
    it("issues the home's certificate, stores the credentials with the secret's hash, and shows the secret once", async () => {
      const response = await register({ homeId: 'home-a-101', bus: 'bus-1' });
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.headers['cache-control']).to.equal('no-store');
      const body = response.json<Registered>();
      expect(Object.keys(body)).to.have.members([
        'clientId',
        'clientSecret',
        'venId',
        'venName',
        'enrollmentId',
      ]);
      expect(body.clientId).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(body.clientSecret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(body.venId).to.match(/^ven-[0-9a-f]{24}$/);
      const venIdentity = `oadr-${body.venId}`;
      expect(body).to.include({ venName: 'home-a-101', enrollmentId: venIdentity });

      // The CA: a home identity of its own (not the HEMS device's), one enrolment, with the CN as its id.
      sinon.assert.calledOnce(ca.register);
      const registration = ca.register.firstCall.args[0];
      expect(registration).to.deep.include({
        enrollmentId: venIdentity,
        type: 'client',
        attributes: deviceAttributes('home-a-101', 'bus-1'),
        maxEnrollments: 1,
      });
      expect(registration.secret).to.match(/^[A-Za-z0-9_-]{32}$/);
      sinon.assert.calledOnce(ca.enroll);
      const enrolment = ca.enroll.firstCall.args[0];
      expect(enrolment).to.include({ enrollmentId: venIdentity, secret: registration.secret });
      await checkCsr(enrolment.csrPem, venIdentity);

      // The ledger: ListVens first, then RegisterVen as the admin on its own peer, all in transient data.
      expect(gateway.ledger.calls.map((call) => call.name)).to.deep.equal(['ListVens', 'RegisterVen']);
      const [submitted] = gateway.ledger.callsOf('RegisterVen');
      expect(submitted).to.deep.include(ledgerCall('admin', 'governance', 'submit', 'RegisterVen'));
      expect(submitted?.options.arguments).to.equal(undefined);
      expect(submitted?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      const ven = JSON.parse(text(submitted?.options.transientData?.ven)) as Omit<VenRecord, 'homeId'>;
      expect(Object.keys(ven)).to.have.members(['clientId', 'venId', 'venName', 'certificate', 'secret']);
      expect(ven).to.include({ clientId: body.clientId, venId: body.venId, venName: 'home-a-101' });
      expect(ven.certificate).to.equal(await ca.enroll.firstCall.returnValue);
      expect(await verifyVenSecret(body.clientSecret, ven.secret)).to.equal(true);
      expect(chaincode.records.get(body.clientId)).to.include({ homeId: 'home-a-101', bus: 'bus-1' });
    });

    it('takes a VEN name, and gives every VEN a CA identity of its own, whatever the home id', async () => {
      const named = await register({ homeId: 'home-a-102', bus: 'bus-2', venName: 'Heat pump, kitchen' });
      const namedBody = named.json<Registered>();
      expect(namedBody).to.include({
        venName: 'Heat pump, kitchen',
        enrollmentId: `oadr-${namedBody.venId}`,
      });
      const other = await register({ homeId: 'urn:home:42', bus: 'bus-2' });
      expect(other.statusCode, other.body).to.equal(201);
      const enrollmentId = other.json<Registered>().enrollmentId;
      expect(enrollmentId)
        .to.match(/^oadr-ven-[0-9a-f]{24}$/)
        .and.equal(venEnrollmentId(other.json<Registered>().venId));
      expect(ca.enroll.secondCall.args[0].enrollmentId).to.equal(enrollmentId);
      // The home id stays an attribute of the certificate, never part of the CA identity's name.
      expect(enrollmentId).not.to.include('home');
    });

    it('keeps the client secret out of the logs and the ledger, and the hash out of every answer', async () => {
      const response = await register({ homeId: 'home-a-101', bus: 'bus-1' });
      const { clientId, clientSecret } = response.json<Registered>();
      const stored = chaincode.records.get(clientId);
      const listed = await list();
      const revoked = await revoke(clientId);
      expect(revoked.statusCode, revoked.body).to.equal(200);
      expect(logs.join('')).to.contain('/v1/vens');
      expectNoneOf(logs.join(''), [clientSecret]);
      expectNoneOf(sentToLedger(), [clientSecret]);
      for (const answer of [response, listed, revoked]) {
        expectNoneOf(answer.body, [stored?.secret.hash ?? '', stored?.secret.salt ?? '']);
        expect(answer.body).to.not.contain('CERTIFICATE');
      }
      // The secret went to the ledger only as its hash.
      expect(sentToLedger()).to.contain(stored?.secret.hash);
    });

    it('refuses a home that has an active VEN, before the CA; a revoked VEN does not count', async () => {
      const first = await register({ homeId: 'home-a-101', bus: 'bus-1' });
      const again = await register({ homeId: 'home-a-101', bus: 'bus-1', venName: 'second' });
      expectError(again, 409, 'CONFLICT', /already has a VEN/);
      sinon.assert.calledOnce(ca.register);
      expect(gateway.ledger.callsOf('RegisterVen')).to.have.length(1);

      await revoke(first.json<Registered>().clientId);
      const afterRevocation = await register({ homeId: 'home-a-101', bus: 'bus-1' });
      expect(afterRevocation.statusCode, afterRevocation.body).to.equal(201);
    });

    it('answers 409 when the CA already holds the home’s VEN identity, and maps CA outages and refusals', async () => {
      const body = { homeId: 'home-a-101', bus: 'bus-1' };
      ca.register.rejects(
        new FabricCaError(
          "register refused (HTTP 409): Identity 'oadr-ven-0' is already registered",
          'conflict',
          409,
          74,
        ),
      );
      expectError(await register(body), 409, 'CONFLICT', /CA already holds this VEN's identity/);
      ca.register.rejects(new FabricCaError('Fabric CA ca-utilitya is unreachable', 'unavailable'));
      expectError(await register(body), 503, 'CA_UNAVAILABLE');
      ca.register.rejects(new FabricCaError('register refused (HTTP 403, code 71)', 'forbidden', 403, 71));
      expectError(await register(body), 502, 'CA_FAILED');
      sinon.assert.notCalled(ca.enroll);

      ca.register.resolves('s3cret');
      ca.enroll.rejects(new FabricCaError('enroll refused (HTTP 401)', 'unauthenticated', 401, 20));
      expectError(await register(body), 502, 'CA_FAILED', /refused to issue/);
      ca.enroll.rejects(new FabricCaError('timed out', 'unavailable'));
      expectError(await register(body), 503, 'CA_UNAVAILABLE');
      // A certificate for another key than the CSR's.
      ca.enroll.resolves((await issueClient(pki.ca('UtilityAMSP'), { name: 'oadr-home-a-101' })).toString());
      expectError(await register(body), 502, 'CA_FAILED', /another key/);
      expect(gateway.ledger.callsOf('RegisterVen')).to.deep.equal([]);
      expectNoneOf(logs.join(''), ['s3cret']);
    });

    it("maps RegisterVen's refusals with the chaincode's code and message, and logs the used-up identity without the home", async () => {
      for (const [code, message, status] of [
        ['FORBIDDEN', 'device certificate 0ABC of UtilityAMSP is revoked', 403],
        ['CONFLICT', 'a VEN with this client id is already registered', 409],
        ['INVALID_ARGUMENT', 'venName must be 1-128 characters', 422],
      ] as const) {
        gateway.ledger.refuse('RegisterVen', code, message);
        const response = await register({ homeId: `home-${code.toLowerCase()}`, bus: 'bus-1' });
        expect(response.json()).to.deep.equal({ statusCode: status, code, message });
        expect(response.body).to.not.contain('clientSecret');
      }
      expect(logs.join('')).to.contain('RegisterVen failed');
      expectNoneOf(logs.join(''), ['home-forbidden', 'home-conflict', 'home-invalid_argument']);
    });

    it('refuses bad bodies with 400 before the CA or the ledger', async () => {
      const home = { homeId: 'home-a-101', bus: 'bus-1' };
      await expectBadBodies(
        [
          [{}, /must have required property 'homeId'/],
          [{ homeId: 'home-a-101' }, /must have required property 'bus'/],
          [{ ...home, clientSecret: 'mine' }, /must NOT have additional properties/],
          [{ ...home, clientId: 'AAAAAAAAAAAAAAAAAAAAAA' }, /must NOT have additional properties/],
          [{ ...home, homeId: '' }, /must match pattern/],
          [{ ...home, homeId: '-home' }, /must match pattern/],
          [{ ...home, homeId: 'home a' }, /must match pattern/],
          [{ ...home, homeId: 'h'.repeat(129) }, /must match pattern/],
          [{ ...home, homeId: 42 }, /must be string/],
          [{ ...home, bus: 'bus:1' }, /must match pattern/],
          [{ ...home, bus: 'b'.repeat(33) }, /must match pattern/],
          [{ ...home, venName: '' }, /must NOT have fewer than 1 characters/],
          [{ ...home, venName: 'n'.repeat(129) }, /must NOT have more than 128 characters/],
          [{ ...home, venName: 'line\nbreak' }, /must match pattern/],
          [{ ...home, venName: 'nul\u0000' }, /must match pattern/],
          [{ ...home, venName: ['a'] }, /must be string/],
          [{ ...home, venName: '😀'.repeat(65) }, /venName must be at most 128 characters/],
        ],
        (body) => register(body),
      );
      sinon.assert.notCalled(ca.register);
      expect(gateway.ledger.callsOf('RegisterVen')).to.deep.equal([]);
    });
  });

  describe('who may manage VENs', () => {
    it("refuses callers without a certificate, other roles and other orgs' admins, before the CA and the ledger", async () => {
      const body = { homeId: 'home-a-101', bus: 'bus-1' };
      expectError(await gateway.post(undefined, '/v1/vens', body), 401, 'UNAUTHENTICATED');
      for (const caller of others) {
        expectError(await register(body, caller), 403, 'FORBIDDEN', /admin/);
        expectError(await list(caller), 403, 'FORBIDDEN', /admin/);
        expectError(await revoke('AAAAAAAAAAAAAAAAAAAAAA', caller), 403, 'FORBIDDEN', /admin/);
      }
      for (const caller of [otherAdmin, dsoAdmin]) {
        expectError(await register(body, caller), 403, 'FORBIDDEN', /UtilityAMSP.*own admins/);
        expectError(await list(caller), 403, 'FORBIDDEN', /UtilityAMSP.*own admins/);
        expectError(await revoke('AAAAAAAAAAAAAAAAAAAAAA', caller), 403, 'FORBIDDEN', /UtilityAMSP/);
      }
      sinon.assert.notCalled(ca.register);
      sinon.assert.notCalled(ca.revoke);
      expect(gateway.ledger.calls).to.deep.equal([]);
    });

    it("refuses on a gateway that is not a utility's (no relay identity), even its own admins", async () => {
      await gateway.app.close();
      await start('DSOMSP', DSO_IDENTITIES);
      expectError(await register({ homeId: 'home-a-101', bus: 'bus-1' }, dsoAdmin), 403, 'FORBIDDEN', /VENs/);
      expectError(await list(dsoAdmin), 403, 'FORBIDDEN');
      expect(gateway.ledger.calls).to.deep.equal([]);
    });

    it('answers 503 on a gateway without the admin identity, before the CA', async () => {
      await gateway.app.close();
      await start('UtilityAMSP', ['relay']);
      expectError(
        await register({ homeId: 'home-a-101', bus: 'bus-1' }),
        503,
        'UNAVAILABLE',
        /admin identity/,
      );
      expectError(await revoke('AAAAAAAAAAAAAAAAAAAAAA'), 503, 'UNAVAILABLE', /admin identity/);
      sinon.assert.notCalled(ca.register);
      sinon.assert.notCalled(ca.revoke);
      expect(gateway.ledger.calls).to.deep.equal([]);
    });

    it('answers 503 NOT_CONFIGURED on every VEN route without a CA, after authentication', async () => {
      await gateway.app.close();
      await start('UtilityAMSP', UTILITY_IDENTITIES, false);
      for (const response of [
        await register({ homeId: 'home-a-101', bus: 'bus-1' }),
        await list(),
        await revoke('AAAAAAAAAAAAAAAAAAAAAA'),
      ]) {
        expectError(response, 503, 'NOT_CONFIGURED', /VEN management is not configured/);
      }
      expectError(await gateway.get(undefined, '/v1/vens'), 401, 'UNAUTHENTICATED');
      expect(gateway.ledger.calls).to.deep.equal([]);
    });
  });

  describe('GET /v1/vens', () => {
    it('lists the VENs, revoked ones with revokedAt, without secret hashes or certificates', async () => {
      const first = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      const second = (
        await register({ homeId: 'home-a-102', bus: 'bus-2', venName: 'Two' })
      ).json<Registered>();
      await revoke(first.clientId);
      const response = await list();
      expect(response.statusCode).to.equal(200);
      const { vens } = response.json<{ vens: Record<string, unknown>[] }>();
      expect(vens).to.deep.equal([
        {
          clientId: first.clientId,
          venId: first.venId,
          venName: 'home-a-101',
          homeId: 'home-a-101',
          bus: 'bus-1',
          createdAt: REGISTERED_AT,
          revokedAt: REVOKED_AT,
        },
        {
          clientId: second.clientId,
          venId: second.venId,
          venName: 'Two',
          homeId: 'home-a-102',
          bus: 'bus-2',
          createdAt: REGISTERED_AT,
        },
      ]);
      expect(gateway.ledger.callsOf('ListVens').at(-1)).to.deep.include(
        ledgerCall('relay', 'governance', 'evaluate', 'ListVens'),
      );
    });

    it("maps ListVens' refusals", async () => {
      gateway.ledger.refuse('ListVens', 'FORBIDDEN', 'ListVens must be evaluated on the caller’s own peer');
      expect((await list()).json()).to.deep.equal({
        statusCode: 403,
        code: 'FORBIDDEN',
        message: 'ListVens must be evaluated on the caller’s own peer',
      });
    });
  });

  describe('DELETE /v1/vens/{clientId}', () => {
    it("revokes the credentials on the ledger, then the home certificate at the CA, recorded as a device's", async () => {
      const { clientId, venId } = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      const before = gateway.ledger.calls.length;
      ca.revoke.resolves({
        revoked: [
          { serial: '0ABC', aki: 'a1' },
          { serial: '7F01', aki: 'a1' },
        ],
      });
      const response = await revoke(clientId);
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({
        clientId,
        revokedAt: REVOKED_AT,
        revokedSerials: ['0ABC', '7F01'],
      });
      const calls = gateway.ledger.calls.slice(before);
      expect(calls.map((call) => call.name)).to.deep.equal([
        'RevokeVen',
        'GetVen',
        'RevokeDeviceCertificate',
        'RevokeDeviceCertificate',
      ]);
      expect(calls[0]).to.deep.include(ledgerCall('admin', 'governance', 'submit', 'RevokeVen'));
      expect(calls[0]?.options).to.deep.equal({
        transientData: { clientId: Buffer.from(clientId, 'utf8') },
        endorsingOrganizations: ['UtilityAMSP'],
      });
      expect(calls.slice(2).map((call) => call.options.arguments)).to.deep.equal([
        ['0ABC', 'cessationofoperation'],
        ['7F01', 'cessationofoperation'],
      ]);
      sinon.assert.calledOnceWithExactly(ca.revoke, {
        enrollmentId: `oadr-${venId}`,
        reason: 'cessationofoperation',
      });
      expect(chaincode.records.get(clientId)?.revokedAt).to.equal(REVOKED_AT);
    });

    it('answers 404 for an unknown client id and 400 for one of the wrong form, without the CA', async () => {
      expectError(await revoke('ZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NOT_FOUND', /no VEN with this client id/);
      for (const clientId of [
        'short',
        'x'.repeat(65),
        'AAAAAAAAAAAAAAAA%20AAAAA',
        'AAAAAAAAAAAAAAAA.AAAAA',
      ]) {
        expectError(await revoke(clientId), 400, 'INVALID_REQUEST');
      }
      sinon.assert.notCalled(ca.revoke);
    });

    it('answers 409 for a VEN already revoked', async () => {
      const { clientId } = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      expect((await revoke(clientId)).statusCode).to.equal(200);
      ca.revoke.resolves({ revoked: [] });
      expectError(await revoke(clientId), 409, 'CONFLICT', /already revoked/);
      expect(gateway.ledger.callsOf('RevokeDeviceCertificate')).to.have.length(1);
    });

    it('says the credentials are revoked when the CA fails, and finishes on the next attempt', async () => {
      const { clientId } = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      ca.revoke.rejects(new FabricCaError('Fabric CA ca-utilitya is unreachable', 'unavailable'));
      expectError(
        await revoke(clientId),
        503,
        'CA_UNAVAILABLE',
        /credentials are revoked, but the revocation of its home certificate did not complete.*again/,
      );
      expect(chaincode.records.get(clientId)?.revokedAt).to.equal(REVOKED_AT);
      expect(gateway.ledger.callsOf('RevokeDeviceCertificate')).to.deep.equal([]);

      ca.revoke.resolves({ revoked: [{ serial: '0ABC', aki: 'a1' }] });
      const finished = await revoke(clientId);
      expect(finished.statusCode, finished.body).to.equal(200);
      expect(finished.json()).to.deep.equal({ clientId, revokedAt: REVOKED_AT, revokedSerials: ['0ABC'] });
      expect(gateway.ledger.callsOf('RevokeDeviceCertificate')).to.have.length(1);
    });

    it('takes an identity the CA does not know as nothing to revoke there', async () => {
      const { clientId } = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      ca.revoke.rejects(new FabricCaError('Identity oadr-home-a-101 was not found', 'not-found', 404, 47));
      const response = await revoke(clientId);
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.include({ revokedSerials: [] });
    });

    it('names the serials the ledger did not record', async () => {
      const { clientId } = (await register({ homeId: 'home-a-101', bus: 'bus-1' })).json<Registered>();
      gateway.ledger.refuse(
        'RevokeDeviceCertificate',
        'INVALID_ARGUMENT',
        'UtilityAMSP has reached 10000 revocations',
      );
      const response = await revoke(clientId);
      expectError(response, 502, 'REVOCATION_NOT_RECORDED', /credentials are revoked.*0ABC/);
      expect(response.json<{ message: string }>().message).to.not.contain('again');
    });
  });

  it('describes the VEN routes in the OpenAPI document, every answer field listed', async () => {
    const { paths } = (await gateway.get(undefined, '/docs/json')).json<{
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>>;
    }>();
    const operation = (
      path: string,
      method: string,
    ): { tags: string[]; responses: Record<string, unknown> } => {
      const found = paths[path]?.[method];
      expect(found, `${method} ${path}`).to.not.equal(undefined);
      return found!;
    };
    expect(Object.keys(paths['/v1/vens'] ?? {})).to.have.members(['get', 'post']);
    expect(Object.keys(paths['/v1/vens/{clientId}'] ?? {})).to.deep.equal(['delete']);
    const [listing, creation, revocation] = [
      operation('/v1/vens', 'get'),
      operation('/v1/vens', 'post'),
      operation('/v1/vens/{clientId}', 'delete'),
    ];
    for (const { tags } of [listing, creation, revocation]) {
      expect(tags).to.deep.equal(['vens']);
    }
    const created = JSON.stringify(creation.responses['201']);
    for (const field of ['clientId', 'clientSecret', 'venId', 'venName', 'enrollmentId']) {
      expect(created).to.contain(`"${field}"`);
    }
    const listed = JSON.stringify(listing.responses['200']);
    for (const field of ['clientId', 'venId', 'venName', 'homeId', 'bus', 'createdAt', 'revokedAt']) {
      expect(listed).to.contain(`"${field}"`);
    }
    expect(listed).to.not.contain('"secret"').and.not.contain('"certificate"');
    const revoked = JSON.stringify(revocation.responses['200']);
    for (const field of ['clientId', 'revokedAt', 'revokedSerials']) {
      expect(revoked).to.contain(`"${field}"`);
    }
    expect(Object.keys(revocation.responses)).to.include.members(['200', '404', '409', '503']);
  });
});

import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import sinon, { type SinonStub } from 'sinon';
import { deviceRoutes } from '../src/resources/devices/routes';
import { enrolmentSource } from '../src/resources/devices/enrolment-source';
import {
  DEFAULT_ENROLMENT_ATTEMPT_LIMITS,
  EnrolmentAttempts,
  type EnrolmentAdmission,
  type EnrolmentAttempt,
  type EnrolmentAttemptOptions,
} from '../src/services/enrolment-attempts';
import { FabricCaError, type FabricCaClient } from '../src/services/fabric-ca';
import { expectError, expectNoneOf } from './support/expectations';
import { TestGateway } from './support/gateway';
import { createCsr, TestPki } from './support/pki';
import { UTILITY_IDENTITIES } from './support/suite';

const RIGHT_SECRET = 'R1ght-S3cret-7c1f';
const WRONG_SECRET = 'Wr0ng-S3cret-9d2e';
const CERTIFICATE_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const MINUTE = 60_000;
const WINDOW = DEFAULT_ENROLMENT_ATTEMPT_LIMITS.windowMs;

type Enroll = SinonStub<Parameters<FabricCaClient['enroll']>, ReturnType<FabricCaClient['enroll']>>;

/** A CA whose enrol accepts RIGHT_SECRET only, answering anything else as Fabric CA does (401, code 20). */
function fakeCa(): FabricCaClient & { readonly enroll: Enroll } {
  const enroll: Enroll = sinon.stub();
  enroll.callsFake(({ secret }) =>
    secret === RIGHT_SECRET
      ? Promise.resolve(CERTIFICATE_PEM)
      : Promise.reject(
          new FabricCaError(
            'Fabric CA ca-utilitya: enroll refused (HTTP 401, code 20): Authentication failure',
            'unauthenticated',
            401,
            20,
          ),
        ),
  );
  return {
    enroll,
    register: sinon.stub().rejects(new Error('not used')),
    revoke: sinon.stub().rejects(new Error('not used')),
    generateCrl: sinon.stub().rejects(new Error('not used')),
  };
}

/** The attempt an admission admitted; a refusal fails the test. */
function admitted(admission: EnrolmentAdmission): EnrolmentAttempt {
  if (!admission.admitted) {
    throw new Error(`refused: ${admission.refusal.reason}`);
  }
  return admission.attempt;
}

describe('enrolment attempt limits', () => {
  let pki: TestPki;
  let adminA: X509Certificate;
  let adminB: X509Certificate;
  let others: X509Certificate[];
  const csrs = new Map<string, string>();
  let clock: number;
  let ca: ReturnType<typeof fakeCa>;
  let attempts: EnrolmentAttempts;
  let gateway: TestGateway;
  let logs: string[];
  let answers: string[];

  const csrFor = async (enrollmentId: string): Promise<string> => {
    const known = csrs.get(enrollmentId);
    if (known !== undefined) {
      return known;
    }
    const csr = await createCsr(enrollmentId);
    csrs.set(enrollmentId, csr);
    return csr;
  };

  /** Records every answer, for the privacy checks. */
  const recorded = (response: LightMyRequestResponse): LightMyRequestResponse => {
    answers.push(JSON.stringify(response.headers), response.body);
    return response;
  };

  async function enrol(
    enrollmentId: string,
    secret: string,
    from = '198.51.100.7',
  ): Promise<LightMyRequestResponse> {
    const payload = { enrollmentId, secret, csr: await csrFor(enrollmentId) };
    return recorded(
      await gateway.request(undefined, { method: 'POST', url: '/v1/enroll', payload, remoteAddress: from }),
    );
  }

  async function asAdmin(
    certificate: X509Certificate | undefined,
    method: 'GET' | 'DELETE',
    url: string,
  ): Promise<LightMyRequestResponse> {
    return recorded(await gateway.request(certificate, { method, url }));
  }

  const attemptsUrl = (enrollmentId: string, query = ''): string =>
    `/v1/devices/${enrollmentId}/enrollment-attempts${query}`;

  function expectLocked(response: LightMyRequestResponse, code: string, retryAfterSeconds: number): void {
    expectError(response, 429, code);
    expect(response.headers['retry-after']).to.equal(String(retryAfterSeconds));
  }

  async function start(options: EnrolmentAttemptOptions = {}): Promise<void> {
    attempts = new EnrolmentAttempts({ now: () => clock, ...options });
    gateway = await TestGateway.create('UtilityAMSP', UTILITY_IDENTITIES, {
      pki,
      logs,
      devices: { ca, attempts },
    });
  }

  before(async () => {
    pki = await TestPki.create();
    adminA = await pki.role('UtilityAMSP', 'admin', 'orgadmin');
    adminB = await pki.role('UtilityBMSP', 'admin', 'orgadmin');
    others = [
      await pki.role('UtilityAMSP', 'relay'),
      await pki.role('DSOMSP', 'dso'),
      await pki.device('UtilityAMSP', 'home-a-001', 'bus-1'),
    ];
  });

  beforeEach(async () => {
    clock = Date.parse('2030-01-01T10:00:00Z');
    ca = fakeCa();
    logs = [];
    answers = [];
    await start();
  });

  afterEach(async () => {
    await gateway.app.close();
  });

  describe('per enrolment id', () => {
    it('refuses the 4th attempt after 3 wrong secrets with 429 and Retry-After, without asking the CA', async () => {
      for (let i = 0; i < 3; i += 1) {
        expectError(await enrol('hems-home-a-101', WRONG_SECRET), 401, 'ENROLLMENT_REFUSED');
        clock += MINUTE;
      }
      // Also the right secret, and from another address: the id waits for its window.
      const locked = await enrol('hems-home-a-101', RIGHT_SECRET, '203.0.113.9');
      expectLocked(locked, 'ENROLLMENT_LOCKED', (WINDOW - 3 * MINUTE) / 1000);
      expect(locked.json<{ message: string }>().message)
        .to.contain('UtilityAMSP')
        .and.not.contain('home-a-101');
      sinon.assert.callCount(ca.enroll, 3);
      // Other devices are not held up.
      expect((await enrol('hems-home-a-102', RIGHT_SECRET)).statusCode).to.equal(201);
    });

    it('lets failures age out of the window (a fake clock)', async () => {
      for (let i = 0; i < 3; i += 1) {
        await enrol('hems-home-a-101', WRONG_SECRET);
      }
      clock += WINDOW - 1000;
      expectLocked(await enrol('hems-home-a-101', RIGHT_SECRET), 'ENROLLMENT_LOCKED', 1);
      clock += 1000;
      expect((await enrol('hems-home-a-101', RIGHT_SECRET)).statusCode).to.equal(201);
      sinon.assert.callCount(ca.enroll, 4);
    });

    it('clears the id’s counts on a success', async () => {
      await enrol('hems-home-a-101', WRONG_SECRET);
      await enrol('hems-home-a-101', WRONG_SECRET);
      expect((await enrol('hems-home-a-101', RIGHT_SECRET)).statusCode).to.equal(201);
      expect(attempts.status('hems-home-a-101')).to.deep.equal({
        failuresInWindow: 0,
        failuresSinceSuccess: 0,
        attemptsInProgress: 0,
        lock: 'none',
      });
      for (let i = 0; i < 3; i += 1) {
        expectError(await enrol('hems-home-a-101', WRONG_SECRET), 401, 'ENROLLMENT_REFUSED');
      }
      expectError(await enrol('hems-home-a-101', WRONG_SECRET), 429, 'ENROLLMENT_LOCKED');
      sinon.assert.callCount(ca.enroll, 6);
    });

    it('never lets the CA count 10 wrong secrets, however long a stranger keeps trying from fresh addresses', async () => {
      let address = 0;
      const fresh = (): string => `10.${(address >> 16) & 0xff}.${(address >> 8) & 0xff}.${address++ & 0xff}`;
      for (let minute = 0; minute < 24 * 60; minute += 5) {
        for (let i = 0; i < 3; i += 1) {
          const response = await enrol('hems-home-a-101', WRONG_SECRET, fresh());
          expect(response.statusCode).to.be.oneOf([401, 429]);
        }
        clock += 5 * MINUTE;
      }
      // 3 per window, then 6 since the last success: only an admin lets it try again.
      sinon.assert.callCount(ca.enroll, DEFAULT_ENROLMENT_ATTEMPT_LIMITS.maxFailuresSinceSuccess);
      expect(DEFAULT_ENROLMENT_ATTEMPT_LIMITS.maxFailuresSinceSuccess).to.be.below(10);
      const locked = await enrol('hems-home-a-101', RIGHT_SECRET);
      expectLocked(locked, 'ENROLLMENT_LOCKED', WINDOW / 1000);
      expect(locked.json<{ message: string }>().message).to.contain('an admin of UtilityAMSP must reset');
    });

    it('counts attempts as they start, so parallel requests cannot overshoot the limit', async () => {
      const pending: (() => void)[] = [];
      ca.enroll.callsFake(
        () =>
          new Promise<string>((_resolve, reject) => {
            pending.push(() =>
              reject(new FabricCaError('Authentication failure', 'unauthenticated', 401, 20)),
            );
          }),
      );
      const csr = await csrFor('hems-home-a-101');
      const sent = Array.from({ length: 6 }, (_, i) =>
        gateway.request(undefined, {
          method: 'POST',
          url: '/v1/enroll',
          payload: { enrollmentId: 'hems-home-a-101', secret: `${WRONG_SECRET}${i}`, csr },
          remoteAddress: `192.0.2.${i + 1}`,
        }),
      );
      while (pending.length < 3) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pending).to.have.length(3);
      pending.forEach((fail) => fail());
      const statuses = (await Promise.all(sent)).map((response) => recorded(response).statusCode);
      expect(statuses.filter((status) => status === 401)).to.have.length(3);
      expect(statuses.filter((status) => status === 429)).to.have.length(3);
      sinon.assert.callCount(ca.enroll, 3);
      expect(attempts.status('hems-home-a-101')).to.include({ failuresInWindow: 3, attemptsInProgress: 0 });
    });

    it('does not count answers that say nothing about the secret: a bad CSR, the CA unreachable', async () => {
      const csr = await createCsr('hems-home-a-999');
      for (let i = 0; i < 4; i += 1) {
        const response = await gateway.request(undefined, {
          method: 'POST',
          url: '/v1/enroll',
          payload: { enrollmentId: 'hems-home-a-101', secret: WRONG_SECRET, csr },
        });
        expectError(response, 400, 'INVALID_CSR');
      }
      ca.enroll.rejects(new FabricCaError('Fabric CA ca-utilitya is unreachable', 'unavailable'));
      for (let i = 0; i < 4; i += 1) {
        expectError(await enrol('hems-home-a-101', WRONG_SECRET), 503, 'CA_UNAVAILABLE');
      }
      expect(attempts.status('hems-home-a-101').failuresSinceSuccess).to.equal(0);
      ca.enroll.rejects(new FabricCaError('Identity not found', 'not-found', 404));
      expectError(await enrol('hems-home-a-101', WRONG_SECRET), 401, 'ENROLLMENT_REFUSED');
      expect(attempts.status('hems-home-a-101').failuresSinceSuccess).to.equal(1);
    });
  });

  describe('per source', () => {
    it('refuses an address after 20 failures in 15 minutes, whatever id it tries, and counts an IPv6 /64 as one', async () => {
      for (let i = 0; i < 20; i += 1) {
        const from = i % 2 === 0 ? '2001:db8:1:2::a' : `2001:db8:1:2:ffff::${i.toString(16)}`;
        expectError(await enrol(`hems-guess-${i}`, WRONG_SECRET, from), 401, 'ENROLLMENT_REFUSED');
      }
      clock += 5 * MINUTE;
      const refused = await enrol('hems-guess-20', RIGHT_SECRET, '2001:db8:1:2:1234::1');
      expectLocked(refused, 'TOO_MANY_ATTEMPTS', (WINDOW - 5 * MINUTE) / 1000);
      sinon.assert.callCount(ca.enroll, 20);
      // Another /64, and a legitimate device behind another address, are not affected.
      expect((await enrol('hems-guess-20', RIGHT_SECRET, '2001:db8:1:3::1')).statusCode).to.equal(201);
      expect((await enrol('hems-home-a-101', RIGHT_SECRET, '198.51.100.8')).statusCode).to.equal(201);
      clock += WINDOW;
      expect((await enrol('hems-guess-21', RIGHT_SECRET, '2001:db8:1:2::a')).statusCode).to.equal(201);
    });

    it('keys sources by IPv4 address, IPv4-mapped IPv6 as IPv4, and IPv6 by /64', () => {
      expect(enrolmentSource('198.51.100.7')).to.equal('198.51.100.7');
      expect(enrolmentSource('::ffff:198.51.100.7')).to.equal('198.51.100.7');
      expect(enrolmentSource('::ffff:c633:6407')).to.equal('198.51.100.7');
      expect(enrolmentSource('2001:db8:1:2::a')).to.equal('2001:db8:1:2::/64');
      expect(enrolmentSource('2001:0db8:0001:0002:ffff:0:0:1')).to.equal('2001:db8:1:2::/64');
      expect(enrolmentSource('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
      expect(enrolmentSource('::1')).to.equal('0:0:0:0::/64');
      expect(enrolmentSource('not an address')).to.equal('not an address');
    });
  });

  describe('admin reset and status', () => {
    async function lockWindow(enrollmentId: string): Promise<void> {
      for (let i = 0; i < 3; i += 1) {
        await enrol(enrollmentId, WRONG_SECRET);
      }
      expectError(await enrol(enrollmentId, RIGHT_SECRET), 429, 'ENROLLMENT_LOCKED');
    }

    it('shows an admin the counts and the lock, and lifts a window lock with DELETE (204)', async () => {
      await lockWindow('hems-home-a-101');
      const status = await asAdmin(adminA, 'GET', attemptsUrl('hems-home-a-101'));
      expect(status.statusCode).to.equal(200);
      expect(status.json()).to.deep.equal({
        enrollmentId: 'hems-home-a-101',
        failuresInWindow: 3,
        failuresSinceSuccess: 3,
        attemptsInProgress: 0,
        lock: 'window',
        retryAfterSeconds: WINDOW / 1000,
        limits: {
          maxFailuresPerWindow: 3,
          windowSeconds: 900,
          maxFailuresSinceSuccess: 6,
          caPasswordAttempts: 10,
        },
      });
      const reset = await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101'));
      expect(reset.statusCode).to.equal(204);
      expect(reset.body).to.equal('');
      expect((await enrol('hems-home-a-101', RIGHT_SECRET)).statusCode).to.equal(201);
      expect((await asAdmin(adminA, 'GET', attemptsUrl('hems-home-a-101'))).json()).to.include({
        failuresSinceSuccess: 0,
        lock: 'none',
      });
      // Resetting an id the gateway holds nothing about is no error.
      expect((await asAdmin(adminA, 'DELETE', attemptsUrl('hems-never-seen'))).statusCode).to.equal(204);
    });

    it('keeps the count since the last success on a window reset; scope=all clears it', async () => {
      await lockWindow('hems-home-a-101');
      await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101'));
      await lockWindow('hems-home-a-101');
      await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101', '?scope=window'));
      // 6 failures since the last success: a window reset no longer helps.
      expect((await asAdmin(adminA, 'GET', attemptsUrl('hems-home-a-101'))).json()).to.include({
        failuresInWindow: 0,
        failuresSinceSuccess: 6,
        lock: 'admin',
      });
      expectLocked(await enrol('hems-home-a-101', RIGHT_SECRET), 'ENROLLMENT_LOCKED', WINDOW / 1000);
      sinon.assert.callCount(ca.enroll, 6);
      // After a new secret at the CA, the admin clears everything.
      expect(
        (await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101', '?scope=all'))).statusCode,
      ).to.equal(204);
      expect((await enrol('hems-home-a-101', RIGHT_SECRET)).statusCode).to.equal(201);
    });

    it('refuses callers without a certificate, other roles and other orgs’ admins, and lifts nothing', async () => {
      await lockWindow('hems-home-a-101');
      for (const method of ['GET', 'DELETE'] as const) {
        expectError(await asAdmin(undefined, method, attemptsUrl('hems-home-a-101')), 401, 'UNAUTHENTICATED');
        for (const caller of others) {
          expectError(await asAdmin(caller, method, attemptsUrl('hems-home-a-101')), 403, 'FORBIDDEN');
        }
        const foreign = await asAdmin(adminB, method, attemptsUrl('hems-home-a-101'));
        expectError(foreign, 403, 'FORBIDDEN', /UtilityAMSP/);
      }
      expectError(await enrol('hems-home-a-101', RIGHT_SECRET), 429, 'ENROLLMENT_LOCKED');
    });

    it('answers 4xx, never 5xx, to bad ids, queries and methods', async () => {
      for (const id of [
        ...'relay orgadmin hems- hems~XYZ %00hems-a hems-a%0A'.split(' '),
        `hems-${'a'.repeat(70)}`,
      ]) {
        for (const method of ['GET', 'DELETE'] as const) {
          expectError(await asAdmin(adminA, method, attemptsUrl(id)), 400, 'INVALID_REQUEST');
        }
      }
      for (const query of '?scope=everything ?scope=all&scope=window ?force=true ?scope[]=all ?scope='.split(
        ' ',
      )) {
        const response = await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101', query));
        expectError(response, 400, 'INVALID_REQUEST');
      }
      for (const method of ['POST', 'PUT', 'PATCH'] as const) {
        const response = await gateway.request(adminA, { method, url: attemptsUrl('hems-home-a-101') });
        expect(response.statusCode, method).to.be.within(400, 499);
      }
      const hostileBodies: unknown[] = [
        { enrollmentId: 'hems-home-a-101', secret: WRONG_SECRET, csr: 'x', extra: 1 },
        { enrollmentId: ['hems-home-a-101'], secret: WRONG_SECRET, csr: 'x' },
        { enrollmentId: 'hems-home-a-101', secret: { $ne: 1 }, csr: 'x' },
      ];
      for (const payload of hostileBodies) {
        const response = await gateway.request(undefined, {
          method: 'POST',
          url: '/v1/enroll',
          payload: payload as InjectOptions['payload'],
          remoteAddress: 'garbage',
        });
        expect(response.statusCode).to.equal(400);
      }
      sinon.assert.notCalled(ca.enroll);
    });

    it('answers 503 NOT_CONFIGURED on a gateway without a CA, after authentication', async () => {
      await gateway.app.close();
      gateway = await TestGateway.create('UtilityAMSP', UTILITY_IDENTITIES, { pki });
      for (const method of ['GET', 'DELETE'] as const) {
        expectError(await asAdmin(adminA, method, attemptsUrl('hems-home-a-101')), 503, 'NOT_CONFIGURED');
        expectError(await asAdmin(undefined, method, attemptsUrl('hems-home-a-101')), 401, 'UNAUTHENTICATED');
      }
    });
  });

  it('keeps every enrolment secret out of the logs and the answers', async () => {
    await gateway.app.close();
    await start({ maxFailuresPerSource: 4 });
    for (let i = 0; i < 3; i += 1) {
      await enrol('hems-home-a-101', `${WRONG_SECRET}${i}`);
    }
    await enrol('hems-home-a-101', RIGHT_SECRET);
    await enrol('hems-home-a-102', `${WRONG_SECRET}3`);
    await enrol('hems-home-a-103', RIGHT_SECRET);
    await asAdmin(adminA, 'GET', attemptsUrl('hems-home-a-101'));
    await asAdmin(adminA, 'DELETE', attemptsUrl('hems-home-a-101', '?scope=all'));
    await enrol('hems-home-a-101', RIGHT_SECRET, '198.51.100.99');
    expect(answers.join('\n')).to.contain('ENROLLMENT_LOCKED').and.contain('TOO_MANY_ATTEMPTS');
    expect(logs.join('')).to.contain('enrolment attempt refused by its limits');
    const secrets = [RIGHT_SECRET, WRONG_SECRET, ...[0, 1, 2, 3].map((i) => `${WRONG_SECRET}${i}`)];
    expectNoneOf(logs.join(''), secrets);
    expectNoneOf(answers.join('\n'), secrets);
  });

  it('documents the limits in the OpenAPI document', async () => {
    const response = await gateway.request(undefined, { method: 'GET', url: '/docs/json' });
    const paths = response.json<{
      paths: Record<string, Record<string, { tags?: string[]; responses?: Record<string, unknown> }>>;
    }>().paths;
    expect(paths['/v1/enroll']?.post?.responses?.['429']).to.have.nested.property('headers.retry-after');
    const route = paths['/v1/devices/{enrollmentId}/enrollment-attempts'];
    expect(route?.get?.tags).to.deep.equal(['devices']);
    expect(route?.delete?.tags).to.deep.equal(['devices']);
    expect(Object.keys(route?.delete?.responses ?? {})).to.include('204');
  });

  describe('EnrolmentAttempts', () => {
    it('refuses limits that could reach the CA lockout or make no sense', () => {
      const refused: [EnrolmentAttemptOptions, string][] = [
        [{ maxFailuresSinceSuccess: 10 }, 'passwordattempts (10)'],
        [{ maxFailuresSinceSuccess: 4, caPasswordAttempts: 4 }, 'passwordattempts (4)'],
        [{ maxFailuresPerId: 7 }, 'maxFailuresPerId'],
        ...[0, -1, 1.5, Number.NaN, Infinity].map((bad): [EnrolmentAttemptOptions, string] => [
          { windowMs: bad },
          'windowMs must be a positive integer',
        ]),
      ];
      for (const [options, message] of refused) {
        expect(() => new EnrolmentAttempts(options), message).to.throw(RangeError, message);
      }
      expect(new EnrolmentAttempts().limits).to.deep.equal(DEFAULT_ENROLMENT_ATTEMPT_LIMITS);
    });

    it('settles an attempt once, and releases attempts that said nothing about the secret', () => {
      const limits = new EnrolmentAttempts({ now: () => clock });
      const first = admitted(limits.begin('hems-a', 'src'));
      first.settle('failure');
      first.settle('failure');
      expect(limits.status('hems-a')).to.include({ failuresInWindow: 1, failuresSinceSuccess: 1 });
      for (let i = 0; i < 10; i += 1) {
        admitted(limits.begin('hems-a', 'src')).settle('neutral');
      }
      expect(limits.status('hems-a')).to.include({ failuresInWindow: 1, attemptsInProgress: 0 });
    });

    it('bounds its memory: the least recently failed ids and sources are forgotten first', () => {
      const limits = new EnrolmentAttempts({
        now: () => clock,
        maxIds: 2,
        maxSources: 2,
        maxFailuresPerSource: 1,
      });
      for (const id of ['hems-a', 'hems-b', 'hems-c']) {
        admitted(limits.begin(id, id)).settle('failure');
      }
      expect(limits.status('hems-a').failuresSinceSuccess).to.equal(0);
      expect(limits.status('hems-b').failuresSinceSuccess).to.equal(1);
      expect(limits.status('hems-c').failuresSinceSuccess).to.equal(1);
      expect(limits.begin('hems-x', 'hems-a').admitted).to.equal(true);
      expect(limits.begin('hems-x', 'hems-c').admitted).to.equal(false);
    });

    it('is the only kind of attempts deviceRoutes takes', () => {
      const ledger = gateway.ledger;
      expect(() => deviceRoutes(ledger, { ca, attempts: {} })).to.throw('EnrolmentAttempts');
      expect(() => deviceRoutes(ledger, { ca, attempts })).to.not.throw();
    });
  });
});

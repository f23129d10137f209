import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, KeyObject, verify, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { deviceAttributes, rejectionOf } from './support/expectations';
import {
  createFabricCaToken,
  FabricCaError,
  FabricCaRestClient,
  loadRegistrarFromMsp,
  normalizeCaSerial,
  signLowS,
  type FabricCaClientOptions,
} from '../src/services/fabric-ca';
import { createCa, issueCredentials, issueServer, type Credentials } from './support/pki';

const P256_ORDER = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
const CA_NAME = 'ca-utilitya';

interface TestPki {
  readonly caPem: string;
  readonly server: Credentials;
  readonly registrar: Credentials;
  readonly stranger: Credentials;
  readonly otherCaPem: string;
}

async function createPki(): Promise<TestPki> {
  const ca = await createCa('UtilityAMSP');
  const other = await createCa('SomebodyElse');
  return {
    caPem: ca.pem,
    otherCaPem: other.pem,
    server: await issueServer(ca),
    registrar: await issueCredentials(ca, 'CN=admin'),
    stranger: await issueCredentials(other, 'CN=admin'),
  };
}

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

type Answer = { status: number; body: unknown } | { status: number; raw: string } | 'hang';

/** A Fabric CA stand-in: records each request and answers what the test queued for its path. */
class StubCa {
  readonly requests: Recorded[] = [];
  readonly answers = new Map<string, Answer>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(pki: TestPki): Promise<StubCa> {
    const holder: { stub?: StubCa } = {};
    const server = createServer({ key: pki.server.keyPem, cert: pki.server.certificatePem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const recorded: Recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        holder.stub?.requests.push(recorded);
        const answer = holder.stub?.answers.get(recorded.url.replace(/^.*\/api\/v1\//, '')) ?? {
          status: 404,
          body: {
            success: false,
            result: null,
            errors: [{ code: 0, message: 'no such endpoint' }],
            messages: [],
          },
        };
        if (answer === 'hang') {
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end('raw' in answer ? answer.raw : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.stub = new StubCa(server, `https://localhost:${port}`);
    return holder.stub;
  }

  ok(endpoint: string, result: unknown): void {
    this.answers.set(endpoint, { status: 201, body: { success: true, result, errors: [], messages: [] } });
  }

  fail(endpoint: string, status: number, code: number, message: string): void {
    this.answers.set(endpoint, {
      status,
      body: { success: false, result: null, errors: [{ code, message }], messages: [] },
    });
  }

  get last(): Recorded {
    const last = this.requests.at(-1);
    if (last === undefined) {
      throw new Error('the stub CA received no request');
    }
    return last;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Reads r and s from a DER ECDSA signature (SEQUENCE of two INTEGERs, short lengths). */
function derSignature(der: Buffer): { r: bigint; s: bigint } {
  expect(der[0]).to.equal(0x30);
  expect(der[1]).to.equal(der.length - 2);
  const integers: bigint[] = [];
  let offset = 2;
  while (offset < der.length) {
    expect(der[offset]).to.equal(0x02);
    const length = der[offset + 1] ?? 0;
    const bytes = der.subarray(offset + 2, offset + 2 + length);
    // Minimal encoding: no superfluous leading zero, no negative number.
    expect((bytes[0] ?? 0) & 0x80).to.equal(0);
    if (bytes.length > 1) {
      expect(bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0).to.equal(false);
    }
    integers.push(BigInt(`0x${bytes.toString('hex')}`));
    offset += 2 + length;
  }
  expect(integers).to.have.length(2);
  return { r: integers[0] ?? 0n, s: integers[1] ?? 0n };
}

/**
 * Verifies a registrar token as fabric-ca's util.VerifyToken does: `<b64 cert>.<b64 sig>`, the
 * signature over `<method>.<b64 uri>.<b64 body>.<b64 cert>` with the certificate's key, low S.
 */
function verifyToken(request: Recorded, expectedCertificatePem: string): void {
  const token = request.headers.authorization;
  expect(token, 'authorization header').to.be.a('string');
  const parts = (token as string).split('.');
  expect(parts).to.have.length(2);
  const [b64cert = '', b64sig = ''] = parts;
  const certificatePem = Buffer.from(b64cert, 'base64').toString('utf8');
  expect(certificatePem).to.equal(expectedCertificatePem);
  const payload = [
    request.method,
    Buffer.from(request.url, 'utf8').toString('base64'),
    request.body.toString('base64'),
    b64cert,
  ].join('.');
  const signature = Buffer.from(b64sig, 'base64');
  const certificate = new X509Certificate(certificatePem);
  expect(
    verify('sha256', Buffer.from(payload), certificate.publicKey, signature),
    'token signature',
  ).to.equal(true);
  expect(derSignature(signature).s <= P256_ORDER / 2n, 'low S').to.equal(true);
}

function jsonBody(request: Recorded): Record<string, unknown> {
  return JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
}

const rejection = (promise: Promise<unknown>): Promise<FabricCaError> => rejectionOf(promise, FabricCaError);

describe('Fabric CA REST client', () => {
  let pki: TestPki;
  let stub: StubCa;

  function client(overrides: Partial<FabricCaClientOptions> = {}): FabricCaRestClient {
    return new FabricCaRestClient({
      url: stub.url,
      caName: CA_NAME,
      tlsTrustedRoots: pki.caPem,
      registrar: { certificatePem: pki.registrar.certificatePem, privateKey: pki.registrar.keyPem },
      ...overrides,
    });
  }

  before(async () => {
    pki = await createPki();
  });

  beforeEach(async () => {
    stub = await StubCa.start(pki);
  });

  afterEach(async () => {
    await stub.stop();
  });

  describe('register', () => {
    it('posts the registration with a registrar token over TLS and returns the secret', async () => {
      stub.ok('register', { secret: 'chosen-secret' });
      const secret = await client().register({
        enrollmentId: 'hems-home-a-101',
        secret: 'chosen-secret',
        type: 'client',
        attributes: deviceAttributes('home-a-101', 'bus-1'),
        maxEnrollments: 1,
      });
      expect(secret).to.equal('chosen-secret');
      const request = stub.last;
      expect(request.method).to.equal('POST');
      expect(request.url).to.equal('/api/v1/register');
      expect(request.headers['content-type']).to.equal('application/json');
      verifyToken(request, pki.registrar.certificatePem);
      expect(jsonBody(request)).to.deep.equal({
        id: 'hems-home-a-101',
        type: 'client',
        secret: 'chosen-secret',
        affiliation: '',
        max_enrollments: 1,
        attrs: deviceAttributes('home-a-101', 'bus-1'),
        caname: CA_NAME,
      });
    });

    it('lets the CA choose the secret when none is given', async () => {
      stub.ok('register', { secret: 'ca-made' });
      expect(
        await client().register({ enrollmentId: 'x', type: 'client', attributes: [], maxEnrollments: 1 }),
      ).to.equal('ca-made');
      expect(jsonBody(stub.last)).to.not.have.property('secret');
    });

    it('keeps a path prefix of the CA URL in the request and in the signed URI', async () => {
      stub.ok('register', { secret: 's' });
      await client({ url: `${stub.url}/ca-a` }).register({
        enrollmentId: 'x',
        type: 'client',
        attributes: [],
        maxEnrollments: 1,
      });
      expect(stub.last.url).to.equal('/ca-a/api/v1/register');
      verifyToken(stub.last, pki.registrar.certificatePem);
    });

    it('reports a duplicate registration as a conflict with the CA code', async () => {
      stub.fail(
        'register',
        409,
        74,
        "Registration of 'hems-x' failed: Identity 'hems-x' is already registered",
      );
      const error = await rejection(
        client().register({
          enrollmentId: 'hems-x',
          secret: 'Sup3r-secret',
          type: 'client',
          attributes: [],
          maxEnrollments: 1,
        }),
      );
      expect(error.kind).to.equal('conflict');
      expect(error.httpStatus).to.equal(409);
      expect(error.caCode).to.equal(74);
      expect(error.message).to.contain('already registered').and.not.contain('Sup3r-secret');
      expect(error).to.not.have.property('statusCode');
    });

    it('never repeats a secret or a request body the CA echoes in its message', async () => {
      stub.fail(
        'register',
        400,
        5,
        'Invalid request body: bad json; body={"id":"x","secret":"Sup3r-secret","attrs":[]}',
      );
      const register = (): Promise<string> =>
        client().register({
          enrollmentId: 'x',
          secret: 'Sup3r-secret',
          type: 'client',
          attributes: [],
          maxEnrollments: 1,
        });
      const error = await rejection(register());
      expect(error.kind).to.equal('bad-request');
      expect(error.message).to.not.contain('Sup3r-secret').and.not.contain('"id"');
      stub.fail('register', 500, 0, 'database says Sup3r-secret is weird');
      const again = await rejection(register());
      expect(again.kind).to.equal('failed');
      expect(again.message).to.contain('[redacted]').and.not.contain('Sup3r-secret');
    });

    it('treats answers without a secret, without JSON or without success as failures', async () => {
      const request = { enrollmentId: 'x', type: 'client', attributes: [], maxEnrollments: 1 } as const;
      stub.ok('register', {});
      expect((await rejection(client().register(request))).kind).to.equal('failed');
      stub.answers.set('register', { status: 200, raw: '<html>proxy error</html>' });
      expect((await rejection(client().register(request))).message).to.contain('not JSON');
      stub.answers.set('register', { status: 200, body: { success: false, result: null, errors: [] } });
      expect((await rejection(client().register(request))).kind).to.equal('failed');
    });
  });

  describe('enroll', () => {
    it('sends the CSR with basic authentication and returns the certificate PEM', async () => {
      const issued = pki.server.certificatePem;
      stub.ok('enroll', {
        Cert: Buffer.from(issued).toString('base64'),
        ServerInfo: { CAName: CA_NAME, CAChain: Buffer.from(pki.caPem).toString('base64') },
      });
      const csrPem = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';
      const certificate = await client().enroll({
        enrollmentId: 'hems-home-a-101',
        secret: 'pw:with:colons',
        csrPem,
      });
      expect(certificate).to.equal(issued);
      const request = stub.last;
      expect(request.url).to.equal('/api/v1/enroll');
      expect(request.headers.authorization).to.equal(
        `Basic ${Buffer.from('hems-home-a-101:pw:with:colons').toString('base64')}`,
      );
      expect(jsonBody(request)).to.deep.equal({ certificate_request: csrPem, caname: CA_NAME });
    });

    it('passes a signing profile when asked', async () => {
      stub.ok('enroll', { Cert: Buffer.from(pki.server.certificatePem).toString('base64') });
      await client().enroll({ enrollmentId: 'gateway', secret: 's', csrPem: 'x', profile: 'tls' });
      expect(jsonBody(stub.last)).to.include({ profile: 'tls' });
    });

    it('reports a wrong or used secret as unauthenticated, without the secret', async () => {
      stub.fail('enroll', 401, 20, 'Authentication failure');
      const error = await rejection(
        client().enroll({ enrollmentId: 'hems-x', secret: 'Sup3r-secret', csrPem: 'x' }),
      );
      expect(error.kind).to.equal('unauthenticated');
      expect(error.httpStatus).to.equal(401);
      expect(error.message).to.not.contain('Sup3r-secret');
    });

    it('refuses an enrolment id basic authentication cannot carry, without asking the CA', async () => {
      const error = await rejection(client().enroll({ enrollmentId: 'a:b', secret: 's', csrPem: 'x' }));
      expect(error.kind).to.equal('bad-request');
      expect(stub.requests).to.have.length(0);
    });

    it('refuses an answer without a certificate', async () => {
      stub.ok('enroll', { Cert: Buffer.from('nothing').toString('base64') });
      expect(
        (await rejection(client().enroll({ enrollmentId: 'x', secret: 's', csrPem: 'x' }))).kind,
      ).to.equal('failed');
      stub.ok('enroll', {});
      expect(
        (await rejection(client().enroll({ enrollmentId: 'x', secret: 's', csrPem: 'x' }))).kind,
      ).to.equal('failed');
    });
  });

  describe('revoke and CRL', () => {
    it('revokes an identity with a token and normalizes the serials the CA lists', async () => {
      stub.ok('revoke', {
        RevokedCerts: [
          { Serial: 'abc', AKI: 'A1B2' },
          { Serial: '00ff01', AKI: 'a1b2' },
          { Serial: '3d:4e', AKI: 'a1b2' },
        ],
        CRL: '',
      });
      const result = await client().revoke({ enrollmentId: 'hems-home-a-101', reason: 'keycompromise' });
      expect(result).to.deep.equal({
        revoked: [
          { serial: '0ABC', aki: 'a1b2' },
          { serial: 'FF01', aki: 'a1b2' },
          { serial: '3D4E', aki: 'a1b2' },
        ],
      });
      verifyToken(stub.last, pki.registrar.certificatePem);
      expect(stub.last.url).to.equal('/api/v1/revoke');
      expect(jsonBody(stub.last)).to.deep.equal({
        id: 'hems-home-a-101',
        reason: 'keycompromise',
        caname: CA_NAME,
      });
    });

    it('revokes one certificate by serial and AKI and can ask for the CRL at once', async () => {
      const crl = '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n';
      stub.ok('revoke', {
        RevokedCerts: [{ Serial: '0abc', AKI: 'a1b2' }],
        CRL: Buffer.from(crl).toString('base64'),
      });
      const result = await client().revoke({ serial: '0ABC', aki: 'A1B2', generateCrl: true });
      expect(result.crlPem).to.equal(crl);
      expect(jsonBody(stub.last)).to.deep.equal({
        serial: '0abc',
        aki: 'a1b2',
        reason: 'unspecified',
        caname: CA_NAME,
        gencrl: true,
      });
    });

    it('answers an empty list when nothing was left to revoke', async () => {
      stub.ok('revoke', { RevokedCerts: null, CRL: '' });
      expect(await client().revoke({ enrollmentId: 'x' })).to.deep.equal({ revoked: [] });
    });

    it('reports an unknown identity as not found and a bad serial as a failure', async () => {
      stub.fail('revoke', 404, 47, 'Identity hems-x was not found: no rows');
      expect((await rejection(client().revoke({ enrollmentId: 'hems-x' }))).kind).to.equal('not-found');
      stub.ok('revoke', { RevokedCerts: [{ Serial: 'zz', AKI: '' }] });
      expect((await rejection(client().revoke({ enrollmentId: 'hems-x' }))).kind).to.equal('failed');
      stub.ok('revoke', { RevokedCerts: [{ AKI: '' }] });
      expect((await rejection(client().revoke({ enrollmentId: 'hems-x' }))).kind).to.equal('failed');
    });

    it('generates a CRL with a token', async () => {
      const crl = '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n';
      stub.ok('gencrl', { CRL: Buffer.from(crl).toString('base64') });
      expect(await client().generateCrl()).to.equal(crl);
      expect(stub.last.url).to.equal('/api/v1/gencrl');
      expect(jsonBody(stub.last)).to.deep.equal({ caname: CA_NAME });
      verifyToken(stub.last, pki.registrar.certificatePem);
      stub.ok('gencrl', { CRL: Buffer.from('not a crl').toString('base64') });
      expect((await rejection(client().generateCrl())).kind).to.equal('failed');
      stub.fail('gencrl', 403, 71, 'Authorization failure');
      expect((await rejection(client().generateCrl())).kind).to.equal('forbidden');
    });
  });

  describe('transport', () => {
    it('trusts only the configured CA certificate', async () => {
      stub.ok('enroll', { Cert: Buffer.from(pki.server.certificatePem).toString('base64') });
      const error = await rejection(
        client({ tlsTrustedRoots: pki.otherCaPem }).enroll({
          enrollmentId: 'x',
          secret: 'Sup3r-secret',
          csrPem: 'x',
        }),
      );
      expect(error.kind).to.equal('unavailable');
      expect(error.message).to.contain('unreachable').and.not.contain('Sup3r-secret');
      expect(stub.requests).to.have.length(0);
    });

    it('reports a CA that does not answer in time, or at all, as unavailable', async () => {
      stub.answers.set('gencrl', 'hang');
      const slow = await rejection(client({ timeoutMs: 200 }).generateCrl());
      expect(slow.kind).to.equal('unavailable');
      expect(slow.message).to.contain('timed out');
      const url = stub.url;
      await stub.stop();
      const gone = await rejection(client({ url }).generateCrl());
      expect(gone.kind).to.equal('unavailable');
      stub = await StubCa.start(pki);
    });

    it('refuses configurations it cannot use safely', () => {
      const registrar = { certificatePem: pki.registrar.certificatePem, privateKey: pki.registrar.keyPem };
      const base = { caName: CA_NAME, tlsTrustedRoots: pki.caPem, registrar };
      expect(() => new FabricCaRestClient({ ...base, url: 'http://localhost:7254' })).to.throw('https');
      expect(() => new FabricCaRestClient({ ...base, url: 'https://admin:pw@localhost:7254' })).to.throw(
        'credentials',
      );
      expect(() => new FabricCaRestClient({ ...base, url: 'not a url' })).to.throw('not a valid URL');
      expect(
        () => new FabricCaRestClient({ ...base, url: 'https://localhost', tlsTrustedRoots: [] }),
      ).to.throw('trust root');
      expect(
        () =>
          new FabricCaRestClient({
            ...base,
            url: 'https://localhost',
            registrar: { certificatePem: pki.registrar.certificatePem, privateKey: pki.stranger.keyPem },
          }),
      ).to.throw('does not belong');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      expect(() => signLowS(Buffer.from('x'), rsa.privateKey)).to.throw(FabricCaError, 'EC P-256 or P-384');
    });
  });

  describe('token and helpers', () => {
    it('always signs with a low S that verifies (P-256 and P-384)', () => {
      for (const curve of ['prime256v1', 'secp384r1'] as const) {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
        const order =
          curve === 'prime256v1'
            ? P256_ORDER
            : BigInt(
                '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973',
              );
        for (let i = 0; i < 40; i += 1) {
          const data = Buffer.from(`message ${i}`);
          const signature = signLowS(data, privateKey);
          expect(verify('sha256', data, publicKey, signature)).to.equal(true);
          expect(derSignature(signature).s <= order / 2n).to.equal(true);
        }
      }
    });

    it('builds the token from method, URI, body and certificate', () => {
      const key: KeyObject = createPrivateKey(pki.registrar.keyPem);
      const body = Buffer.from('{"caname":"x"}');
      const token = createFabricCaToken('POST', '/api/v1/gencrl', body, pki.registrar.certificatePem, key);
      verifyToken(
        { method: 'POST', url: '/api/v1/gencrl', headers: { authorization: token }, body },
        pki.registrar.certificatePem,
      );
      expect(() =>
        verifyToken(
          { method: 'POST', url: '/api/v1/revoke', headers: { authorization: token }, body },
          pki.registrar.certificatePem,
        ),
      ).to.throw('token signature');
    });

    it('normalizes serials to whole upper-case bytes without leading zero bytes', () => {
      for (const [serial, normalized] of [
        ['abc', '0ABC'],
        ['0000ff', 'FF'],
        ['7A:3B', '7A3B'],
        ['00', '00'],
      ] as const) {
        expect(normalizeCaSerial(serial), serial).to.equal(normalized);
      }
      for (const notHex of ['xyz', '']) {
        expect(() => normalizeCaSerial(notHex), notHex).to.throw(FabricCaError);
      }
    });

    it('loads the registrar from an MSP folder', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'registrar-msp-'));
      try {
        expect(() => loadRegistrarFromMsp(dir)).to.throw();
        mkdirSync(path.join(dir, 'signcerts'));
        mkdirSync(path.join(dir, 'keystore'));
        writeFileSync(path.join(dir, 'signcerts', 'cert.pem'), pki.registrar.certificatePem);
        expect(() => loadRegistrarFromMsp(dir)).to.throw('no keystore file');
        writeFileSync(path.join(dir, 'keystore', 'abc123_sk'), pki.registrar.keyPem);
        const registrar = loadRegistrarFromMsp(dir);
        expect(registrar).to.deep.equal({
          certificatePem: pki.registrar.certificatePem,
          privateKey: pki.registrar.keyPem,
        });
        expect(() => client({ registrar })).to.not.throw();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

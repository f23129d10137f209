import { createPublicKey, verify, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import { main } from '../src/bin/hems-device';
import {
  certificateMatchesKey,
  createEnrollmentRequest,
  exportPrivateKeyPem,
  GatewayApiError,
  GatewayConnectionError,
  HemsClient,
  importPrivateKeyPem,
  type HemsClientOptions,
  type HemsEvent,
} from '../src';
import {
  createCa,
  issueFromCsr,
  issueServer,
  privateKeyPem,
  type Credentials,
  type TestCa,
} from '@hems/testkit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------------
// Test PKI (@hems/testkit): a TLS CA for the gateway's server certificate, a utility CA issuing
// device certificates from CSRs as Fabric CA does (attributes in extension 1.2.3.4.5.6.7.8.1).

const DEVICE_ATTRS = { 'hems.role': 'hems', 'hems.home': 'home-7', 'hems.bus': 'bus-2' };

interface Pki {
  readonly tlsCa: TestCa;
  readonly otherTlsCa: TestCa;
  readonly utilityCa: TestCa;
  readonly server: Credentials;
  readonly device: { certificatePem: string; privateKeyPem: string };
}

async function createPki(): Promise<Pki> {
  const tlsCa = await createCa('GatewayTlsCA');
  const utilityCa = await createCa('UtilityAMSP');
  const request = await createEnrollmentRequest('hems-home-7');
  return {
    tlsCa,
    otherTlsCa: await createCa('SomeOtherCA'),
    utilityCa,
    server: await issueServer(tlsCa, 'gateway.test'),
    device: {
      certificatePem: await issueFromCsr(utilityCa, request.csrPem, DEVICE_ATTRS),
      privateKeyPem: request.privateKeyPem,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A local HTTPS server with mutual TLS (client certificates requested, judged by the test).

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly authorized: boolean;
  readonly clientCertificate: X509Certificate | undefined;
}

type Handler = (request: RecordedRequest, response: ServerResponse, raw: IncomingMessage) => void;

function sendJson(
  response: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(statusCode, { 'content-type': 'application/json', ...headers });
  response.end(text);
}

class TestServer {
  readonly requests: RecordedRequest[] = [];
  handler: Handler = (_request, response) =>
    sendJson(response, 404, { statusCode: 404, code: 'NOT_FOUND', message: 'no such route' });

  private constructor(readonly server: https.Server) {}

  static async start(pki: Pki): Promise<TestServer> {
    const server = https.createServer({
      key: pki.server.keyPem,
      cert: pki.server.certificatePem,
      ca: pki.utilityCa.pem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const test = new TestServer(server);
    server.on('request', (raw: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      raw.on('data', (chunk: Buffer) => chunks.push(chunk));
      raw.on('end', () => {
        const socket = raw.socket as TLSSocket;
        const peer = socket.getPeerCertificate(false);
        const recorded: RecordedRequest = {
          method: raw.method ?? '',
          url: raw.url ?? '',
          headers: raw.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          authorized: socket.authorized,
          clientCertificate: peer.raw === undefined ? undefined : new X509Certificate(peer.raw),
        };
        test.requests.push(recorded);
        test.handler(recorded, response, raw);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return test;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Handlers answering one request after another; the last one repeats. */
function sequence(...handlers: Handler[]): Handler {
  let index = 0;
  return (request, response, raw) => {
    const handler = handlers[Math.min(index, handlers.length - 1)];
    index += 1;
    handler?.(request, response, raw);
  };
}

const RECEIPT = { slotId: 'slot-1', txId: 'a'.repeat(64), acceptedAt: '2030-01-01T10:05:00.000Z' };

function parseBody(request: RecordedRequest | undefined): Record<string, unknown> {
  if (request === undefined) {
    throw new Error('the server recorded no such request');
  }
  return JSON.parse(request.body) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------

/** PEM armour of a PKCS#8 key, assembled so no key-looking literal sits in the repository. */
const PKCS8_BEGIN = ['-----BEGIN', 'PRIVATE', 'KEY-----'].join(' ');
const PKCS8_END = ['-----END', 'PRIVATE', 'KEY-----'].join(' ');

describe('HEMS device client', () => {
  let pki: Pki;
  let server: TestServer;
  const clients: HemsClient[] = [];

  function client(overrides: Partial<HemsClientOptions> = {}): HemsClient {
    const created = new HemsClient({
      gatewayUrl: server.url,
      gatewayCaPem: pki.tlsCa.pem,
      ...pki.device,
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      events: { initialDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    });
    clients.push(created);
    return created;
  }

  before(async () => {
    pki = await createPki();
  });

  beforeEach(async () => {
    server = await TestServer.start(pki);
  });

  afterEach(async () => {
    for (const created of clients.splice(0)) {
      created.close();
    }
    await server.close();
  });

  describe('device keys', () => {
    it('makes a P-256 key and a CSR whose only subject field is CN = the enrolment id', async () => {
      const { csrPem, privateKeyPem } = await createEnrollmentRequest('hems-home-9');
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      expect(csr.subject).to.equal('CN=hems-home-9');
      expect(await csr.verify()).to.be.true;
      const key = importPrivateKeyPem(privateKeyPem);
      expect(key.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      expect(privateKeyPem.startsWith(`${PKCS8_BEGIN}\n`)).to.equal(true);
      const csrKey = createPublicKey({
        key: Buffer.from(csr.publicKey.rawData),
        format: 'der',
        type: 'spki',
      });
      expect(
        csrKey
          .export({ type: 'spki', format: 'der' })
          .equals(createPublicKey(key).export({ type: 'spki', format: 'der' })),
      ).to.be.true;
    });

    it('round-trips the private key through PKCS#8 PEM and refuses other keys without echoing them', async () => {
      const request = await createEnrollmentRequest('hems-x');
      const key = importPrivateKeyPem(request.privateKeyPem);
      expect(exportPrivateKeyPem(key)).to.equal(request.privateKeyPem);
      const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign']);
      expect(() => importPrivateKeyPem(privateKeyPem(p384.privateKey))).to.throw(/ECDSA P-256/);
      const garbage = `${PKCS8_BEGIN}\nc2VjcmV0LWtleS1ieXRlcw==\n${PKCS8_END}\n`;
      expect(() => importPrivateKeyPem(garbage))
        .to.throw(/not a readable/)
        .with.property('message')
        .that.does.not.include('c2VjcmV0');
      const device = new X509Certificate(pki.device.certificatePem);
      expect(certificateMatchesKey(device, importPrivateKeyPem(pki.device.privateKeyPem))).to.be.true;
      expect(certificateMatchesKey(device, key)).to.be.false;
    });
  });

  describe('construction', () => {
    it('refuses a non-https URL, a key that is not the certificate’s, and a missing trust root', async () => {
      const other = await createEnrollmentRequest('hems-other');
      expect(() => client({ gatewayUrl: 'http://127.0.0.1:1' })).to.throw(TypeError, /https/);
      expect(() => client({ gatewayUrl: 'https://user:pw@127.0.0.1:1' })).to.throw(TypeError, /credentials/);
      expect(() => client({ privateKeyPem: other.privateKeyPem })).to.throw(
        /does not certify the device key/,
      );
      expect(() => client({ gatewayCaPem: '' })).to.throw(TypeError, /gatewayCaPem/);
      expect(() => client({ certificatePem: 'nope' })).to.throw(TypeError, /certificatePem/);
    });
  });

  describe('getSlot and getDispatch', () => {
    it('presents the device certificate over mutual TLS and returns the slot', async () => {
      const slot = {
        slotId: 'slot:1',
        status: 'OPEN',
        deadline: '2030-01-01T10:15:00.000Z',
        bus: 'bus-2',
        prices: { lower: 20, upper: 80 },
        lambda: null,
      };
      server.handler = (_request, response) => sendJson(response, 200, slot);
      expect(await client().getSlot('slot:1')).to.deep.equal(slot);
      const [request] = server.requests;
      expect(request?.method).to.equal('GET');
      expect(request?.url).to.equal('/v1/slots/slot%3A1');
      expect(request?.authorized).to.be.true;
      expect(request?.clientCertificate?.raw.equals(new X509Certificate(pki.device.certificatePem).raw)).to.be
        .true;
    });

    it('reads the dispatch under a gateway base path', async () => {
      const dispatch = { slotId: 'slot-1', lambda: 0.25, allowedKw: 3.5, revision: 0 };
      server.handler = (_request, response) => sendJson(response, 200, dispatch);
      expect(await client({ gatewayUrl: `${server.url}/hems/` }).getDispatch('slot-1')).to.deep.equal(
        dispatch,
      );
      expect(server.requests[0]?.url).to.equal('/hems/v1/slots/slot-1/dispatch');
    });

    it('maps error answers to GatewayApiError, without retrying reads', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 404, { statusCode: 404, code: 'NOT_FOUND', message: 'NOT_FOUND: no slot slot-9' });
      const error = await client()
        .getSlot('slot-9')
        .then(
          () => expect.fail('resolved'),
          (caught: unknown) => caught,
        );
      expect(error).to.be.instanceOf(GatewayApiError);
      expect(error).to.include({ statusCode: 404, code: 'NOT_FOUND', message: 'NOT_FOUND: no slot slot-9' });
      expect(server.requests).to.have.length(1);

      server.handler = (_request, response) => sendJson(response, 502, '<html>bad gateway</html>');
      const bare = (await client()
        .getSlot('slot-9')
        .catch((caught: unknown) => caught)) as GatewayApiError;
      expect(bare).to.be.instanceOf(GatewayApiError);
      expect(bare).to.include({
        statusCode: 502,
        code: 'HTTP_502',
        message: 'the gateway answered HTTP 502',
      });
      expect(bare.transient).to.be.true;
    });

    it('refuses a gateway whose TLS certificate does not chain to the configured trust root', async () => {
      const error = await client({ gatewayCaPem: pki.otherTlsCa.pem })
        .getSlot('slot-1')
        .catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(GatewayConnectionError);
      expect((error as GatewayConnectionError).transient).to.be.false;
      expect(server.requests).to.have.length(0);
    });

    it('validates the slot id before sending anything', async () => {
      const error = await client()
        .getSlot('../admin')
        .catch((caught: unknown) => caught);
      expect(error)
        .to.be.instanceOf(TypeError)
        .with.property('message')
        .that.matches(/slotId/);
      expect(server.requests).to.have.length(0);
    });
  });

  describe('reportConsumption', () => {
    it('signs the exact consumption payload with the device key and sends it with a fresh nonce and Idempotency-Key', async () => {
      const receipt = { slotId: 'slot-1', txId: 'c'.repeat(64), recordedAt: '2030-01-01T10:20:00.000Z' };
      server.handler = (_request, response) => sendJson(response, 201, receipt);
      const hems = client();
      expect(await hems.reportConsumption('slot-1', 2.345)).to.deep.equal({ ...receipt, replayed: false });
      await hems.reportConsumption('slot-1', 0);
      const device = new X509Certificate(pki.device.certificatePem);
      const nonces = new Set<string>();
      for (const request of server.requests) {
        expect(request.url).to.equal('/v1/slots/slot-1/consumption');
        const body = parseBody(request);
        const payload = body.payload as string;
        const parsed = JSON.parse(payload) as Record<string, unknown>;
        expect(Object.keys(parsed)).to.deep.equal(['slotId', 'drawnKw', 'nonce']);
        expect(payload).to.equal(
          `{"slotId":"slot-1","drawnKw":${String(parsed.drawnKw)},"nonce":"${String(parsed.nonce)}"}`,
        );
        expect(Buffer.from(parsed.nonce as string, 'base64').length).to.be.at.least(16);
        nonces.add(parsed.nonce as string);
        const signature = Buffer.from(body.signature as string, 'base64');
        expect(verify('sha256', Buffer.from(payload, 'utf8'), device.publicKey, signature)).to.be.true;
        expect(request.headers['idempotency-key']).to.match(UUID);
      }
      expect(
        server.requests.map(
          (request) => (JSON.parse(parseBody(request).payload as string) as { drawnKw: number }).drawnKw,
        ),
      ).to.deep.equal([2.345, 0]);
      expect(nonces.size).to.equal(2);
    });

    it('refuses hostile drawn powers and slot ids before sending anything, without echoing the value', () => {
      const hems = client();
      for (const drawnKw of [NaN, Infinity, -Infinity, -0.001, 1.0005, 1e-7, '2' as unknown as number]) {
        const error = (() => {
          try {
            hems.signConsumption('slot-1', drawnKw);
          } catch (caught) {
            return caught as Error;
          }
          return undefined;
        })();
        expect(error, String(drawnKw)).to.be.instanceOf(RangeError);
        expect(error?.message).to.match(/^drawnKw must /);
        expect(error?.message).to.not.include(String(drawnKw));
      }
      expect(() => hems.signConsumption('../admin', 1)).to.throw(TypeError, /slotId/);
      expect(server.requests).to.have.length(0);
    });
  });

  describe('submitForecast', () => {
    it('signs the exact payload with the device key and sends a fresh nonce and Idempotency-Key per call', async () => {
      server.handler = (_request, response) => sendJson(response, 201, RECEIPT);
      const hems = client();
      const receipt = await hems.submitForecast('slot-1', { lower: 1.25, upper: 4.5 });
      expect(receipt).to.deep.equal({ ...RECEIPT, replayed: false });
      await hems.submitForecast('slot-1', { lower: 1.25, upper: 4.5 });

      const device = new X509Certificate(pki.device.certificatePem);
      const nonces = new Set<string>();
      const keys = new Set<string>();
      for (const request of server.requests) {
        expect(request.method).to.equal('POST');
        expect(request.url).to.equal('/v1/slots/slot-1/forecast');
        expect(request.authorized).to.be.true;
        expect(request.headers['content-type']).to.equal('application/json');
        const body = parseBody(request);
        expect(Object.keys(body)).to.deep.equal(['payload', 'signature']);
        const payload = body.payload as string;
        const parsed = JSON.parse(payload) as Record<string, unknown>;
        expect(Object.keys(parsed)).to.deep.equal(['slotId', 'lower', 'upper', 'nonce']);
        expect(parsed).to.include({ slotId: 'slot-1', lower: 1.25, upper: 4.5 });
        expect(payload).to.equal(
          `{"slotId":"slot-1","lower":1.25,"upper":4.5,"nonce":"${String(parsed.nonce)}"}`,
        );
        const nonce = Buffer.from(parsed.nonce as string, 'base64');
        expect(nonce.length).to.be.at.least(16);
        expect(nonce.toString('base64')).to.equal(parsed.nonce);
        nonces.add(parsed.nonce as string);
        const signature = Buffer.from(body.signature as string, 'base64');
        expect(signature[0]).to.equal(0x30); // DER SEQUENCE
        expect(verify('sha256', Buffer.from(payload, 'utf8'), device.publicKey, signature)).to.be.true;
        const key = request.headers['idempotency-key'];
        expect(key).to.match(UUID);
        keys.add(key as string);
      }
      expect(nonces.size).to.equal(2);
      expect(keys.size).to.equal(2);
    });

    it('retries a 503 with the same Idempotency-Key and the same signed body, and reports a replay', async () => {
      server.handler = sequence(
        (_request, response) =>
          sendJson(response, 503, { statusCode: 503, code: 'LEDGER_UNAVAILABLE', message: 'no answer' }),
        (_request, response) => sendJson(response, 201, RECEIPT, { 'idempotent-replay': 'true' }),
      );
      const retries: string[] = [];
      const receipt = await client({
        retry: {
          initialDelayMs: 5,
          maxDelayMs: 20,
          onRetry: ({ error }) => retries.push((error as GatewayApiError).code),
        },
      }).submitForecast('slot-1', { lower: 0, upper: 2.001 });
      expect(receipt).to.deep.equal({ ...RECEIPT, replayed: true });
      expect(retries).to.deep.equal(['LEDGER_UNAVAILABLE']);
      const [first, second] = server.requests;
      expect(server.requests).to.have.length(2);
      expect(second?.headers['idempotency-key']).to.equal(first?.headers['idempotency-key']);
      expect(second?.body).to.equal(first?.body);
    });

    it('retries a dropped connection and a 409 IDEMPOTENCY_KEY_IN_USE with the same key and body', async () => {
      server.handler = sequence(
        (_request, _response, raw) => raw.socket.destroy(),
        (_request, response) =>
          sendJson(response, 409, {
            statusCode: 409,
            code: 'IDEMPOTENCY_KEY_IN_USE',
            message: 'still being processed',
          }),
        (_request, response) => sendJson(response, 201, RECEIPT),
      );
      await client().submitForecast('slot-1', { lower: 3, upper: 3 });
      expect(server.requests).to.have.length(3);
      expect(new Set(server.requests.map((request) => request.headers['idempotency-key'])).size).to.equal(1);
      expect(new Set(server.requests.map((request) => request.body)).size).to.equal(1);
    });

    it('does not retry refusals and carries code, message and transaction id', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 412, {
          statusCode: 412,
          code: 'FAILED_PRECONDITION',
          message: 'FAILED_PRECONDITION: slot slot-1 is closed',
          transactionId: 'b'.repeat(64),
        });
      const error = (await client()
        .submitForecast('slot-1', { lower: 1, upper: 2 })
        .catch((caught: unknown) => caught)) as GatewayApiError;
      expect(error).to.be.instanceOf(GatewayApiError);
      expect(error.toJSON()).to.deep.equal({
        statusCode: 412,
        code: 'FAILED_PRECONDITION',
        message: 'FAILED_PRECONDITION: slot slot-1 is closed',
        transactionId: 'b'.repeat(64),
      });
      expect(server.requests).to.have.length(1);
    });

    it('gives up after the configured attempts with the last error', async () => {
      server.handler = (_request, response) =>
        sendJson(
          response,
          504,
          { statusCode: 504, code: 'COMMIT_STATUS_UNKNOWN', message: 'look it up' },
          { 'x-transaction-id': 'c'.repeat(64) },
        );
      const error = (await client({ retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } })
        .submitForecast('slot-1', { lower: 1, upper: 2 })
        .catch((caught: unknown) => caught)) as GatewayApiError;
      expect(error).to.include({
        statusCode: 504,
        code: 'COMMIT_STATUS_UNKNOWN',
        transactionId: 'c'.repeat(64),
      });
      expect(server.requests).to.have.length(3);
    });

    it('refuses invalid ranges before sending, without the values in the message', () => {
      const hems = client();
      const cases: [number, number, RegExp][] = [
        [-3.5, 4, /lower must be a finite number/],
        [1.2345, 4, /lower must have at most 3 decimals/],
        [9.75, 2.125, /lower must not exceed upper/],
        [1, Number.NaN, /upper must be a finite number/],
      ];
      for (const [lower, upper, pattern] of cases) {
        let message = '';
        try {
          hems.signForecast('slot-1', { lower, upper });
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message).to.match(pattern);
        for (const value of [lower, upper]) {
          expect(message).to.not.include(String(value));
        }
      }
      expect(server.requests).to.have.length(0);
    });

    it('stops retrying when aborted', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 503, { statusCode: 503, code: 'UNAVAILABLE', message: 'later' });
      const controller = new AbortController();
      const pending = client({
        retry: { attempts: 100, initialDelayMs: 50, maxDelayMs: 50, onRetry: () => controller.abort() },
      }).submitForecast('slot-1', { lower: 1, upper: 2 }, { signal: controller.signal });
      const error = (await pending.catch((caught: unknown) => caught)) as Error;
      expect(error.name).to.equal('AbortError');
      expect(server.requests).to.have.length(1);
    });
  });

  describe('enroll', () => {
    it('sends only the id, the secret and a CSR of a P-256 key made on the device, without a client certificate', async () => {
      server.handler = (request, response) => {
        const body = parseBody(request);
        void issueFromCsr(pki.utilityCa, body.csr as string, DEVICE_ATTRS).then((certificate) =>
          sendJson(response, 201, { certificate }),
        );
      };
      const credentials = await HemsClient.enroll({
        gatewayUrl: server.url,
        gatewayCaPem: pki.tlsCa.pem,
        enrollmentId: 'hems-home-7',
        secret: 'one-time-secret',
      });

      const [request] = server.requests;
      expect(request?.method).to.equal('POST');
      expect(request?.url).to.equal('/v1/enroll');
      expect(request?.clientCertificate).to.be.undefined;
      expect(request?.headers['idempotency-key']).to.be.undefined;
      const body = parseBody(request);
      expect(Object.keys(body).sort()).to.deep.equal(['csr', 'enrollmentId', 'secret']);
      expect(body).to.include({ enrollmentId: 'hems-home-7', secret: 'one-time-secret' });
      expect(request?.body).to.not.include('PRIVATE KEY');
      const keyBase64 = credentials.privateKeyPem.split('\n')[1] ?? 'missing';
      expect(request?.body).to.not.include(keyBase64);

      const csr = new x509.Pkcs10CertificateRequest(body.csr);
      expect(csr.subject).to.equal('CN=hems-home-7');
      expect(await csr.verify()).to.be.true;
      expect(csr.publicKey.algorithm).to.include({ name: 'ECDSA', namedCurve: 'P-256' });

      const certificate = new X509Certificate(credentials.certificatePem);
      expect(certificateMatchesKey(certificate, importPrivateKeyPem(credentials.privateKeyPem))).to.be.true;
      // The credentials work as a device identity.
      server.handler = (_request, response) => sendJson(response, 200, { slotId: 'slot-1' });
      await client(credentials).getSlot('slot-1');
      expect(server.requests[1]?.clientCertificate?.raw.equals(certificate.raw)).to.be.true;
    });

    it('maps a refusal to GatewayApiError, never mentioning the secret', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 401, {
          statusCode: 401,
          code: 'ENROLLMENT_REFUSED',
          message: 'unknown enrolment id, wrong secret, or the secret has already been used',
        });
      const error = (await HemsClient.enroll({
        gatewayUrl: server.url,
        gatewayCaPem: pki.tlsCa.pem,
        enrollmentId: 'hems-home-7',
        secret: 's3cr3t-value',
      }).catch((caught: unknown) => caught)) as GatewayApiError;
      expect(error).to.be.instanceOf(GatewayApiError);
      expect(error).to.include({ statusCode: 401, code: 'ENROLLMENT_REFUSED' });
      expect(JSON.stringify(error.toJSON())).to.not.include('s3cr3t-value');
      expect(server.requests).to.have.length(1);
    });

    it('refuses a certificate that does not certify the key it generated', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 201, { certificate: pki.device.certificatePem });
      const error = (await HemsClient.enroll({
        gatewayUrl: server.url,
        gatewayCaPem: pki.tlsCa.pem,
        enrollmentId: 'hems-home-7',
        secret: 'x',
      }).catch((caught: unknown) => caught)) as GatewayApiError;
      expect(error).to.include({ code: 'BAD_RESPONSE' });
      expect(error.message).to.match(/does not certify/);
    });
  });

  describe('followEvents', () => {
    function stream(response: ServerResponse): void {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.flushHeaders();
    }

    it('parses events across chunks, skips heartbeats, and reconnects with Last-Event-ID', async () => {
      const controller = new AbortController();
      const received: HemsEvent[] = [];
      server.handler = sequence(
        (_request, response) => {
          stream(response);
          response.write(': heartbeat\n\n');
          response.write(
            'id: 7-aa\nevent: slot-opened\ndata: {"slotId":"slot-1","deadline":"2030-01-01T10:15:00Z",',
          );
          setTimeout(() => {
            response.write('"bus":"bus-2","prices":{"lower":20,"upper":80}}\n\n');
            // Multi-line data: the lines join with "\n", still one JSON value.
            response.write('id: 8-bb\r\nevent: dispatch-published\r\ndata: {"slotId":"slot-1",\r\n');
            response.write('data: "bus":"bus-2","lambda":0.5,"revision":0}\r\n\r\n');
            response.write('id: 9-cc\nevent: dispatch-published\ndata: {"slotId":"slot-1"'); // cut off
            response.end();
          }, 20);
        },
        (_request, response) => {
          stream(response);
          response.write(':\n\nevent: reset\nid: 12-dd\ndata: {"reason":"events were missed"}\n\n');
        },
      );
      const statuses: string[] = [];
      const result = await client().followEvents(
        (event) => {
          received.push(event);
          if (event.type === 'reset') {
            controller.abort();
          }
        },
        { signal: controller.signal, onStatus: (status) => statuses.push(status.state) },
      );

      expect(received).to.deep.equal([
        {
          type: 'slot-opened',
          id: '7-aa',
          data: {
            slotId: 'slot-1',
            deadline: '2030-01-01T10:15:00Z',
            bus: 'bus-2',
            prices: { lower: 20, upper: 80 },
          },
        },
        {
          type: 'dispatch-published',
          id: '8-bb',
          data: { slotId: 'slot-1', bus: 'bus-2', lambda: 0.5, revision: 0 },
        },
        { type: 'reset', id: '12-dd', data: { reason: 'events were missed' } },
      ]);
      expect(result).to.deep.equal({ lastEventId: '12-dd' });
      expect(server.requests).to.have.length(2);
      expect(server.requests[0]?.headers['last-event-id']).to.be.undefined;
      expect(server.requests[0]?.headers.accept).to.equal('text/event-stream');
      expect(server.requests[0]?.authorized).to.be.true;
      // The cut-off event was discarded: the resume point is the last complete one.
      expect(server.requests[1]?.headers['last-event-id']).to.equal('8-bb');
      expect(statuses).to.deep.equal(['connected', 'reconnecting', 'connected']);
    });

    it('resumes from the given id, retries 503 on connect, skips unknown or malformed events', async () => {
      const controller = new AbortController();
      const received: HemsEvent[] = [];
      const skipped: string[] = [];
      server.handler = sequence(
        (_request, response) =>
          sendJson(response, 503, { statusCode: 503, code: 'UNAVAILABLE', message: 'x' }),
        (_request, response) => {
          stream(response);
          response.write('event: aggregate-published\ndata: {"slotId":"s"}\n\n');
          response.write('event: slot-opened\ndata: not json\n\n');
          response.write(
            'id: 30-ee\nevent: dispatch-published\ndata: {"slotId":"s","bus":"b","lambda":1,"revision":1}\n\n',
          );
        },
      );
      await client().followEvents(
        (event) => {
          received.push(event);
          controller.abort();
        },
        {
          lastEventId: '21-ab',
          signal: controller.signal,
          onStatus: (status) => {
            if (status.state === 'skipped') {
              skipped.push(status.eventType);
            }
          },
        },
      );
      expect(server.requests.map((request) => request.headers['last-event-id'])).to.deep.equal([
        '21-ab',
        '21-ab',
      ]);
      expect(skipped).to.deep.equal(['aggregate-published', 'slot-opened']);
      expect(received.map((event) => event.id)).to.deep.equal(['30-ee']);
    });

    it('reconnects when the stream stays silent longer than the idle timeout', async () => {
      const controller = new AbortController();
      server.handler = (_request, response) => {
        stream(response);
        if (server.requests.length >= 3) {
          controller.abort();
        }
      };
      const errors: string[] = [];
      await client({ events: { initialDelayMs: 1, maxDelayMs: 5, idleTimeoutMs: 100 } }).followEvents(
        () => undefined,
        {
          signal: controller.signal,
          onStatus: (status) => {
            if (status.state === 'reconnecting') {
              errors.push((status.error as GatewayConnectionError).code);
            }
          },
        },
      );
      expect(server.requests.length).to.be.at.least(3);
      expect(errors.slice(0, 2)).to.deep.equal(['TIMEOUT', 'TIMEOUT']);
    });

    it('rejects on a refusal of the stream and when the handler throws', async () => {
      server.handler = (_request, response) =>
        sendJson(response, 403, { statusCode: 403, code: 'FORBIDDEN', message: 'not for you' });
      const refused = await client()
        .followEvents(() => undefined)
        .catch((caught: unknown) => caught);
      expect(refused).to.be.instanceOf(GatewayApiError).and.include({ statusCode: 403, code: 'FORBIDDEN' });

      server.handler = (_request, response) => {
        stream(response);
        response.write('event: reset\n\n');
      };
      const failure = new Error('handler failed');
      const thrown = await client()
        .followEvents(() => {
          throw failure;
        })
        .catch((caught: unknown) => caught);
      expect(thrown).to.equal(failure);
    });

    it('stops promptly when aborted while connected, or when already aborted', async () => {
      server.handler = (_request, response) => stream(response);
      const controller = new AbortController();
      const following = client().followEvents(() => undefined, {
        signal: controller.signal,
        onStatus: (status) => {
          if (status.state === 'connected') {
            setTimeout(() => controller.abort(), 10);
          }
        },
      });
      expect(await following).to.deep.equal({ lastEventId: undefined });
      expect(
        await client().followEvents(() => undefined, { signal: AbortSignal.abort(), lastEventId: '5-aa' }),
      ).to.deep.equal({
        lastEventId: '5-aa',
      });
      expect(server.requests).to.have.length(1);
    });
  });

  describe('hems-device CLI', () => {
    let directory: string;

    beforeEach(async () => {
      directory = await mkdtemp(path.join(os.tmpdir(), 'hems-device-'));
    });

    afterEach(() => rm(directory, { recursive: true, force: true }));

    async function run(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const status = await main(argv, {
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
        signal: new AbortController().signal,
      });
      return { status, stdout, stderr };
    }

    async function writeDevice(): Promise<string> {
      const device = path.join(directory, 'device');
      await mkdir(device);
      await writeFile(path.join(device, 'cert.pem'), pki.device.certificatePem);
      await writeFile(path.join(device, 'key.pem'), pki.device.privateKeyPem);
      await writeFile(path.join(device, 'gateway-ca.pem'), pki.tlsCa.pem);
      await writeFile(path.join(device, 'gateway.url'), `${server.url}\n`);
      return device;
    }

    it('enrols into a device directory and then works from it', async () => {
      server.handler = (request, response) => {
        if (request.url === '/v1/enroll') {
          void issueFromCsr(pki.utilityCa, parseBody(request).csr as string, DEVICE_ATTRS).then(
            (certificate) => sendJson(response, 201, { certificate }),
          );
        } else if (request.url.endsWith('/forecast')) {
          sendJson(response, 201, RECEIPT);
        } else {
          sendJson(response, 200, { slotId: 'slot-1', status: 'OPEN' });
        }
      };
      const caFile = path.join(directory, 'tls-ca.pem');
      await writeFile(caFile, pki.tlsCa.pem);
      await writeFile(path.join(directory, 'secret'), 'file-secret\n');
      const device = path.join(directory, 'device');
      const enrolled = await run(
        'enroll',
        '--gateway',
        server.url,
        '--ca',
        caFile,
        '--id=hems-home-7',
        '--secret-file',
        path.join(directory, 'secret'),
        '--out',
        device,
      );
      expect(enrolled.stderr).to.equal('');
      expect(enrolled.status).to.equal(0);
      expect(JSON.parse(enrolled.stdout)).to.include({ enrollmentId: 'hems-home-7', device });
      expect(parseBody(server.requests[0]).secret).to.equal('file-secret');
      expect((await stat(path.join(device, 'key.pem'))).mode & 0o777).to.equal(0o600);
      expect(await readFile(path.join(device, 'gateway.url'), 'utf8')).to.equal(`${server.url}\n`);
      expect(await readFile(path.join(device, 'gateway-ca.pem'), 'utf8')).to.equal(pki.tlsCa.pem);

      const again = await run(
        'enroll',
        '--gateway',
        server.url,
        '--ca',
        caFile,
        '--id',
        'hems-home-7',
        '--secret',
        'x',
        '--out',
        device,
      );
      expect(again.status).to.equal(1);
      expect(again.stderr).to.match(/exists already .*--force/);
      expect(server.requests).to.have.length(1);

      const price = await run('price', '--device', device, '--slot', 'slot-1');
      expect(price.status).to.equal(0);
      expect(JSON.parse(price.stdout)).to.deep.equal({ slotId: 'slot-1', status: 'OPEN' });
      expect(server.requests[1]?.authorized).to.be.true;

      const forecast = await run(
        'forecast',
        '--device',
        device,
        '--slot',
        'slot-1',
        '--lower',
        '1.5',
        '--upper',
        '2',
      );
      expect(forecast.status).to.equal(0);
      expect(JSON.parse(forecast.stdout)).to.deep.equal({ ...RECEIPT, replayed: false });
      expect(JSON.parse(parseBody(server.requests[2]).payload as string)).to.include({
        lower: 1.5,
        upper: 2,
      });
    });

    it('exits 1 with the API error message, 2 on usage errors, 0 with help', async () => {
      const device = await writeDevice();
      server.handler = (_request, response) =>
        sendJson(response, 404, {
          statusCode: 404,
          code: 'NOT_FOUND',
          message: 'NOT_FOUND: slot slot-4 does not exist',
          transactionId: 'd'.repeat(64),
        });
      const failed = await run('dispatch', '--device', device, '--slot', 'slot-4');
      expect(failed.status).to.equal(1);
      expect(failed.stdout).to.equal('');
      expect(failed.stderr).to.equal(
        `hems-device: NOT_FOUND: slot slot-4 does not exist (NOT_FOUND, HTTP 404, transaction ${'d'.repeat(64)})\n`,
      );

      const usage = await run(
        'forecast',
        '--device',
        device,
        '--slot',
        'slot-1',
        '--lower',
        '7.77777',
        '--upper',
        '9',
      );
      expect(usage.status).to.equal(2);
      expect(usage.stderr).to.match(/--lower must be a number of kW/);
      expect(usage.stderr).to.not.include('7.77777');

      const help = await run('--help');
      expect(help.status).to.equal(0);
      expect(help.stdout).to.match(/^Usage: hems-device/);

      const missing = await run('price', '--device', path.join(directory, 'nowhere'), '--slot', 'slot-1');
      expect(missing.status).to.equal(1);
      expect(missing.stderr).to.match(/cannot read gateway URL .*ENOENT/);
    });

    it('prints one JSON line per event, resuming from --last-event-id, until stopped', async () => {
      const device = await writeDevice();
      server.handler = (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(
          'id: 5-bb\nevent: dispatch-published\ndata: {"slotId":"s","bus":"b","lambda":1,"revision":0}\n\n',
        );
      };
      const controller = new AbortController();
      let stdout = '';
      let stderr = '';
      const status = await main(['events', '--device', device, '--last-event-id', '4-aa'], {
        stdout: (text) => {
          stdout += text;
          controller.abort();
        },
        stderr: (text) => (stderr += text),
        signal: controller.signal,
      });
      expect(status).to.equal(0);
      expect(stdout.endsWith('\n')).to.be.true;
      expect(JSON.parse(stdout)).to.deep.equal({
        type: 'dispatch-published',
        id: '5-bb',
        data: { slotId: 's', bus: 'b', lambda: 1, revision: 0 },
      });
      expect(server.requests[0]?.headers['last-event-id']).to.equal('4-aa');
      expect(stderr).to.equal('hems-device: stopped; resume with --last-event-id 5-bb\n');
    });
  });
});

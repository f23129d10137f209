/*
 * The device client against the real gateway app (buildApp over HTTPS with mutual TLS and the
 * default peer-certificate source) with a fake ledger and a fake Fabric CA: what the client sends
 * passes the gateway's own checks, and the chaincode's own verification of the relayed forecast.
 */
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { formatServerSentEvent } from '@hems/gateway-api/src/services/events';
import { FakeLedger } from '@hems/gateway-api/test/support/fake-ledger';
import { TestPki } from '@hems/gateway-api/test/support/pki';
import { OPEN_SLOT } from '@hems/gateway-api/test/support/records';
import { parseForecastPayload, verifyDeviceCertificate, verifyDeviceSignature } from '@hems/protocol';
import { createCa, issueFromCsr, type TestCa } from '@hems/testkit';
import { GatewayApiError, HemsClient, SseParser, type DeviceCredentials } from '../src';
import { listenGateway } from './support/gateway';

const ATTRS = { 'hems.role': 'hems', 'hems.home': 'home-7', 'hems.bus': 'bus-2' };

describe('HEMS device client against the gateway app', () => {
  let pki: TestPki;
  let tlsCa: TestCa;
  let app: FastifyInstance;
  let ledger: FakeLedger;
  let url: string;
  let enrolments: { enrollmentId: string; secret: string }[];

  before(async () => {
    pki = await TestPki.create();
    tlsCa = await createCa('GatewayTlsCA');
  });

  beforeEach(async () => {
    ledger = new FakeLedger('UtilityAMSP', ['relay', 'admin']);
    enrolments = [];
    const ca = pki.ca('UtilityAMSP');
    ({ app, url } = await listenGateway(pki, tlsCa, {
      ledger,
      devices: {
        ca: {
          register: () => Promise.reject(new Error('not used')),
          enroll: (request: { enrollmentId: string; secret: string; csrPem: string }) => {
            enrolments.push({ enrollmentId: request.enrollmentId, secret: request.secret });
            return issueFromCsr(ca, request.csrPem, ATTRS);
          },
          revoke: () => Promise.reject(new Error('not used')),
          generateCrl: () => Promise.reject(new Error('not used')),
        },
      },
    }));
  });

  afterEach(() => app.close());

  async function enroll(): Promise<DeviceCredentials> {
    return HemsClient.enroll({
      gatewayUrl: url,
      gatewayCaPem: tlsCa.pem,
      enrollmentId: 'hems-home-7',
      secret: 'the-one-time-secret',
    });
  }

  /** Enrols the device, runs `use` with its client, and closes the client. */
  async function withEnrolledClient(use: (client: HemsClient) => Promise<void>): Promise<void> {
    const client = new HemsClient({ gatewayUrl: url, gatewayCaPem: tlsCa.pem, ...(await enroll()) });
    try {
      await use(client);
    } finally {
      client.close();
    }
  }

  it('enrols through /v1/enroll: the gateway accepts the CSR the client makes', async () => {
    const credentials = await enroll();
    expect(enrolments).to.deep.equal([{ enrollmentId: 'hems-home-7', secret: 'the-one-time-secret' }]);
    expect(new X509Certificate(credentials.certificatePem).subject).to.match(/CN=hems-home-7/);
  });

  it('reads its slot, submits a forecast the chaincode verifies, and reads its dispatch', async () => {
    await withEnrolledClient(async (client) => {
      ledger.on('GetSlot', OPEN_SLOT);
      expect(await client.getSlot('slot-1')).to.deep.equal({
        slotId: 'slot-1',
        status: 'OPEN',
        deadline: '2030-01-01T10:15:00.000Z',
        bus: 'bus-2',
        prices: { bus: 'bus-2', lower: 35, upper: 110 },
        lambda: null,
      });

      let verified = false;
      ledger.on('SubmitForecast', (options: { transientData?: Record<string, Uint8Array> }) => {
        const transient = options.transientData ?? {};
        const payload = transient.payload ?? new Uint8Array();
        const device = verifyDeviceCertificate({
          pem: Buffer.from(transient.certificate ?? new Uint8Array()).toString('utf8'),
          org: 'UtilityAMSP',
          trustedCertificates: [new X509Certificate(pki.ca('UtilityAMSP').pem)],
          revokedSerials: new Set(),
          at: new Date(),
        });
        verified = verifyDeviceSignature(device.publicKey, payload, transient.signature ?? new Uint8Array());
        expect(parseForecastPayload(payload, 50)).to.include({ slotId: 'slot-1', lower: 2.125, upper: 7 });
        return { slotId: 'slot-1', txId: 'f'.repeat(64), acceptedAt: '2030-01-01T10:05:00.000Z' };
      });
      const receipt = await client.submitForecast('slot-1', { lower: 2.125, upper: 7 });
      expect(verified).to.be.true;
      expect(receipt).to.deep.include({ slotId: 'slot-1', txId: 'f'.repeat(64) });

      ledger.on('GetHomeRef', { homeRef: 'a'.repeat(64), bus: 'bus-2' });
      ledger.on('GetAllowedPowers', {
        slotId: 'slot-1',
        revision: 0,
        dispatchTxId: 'd'.repeat(64),
        batches: ['e'.repeat(64)],
        homes: [['a'.repeat(64), 4.563, 0.5, 0]],
      });
      expect(await client.getDispatch('slot-1')).to.deep.equal({
        slotId: 'slot-1',
        lambda: 0.5,
        allowedKw: 4.563,
        revision: 0,
      });
    });
  });

  it("maps the gateway's error answers to GatewayApiError", async () => {
    await withEnrolledClient(async (client) => {
      const error = (await client
        .submitForecast('slot-1', { lower: 1, upper: 2 })
        .catch((caught: unknown) => caught)) as GatewayApiError;
      // The fake ledger has no SubmitForecast answer: an unexpected failure, not retried as transient.
      expect(error).to.be.instanceOf(GatewayApiError);
      expect(error).to.include({ statusCode: 500, code: 'INTERNAL' });
    });
  });

  it('gets the gateway refusal of an enrolment id it does not accept, without sending a key', async () => {
    const error = (await HemsClient.enroll({
      gatewayUrl: url,
      gatewayCaPem: tlsCa.pem,
      enrollmentId: 'not a device id',
      secret: 's',
    }).catch((caught: unknown) => caught)) as GatewayApiError;
    expect(error).to.be.instanceOf(GatewayApiError);
    expect(error).to.include({ statusCode: 400, code: 'INVALID_REQUEST' });
    expect(enrolments).to.have.length(0);
  });

  it("parses the gateway's own event formatting, including its id-less reset", () => {
    const parser = new SseParser({ lastEventId: '3-ab' });
    const text =
      formatServerSentEvent({ type: 'reset', data: { reason: 're-read the slots' } }) +
      ': heartbeat\n\n' +
      formatServerSentEvent({ id: '9-cd', type: 'dispatch-published', data: { slotId: 's', lambda: 1 } });
    expect(parser.push(text)).to.deep.equal([
      { type: 'reset', id: '3-ab', data: '{"reason":"re-read the slots"}' },
      { type: 'dispatch-published', id: '9-cd', data: '{"slotId":"s","lambda":1}' },
    ]);
  });
});

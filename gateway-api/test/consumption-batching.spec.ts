import { randomBytes, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { TransactionOptions } from '../src/ledger/ports';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';

const SLOT = 'slot-1';
const BATCH = 'e'.repeat(64);
const RECORDED_AT = '2030-01-01T10:20:00.000Z';

interface SentReport {
  readonly payload: string;
  readonly forecastBatch: string;
}

function reportsOf(options: TransactionOptions): SentReport[] {
  return JSON.parse(Buffer.from(options.transientData?.items ?? []).toString('utf8')) as SentReport[];
}

describe('utility gateway: batched consumption reports', () => {
  let pki: TestPki;
  let gateway: TestGateway;
  let devices: X509Certificate[];

  before(async () => {
    pki = await TestPki.create();
    devices = await Promise.all([0, 1, 2].map((n) => pki.device('UtilityAMSP', `home-${n}`, 'bus-1')));
  });

  beforeEach(async () => {
    gateway = await TestGateway.create('UtilityAMSP', ['relay'], {
      pki,
      forecastBatch: { maxItems: 50, maxWaitMs: 30 },
    });
    // Each device's home reference is its home id's last character repeated.
    gateway.ledger.on('GetHomeRef', (options: TransactionOptions) => {
      const pem = Buffer.from(options.transientData?.certificate ?? []).toString();
      const index = devices.findIndex((device) => device.toString() === pem);
      return { slotId: SLOT, homeRef: String(index).repeat(64), bus: 'bus-1' };
    });
    gateway.ledger.on('GetAllowedPowers', {
      slotId: SLOT,
      revision: 0,
      dispatchTxId: 'd'.repeat(64),
      batches: [BATCH],
      homes: [0, 1, 2].map((n) => [String(n).repeat(64), 2, 0.5, 0]),
    });
  });
  afterEach(() => gateway.app.close());

  const post = (device: X509Certificate, drawnKw: number) =>
    gateway.post(device, `/v1/slots/${SLOT}/consumption`, {
      payload: JSON.stringify({ slotId: SLOT, drawnKw, nonce: randomBytes(16).toString('base64') }),
      signature: randomBytes(70).toString('base64'),
    });

  it("sends the devices' reports as one ReportConsumptions, each with its forecast's batch, and answers each alone", async () => {
    gateway.ledger.on('ReportConsumptions', (options: TransactionOptions) => ({
      slotId: SLOT,
      txId: 'f'.repeat(64),
      recordedAt: RECORDED_AT,
      accepted: reportsOf(options).length - 1,
      refused: [
        {
          index: 1,
          code: 'CONFLICT',
          message: 'this home has already reported its consumption for slot slot-1',
        },
      ],
    }));
    const [first, second, third] = await Promise.all(devices.map((device, n) => post(device, n + 1.125)));
    expect(first?.statusCode).to.equal(201);
    expect(first?.json()).to.deep.equal({ slotId: SLOT, txId: 'f'.repeat(64), recordedAt: RECORDED_AT });
    expect(second?.statusCode).to.equal(409);
    expect(second?.json()).to.include({ code: 'CONFLICT' });
    expect(third?.statusCode).to.equal(201);
    const calls = gateway.ledger.callsOf('ReportConsumptions');
    expect(calls).to.have.length(1);
    expect(calls[0]?.options.arguments).to.deep.equal([SLOT]);
    expect(calls[0]?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    expect(reportsOf(calls[0]?.options ?? {}).map((report) => report.forecastBatch)).to.deep.equal([
      BATCH,
      BATCH,
      BATCH,
    ]);
    expect(gateway.ledger.callsOf('ReportConsumption')).to.deep.equal([]);
    // The drawn powers travel only in transient data and never in an answer.
    expect(JSON.stringify(calls[0]?.options.arguments)).to.not.include('1.125');
    expect(first?.body).to.not.include('1.125');
  });
});

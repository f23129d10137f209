import { randomBytes, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { TransactionOptions } from '../src/ledger/ports';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';
import { expectNoneOf } from './support/expectations';

const WINDOW = 'w-1';
const AT = '2030-01-01T10:05:00.000Z';
const TX = 'f'.repeat(64);

interface SentItem {
  readonly payload: string;
  readonly signature: string;
  readonly certificate: string;
}

function itemsOf(options: TransactionOptions): SentItem[] {
  return JSON.parse(Buffer.from(options.transientData?.items ?? []).toString('utf8')) as SentItem[];
}

/** A distinctive order of `energyKwh`, so a trace of it anywhere is found. */
function order(energyKwh: number): string {
  return JSON.stringify({
    energyKwh,
    escrow: '0.7319',
    limitPrice: 191.2837,
    nonce: randomBytes(16).toString('base64'),
    side: 'bid',
    windowId: WINDOW,
  });
}

describe('utility gateway: batched auction orders and cancellations', () => {
  let pki: TestPki;
  let gateway: TestGateway;
  let devices: X509Certificate[];

  before(async () => {
    pki = await TestPki.create();
    devices = await Promise.all([0, 1, 2].map((n) => pki.device('UtilityAMSP', `home-o${n}`, 'bus-1')));
  });

  beforeEach(async () => {
    gateway = await TestGateway.create('UtilityAMSP', ['relay'], {
      pki,
      forecastBatch: { maxItems: 50, maxWaitMs: 30 },
    });
  });
  afterEach(() => gateway.app.close());

  const send = (device: X509Certificate, method: 'POST' | 'DELETE', payload: string) =>
    gateway.request(device, {
      method,
      url: `/v1/windows/${WINDOW}/orders`,
      payload: { payload, signature: randomBytes(70).toString('base64') },
    });

  it("sends the devices' orders as one SubmitOrders and answers each device alone, with its own refusal", async () => {
    gateway.ledger.on('SubmitOrders', (options: TransactionOptions) => ({
      windowId: WINDOW,
      txId: TX,
      at: AT,
      accepted: itemsOf(options).length - 1,
      refused: [{ index: 1, code: 'FAILED_PRECONDITION', message: 'balance does not cover the escrow' }],
    }));
    const payloads = [order(1.0371), order(2.0371), order(3.0371)];
    const answers = await Promise.all(devices.map((device, n) => send(device, 'POST', payloads[n]!)));
    expect(answers.map((answer) => answer.statusCode)).to.deep.equal([201, 409, 201]);
    expect(answers[0]?.json()).to.deep.equal({ windowId: WINDOW, txId: TX, acceptedAt: AT });
    expect(answers[0]?.headers['x-transaction-id']).to.equal(TX);
    expect(answers[1]?.json()).to.include({
      code: 'FAILED_PRECONDITION',
      message: 'balance does not cover the escrow',
    });
    const calls = gateway.ledger.callsOf('SubmitOrders');
    expect(calls).to.have.length(1);
    expect(calls[0]?.options.arguments).to.deep.equal([WINDOW]);
    expect(calls[0]?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    const items = itemsOf(calls[0]?.options ?? {});
    expect(items.map((item) => Buffer.from(item.payload, 'base64').toString('utf8'))).to.deep.equal(payloads);
    expect(items.map((item) => item.certificate)).to.deep.equal(devices.map((device) => device.toString()));
    expect(gateway.ledger.callsOf('SubmitOrder')).to.deep.equal([]);
    // The orders' values travel only in transient data and never in an answer.
    expectNoneOf(JSON.stringify(calls[0]?.options.arguments), ['1.0371', '191.2837', '0.7319']);
    for (const answer of answers) {
      expectNoneOf(answer.body, ['1.0371', '2.0371', '191.2837', '0.7319']);
    }
  });

  it('puts a home’s second order into the next batch, after the first', async () => {
    gateway.ledger.on('SubmitOrders', (options: TransactionOptions) => ({
      windowId: WINDOW,
      txId: TX,
      at: AT,
      accepted: itemsOf(options).length,
      refused: [],
    }));
    const [first, second] = await Promise.all([
      send(devices[0]!, 'POST', order(1)),
      send(devices[0]!, 'POST', order(2)),
    ]);
    expect([first?.statusCode, second?.statusCode]).to.deep.equal([201, 201]);
    const calls = gateway.ledger.callsOf('SubmitOrders');
    expect(calls.map((call) => itemsOf(call.options).length)).to.deep.equal([1, 1]);
  });

  it('sends cancellations as CancelOrders and answers each with its time', async () => {
    gateway.ledger.on('CancelOrders', (options: TransactionOptions) => ({
      windowId: WINDOW,
      txId: TX,
      at: AT,
      accepted: itemsOf(options).length - 1,
      refused: [{ index: 0, code: 'NOT_FOUND', message: 'the device has no order in window w-1' }],
    }));
    const cancel = (): string =>
      JSON.stringify({ action: 'cancel', nonce: randomBytes(16).toString('base64'), windowId: WINDOW });
    const [none, done] = await Promise.all([
      send(devices[0]!, 'DELETE', cancel()),
      send(devices[1]!, 'DELETE', cancel()),
    ]);
    expect(none?.statusCode).to.equal(404);
    expect(done?.statusCode).to.equal(200);
    expect(done?.json()).to.deep.equal({ windowId: WINDOW, txId: TX, cancelledAt: AT, cancelled: true });
    expect(gateway.ledger.callsOf('CancelOrders')).to.have.length(1);
  });

  it('does not order a batch whose every item was refused, and answers each refusal without a transaction id', async () => {
    gateway.ledger.on('SubmitOrders', (options: TransactionOptions) => ({
      windowId: WINDOW,
      txId: TX,
      at: AT,
      accepted: 0,
      refused: itemsOf(options).map((_, index) => ({
        index,
        code: 'FAILED_PRECONDITION',
        message: 'balance does not cover the escrow',
      })),
    }));
    const answers = await Promise.all(devices.map((device) => send(device, 'POST', order(1))));
    expect(answers.map((answer) => answer.statusCode)).to.deep.equal([409, 409, 409]);
    for (const answer of answers) {
      expect(answer.json()).to.not.have.property('transactionId');
      expect(answer.headers['x-transaction-id']).to.equal(undefined);
    }
    expect(gateway.ledger.skipped).to.deep.equal(['SubmitOrders']);
  });

  it('refuses a malformed payload before batching, and a whole batch refused answers every device', async () => {
    const wrongWindow = await send(devices[0]!, 'POST', order(1).replace(WINDOW, 'w-2'));
    expect(wrongWindow.statusCode).to.equal(400);
    expect(gateway.ledger.callsOf('SubmitOrders')).to.deep.equal([]);
    gateway.ledger.refuse('SubmitOrders', 'FAILED_PRECONDITION', 'window w-1 is closed for orders');
    const answers = await Promise.all(devices.map((device) => send(device, 'POST', order(1))));
    expect(answers.map((answer) => answer.statusCode)).to.deep.equal([409, 409, 409]);
    expect(gateway.ledger.callsOf('SubmitOrders')).to.have.length(1);
  });
});

/*
 * The device client's auction calls against the real gateway app over HTTPS with mutual TLS and
 * a fake ledger: what the client signs is the canonical JSON the chaincode stores and reveals,
 * the signature verifies with the device certificate's key, and the values never leave in clear
 * anywhere but the signed payload.
 */
import { verify, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '@hems/gateway-api/src/http/errors';
import type { TransactionOptions } from '@hems/gateway-api/src/ledger/ports';
import { FakeLedger } from '@hems/gateway-api/test/support/fake-ledger';
import { TestPki } from '@hems/gateway-api/test/support/pki';
import { canonicalJson } from '@hems/protocol';
import { createCa, issueFromCsr, type TestCa } from '@hems/testkit';
import { checkOrder, createEnrollmentRequest, GatewayApiError, HemsClient, paddedEscrowUnits } from '../src';
import { listenGateway } from './support/gateway';

const ATTRS = { 'hems.role': 'hems', 'hems.home': 'home-7', 'hems.bus': 'bus-2' };

function transientText(options: TransactionOptions, name: string): string {
  return Buffer.from(options.transientData?.[name] ?? []).toString('utf8');
}

describe('HEMS device client: auction orders and accounts', () => {
  let pki: TestPki;
  let tlsCa: TestCa;
  let app: FastifyInstance;
  let ledger: FakeLedger;
  let client: HemsClient;
  let certificate: X509Certificate;

  before(async () => {
    pki = await TestPki.create();
    tlsCa = await createCa('GatewayTlsCA');
  });

  beforeEach(async () => {
    ledger = new FakeLedger('UtilityAMSP', ['relay', 'meter', 'admin']);
    const gateway = await listenGateway(pki, tlsCa, { ledger });
    app = gateway.app;
    const request = await createEnrollmentRequest('hems-home-7');
    const certificatePem = await issueFromCsr(pki.ca('UtilityAMSP'), request.csrPem, ATTRS);
    certificate = new X509Certificate(certificatePem);
    client = new HemsClient({
      gatewayUrl: gateway.url,
      gatewayCaPem: tlsCa.pem,
      certificatePem,
      privateKeyPem: request.privateKeyPem,
      retry: { attempts: 2, initialDelayMs: 1 },
    });
  });

  afterEach(async () => {
    client.close();
    await app.close();
  });

  it('submits a bid as canonical JSON signed by the device key, with a padded escrow by default', async () => {
    ledger.on('SubmitOrder', { windowId: 'w-1', acceptedAt: '2030-01-01T10:01:00.000Z', escrow: '1' });
    const receipt = await client.submitOrder('w-1', { side: 'bid', energyKwh: 2.5, limitPrice: 120.5 });
    expect(receipt).to.deep.equal({
      windowId: 'w-1',
      txId: 'f'.repeat(64),
      acceptedAt: '2030-01-01T10:01:00.000Z',
      escrow: '1',
      replayed: false,
    });
    const [call] = ledger.callsOf('SubmitOrder');
    const options = call?.options ?? {};
    const payload = transientText(options, 'payload');
    // Exactly the chaincode's canonical form of what it parses.
    expect(canonicalJson(JSON.parse(payload))).to.equal(payload);
    const parsed = JSON.parse(payload) as Record<string, unknown>;
    // 2500 Wh × 1 205 000 price units = 3.0125e9 value units = 0.30125 currency: escrows 1, the
    // smallest bucket, so the public escrow does not show the product.
    expect(parsed).to.deep.include({
      windowId: 'w-1',
      side: 'bid',
      energyKwh: 2.5,
      limitPrice: 120.5,
      escrow: '1',
    });
    expect(Buffer.from(parsed.nonce as string, 'base64')).to.have.length(32);
    expect(Object.keys(parsed).sort()).to.deep.equal([
      'energyKwh',
      'escrow',
      'limitPrice',
      'nonce',
      'side',
      'windowId',
    ]);
    const signature = Buffer.from(options.transientData?.signature ?? []);
    expect(verify('sha256', Buffer.from(payload, 'utf8'), certificate.publicKey, signature)).to.equal(true);
    expect(transientText(options, 'certificate')).to.equal(certificate.toString());
  });

  it('sends offers with escrow "0", a padded escrow as given, and a fresh nonce and key each time', async () => {
    ledger.on('SubmitOrder', { windowId: 'w-1' });
    await client.submitOrder('w-1', { side: 'offer', energyKwh: 1.25, limitPrice: 0 });
    await client.submitOrder('w-1', { side: 'bid', energyKwh: 1, limitPrice: 100, escrow: 5 });
    await client.submitOrder('w-1', { side: 'bid', energyKwh: 1, limitPrice: 100, escrow: '0.1000' });
    const payloads = ledger
      .callsOf('SubmitOrder')
      .map((call) => JSON.parse(transientText(call.options, 'payload')) as Record<string, unknown>);
    expect(payloads.map((payload) => payload.escrow)).to.deep.equal(['0', '5', '0.1']);
    expect(new Set(payloads.map((payload) => payload.nonce)).size).to.equal(3);
    const first = client.signOrder('w-1', { side: 'offer', energyKwh: 1, limitPrice: 10 });
    const second = client.signOrder('w-1', { side: 'offer', energyKwh: 1, limitPrice: 10 });
    expect(first.idempotencyKey).to.not.equal(second.idempotencyKey);
    expect(first.payload).to.not.equal(second.payload);
  });

  it('retries a 503 with the same signed order and Idempotency-Key', async () => {
    let attempts = 0;
    ledger.on('SubmitOrder', () => {
      attempts += 1;
      if (attempts === 1) {
        throw new HttpError(503, 'LEDGER_UNAVAILABLE', 'the Fabric network did not answer');
      }
      return { windowId: 'w-1' };
    });
    const signed = client.signOrder('w-1', { side: 'offer', energyKwh: 1, limitPrice: 10 });
    const receipt = await client.submitSignedOrder(signed);
    expect(receipt).to.include({ windowId: 'w-1', replayed: false });
    const sent = ledger.callsOf('SubmitOrder').map((call) => transientText(call.options, 'payload'));
    expect(sent).to.deep.equal([signed.payload, signed.payload]);
    // A refusal is not retried.
    ledger.on('SubmitOrder', () => {
      throw new Error('chaincode response 500, FAILED_PRECONDITION: window w-1 is closed');
    });
    const error = (await client
      .submitSignedOrder(client.signOrder('w-1', { side: 'offer', energyKwh: 1, limitPrice: 10 }))
      .catch((caught: unknown) => caught)) as GatewayApiError;
    expect(error).to.be.instanceOf(GatewayApiError);
    expect(error).to.include({ statusCode: 409, code: 'FAILED_PRECONDITION' });
    expect(ledger.callsOf('SubmitOrder')).to.have.length(3);
  });

  it('cancels with a signed canonical {action, nonce, windowId}', async () => {
    ledger.on('CancelOrder', { windowId: 'w-1', refunded: '0.3013' });
    const receipt = await client.cancelOrder('w-1');
    expect(receipt).to.deep.include({ windowId: 'w-1', cancelled: true, refunded: '0.3013' });
    const options = ledger.callsOf('CancelOrder')[0]?.options ?? {};
    const payload = transientText(options, 'payload');
    expect(canonicalJson(JSON.parse(payload))).to.equal(payload);
    expect(Object.keys(JSON.parse(payload) as object)).to.deep.equal(['action', 'nonce', 'windowId']);
    expect(
      verify(
        'sha256',
        Buffer.from(payload, 'utf8'),
        certificate.publicKey,
        Buffer.from(options.transientData?.signature ?? []),
      ),
    ).to.equal(true);
  });

  it('reads the window and its own account', async () => {
    const window = { windowId: 'w-1', status: 'OPEN', closesAt: '2030-01-01T10:10:00.000Z' };
    ledger.on('GetWindow', window);
    expect(await client.getWindow('w-1')).to.deep.equal(window);
    const account = {
      accountId: `acct-${'a'.repeat(32)}`,
      mspId: 'UtilityAMSP',
      balance: '10',
      escrowed: '0',
    };
    ledger.on('GetMyAccount', account);
    expect(await client.getMyAccount()).to.deep.equal(account);
    ledger.on('GetWindow', () => {
      throw new Error('chaincode response 500, NOT_FOUND: window w-2 does not exist');
    });
    const error = (await client.getWindow('w-2').catch((caught: unknown) => caught)) as GatewayApiError;
    expect(error).to.include({ statusCode: 404, code: 'NOT_FOUND' });
  });

  it('refuses invalid orders before sending anything, never naming their values', () => {
    const cases: [unknown, RegExp][] = [
      [{ side: 'sell', energyKwh: 1, limitPrice: 1 }, /side/],
      [{ side: 'bid', energyKwh: 0, limitPrice: 1 }, /energyKwh/],
      [{ side: 'bid', energyKwh: 1.2345, limitPrice: 1 }, /at most 3 decimals/],
      [{ side: 'bid', energyKwh: Number.NaN, limitPrice: 1 }, /finite/],
      [{ side: 'bid', energyKwh: 1e7, limitPrice: 1 }, /energyKwh/],
      [{ side: 'bid', energyKwh: 1, limitPrice: -3 }, /limitPrice/],
      [{ side: 'bid', energyKwh: 1, limitPrice: 1.23456 }, /at most 4 decimals/],
      [{ side: 'bid', energyKwh: 1, limitPrice: Number.POSITIVE_INFINITY }, /limitPrice/],
      [{ side: 'bid', energyKwh: 7.777, limitPrice: 99.99, escrow: '0.0001' }, /escrow must cover/],
      [{ side: 'bid', energyKwh: 1, limitPrice: 1, escrow: '1e3' }, /escrow/],
      [{ side: 'bid', energyKwh: 1, limitPrice: 1, escrow: -1 }, /escrow/],
      [{ side: 'offer', energyKwh: 1, limitPrice: 1, escrow: '2' }, /offer carries no escrow/],
      ['bid', /order must be an object/],
    ];
    for (const [order, message] of cases) {
      let error: unknown;
      try {
        checkOrder(order as Parameters<typeof checkOrder>[0]);
      } catch (caught) {
        error = caught;
      }
      expect(error, message.source).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(message);
      expect((error as Error).message).to.not.match(/7\.777|99\.99|1\.2345|1\.23456/);
    }
    expect(() => client.signOrder('w 1', { side: 'offer', energyKwh: 1, limitPrice: 1 })).to.throw(
      /windowId/,
    );
    expect(ledger.calls).to.have.length(0);
  });

  it('pads the default escrow to the next power of two in whole currency units, at least 1', () => {
    const escrow = (energyKwh: number, limitPrice: number): string =>
      checkOrder({ side: 'bid', energyKwh, limitPrice }).escrow;
    expect(escrow(0.001, 0.0001)).to.equal('1');
    expect(escrow(1, 0)).to.equal('1');
    expect(escrow(1000, 1)).to.equal('1');
    expect(escrow(1000, 1.0001)).to.equal('2');
    expect(escrow(1000, 100)).to.equal('128');
    expect(escrow(1000, 128)).to.equal('128');
    expect(escrow(2500, 120.5)).to.equal('512');
    // The largest bid (1 GWh at 100000 per MWh = 1e8) escrows 2^27, within the chaincode's 1e9.
    expect(escrow(1000000, 100000)).to.equal(String(2 ** 27));
    // Bids of different values in one bucket escrow the same amount.
    expect(escrow(3, 80)).to.equal(escrow(2, 70));
    expect(paddedEscrowUnits(0n)).to.equal(10_000n);
    expect(paddedEscrowUnits(10_001n)).to.equal(20_000n);
  });

  it('checks an explicit escrow against the exact covering value, rounded up to 1e-4 currency', () => {
    // 3000 Wh × 333 333 price units = 999 999 000 value units = 0.0999999 currency: covered by 0.1.
    expect(checkOrder({ side: 'bid', energyKwh: 3, limitPrice: 33.3333, escrow: '0.1' }).escrow).to.equal(
      '0.1',
    );
    expect(() => checkOrder({ side: 'bid', energyKwh: 3, limitPrice: 33.3333, escrow: '0.0999' })).to.throw(
      /escrow must cover/,
    );
    expect(
      checkOrder({ side: 'bid', energyKwh: 0.001, limitPrice: 0.0001, escrow: '0.0001' }).escrow,
    ).to.equal('0.0001');
    expect(checkOrder({ side: 'bid', energyKwh: 1000, limitPrice: 100, escrow: 100 }).escrow).to.equal('100');
    expect(() => checkOrder({ side: 'bid', energyKwh: 1000, limitPrice: 100, escrow: '99.9999' })).to.throw(
      /escrow must cover/,
    );
    expect(checkOrder({ side: 'bid', energyKwh: 1, limitPrice: 0, escrow: 0 }).escrow).to.equal('0');
  });
});

import { generateKeyPairSync, sign, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { refusal } from './support/fake-ledger';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';
import { expectError, expectNoneOf, expectRefusalsMapped } from './support/expectations';

// Distinctive values, so that any trace of them in logs or answers is found.
const ORDER = {
  energyKwh: 3.217,
  escrow: '0.9137',
  limitPrice: 283.4561,
  nonce: 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U=',
  side: 'bid',
  windowId: 'w-1',
};
const PAYLOAD = JSON.stringify(ORDER);
const SIGNATURE =
  'MEUCIQDx7Yz1cKq9vT0yS2Xc8w1b3lq7hB3Ue1r4L1cJ1cJ1cAIgY3Jk8m8ZbT0c7mXoC4z1hDq3t7i5W2p6r9s8u0v1w2s=';
const CANCEL = JSON.stringify({ action: 'cancel', nonce: ORDER.nonce, windowId: 'w-1' });
const SECRETS = ['3.217', '0.9137', '283.4561', ORDER.nonce, SIGNATURE.slice(0, 40)];

const expectNoSecret = (text: string): void => expectNoneOf(text, SECRETS);

describe('auction: sealed orders of HEMS devices', () => {
  let pki: TestPki;
  let gateway: TestGateway;
  let logs: string[];
  let device: X509Certificate;

  before(async () => {
    pki = await TestPki.create();
    device = await pki.device('UtilityAMSP', 'home-a-001', 'bus-1');
  });

  beforeEach(async () => {
    logs = [];
    gateway = await TestGateway.create('UtilityAMSP', ['relay', 'meter', 'admin'], { pki, logs });
  });

  afterEach(() => gateway.app.close());

  const submit = (
    certificate: X509Certificate | undefined,
    payload: unknown = { payload: PAYLOAD, signature: SIGNATURE },
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    gateway.request(certificate, {
      method: 'POST',
      url: '/v1/windows/w-1/orders',
      payload: payload as object,
      headers,
    });

  describe('POST /v1/windows/:windowId/orders', () => {
    it("relays the exact signed payload, signature and device certificate in transient data on the utility's own peer", async () => {
      gateway.ledger.on('SubmitOrder', {
        windowId: 'w-1',
        acceptedAt: '2030-01-01T10:01:00.000Z',
        escrow: '0.9137',
        replaced: false,
        // Whatever else the chaincode says is not passed on.
        energyKwh: 3.217,
        orderRef: 'a'.repeat(64),
      });
      const response = await submit(device);
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.json()).to.deep.equal({
        windowId: 'w-1',
        txId: 'f'.repeat(64),
        acceptedAt: '2030-01-01T10:01:00.000Z',
        replaced: false,
        escrow: '0.9137',
      });
      const [call] = gateway.ledger.callsOf('SubmitOrder');
      expect(call).to.deep.include({ identity: 'relay', contract: 'auction', kind: 'submit' });
      expect(call?.options.arguments).to.deep.equal(['w-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      const transient = call?.options.transientData ?? {};
      expect(Buffer.from(transient.payload ?? []).toString('utf8')).to.equal(PAYLOAD);
      expect(Buffer.from(transient.signature ?? [])).to.deep.equal(Buffer.from(SIGNATURE, 'base64'));
      expect(Buffer.from(transient.certificate ?? []).toString('utf8')).to.equal(device.toString());
    });

    it('accepts a base64url signature as the same bytes', async () => {
      gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      const url = SIGNATURE.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      expect((await submit(device, { payload: PAYLOAD, signature: url })).statusCode).to.equal(201);
      const transient = gateway.ledger.callsOf('SubmitOrder')[0]?.options.transientData ?? {};
      expect(Buffer.from(transient.signature ?? [])).to.deep.equal(Buffer.from(SIGNATURE, 'base64'));
    });

    it('refuses other roles, devices of other utilities, and gateways without a relay', async () => {
      const relay = await pki.role('UtilityAMSP', 'relay');
      const meter = await pki.role('UtilityAMSP', 'meter');
      for (const caller of [relay, meter, await pki.role('RegulatorMSP', 'auditor')]) {
        expectError(await submit(caller), 403, 'FORBIDDEN', /for hems identities/);
      }
      const foreign = await pki.device('UtilityBMSP', 'home-b-001', 'bus-1');
      expectError(await submit(foreign), 403, 'FORBIDDEN', /HEMS devices of UtilityAMSP only/);
      const dso = await TestGateway.create('DSOMSP', ['dso', 'market'], { pki });
      const atDso = await dso.request(device, {
        method: 'POST',
        url: '/v1/windows/w-1/orders',
        payload: { payload: PAYLOAD, signature: SIGNATURE },
      });
      expectError(atDso, 403, 'FORBIDDEN');
      await dso.app.close();
      expectError(await submit(undefined), 401, 'UNAUTHENTICATED');
      expect(gateway.ledger.calls).to.have.length(0);
    });

    it('refuses malformed bodies and payloads for another window with 400, never repeating them', async () => {
      const bad: [unknown, RegExp][] = [
        [
          { payload: 'not json at all 283.4561', signature: SIGNATURE },
          /payload must be the signed JSON text/,
        ],
        [{ payload: '[3.217, 283.4561]', signature: SIGNATURE }, /payload must be a JSON object/],
        [
          { payload: JSON.stringify({ ...ORDER, windowId: 'w-2' }), signature: SIGNATURE },
          /window in the URL/,
        ],
        [{ payload: CANCEL, signature: SIGNATURE }, /cancellation goes to DELETE/],
        [{ payload: PAYLOAD, signature: 'not base64!' }, /signature/],
        [{ payload: PAYLOAD }, /signature/],
        [{ payload: PAYLOAD, signature: SIGNATURE, energyKwh: 3.217 }, /additional properties/],
        [{ payload: ' '.repeat(1025), signature: SIGNATURE }, /payload/],
        [{ payload: 283.4561, signature: SIGNATURE }, /payload/],
      ];
      for (const [body, message] of bad) {
        const response = await submit(device, body);
        expectError(response, 400, 'INVALID_REQUEST', message);
        expectNoSecret(response.body);
      }
      const invalidWindow = await gateway.request(device, {
        method: 'POST',
        url: '/v1/windows/%3Cscript%3E/orders',
        payload: { payload: PAYLOAD, signature: SIGNATURE },
      });
      expectError(invalidWindow, 400, 'INVALID_REQUEST');
      expect(gateway.ledger.calls).to.have.length(0);
    });

    it('maps the chaincode refusals to precise statuses with its value-free messages', async () => {
      const cases: [string, string, number][] = [
        ['FAILED_PRECONDITION', 'offer exceeds the available energy for this window', 409],
        ['FAILED_PRECONDITION', 'balance does not cover the escrow', 409],
        ['FAILED_PRECONDITION', 'window w-1 is closed', 409],
        ['NOT_FOUND', 'window w-1 does not exist', 404],
        ['CONFLICT', 'this nonce was used before', 409],
        ['INVALID_ARGUMENT', 'payload.limitPrice must have at most 4 decimal places', 422],
        ['FORBIDDEN', 'the device certificate has been revoked', 403],
      ];
      await expectRefusalsMapped(gateway.ledger, 'SubmitOrder', cases, () => submit(device));
    });

    it('never logs the order, its signature or its nonce, also when it fails', async () => {
      gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      await submit(device);
      gateway.ledger.on('SubmitOrder', () => {
        throw new Error(`peer exploded while handling ${PAYLOAD}`);
      });
      const failed = await submit(device);
      expectError(failed, 500, 'INTERNAL', /^internal error$/);
      await submit(device, { payload: JSON.stringify({ ...ORDER, windowId: 'w-2' }), signature: SIGNATURE });
      expect(logs.length).to.be.greaterThan(3);
      expectNoSecret(logs.join('\n'));
    });

    it('replays an idempotent retry with the same receipt and submits once', async () => {
      gateway.ledger.on('SubmitOrder', { windowId: 'w-1', acceptedAt: '2030-01-01T10:01:00.000Z' });
      const first = await submit(device, undefined, { 'idempotency-key': 'order-1' });
      const second = await submit(device, undefined, { 'idempotency-key': 'order-1' });
      expect(first.statusCode).to.equal(201);
      expect(second.statusCode).to.equal(201);
      expect(second.headers['idempotent-replay']).to.equal('true');
      expect(second.json()).to.deep.equal(first.json());
      expect(gateway.ledger.callsOf('SubmitOrder')).to.have.length(1);
      // The same key for a different signed order is a client bug, not a replay.
      const other = await submit(
        device,
        { payload: PAYLOAD.replace('3.217', '3.218'), signature: SIGNATURE },
        {
          'idempotency-key': 'order-1',
        },
      );
      expectError(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('relays a payload signed by a real device key unchanged, byte for byte', async () => {
      // A P-256 key the test certificate was not made for: only the relaying is checked here.
      const { privateKey: key } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const payload = JSON.stringify({ ...ORDER, energyKwh: 1, note: 'ünïcödé' });
      const signature = sign('sha256', Buffer.from(payload, 'utf8'), key).toString('base64');
      gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      expect((await submit(device, { payload, signature })).statusCode).to.equal(201);
      const transient = gateway.ledger.callsOf('SubmitOrder')[0]?.options.transientData ?? {};
      expect(Buffer.from(transient.payload ?? [])).to.deep.equal(Buffer.from(payload, 'utf8'));
      expect(Buffer.from(transient.signature ?? []).toString('base64')).to.equal(signature);
    });
  });

  describe('DELETE /v1/windows/:windowId/orders', () => {
    const cancel = (
      body: unknown = { payload: CANCEL, signature: SIGNATURE },
    ): Promise<LightMyRequestResponse> =>
      gateway.request(device, { method: 'DELETE', url: '/v1/windows/w-1/orders', payload: body as object });

    it('relays the signed cancellation like an order and reports the refund', async () => {
      gateway.ledger.on('CancelOrder', {
        windowId: 'w-1',
        cancelledAt: '2030-01-01T10:02:00.000Z',
        refunded: '0.9137',
        energyKwh: 3.217,
      });
      const response = await cancel();
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({
        windowId: 'w-1',
        txId: 'f'.repeat(64),
        cancelledAt: '2030-01-01T10:02:00.000Z',
        refunded: '0.9137',
        cancelled: true,
      });
      const [call] = gateway.ledger.callsOf('CancelOrder');
      expect(call).to.deep.include({ identity: 'relay', contract: 'auction', kind: 'submit' });
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(call?.options.transientData?.payload ?? []).toString('utf8')).to.equal(CANCEL);
      expect(Buffer.from(call?.options.transientData?.certificate ?? []).toString('utf8')).to.equal(
        device.toString(),
      );
    });

    it('refuses an order sent as a cancellation, a missing body, and maps "no order" and "closed"', async () => {
      expectError(
        await cancel({ payload: PAYLOAD, signature: SIGNATURE }),
        400,
        'INVALID_REQUEST',
        /action must be "cancel"/,
      );
      expectError(
        await gateway.request(device, { method: 'DELETE', url: '/v1/windows/w-1/orders' }),
        400,
        'INVALID_REQUEST',
      );
      gateway.ledger.on('CancelOrder', () => {
        throw refusal('NOT_FOUND', 'this home has no order in window w-1');
      });
      expectError(await cancel(), 404, 'NOT_FOUND', /no order/);
      gateway.ledger.on('CancelOrder', () => {
        throw refusal('FAILED_PRECONDITION', 'window w-1 is closed');
      });
      expectError(await cancel(), 409, 'FAILED_PRECONDITION', /closed/);
      expectNoSecret(logs.join('\n'));
    });
  });
});

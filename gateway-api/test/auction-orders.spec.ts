import { generateKeyPairSync, sign, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';
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
  const suite = gatewaySuite(async (pki) => ({
    device: await pki.device('UtilityAMSP', 'home-a-001', 'bus-1'),
  }));

  const submit = (
    certificate: X509Certificate | undefined,
    payload: unknown = { payload: PAYLOAD, signature: SIGNATURE },
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    suite.gateway.request(certificate, {
      method: 'POST',
      url: '/v1/windows/w-1/orders',
      payload: payload as object,
      headers,
    });

  describe('POST /v1/windows/:windowId/orders', () => {
    it("relays the exact signed payload, signature and device certificate in transient data on the utility's own peer", async () => {
      suite.gateway.ledger.on('SubmitOrder', {
        windowId: 'w-1',
        acceptedAt: '2030-01-01T10:01:00.000Z',
        escrow: '0.9137',
        replaced: false,
        // Whatever else the chaincode says is not passed on.
        energyKwh: 3.217,
        orderRef: 'a'.repeat(64),
      });
      const response = await submit(suite.device);
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.json()).to.deep.equal({
        windowId: 'w-1',
        txId: 'f'.repeat(64),
        acceptedAt: '2030-01-01T10:01:00.000Z',
        replaced: false,
        escrow: '0.9137',
      });
      const [call] = suite.gateway.ledger.callsOf('SubmitOrder');
      expect(call).to.deep.include({ identity: 'relay', contract: 'auction', kind: 'submit' });
      expect(call?.options.arguments).to.deep.equal(['w-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      const transient = call?.options.transientData ?? {};
      expect(Buffer.from(transient.payload ?? []).toString('utf8')).to.equal(PAYLOAD);
      expect(Buffer.from(transient.signature ?? [])).to.deep.equal(Buffer.from(SIGNATURE, 'base64'));
      expect(Buffer.from(transient.certificate ?? []).toString('utf8')).to.equal(suite.device.toString());
    });

    it('accepts a base64url signature as the same bytes', async () => {
      suite.gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      const url = SIGNATURE.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      expect((await submit(suite.device, { payload: PAYLOAD, signature: url })).statusCode).to.equal(201);
      const transient = suite.gateway.ledger.callsOf('SubmitOrder')[0]?.options.transientData ?? {};
      expect(Buffer.from(transient.signature ?? [])).to.deep.equal(Buffer.from(SIGNATURE, 'base64'));
    });

    it('refuses other roles, devices of other utilities, and gateways without a relay', async () => {
      const relay = await suite.pki.role('UtilityAMSP', 'relay');
      const meter = await suite.pki.role('UtilityAMSP', 'meter');
      for (const caller of [relay, meter, await suite.pki.role('RegulatorMSP', 'auditor')]) {
        expectError(await submit(caller), 403, 'FORBIDDEN', /for hems identities/);
      }
      const foreign = await suite.pki.device('UtilityBMSP', 'home-b-001', 'bus-1');
      expectError(await submit(foreign), 403, 'FORBIDDEN', /HEMS devices of UtilityAMSP only/);
      const dso = await TestGateway.create('DSOMSP', ['dso', 'market'], { pki: suite.pki });
      const atDso = await dso.request(suite.device, {
        method: 'POST',
        url: '/v1/windows/w-1/orders',
        payload: { payload: PAYLOAD, signature: SIGNATURE },
      });
      expectError(atDso, 403, 'FORBIDDEN');
      await dso.app.close();
      expectError(await submit(undefined), 401, 'UNAUTHENTICATED');
      expect(suite.gateway.ledger.calls).to.have.length(0);
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
        const response = await submit(suite.device, body);
        expectError(response, 400, 'INVALID_REQUEST', message);
        expectNoSecret(response.body);
      }
      const invalidWindow = await suite.gateway.request(suite.device, {
        method: 'POST',
        url: '/v1/windows/%3Cscript%3E/orders',
        payload: { payload: PAYLOAD, signature: SIGNATURE },
      });
      expectError(invalidWindow, 400, 'INVALID_REQUEST');
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    it('maps the chaincode refusals to precise statuses with its value-free messages', async () => {
      await expectRefusalsMapped(suite.gateway.ledger, 'SubmitOrder', () => submit(suite.device), [
        'FAILED_PRECONDITION: offer exceeds the available energy for this window',
        'FAILED_PRECONDITION: balance does not cover the escrow',
        'FAILED_PRECONDITION: window w-1 is closed',
        'NOT_FOUND: window w-1 does not exist',
        'CONFLICT: this nonce was used before',
        'INVALID_ARGUMENT: payload.limitPrice must have at most 4 decimal places',
        'FORBIDDEN: the device certificate has been revoked',
      ]);
    });

    it('never logs the order, its signature or its nonce, also when it fails', async () => {
      suite.gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      await submit(suite.device);
      suite.gateway.ledger.on('SubmitOrder', () => {
        throw new Error(`peer exploded while handling ${PAYLOAD}`);
      });
      const failed = await submit(suite.device);
      expectError(failed, 500, 'INTERNAL', /^internal error$/);
      await submit(suite.device, {
        payload: JSON.stringify({ ...ORDER, windowId: 'w-2' }),
        signature: SIGNATURE,
      });
      expect(suite.logs.length).to.be.greaterThan(3);
      expectNoSecret(suite.logs.join('\n'));
    });

    it('replays an idempotent retry with the same receipt and submits once', async () => {
      suite.gateway.ledger.on('SubmitOrder', { windowId: 'w-1', acceptedAt: '2030-01-01T10:01:00.000Z' });
      const first = await submit(suite.device, undefined, { 'idempotency-key': 'order-1' });
      const second = await submit(suite.device, undefined, { 'idempotency-key': 'order-1' });
      expect(first.statusCode).to.equal(201);
      expect(second.statusCode).to.equal(201);
      expect(second.headers['idempotent-replay']).to.equal('true');
      expect(second.json()).to.deep.equal(first.json());
      expect(suite.gateway.ledger.callsOf('SubmitOrder')).to.have.length(1);
      // The same key for a different signed order is a client bug, not a replay.
      const other = await submit(
        suite.device,
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
      suite.gateway.ledger.on('SubmitOrder', { windowId: 'w-1' });
      expect((await submit(suite.device, { payload, signature })).statusCode).to.equal(201);
      const transient = suite.gateway.ledger.callsOf('SubmitOrder')[0]?.options.transientData ?? {};
      expect(Buffer.from(transient.payload ?? [])).to.deep.equal(Buffer.from(payload, 'utf8'));
      expect(Buffer.from(transient.signature ?? []).toString('base64')).to.equal(signature);
    });
  });

  describe('DELETE /v1/windows/:windowId/orders', () => {
    const cancel = (
      body: unknown = { payload: CANCEL, signature: SIGNATURE },
    ): Promise<LightMyRequestResponse> =>
      suite.gateway.request(suite.device, {
        method: 'DELETE',
        url: '/v1/windows/w-1/orders',
        payload: body as object,
      });

    it('relays the signed cancellation like an order and reports the refund', async () => {
      suite.gateway.ledger.on('CancelOrder', {
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
      const [call] = suite.gateway.ledger.callsOf('CancelOrder');
      expect(call).to.deep.include({ identity: 'relay', contract: 'auction', kind: 'submit' });
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(call?.options.transientData?.payload ?? []).toString('utf8')).to.equal(CANCEL);
      expect(Buffer.from(call?.options.transientData?.certificate ?? []).toString('utf8')).to.equal(
        suite.device.toString(),
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
        await suite.gateway.request(suite.device, { method: 'DELETE', url: '/v1/windows/w-1/orders' }),
        400,
        'INVALID_REQUEST',
      );
      suite.gateway.ledger.refuse('CancelOrder', 'NOT_FOUND', 'this home has no order in window w-1');
      expectError(await cancel(), 404, 'NOT_FOUND', /no order/);
      suite.gateway.ledger.refuse('CancelOrder', 'FAILED_PRECONDITION', 'window w-1 is closed');
      expectError(await cancel(), 409, 'FAILED_PRECONDITION', /closed/);
      expectNoSecret(suite.logs.join('\n'));
    });
  });
});

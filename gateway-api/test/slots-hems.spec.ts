import { randomBytes, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { issueClient } from './support/pki';
import { TestGateway } from './support/gateway';
import { OPEN_SLOT } from './support/records';
import { freshGateway } from './support/suite';
import { type BadBody, expectBadBodies, expectRefusalsMapped, signedBodyCases } from './support/expectations';

describe('utility gateway: HEMS device routes', () => {
  const suite = freshGateway('UtilityAMSP', ['relay', 'admin'], async (gateway) => ({
    device: await gateway.pki.device('UtilityAMSP', 'home-7', 'bus-2'),
  }));

  beforeEach(() => suite.gateway.ledger.on('GetSlot', OPEN_SLOT));

  describe('GET /v1/slots/:slotId', () => {
    it("gives a device its own bus's price range, state and λ", async () => {
      suite.gateway.ledger.on('GetSlot', {
        ...OPEN_SLOT,
        dispatch: { lambda: 0.5, perBus: [{ bus: 'bus-2', lambda: 0.2 }], revision: 0 },
      });
      const response = await suite.gateway.request(suite.device, { method: 'GET', url: '/v1/slots/slot-1' });
      expect(response.statusCode).to.equal(200);
      expect(response.json()).to.deep.equal({
        slotId: 'slot-1',
        status: 'OPEN',
        deadline: OPEN_SLOT.deadline,
        bus: 'bus-2',
        prices: { bus: 'bus-2', lower: 35, upper: 110 },
        lambda: 0.2,
      });
      expect(suite.gateway.ledger.callsOf('GetSlot')[0]?.options.arguments).to.deep.equal(['slot-1']);
    });

    it('shows the device the slot’s schedule and emergency level (public, what its appliances act on)', async () => {
      const schedule = {
        deliveryStart: '2030-01-01T19:00:00.000Z',
        deliveryEnd: '2030-01-01T19:15:00.000Z',
        period: 'peak',
      };
      suite.gateway.ledger.on('GetSlot', {
        ...OPEN_SLOT,
        schedule,
        emergency: { level: 2, declaredAt: '2030-01-01T18:00:00.000Z', txId: 'a'.repeat(64) },
      });
      const body = (
        await suite.gateway.request(suite.device, { method: 'GET', url: '/v1/slots/slot-1' })
      ).json<Record<string, unknown>>();
      expect(body).to.deep.include({ schedule, emergencyLevel: 2 });
      expect(body).not.to.have.property('emergency');
    });

    it('falls back to the default price range and a null λ before dispatch', async () => {
      const other = await suite.gateway.pki.device('UtilityAMSP', 'home-8', 'bus-9');
      const body = (await suite.gateway.request(other, { method: 'GET', url: '/v1/slots/slot-1' })).json<
        Record<string, unknown>
      >();
      expect(body).to.include({ lambda: null });
      expect(body.prices).to.deep.equal({ lower: 20, upper: 80 });
    });

    it('refuses requests without a certificate, from a foreign CA, expired, revoked or role-less certificates', async () => {
      const cases: [X509Certificate | undefined, number, RegExp][] = [
        [undefined, 401, /client certificate .* is required/],
        [
          await issueClient(suite.gateway.pki.foreign, { name: 'x', attrs: { 'hems.role': 'hems' } }),
          401,
          /not issued by a CA of the channel/,
        ],
        [
          await issueClient(suite.gateway.pki.ca('UtilityAMSP'), {
            name: 'old',
            attrs: { 'hems.role': 'hems', 'hems.home': 'h', 'hems.bus': 'b' },
            notAfter: new Date('2021-01-01T00:00:00Z'),
          }),
          401,
          /expired or not yet valid/,
        ],
        [
          await issueClient(suite.gateway.pki.ca('UtilityAMSP'), { name: 'norole' }),
          403,
          /no known hems.role/,
        ],
      ];
      for (const [certificate, status, message] of cases) {
        const response = await suite.gateway.request(certificate, { method: 'GET', url: '/v1/slots/slot-1' });
        expect(response.statusCode, message.source).to.equal(status);
        expect(response.json<{ message: string }>().message).to.match(message);
      }
      const revokedGateway = await TestGateway.create('UtilityAMSP', ['relay'], {
        pki: suite.gateway.pki,
        revocations: { isRevoked: (mspId, serial) => mspId === 'UtilityAMSP' && serial.length > 0 },
      });
      const revoked = await revokedGateway.request(suite.device, { method: 'GET', url: '/v1/slots/slot-1' });
      expect(revoked.statusCode).to.equal(401);
      expect(revoked.json<{ message: string }>().message).to.match(/revoked/);
      await revokedGateway.app.close();
    });

    it("refuses another utility's device and hostile slot ids", async () => {
      const foreignDevice = await suite.gateway.pki.device('UtilityBMSP', 'home-1', 'bus-1');
      const response = await suite.gateway.request(foreignDevice, { method: 'GET', url: '/v1/slots/slot-1' });
      expect(response.statusCode).to.equal(403);
      expect(response.json<{ message: string }>().message).to.match(/HEMS devices of UtilityAMSP only/);
      for (const bad of ['..%2F..', 'a%20b', '%3Cscript%3E', 'x'.repeat(65)]) {
        const invalid = await suite.gateway.request(suite.device, { method: 'GET', url: `/v1/slots/${bad}` });
        expect(invalid.statusCode, bad).to.equal(400);
        expect(invalid.json()).to.include({ code: 'INVALID_REQUEST' });
      }
    });

    it('maps chaincode refusals to statuses with the chaincode message', async () => {
      suite.gateway.ledger.refuse('GetSlot', 'NOT_FOUND', 'slot slot-9 does not exist');
      const response = await suite.gateway.request(suite.device, { method: 'GET', url: '/v1/slots/slot-9' });
      expect(response.statusCode).to.equal(404);
      expect(response.json()).to.deep.equal({
        statusCode: 404,
        code: 'NOT_FOUND',
        message: 'slot slot-9 does not exist',
      });
    });
  });

  describe('POST /v1/slots/:slotId/forecast', () => {
    it("relays the device's signed payload, signature and certificate in transient data, endorsed by its own org only", async () => {
      suite.gateway.ledger.on('SubmitForecast', {
        slotId: 'slot-1',
        txId: 'f'.repeat(64),
        acceptedAt: '2030-01-01T10:01:00.000Z',
      });
      const payload = JSON.stringify({
        slotId: 'slot-1',
        lower: 1.5,
        upper: 2.5,
        nonce: randomBytes(16).toString('base64'),
      });
      const signature = randomBytes(70);
      const response = await suite.gateway.request(suite.device, {
        method: 'POST',
        url: '/v1/slots/slot-1/forecast',
        payload: { payload, signature: signature.toString('base64') },
      });
      expect(response.statusCode).to.equal(201);
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      expect(response.json()).to.deep.equal({
        slotId: 'slot-1',
        txId: 'f'.repeat(64),
        acceptedAt: '2030-01-01T10:01:00.000Z',
      });
      const [call] = suite.gateway.ledger.callsOf('SubmitForecast');
      expect(call?.identity).to.equal('relay');
      expect(call?.kind).to.equal('submit');
      // P1: the proposal's only argument is the slot id; everything private is transient.
      expect(call?.options.arguments).to.deep.equal(['slot-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(call?.options.transientData?.payload ?? []).toString()).to.equal(payload);
      expect(Buffer.from(call?.options.transientData?.signature ?? [])).to.deep.equal(signature);
      expect(Buffer.from(call?.options.transientData?.certificate ?? []).toString()).to.equal(
        suite.device.toString(),
      );
      expect(response.body).to.not.include('1.5');
    });

    it('refuses bad bodies with 400 and a precise message, before anything reaches the ledger', async () => {
      const cases: BadBody[] = [
        ...signedBodyCases(5),
        [{ payload: '{}', signature: 'AAAA', extra: true }, /must NOT have additional properties/],
      ];
      await expectBadBodies(cases, (body) =>
        suite.gateway.post(suite.device, '/v1/slots/slot-1/forecast', body),
      );
      expect(suite.gateway.ledger.callsOf('SubmitForecast')).to.deep.equal([]);
      const tooBig = await suite.gateway.request(suite.device, {
        method: 'POST',
        url: '/v1/slots/slot-1/forecast',
        payload: { payload: '{}', signature: 'A'.repeat(100), pad: 'x'.repeat(70000) },
      });
      expect(tooBig.statusCode).to.equal(413);
    });

    it('refuses other roles, other utilities’ devices, and gateways without a relay identity', async () => {
      const dso = await suite.gateway.pki.role('DSOMSP', 'dso');
      const body = { payload: '{}', signature: 'AAAA' };
      const foreignDevice = await suite.gateway.pki.device('UtilityBMSP', 'home-1', 'bus-1');
      for (const caller of [dso, foreignDevice]) {
        expect((await suite.gateway.post(caller, '/v1/slots/slot-1/forecast', body)).statusCode).to.equal(
          403,
        );
      }
    });

    it('maps chaincode refusals: late 409, out of range 422, foreign or revoked certificate 403', async () => {
      const submit = (): Promise<LightMyRequestResponse> =>
        suite.gateway.post(suite.device, '/v1/slots/slot-1/forecast', {
          payload: '{"slotId":"slot-1"}',
          signature: 'AAAA',
        });
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'SubmitForecast',
        submit,
        [
          'FAILED_PRECONDITION: slot slot-1 closed for forecasts at its deadline',
          'INVALID_ARGUMENT: payload.upper must be between 0 and 50',
          'FORBIDDEN: device certificate has been revoked',
          'CONFLICT: the payload nonce was already used',
        ],
        'including',
      );
    });

    it('does not leak internals on unexpected failures', async () => {
      suite.gateway.ledger.on('SubmitForecast', () => {
        throw new Error('socket hang up at 10.1.2.3 with secret stuff');
      });
      const response = await suite.gateway.request(suite.device, {
        method: 'POST',
        url: '/v1/slots/slot-1/forecast',
        payload: { payload: '{}', signature: 'AAAA' },
      });
      expect(response.statusCode).to.equal(500);
      expect(response.json()).to.deep.equal({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
    });
  });

  describe('GET /v1/slots/:slotId/receipt', () => {
    it("answers the device's proof of submission for that slot, from its utility's peer, to the device only", async () => {
      const proof = {
        slotId: 'slot-1',
        org: 'UtilityAMSP',
        homeRef: 'c'.repeat(64),
        batch: 'e'.repeat(64),
        index: 1,
        count: 2,
        path: ['a'.repeat(64)],
        forecast: { slotId: 'slot-1', bus: 'bus-2', lower: 1, upper: 2, nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' },
      };
      suite.gateway.ledger.on('GetForecastProof', proof);
      const response = await suite.gateway.request(suite.device, {
        method: 'GET',
        url: '/v1/slots/slot-1/receipt',
      });
      expect(response.json()).to.deep.equal({ ...proof, bus: 'bus-2' });
      const [call] = suite.gateway.ledger.callsOf('GetForecastProof');
      expect(call?.kind).to.equal('evaluate');
      expect(call?.options.arguments).to.deep.equal(['slot-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      const relay = await suite.gateway.pki.role('UtilityAMSP', 'relay');
      expect(
        (await suite.gateway.request(relay, { method: 'GET', url: '/v1/slots/slot-1/receipt' })).statusCode,
      ).to.equal(403);
      suite.gateway.ledger.refuse(
        'GetForecastProof',
        'NOT_FOUND',
        'no forecast of this home is held for slot slot-1',
      );
      const none = await suite.gateway.request(suite.device, {
        method: 'GET',
        url: '/v1/slots/slot-1/receipt',
      });
      expect(none.statusCode).to.equal(404);
    });
  });

  describe('GET /v1/slots/:slotId/dispatch', () => {
    const table = (rows: [string, number, number, number][], revision = 0) => ({
      slotId: 'slot-1',
      revision,
      dispatchTxId: 'd'.repeat(64),
      batches: ['e'.repeat(64)],
      homes: rows,
    });

    it("answers the device's own allowed power from the relay's memory: one evaluation per slot, not per read", async () => {
      suite.gateway.ledger.on('GetHomeRef', { homeRef: 'a'.repeat(64), bus: 'bus-2' });
      suite.gateway.ledger.on(
        'GetAllowedPowers',
        table([
          ['a'.repeat(64), 2.1, 0.2, 0],
          ['b'.repeat(64), 9, 0.2, 0],
        ]),
      );
      for (let read = 0; read < 3; read += 1) {
        const response = await suite.gateway.request(suite.device, {
          method: 'GET',
          url: '/v1/slots/slot-1/dispatch',
        });
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.deep.equal({ slotId: 'slot-1', lambda: 0.2, allowedKw: 2.1, revision: 0 });
      }
      const [homeRef] = suite.gateway.ledger.callsOf('GetHomeRef');
      expect(homeRef?.kind).to.equal('evaluate');
      expect(homeRef?.options.arguments).to.deep.equal(['slot-1']);
      expect(homeRef?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(homeRef?.options.transientData?.certificate ?? []).toString()).to.equal(
        suite.device.toString(),
      );
      expect(suite.gateway.ledger.callsOf('GetHomeRef')).to.have.length(1);
      const loads = suite.gateway.ledger.callsOf('GetAllowedPowers');
      expect(loads).to.have.length(1);
      expect(loads[0]?.options.arguments).to.deep.equal(['slot-1']);
      expect(loads[0]?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    });

    it('answers 404 for a home without a forecast in effect', async () => {
      suite.gateway.ledger.on('GetHomeRef', { homeRef: 'a'.repeat(64), bus: 'bus-2' });
      suite.gateway.ledger.on('GetAllowedPowers', table([['b'.repeat(64), 9, 0.2, 0]]));
      const response = await suite.gateway.request(suite.device, {
        method: 'GET',
        url: '/v1/slots/slot-1/dispatch',
      });
      expect(response.statusCode).to.equal(404);
      expect(response.json()).to.include({
        code: 'NOT_FOUND',
        message: 'no forecast of this home is held for slot slot-1',
      });
    });

    it('refuses non-devices and maps "no dispatch yet" to 409, asking again on the next read', async () => {
      const auditor = await suite.gateway.pki.role('RegulatorMSP', 'auditor');
      expect(
        (await suite.gateway.request(auditor, { method: 'GET', url: '/v1/slots/slot-1/dispatch' }))
          .statusCode,
      ).to.equal(403);
      suite.gateway.ledger.on('GetHomeRef', { homeRef: 'a'.repeat(64), bus: 'bus-2' });
      suite.gateway.ledger.refuse(
        'GetAllowedPowers',
        'FAILED_PRECONDITION',
        'slot slot-1 has no dispatch yet',
      );
      const response = await suite.gateway.request(suite.device, {
        method: 'GET',
        url: '/v1/slots/slot-1/dispatch',
      });
      expect(response.statusCode).to.equal(409);
      suite.gateway.ledger.on('GetAllowedPowers', table([['a'.repeat(64), 1.5, 0.5, 0]]));
      const later = await suite.gateway.request(suite.device, {
        method: 'GET',
        url: '/v1/slots/slot-1/dispatch',
      });
      expect(later.json()).to.include({ allowedKw: 1.5 });
    });
  });
});

import { randomBytes, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { BadBody, expectBadBodies, signedBodyCases } from './support/expectations';
import { refusal } from './support/fake-ledger';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';
import { gatewaySuite } from './support/suite';

// A distinctive drawn power: it must never show up in logs, answers or proposal arguments.
const DRAWN = '3.217';
const RECEIPT = { slotId: 'slot-1', txId: 'c'.repeat(64), recordedAt: '2030-01-01T10:20:00.000Z' };

function consumptionBody(drawn = DRAWN): { payload: string; signature: string } {
  return {
    payload: `{"slotId":"slot-1","drawnKw":${drawn},"nonce":"${randomBytes(16).toString('base64')}"}`,
    signature: randomBytes(70).toString('base64'),
  };
}

describe('utility gateway: POST /v1/slots/:slotId/consumption', () => {
  const suite = gatewaySuite(
    async (pki) => ({ device: await pki.device('UtilityAMSP', 'home-7', 'bus-2') }),
    {
      identities: ['relay', 'admin'],
    },
  );

  // The device's forecast in effect is in batch e…e: the relay's allowed-power table says so.
  const BATCH = 'e'.repeat(64);
  beforeEach(() => {
    suite.gateway.ledger.on('GetHomeRef', { slotId: 'slot-1', homeRef: 'a'.repeat(64), bus: 'bus-2' });
    suite.gateway.ledger.on('GetAllowedPowers', {
      slotId: 'slot-1',
      revision: 0,
      dispatchTxId: 'd'.repeat(64),
      batches: [BATCH],
      homes: [['a'.repeat(64), 2.5, 0.5, 0]],
    });
  });

  const post = (certificate: X509Certificate | undefined, payload: unknown) =>
    suite.gateway.request(certificate, {
      method: 'POST',
      url: '/v1/slots/slot-1/consumption',
      payload: payload as object,
    });

  it('relays the signed report in transient data on its own peer and answers only the receipt', async () => {
    suite.gateway.ledger.on('ReportConsumption', { ...RECEIPT, drawnKw: 3.217 });
    const body = consumptionBody();
    const response = await post(suite.device, body);
    expect(response.statusCode).to.equal(201);
    // The fake ledger's submit answers transaction id f…f.
    expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
    // Even were the chaincode to echo the drawn power, the device gets the receipt alone.
    expect(response.json()).to.deep.equal(RECEIPT);
    const [call] = suite.gateway.ledger.callsOf('ReportConsumption');
    expect(call?.identity).to.equal('relay');
    expect(call?.kind).to.equal('submit');
    expect(call?.options.arguments).to.deep.equal(['slot-1']);
    expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    expect(Buffer.from(call?.options.transientData?.payload ?? []).toString()).to.equal(body.payload);
    expect(Buffer.from(call?.options.transientData?.signature ?? []).toString('base64')).to.equal(
      body.signature,
    );
    expect(Buffer.from(call?.options.transientData?.certificate ?? []).toString()).to.equal(
      suite.device.toString(),
    );
    expect(suite.logs.join('')).to.not.include(DRAWN);
    expect(suite.logs.length).to.be.above(0);
  });

  it("names the batch of the home's forecast in effect, from the relay's allowed-power table", async () => {
    suite.gateway.ledger.on('ReportConsumption', RECEIPT);
    expect((await post(suite.device, consumptionBody())).statusCode).to.equal(201);
    const transient = suite.gateway.ledger.callsOf('ReportConsumption')[0]?.options.transientData ?? {};
    expect(Buffer.from(transient.forecastBatch ?? []).toString()).to.equal(BATCH);
  });

  it('refuses a home without a forecast in effect, or a slot without a dispatch, before relaying', async () => {
    suite.gateway.ledger.refuse('GetAllowedPowers', 'FAILED_PRECONDITION', 'slot slot-1 has no dispatch yet');
    const early = await post(suite.device, consumptionBody());
    expect(early.statusCode).to.equal(409);
    suite.gateway.ledger.on('GetAllowedPowers', {
      slotId: 'slot-1',
      revision: 0,
      dispatchTxId: 'd'.repeat(64),
      batches: [BATCH],
      homes: [['c'.repeat(64), 2.5, 0.5, 0]],
    });
    const missing = await post(suite.device, consumptionBody());
    expect(missing.statusCode).to.equal(404);
    expect(missing.json()).to.include({ code: 'NOT_FOUND' });
    expect(suite.gateway.ledger.callsOf('ReportConsumption')).to.deep.equal([]);
  });

  it('refuses bad bodies with 400 before anything reaches the ledger', async () => {
    const cases: BadBody[] = [
      ...signedBodyCases(3.217),
      [{ ...consumptionBody(), drawnKw: 3.217 }, /must NOT have additional properties/],
    ];
    await expectBadBodies(
      cases,
      (body) => post(suite.device, body),
      (response) => expect(response.body).to.not.include(DRAWN),
    );
    expect(suite.gateway.ledger.callsOf('ReportConsumption')).to.deep.equal([]);
    expect(suite.logs.join('')).to.not.include(DRAWN);
  });

  it('maps the chaincode’s refusals of hostile numbers and states, without echoing the value', async () => {
    const cases: [string, string, number, string][] = [
      ['INVALID_ARGUMENT', 'payload.drawnKw must be a finite number between 0 and 50', 422, '1e309'],
      ['INVALID_ARGUMENT', 'payload.drawnKw must be a finite number between 0 and 50', 422, '-0.5'],
      ['INVALID_ARGUMENT', 'payload.drawnKw must have at most 3 decimal places', 422, '3.2171'],
      [
        'FAILED_PRECONDITION',
        'slot slot-1 has no dispatch yet; consumption is reported after λ is published',
        409,
        DRAWN,
      ],
      ['FAILED_PRECONDITION', 'slot slot-1 is settled; it takes no more consumption reports', 409, DRAWN],
      ['CONFLICT', 'this home has already reported its consumption for slot slot-1', 409, DRAWN],
      ['NOT_FOUND', 'no forecast of this home is held for slot slot-1', 404, DRAWN],
      ['FORBIDDEN', 'device certificate has been revoked', 403, DRAWN],
    ];
    for (const [code, message, status, drawn] of cases) {
      suite.gateway.ledger.refuse('ReportConsumption', code, message);
      const response = await post(suite.device, consumptionBody(drawn));
      expect(response.statusCode, message).to.equal(status);
      expect(response.json()).to.include({ code, message });
      expect(response.body).to.not.include(drawn);
    }
    expect(suite.logs.join('')).to.not.include(DRAWN);
    expect(suite.logs.join('')).to.not.include('3.2171');
  });

  it('refuses other roles, other utilities’ devices and gateways without a relay identity', async () => {
    for (const caller of [
      await suite.pki.role('DSOMSP', 'dso'),
      await suite.pki.role('UtilityAMSP', 'admin'),
      await suite.pki.device('UtilityBMSP', 'home-1', 'bus-2'),
    ]) {
      expect((await post(caller, consumptionBody())).statusCode).to.equal(403);
    }
    expect((await post(undefined, consumptionBody())).statusCode).to.equal(401);
    const dsoGateway = await TestGateway.create('DSOMSP', ['dso'], { pki: suite.pki });
    const dsoDevice = await suite.pki.device('DSOMSP', 'home-2', 'bus-2');
    const response = await dsoGateway.request(dsoDevice, {
      method: 'POST',
      url: '/v1/slots/slot-1/consumption',
      payload: consumptionBody(),
    });
    expect(response.statusCode).to.equal(403);
    await dsoGateway.app.close();
    expect(suite.gateway.ledger.callsOf('ReportConsumption')).to.deep.equal([]);
  });

  it('does not leak internals on unexpected failures', async () => {
    suite.gateway.ledger.on('ReportConsumption', () => {
      throw new Error(`socket hang up while sending drawnKw ${DRAWN}`);
    });
    const response = await post(suite.device, consumptionBody());
    expect(response.statusCode).to.equal(500);
    expect(response.json()).to.deep.equal({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
  });
});

describe('utility gateway: POST /v1/slots/:slotId/consumption-summaries', () => {
  let pki: TestPki;
  let gateway: TestGateway;

  const aggregateRecord = (bus: string, homes: number, withheld: boolean) => ({
    slotId: 'slot-1',
    org: 'UtilityAMSP',
    bus,
    consumption: withheld
      ? { homes, withheld, publishedAt: '2030-01-01T10:30:00.000Z', txId: 'd'.repeat(64) }
      : {
          homes,
          withheld,
          drawnKw: 9.5,
          nonCompliant: 1,
          publishedAt: '2030-01-01T10:30:00.000Z',
          txId: 'd'.repeat(64),
        },
  });

  before(async () => {
    pki = await TestPki.create();
  });

  beforeEach(async () => {
    gateway = await TestGateway.create('UtilityAMSP', ['relay', 'admin'], { pki });
    gateway.ledger.on('GetSlot', {
      slotId: 'slot-1',
      status: 'DISPATCHED',
      aggregates: [
        { org: 'UtilityAMSP', bus: 'bus-1', expectedHomes: 6, published: true, homes: 6, withheld: false },
        { org: 'UtilityAMSP', bus: 'bus-2', expectedHomes: 2, published: true, homes: 2, withheld: true },
        { org: 'UtilityAMSP', bus: 'bus-3', expectedHomes: 5, published: true, homes: 5, withheld: false },
        { org: 'UtilityBMSP', bus: 'bus-1', expectedHomes: 6, published: true, homes: 6, withheld: false },
      ],
      busTotals: [],
    });
    gateway.ledger.on('ListConsumptionRefs', { slotId: 'slot-1', refs: ['a'.repeat(64), 'b'.repeat(64)] });
    gateway.ledger.on('PublishConsumption', (options: { arguments?: readonly string[] }) => {
      const bus = options.arguments?.[1] ?? '';
      if (bus === 'bus-3') {
        throw refusal(
          'FAILED_PRECONDITION',
          'the consumption summary of UtilityAMSP for bus bus-3 in slot slot-1 can be re-published only once at least 3 more homes have reported',
        );
      }
      return aggregateRecord(bus, bus === 'bus-1' ? 6 : 2, bus === 'bus-2');
    });
  });

  afterEach(() => gateway.app.close());

  const post = (certificate: X509Certificate | undefined) =>
    gateway.request(certificate, { method: 'POST', url: '/v1/slots/slot-1/consumption-summaries' });

  it('lists its reports once on its own peer and publishes a summary for each of its own buses', async () => {
    for (const caller of [
      await pki.role('UtilityAMSP', 'admin'),
      await pki.role('UtilityAMSP', 'relay'),
      await pki.role('DSOMSP', 'dso'),
    ]) {
      gateway.ledger.calls.length = 0;
      const response = await post(caller);
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({
        slotId: 'slot-1',
        org: 'UtilityAMSP',
        buses: [
          { bus: 'bus-1', outcome: 'published', homes: 6, withheld: false },
          { bus: 'bus-2', outcome: 'published', homes: 2, withheld: true },
          {
            bus: 'bus-3',
            outcome:
              'not published: the consumption summary of UtilityAMSP for bus bus-3 in slot slot-1 can be re-published only once at least 3 more homes have reported',
          },
        ],
      });
      const lists = gateway.ledger.callsOf('ListConsumptionRefs');
      expect(lists).to.have.length(1);
      expect(lists[0]?.kind).to.equal('evaluate');
      expect(lists[0]?.options.arguments).to.deep.equal(['slot-1']);
      const publications = gateway.ledger.callsOf('PublishConsumption');
      expect(publications.map((call) => call.options.arguments)).to.deep.equal([
        ['slot-1', 'bus-1'],
        ['slot-1', 'bus-2'],
        ['slot-1', 'bus-3'],
      ]);
      for (const call of publications) {
        expect(call.identity).to.equal('relay');
        expect(call.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
        expect(JSON.parse(Buffer.from(call.options.transientData?.refs ?? []).toString())).to.deep.equal([
          'a'.repeat(64),
          'b'.repeat(64),
        ]);
      }
    }
  });

  it('passes other refusals through with their status and refuses a malformed ledger answer', async () => {
    const admin = await pki.role('UtilityAMSP', 'admin');
    gateway.ledger.on('PublishConsumption', () => {
      throw refusal(
        'CONFLICT',
        'the consumption summary of UtilityAMSP for bus bus-1 in slot slot-1 already counts more reports (list them again)',
      );
    });
    const conflict = await post(admin);
    expect(conflict.statusCode).to.equal(409);
    expect(conflict.json()).to.include({ code: 'CONFLICT' });
    gateway.ledger.on('PublishConsumption', { slotId: 'slot-1', bus: 'bus-1' });
    const malformed = await post(admin);
    expect(malformed.statusCode).to.equal(502);
    expect(malformed.json()).to.include({ code: 'BAD_LEDGER_RESPONSE' });
  });

  it("refuses other utilities' admins, devices, auditors and a gateway without a relay identity", async () => {
    for (const caller of [
      await pki.role('UtilityBMSP', 'admin'),
      await pki.device('UtilityAMSP', 'h', 'bus-1'),
      await pki.role('RegulatorMSP', 'auditor'),
    ]) {
      expect((await post(caller)).statusCode).to.equal(403);
    }
    expect(gateway.ledger.callsOf('PublishConsumption')).to.deep.equal([]);
    const dsoGateway = await TestGateway.create('DSOMSP', ['dso'], { pki });
    const response = await dsoGateway.request(await pki.role('DSOMSP', 'dso'), {
      method: 'POST',
      url: '/v1/slots/slot-1/consumption-summaries',
    });
    expect(response.statusCode).to.equal(403);
    expect(response.json<{ message: string }>().message).to.match(
      /consumption summaries goes through a gateway/,
    );
    await dsoGateway.app.close();
  });

  it('lists both routes in the OpenAPI document', async () => {
    const document = (await gateway.request(undefined, { method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(document.paths['/v1/slots/{slotId}/consumption']).to.have.property('post');
    expect(document.paths['/v1/slots/{slotId}/consumption-summaries']).to.have.property('post');
  });
});

import { expect } from 'chai';
import {
  calledAs,
  expectBadBodies,
  expectError,
  expectRefusalsMapped,
  type BadBody,
} from './support/expectations';
import type { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';

const TX_ID = 'f'.repeat(64);
const SLOTS = ['2030-01-07T17:00Z', '2030-01-07T17:15Z', '2030-01-07T17:30Z', '2030-01-07T17:45Z'];

/** An event's record as the chaincode keeps it (ListEvents lists these). */
const RECORD = {
  eventId: 'dr-2030-01-07',
  dsoMspId: 'DSOMSP',
  date: '2030-01-07',
  start: 68,
  end: 72,
  slotIds: SLOTS,
  method: 'residential-5-in-10',
  ratePriceUnits: 5_000,
  budget: '10000000000000',
  declaredAt: '2030-01-06T12:00:00.000Z',
  txId: 'a'.repeat(64),
};

/** An event as the chaincode's GetEvent and DeclareEvent answer it. */
const EVENT = {
  event: RECORD,
  allotments: [
    {
      eventId: RECORD.eventId,
      org: 'UtilityAMSP',
      allotted: '6000000000000',
      paid: '0',
      homes: 0,
      rewarded: 0,
      batches: [],
      lastPayments: [],
      updatedAt: '2030-01-06T12:00:00.000Z',
      txId: 'a'.repeat(64),
    },
    {
      eventId: RECORD.eventId,
      org: 'UtilityBMSP',
      allotted: '4000000000000',
      paid: '125000000000',
      homes: 4,
      rewarded: 3,
      batches: ['b'.repeat(64)],
      lastPayments: [{ accountId: `acct-${'1'.repeat(32)}`, amount: '125000000000' }],
      totals: [{ bus: 'bus-3', homes: 4, withheld: true }],
      totalsPublishedAt: '2030-01-08T10:00:00.000Z',
      updatedAt: '2030-01-08T10:00:00.000Z',
      txId: 'c'.repeat(64),
    },
  ],
};

const DECLARATION = {
  eventId: RECORD.eventId,
  slotIds: SLOTS,
  method: 'residential-5-in-10',
  rate: 0.5,
  budget: 1000,
};

const AUDIT = {
  eventId: RECORD.eventId,
  consistent: true,
  problems: [],
  utilities: [{ org: 'UtilityAMSP', allotted: '600', paid: '0', payments: 0 }],
};

describe('Demand response: the DSO and every member', () => {
  const suite = gatewaySuite(
    async (pki) => ({
      operator: await pki.role('DSOMSP', 'dso', 'operator1'),
      market: await pki.role('DSOMSP', 'market', 'market-operator'),
      auditor: await pki.role('RegulatorMSP', 'auditor'),
      admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
      meter: await pki.role('UtilityAMSP', 'meter', 'meter-headend'),
      device: await pki.device('UtilityAMSP', 'home-a-1', 'bus-1'),
      otherDevice: await pki.device('UtilityBMSP', 'home-b-1', 'bus-3'),
      forgedDso: await pki.role('UtilityBMSP', 'dso', 'mallory'),
    }),
    { dso: true },
  );
  const dsoPost: TestGateway['post'] = (...args) => suite.dso.post(...args);

  describe('POST /v1/dr/pool', () => {
    it("mints the amount into the DSO's pool as the DSO identity, majority-endorsed, and answers 201", async () => {
      const answer = { account: 'pool:DSOMSP', amount: '1500.25', balance: '15002500000000', txId: TX_ID };
      suite.dso.ledger.on('FundDrPool', answer);
      const response = await dsoPost(suite.operator, '/v1/dr/pool', { amount: 1500.25 });
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(answer);
      const [call] = suite.dso.ledger.callsOf('FundDrPool');
      expect(call).to.deep.include(calledAs('dso', 'token', 'submit'));
      // No endorsers named: the gateway plans the chaincode's majority policy.
      expect(call?.options).to.deep.equal({ arguments: ['1500.25'] });
    });

    it('passes a decimal string on in one spelling', async () => {
      suite.dso.ledger.on('FundDrPool', { account: 'pool:DSOMSP' });
      for (const [amount, sent] of [
        ['250.5000', '250.5'],
        ['7', '7'],
        [0.0001, '0.0001'],
      ] as const) {
        expect((await dsoPost(suite.operator, '/v1/dr/pool', { amount })).statusCode).to.equal(201);
        expect(suite.dso.ledger.calls.at(-1)?.options.arguments).to.deep.equal([sent]);
      }
    });

    it('refuses amounts that are not positive currency with at most 4 decimals, before the ledger', async () => {
      const bad: BadBody[] = [
        [{}, /must have required property 'amount'/],
        [{ amount: 1, extra: 1 }, /must NOT have additional properties/],
        [{ amount: true }, /must be number|must match a schema in anyOf/],
        [{ amount: 0 }, /greater than 0/],
        [{ amount: -5 }, /plain decimal/],
        [{ amount: 1.23456 }, /at most 4 decimal places/],
        [{ amount: '1e3' }, /plain decimal/],
        [{ amount: 1_000_000_001 }, /at most 1000000000/],
      ];
      await expectBadBodies(bad, (body) => dsoPost(suite.operator, '/v1/dr/pool', body));
      expect(suite.dso.ledger.calls).to.deep.equal([]);
    });

    it("refuses every caller but the gateway's own DSO operators", async () => {
      for (const caller of [suite.market, suite.auditor, suite.admin, suite.device]) {
        expectError(
          await dsoPost(caller, '/v1/dr/pool', { amount: 1 }),
          403,
          'FORBIDDEN',
          /for dso identities/,
        );
      }
      expectError(await dsoPost(suite.forgedDso, '/v1/dr/pool', { amount: 1 }), 403, 'FORBIDDEN');
      // A utility gateway holds no DSO identity.
      expectError(
        await suite.gateway.post(suite.operator, '/v1/dr/pool', { amount: 1 }),
        403,
        'FORBIDDEN',
        /gateway of a different organization/,
      );
      expect(suite.dso.ledger.calls).to.deep.equal([]);
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals to their statuses", async () => {
      await expectRefusalsMapped(
        suite.dso.ledger,
        'FundDrPool',
        () => dsoPost(suite.operator, '/v1/dr/pool', { amount: 1 }),
        [
          'FORBIDDEN: FundDrPool is for the DSO',
          'INVALID_ARGUMENT: amount must be a positive amount',
          'FAILED_PRECONDITION: the pool is closed',
        ],
      );
    });
  });

  describe('POST /v1/dr/events', () => {
    it('declares the event with its terms as one JSON argument, majority-endorsed, and answers 201 with it', async () => {
      suite.dso.ledger.on('DeclareEvent', EVENT);
      const response = await dsoPost(suite.operator, '/v1/dr/events', DECLARATION);
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.headers.location).to.equal('/v1/dr/events/dr-2030-01-07');
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(EVENT);
      const [call] = suite.dso.ledger.callsOf('DeclareEvent');
      expect(call).to.deep.include(calledAs('dso', 'dr', 'submit'));
      expect(call?.options.endorsingOrganizations).to.equal(undefined);
      expect(call?.options.transientData).to.equal(undefined);
      const [eventId, terms] = call?.options.arguments ?? [];
      expect(eventId).to.equal('dr-2030-01-07');
      expect(JSON.parse(terms ?? '')).to.deep.equal({
        slotIds: SLOTS,
        method: 'residential-5-in-10',
        rate: 0.5,
        budget: '1000',
      });
    });

    it('takes both methods and a budget as a decimal string', async () => {
      suite.dso.ledger.on('DeclareEvent', EVENT);
      const body = { ...DECLARATION, method: 'caiso-10-in-10', rate: 0.1234, budget: '250.50' };
      expect((await dsoPost(suite.operator, '/v1/dr/events', body)).statusCode).to.equal(201);
      const terms = suite.dso.ledger.callsOf('DeclareEvent')[0]?.options.arguments?.[1];
      expect(JSON.parse(terms ?? '')).to.include({ method: 'caiso-10-in-10', rate: 0.1234, budget: '250.5' });
    });

    it('refuses malformed terms with 400 before the ledger', async () => {
      const bad: BadBody[] = [
        [{ ...DECLARATION, eventId: '../x' }, /must match pattern/],
        [{ ...DECLARATION, slotIds: [] }, /must NOT have fewer than 1 items/],
        [{ ...DECLARATION, slotIds: [SLOTS[0], SLOTS[0]] }, /must NOT have duplicate items/],
        [
          { ...DECLARATION, slotIds: Array.from({ length: 97 }, (_, index) => `s-${index}`) },
          /must NOT have more than 96 items/,
        ],
        [{ ...DECLARATION, slotIds: ['bad slot'] }, /must match pattern/],
        [{ ...DECLARATION, method: 'average' }, /must be equal to one of the allowed values/],
        [{ ...DECLARATION, rate: 0 }, /must be >= 0.0001/],
        [{ ...DECLARATION, rate: -0.5 }, /must be >= 0.0001/],
        [{ ...DECLARATION, rate: 101 }, /must be <= 100/],
        [{ ...DECLARATION, rate: '0.5' }, /must be number/],
        [{ ...DECLARATION, rate: 0.12345 }, /rate must have at most 4 decimal places/],
        [{ ...DECLARATION, budget: 0 }, /budget must be greater than 0/],
        [{ ...DECLARATION, budget: '12.34567' }, /budget must be a plain decimal/],
        [{ ...DECLARATION, extra: true }, /must NOT have additional properties/],
        [
          { eventId: 'dr-1', slotIds: SLOTS, method: 'caiso-10-in-10', rate: 1 },
          /required property 'budget'/,
        ],
      ];
      await expectBadBodies(bad, (body) => dsoPost(suite.operator, '/v1/dr/events', body));
      expect(suite.dso.ledger.calls).to.deep.equal([]);
    });

    it('refuses every caller but its own DSO operators', async () => {
      for (const caller of [suite.market, suite.auditor, suite.admin, suite.meter, suite.device]) {
        expectError(await dsoPost(caller, '/v1/dr/events', DECLARATION), 403, 'FORBIDDEN');
      }
      expectError(await dsoPost(suite.forgedDso, '/v1/dr/events', DECLARATION), 403, 'FORBIDDEN');
      expectError(await suite.gateway.post(suite.operator, '/v1/dr/events', DECLARATION), 403, 'FORBIDDEN');
      expect(suite.dso.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals: unknown slots 404, dispatched or off-peak slots and a taken id 409", async () => {
      await expectRefusalsMapped(
        suite.dso.ledger,
        'DeclareEvent',
        () => dsoPost(suite.operator, '/v1/dr/events', DECLARATION),
        [
          'NOT_FOUND: slot 2030-01-07T17:00Z does not exist',
          'FAILED_PRECONDITION: slot 2030-01-07T17:15Z is already dispatched',
          'FAILED_PRECONDITION: slot 2030-01-07T17:30Z is not a peak slot',
          'FAILED_PRECONDITION: the pool holds less than the budget',
          'CONFLICT: event dr-2030-01-07 already exists',
          'INVALID_ARGUMENT: the slots must all be on the same UTC date',
          'FORBIDDEN: DeclareEvent is for the DSO',
        ],
      );
    });
  });

  describe('GET /v1/dr/events and /v1/dr/events/{eventId}', () => {
    it('lists events a page at a time for every member, with an opaque bookmark', async () => {
      const page = { events: [RECORD], fetched: 1, bookmark: '\u0000dr\u0000dr-2030-01-07\u0000' };
      for (const gateway of [suite.gateway, suite.dso]) {
        gateway.ledger.on('ListEvents', page);
      }
      const opaque = Buffer.from(page.bookmark, 'utf8').toString('base64url');
      for (const [gateway, caller] of [
        [suite.dso, suite.operator],
        [suite.dso, suite.auditor],
        [suite.gateway, suite.admin],
        [suite.gateway, suite.meter],
        [suite.gateway, suite.device],
      ] as const) {
        const response = await gateway.get(caller, `/v1/dr/events?pageSize=10&bookmark=${opaque}`);
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal({ ...page, bookmark: opaque });
        const call = gateway.ledger.calls.at(-1);
        expect(call).to.deep.include({ contract: 'dr', kind: 'evaluate', name: 'ListEvents' });
        expect(call?.options.arguments).to.deep.equal(['10', page.bookmark]);
      }
      suite.gateway.ledger.on('ListEvents', { events: [], fetched: 0, bookmark: '' });
      const first = await suite.gateway.get(suite.admin, '/v1/dr/events');
      expect(first.json()).to.deep.equal({ events: [], fetched: 0, bookmark: '' });
      expect(suite.gateway.ledger.calls.at(-1)?.options.arguments).to.deep.equal(['50', '']);
    });

    it('refuses bad page sizes and bookmarks with 400, and devices of other utilities', async () => {
      for (const query of ['pageSize=0', 'pageSize=101', 'bookmark=not%20base64', 'other=1']) {
        expectError(await suite.gateway.get(suite.admin, `/v1/dr/events?${query}`), 400, 'INVALID_REQUEST');
      }
      suite.gateway.ledger.refuse('ListEvents', 'INVALID_ARGUMENT', 'bookmark is not a key of this listing');
      expectError(
        await suite.gateway.get(suite.admin, '/v1/dr/events?bookmark=AAAA'),
        400,
        'INVALID_REQUEST',
        /bookmark/,
      );
      expectError(await suite.gateway.get(suite.otherDevice, '/v1/dr/events'), 403, 'FORBIDDEN');
    });

    it('answers one event to every member, its reads evaluated on the own peer', async () => {
      suite.gateway.ledger.on('GetEvent', EVENT);
      for (const caller of [suite.admin, suite.device, suite.auditor, suite.operator]) {
        const response = await suite.gateway.get(caller, '/v1/dr/events/dr-2030-01-07');
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal(EVENT);
      }
      const [call] = suite.gateway.ledger.callsOf('GetEvent');
      expect(call).to.deep.include({ identity: 'relay', contract: 'dr', kind: 'evaluate' });
      expect(call?.options).to.deep.equal({ arguments: ['dr-2030-01-07'] });
      expectError(
        await suite.gateway.get(suite.otherDevice, '/v1/dr/events/dr-2030-01-07'),
        403,
        'FORBIDDEN',
      );
      expectError(await suite.gateway.get(suite.admin, '/v1/dr/events/bad%20id'), 400, 'INVALID_REQUEST');
      suite.gateway.ledger.refuse('GetEvent', 'NOT_FOUND', 'event dr-9 does not exist');
      expectError(await suite.gateway.get(suite.admin, '/v1/dr/events/dr-9'), 404, 'NOT_FOUND', /dr-9/);
    });
  });

  describe('GET /v1/dr/events/{eventId}/audit', () => {
    it("answers the chaincode's recomputation to auditors and every other member", async () => {
      suite.gateway.ledger.on('AuditEvent', AUDIT);
      suite.dso.ledger.on('AuditEvent', {
        ...AUDIT,
        consistent: false,
        problems: ['UtilityBMSP paid more than allotted'],
      });
      for (const caller of [suite.auditor, suite.admin, suite.device]) {
        const response = await suite.gateway.get(caller, '/v1/dr/events/dr-2030-01-07/audit');
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal(AUDIT);
      }
      const dso = await suite.dso.get(suite.auditor, '/v1/dr/events/dr-2030-01-07/audit');
      expect(dso.json()).to.include({ consistent: false });
      const [call] = suite.gateway.ledger.callsOf('AuditEvent');
      expect(call).to.deep.include(calledAs('relay', 'dr', 'evaluate'));
      expect(call?.options).to.deep.equal({ arguments: ['dr-2030-01-07'] });
    });

    it('maps an unknown event to 404 and refuses devices of other utilities', async () => {
      suite.gateway.ledger.refuse('AuditEvent', 'NOT_FOUND', 'event dr-9 does not exist');
      expectError(await suite.gateway.get(suite.auditor, '/v1/dr/events/dr-9/audit'), 404, 'NOT_FOUND');
      expectError(await suite.gateway.get(suite.otherDevice, '/v1/dr/events/dr-9/audit'), 403, 'FORBIDDEN');
    });
  });

  describe('POST /v1/slots/{slotId}/emergency', () => {
    const url = '/v1/slots/2030-01-07T17:00Z/emergency';

    it('declares the level as a decimal argument as the DSO identity, majority-endorsed', async () => {
      const answer = { slotId: '2030-01-07T17:00Z', emergency: { level: 2, declaredAt: 'now' } };
      suite.dso.ledger.on('DeclareEmergency', answer);
      for (const level of [1, 2, 3]) {
        const response = await dsoPost(suite.operator, url, { level });
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.headers['x-transaction-id']).to.equal(TX_ID);
        expect(response.json()).to.deep.equal(answer);
        const call = suite.dso.ledger.calls.at(-1);
        expect(call).to.deep.include(calledAs('dso', 'timeslot', 'submit'));
        expect(call?.options).to.deep.equal({ arguments: ['2030-01-07T17:00Z', String(level)] });
      }
    });

    it('refuses other levels, other callers and a utility gateway', async () => {
      const bad: BadBody[] = [
        [{}, /must have required property 'level'/],
        [{ level: 0 }, /must be equal to one of the allowed values/],
        [{ level: 4 }, /must be equal to one of the allowed values/],
        [{ level: '2' }, /must be integer/],
        [{ level: 1.5 }, /must be integer/],
        [{ level: 1, reason: 'x' }, /must NOT have additional properties/],
      ];
      await expectBadBodies(bad, (body) => dsoPost(suite.operator, url, body));
      for (const caller of [suite.market, suite.auditor, suite.admin, suite.meter]) {
        expectError(await dsoPost(caller, url, { level: 1 }), 403, 'FORBIDDEN', /for dso identities/);
      }
      expectError(await suite.gateway.post(suite.operator, url, { level: 1 }), 403, 'FORBIDDEN');
      expect(suite.dso.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals to their statuses", async () => {
      await expectRefusalsMapped(
        suite.dso.ledger,
        'DeclareEmergency',
        () => dsoPost(suite.operator, url, { level: 3 }),
        [
          'NOT_FOUND: slot 2030-01-07T17:00Z does not exist',
          'FAILED_PRECONDITION: slot 2030-01-07T17:00Z is already dispatched',
          'CONFLICT: slot 2030-01-07T17:00Z already has an emergency of level 3',
          'INVALID_ARGUMENT: level must be 1, 2 or 3',
        ],
      );
    });
  });

  it('documents every demand-response route in the OpenAPI document, with its request body', async () => {
    const document = (await suite.gateway.get(undefined, '/docs/json')).json<{
      tags: { name: string }[];
      paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown; responses: object }>>;
    }>();
    const expected: [string, string, string, boolean][] = [
      ['/v1/dr/pool', 'post', '201', true],
      ['/v1/dr/events', 'post', '201', true],
      ['/v1/dr/events', 'get', '200', false],
      ['/v1/dr/events/{eventId}', 'get', '200', false],
      ['/v1/dr/events/{eventId}/rewards', 'post', '200', true],
      ['/v1/dr/events/{eventId}/totals', 'post', '200', false],
      ['/v1/dr/events/{eventId}/reward', 'get', '200', false],
      ['/v1/dr/events/{eventId}/audit', 'get', '200', false],
      ['/v1/meter/days', 'post', '200', true],
      ['/v1/slots/{slotId}/emergency', 'post', '200', true],
      ['/v1/slots/{slotId}/production', 'post', '200', true],
    ];
    for (const [path, method, status, body] of expected) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method} ${path}`).to.be.an('object');
      expect(operation?.tags, `${method} ${path}`).to.satisfy((tags: string[]) =>
        tags.some((tag) => ['dr', 'meter'].includes(tag)),
      );
      expect(operation?.responses, `${method} ${path}`).to.have.property(status);
      expect(operation?.requestBody !== undefined, `${method} ${path} body`).to.equal(body);
    }
    expect(document.tags.map((tag) => tag.name)).to.include('dr');
  });
});

import { expect } from 'chai';
import { BadBody, expectBadBodies } from './support/expectations';
import { refusal } from './support/fake-ledger';
import { TestGateway } from './support/gateway';
import { freshGateway } from './support/suite';

const TOTALS = [
  {
    bus: 'bus-1',
    homes: 12,
    withheldHomes: 0,
    lower: 10,
    upper: 30,
    orgs: ['UtilityAMSP', 'UtilityBMSP'],
    withheldOrgs: [],
    pendingOrgs: [],
  },
  {
    bus: 'bus-2',
    homes: 0,
    withheldHomes: 4,
    lower: 0,
    upper: 0,
    orgs: [],
    withheldOrgs: ['UtilityAMSP', 'UtilityBMSP'],
    pendingOrgs: [],
  },
];

const SLOT = {
  slotId: 'slot-1',
  status: 'AGGREGATED',
  deadline: '2030-01-01T10:15:00.000Z',
  openedAt: '2030-01-01T10:00:00.000Z',
  prices: { buses: [] },
  expected: [],
  aggregates: [
    {
      org: 'UtilityAMSP',
      bus: 'bus-1',
      expectedHomes: 6,
      published: true,
      homes: 6,
      withheld: false,
      lower: 5,
      upper: 15,
    },
  ],
  busTotals: TOTALS,
};

describe('DSO gateway: slot routes', () => {
  const suite = freshGateway('DSOMSP', ['dso', 'admin'], async (gateway) => ({
    operator: await gateway.pki.role('DSOMSP', 'dso', 'operator1'),
  }));

  describe('POST /v1/slots', () => {
    const body = {
      slotId: '2030-01-01T10:15Z',
      deadline: '2030-01-01T10:10:00Z',
      prices: { default: { lower: 20, upper: 80 }, buses: [{ bus: 'bus-2', lower: 35, upper: 110 }] },
    };

    it('opens the slot as the DSO identity and answers 201 with the slot and its transaction id', async () => {
      suite.gateway.ledger.on('OpenSlot', { slotId: body.slotId, status: 'OPEN' });
      const response = await suite.gateway.request(suite.operator, {
        method: 'POST',
        url: '/v1/slots',
        payload: body,
      });
      expect(response.statusCode).to.equal(201);
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      const [call] = suite.gateway.ledger.callsOf('OpenSlot');
      expect(call?.identity).to.equal('dso');
      expect(call?.options.arguments).to.deep.equal([
        body.slotId,
        body.deadline,
        JSON.stringify(body.prices),
        '',
      ]);
    });

    it('passes a delivery schedule to OpenSlot as JSON', async () => {
      const schedule = {
        deliveryStart: '2030-01-01T17:00:00Z',
        deliveryEnd: '2030-01-01T17:15:00Z',
        period: 'peak',
      };
      suite.gateway.ledger.on('OpenSlot', { slotId: body.slotId, status: 'OPEN', schedule });
      const response = await suite.gateway.post(suite.operator, '/v1/slots', { ...body, schedule });
      expect(response.statusCode).to.equal(201);
      expect(suite.gateway.ledger.callsOf('OpenSlot').at(-1)?.options.arguments?.[3]).to.equal(
        JSON.stringify(schedule),
      );
    });

    it('refuses non-DSO callers, bad bodies and a gateway without a DSO identity', async () => {
      const relayDevice = await suite.gateway.pki.device('UtilityAMSP', 'h1', 'bus-1');
      const auditor = await suite.gateway.pki.role('RegulatorMSP', 'auditor');
      for (const caller of [relayDevice, auditor]) {
        const response = await suite.gateway.request(caller, {
          method: 'POST',
          url: '/v1/slots',
          payload: body,
        });
        expect(response.statusCode).to.equal(403);
        expect(response.json<{ message: string }>().message).to.equal('this operation is for dso identities');
      }
      const bad: BadBody[] = [
        [{ ...body, deadline: 'tomorrow' }, /must match format "date-time"/],
        [{ ...body, slotId: '../x' }, /must match pattern/],
        [{ ...body, prices: { default: { lower: '1', upper: 2 } } }, /must be number/],
        [{ ...body, prices: { buses: [{ bus: 'b', lower: 1 }] } }, /must have required property 'upper'/],
        [{ ...body, extra: 1 }, /must NOT have additional properties/],
        [
          {
            ...body,
            schedule: { deliveryStart: '2030-01-01T17:00:00Z', deliveryEnd: '2030-01-01T17:15:00Z' },
          },
          /must have required property 'period'/,
        ],
        [
          {
            ...body,
            schedule: {
              deliveryStart: '2030-01-01T17:00:00Z',
              deliveryEnd: '2030-01-01T17:15:00Z',
              period: 'high',
            },
          },
          /must be equal to one of the allowed values/,
        ],
      ];
      await expectBadBodies(bad, (payload) => suite.gateway.post(suite.operator, '/v1/slots', payload));
      const utility = await TestGateway.create('UtilityAMSP', ['relay'], { pki: suite.gateway.pki });
      const elsewhere = await utility.request(suite.operator, {
        method: 'POST',
        url: '/v1/slots',
        payload: body,
      });
      expect(elsewhere.statusCode).to.equal(403);
      expect(elsewhere.json<{ message: string }>().message).to.match(/gateway of a different organization/);
      await utility.app.close();
    });

    it("refuses hems.role=dso issued by another org's CA, and DSO operators of another DSO org", async () => {
      const forged = await suite.gateway.pki.role('UtilityBMSP', 'dso', 'mallory');
      const response = await suite.gateway.request(forged, {
        method: 'POST',
        url: '/v1/slots',
        payload: body,
      });
      expect(response.statusCode).to.equal(403);
      expect(response.json<{ message: string }>().message).to.equal(
        'hems.role=dso is not valid for a certificate of UtilityBMSP',
      );
      const forgedAuditor = await suite.gateway.pki.role('UtilityAMSP', 'auditor');
      expect(
        (await suite.gateway.request(forgedAuditor, { method: 'GET', url: '/v1/slots/slot-1/aggregates' }))
          .statusCode,
      ).to.equal(403);
      expect(suite.gateway.ledger.callsOf('OpenSlot')).to.deep.equal([]);
    });

    it('maps a double open to 409 with the chaincode message', async () => {
      suite.gateway.ledger.refuse('OpenSlot', 'CONFLICT', 'slot 2030-01-01T10:15Z already exists');
      const response = await suite.gateway.request(suite.operator, {
        method: 'POST',
        url: '/v1/slots',
        payload: body,
      });
      expect(response.statusCode).to.equal(409);
      expect(response.json()).to.include({
        code: 'CONFLICT',
        message: 'slot 2030-01-01T10:15Z already exists',
      });
    });
  });

  describe('GET /v1/slots/:slotId/aggregates', () => {
    it('gives the DSO and auditors the per-bus sums with withheld buses marked', async () => {
      suite.gateway.ledger.on('GetSlot', SLOT);
      for (const caller of [suite.operator, await suite.gateway.pki.role('RegulatorMSP', 'auditor')]) {
        const response = await suite.gateway.request(caller, {
          method: 'GET',
          url: '/v1/slots/slot-1/aggregates',
        });
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.deep.include({ slotId: 'slot-1', status: 'AGGREGATED', buses: TOTALS });
      }
      const device = await suite.gateway.pki.device('UtilityAMSP', 'h1', 'bus-1');
      expect(
        (await suite.gateway.request(device, { method: 'GET', url: '/v1/slots/slot-1/aggregates' }))
          .statusCode,
      ).to.equal(403);
    });
  });

  describe('POST /v1/slots/:slotId/dispatch', () => {
    /** POSTs a dispatch of slot-1 as `caller`, the DSO's operator unless said. */
    const dispatch = (payload: unknown, caller = suite.operator) =>
      suite.gateway.post(caller, '/v1/slots/slot-1/dispatch', payload);

    it('publishes an explicit λ with per-bus values and a revision reason', async () => {
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      const response = await dispatch({
        lambda: 0.4,
        perBus: [{ bus: 'bus-2', lambda: 0.1 }],
        revisionReason: 'transformer derated',
      });
      expect(response.statusCode).to.equal(201);
      expect(suite.gateway.ledger.callsOf('PublishDispatch')[0]?.options.arguments).to.deep.equal([
        'slot-1',
        '0.4',
        JSON.stringify([{ bus: 'bus-2', lambda: 0.1 }]),
        'transformer derated',
      ]);
    });

    it('computes λ with the DSO optimizer from a feeder model when no λ is given', async () => {
      suite.gateway.ledger.on('GetSlot', { ...SLOT, busTotals: [TOTALS[0]] });
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      const response = await dispatch({ capacities: { 'bus-1': 17 } });
      expect(response.statusCode).to.equal(201);
      // bus-1: (17 − 10) / (30 − 10) = 0.35.
      expect(suite.gateway.ledger.callsOf('PublishDispatch')[0]?.options.arguments).to.deep.equal([
        'slot-1',
        '0.35',
        '',
        '',
      ]);
      expect(response.json<{ plan: unknown }>().plan).to.deep.equal({
        lambda: 0.35,
        assumedWorstCase: [],
        buses: [
          {
            bus: 'bus-1',
            capacityKw: 17,
            lambda: 0.35,
            dispatchedKw: 17,
            unreportedHomes: 0,
            assumedKw: 0,
          },
        ],
      });
      // Every bus reported: the channel settings are not needed.
      expect(suite.gateway.ledger.callsOf('GetSettings')).to.have.length(0);
    });

    it('bounds a withheld bus by homes × maxHomeKw from the channel settings (regression: it was ignored)', async () => {
      suite.gateway.ledger.on('GetSlot', {
        ...SLOT,
        aggregates: [
          ...SLOT.aggregates,
          { org: 'UtilityAMSP', bus: 'bus-2', expectedHomes: 2, published: true, homes: 2, withheld: true },
          { org: 'UtilityBMSP', bus: 'bus-2', expectedHomes: 2, published: true, homes: 2, withheld: true },
        ],
      });
      suite.gateway.ledger.on('GetSettings', { maxHomeKw: 0.5, minGroupSize: 5 });
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      const dispatchCapacities = () => dispatch({ capacities: { 'bus-1': 17, 'bus-2': 3 } });
      /** λ of the `index`th PublishDispatch. */
      const lambdaOf = (index: number) =>
        suite.gateway.ledger.callsOf('PublishDispatch')[index]?.options.arguments?.[1];
      const response = await dispatchCapacities();
      expect(response.statusCode).to.equal(201);
      // bus-2: 4 withheld homes may draw 4 × 0.5 = 2 kW ≤ 3 kW: it does not constrain λ.
      expect(lambdaOf(0)).to.equal('0.35');
      const settingsCall = suite.gateway.ledger.callsOf('GetSettings')[0];
      expect(settingsCall).to.include({ identity: 'dso', contract: 'governance', kind: 'evaluate' });
      const plan = response.json<{
        plan: { assumedWorstCase: string[]; maxHomeKw: number; buses: { bus: string }[] };
      }>().plan;
      expect(plan.assumedWorstCase).to.deep.equal(['bus-2']);
      expect(plan.maxHomeKw).to.equal(0.5);
      expect(plan.buses.find((bus) => bus.bus === 'bus-2')).to.deep.equal({
        bus: 'bus-2',
        capacityKw: 3,
        lambda: 1,
        dispatchedKw: 2,
        unreportedHomes: 4,
        assumedKw: 2,
      });

      // With the channel's 50 kW per home the same bus may draw 200 kW on 3: λ = 0.
      suite.gateway.ledger.on('GetSettings', { maxHomeKw: 50 });
      expect((await dispatchCapacities()).statusCode).to.equal(201);
      expect(lambdaOf(1)).to.equal('0');
    });

    it('bounds a bus whose aggregate is missing by its enrolled homes; a bus without capacity stays free', async () => {
      suite.gateway.ledger.on('GetSlot', {
        ...SLOT,
        aggregates: [
          ...SLOT.aggregates,
          { org: 'UtilityBMSP', bus: 'bus-1', expectedHomes: 3, published: false },
          { org: 'UtilityBMSP', bus: 'bus-3', expectedHomes: 9, published: false },
        ],
        busTotals: [
          { ...TOTALS[0], pendingOrgs: ['UtilityBMSP'] },
          {
            ...TOTALS[0],
            bus: 'bus-3',
            homes: 0,
            lower: 0,
            upper: 0,
            orgs: [],
            pendingOrgs: ['UtilityBMSP'],
          },
        ],
      });
      suite.gateway.ledger.on('GetSettings', { maxHomeKw: 1 });
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      const response = await dispatch({ capacities: { 'bus-1': 20 } });
      expect(response.statusCode).to.equal(201);
      // bus-1: (20 − 3·1 − 10) / (30 − 10) = 0.35.
      expect(suite.gateway.ledger.callsOf('PublishDispatch')[0]?.options.arguments?.[1]).to.equal('0.35');
      const plan = response.json<{
        plan: { assumedWorstCase: string[]; buses: { bus: string; capacityKw: number | null }[] };
      }>().plan;
      expect(plan.assumedWorstCase).to.deep.equal(['bus-1', 'bus-3']);
      expect(plan.buses.find((bus) => bus.bus === 'bus-3')).to.include({
        capacityKw: null,
        lambda: 1,
        unreportedHomes: 9,
      });
    });

    it('refuses with 502 and publishes nothing when the settings give no usable maxHomeKw', async () => {
      suite.gateway.ledger.on('GetSlot', SLOT);
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      for (const settings of [{ maxHomeKw: 0 }, { maxHomeKw: '50' }, {}, null]) {
        suite.gateway.ledger.on('GetSettings', settings);
        const response = await dispatch({ capacities: { 'bus-1': 17, 'bus-2': 3 } });
        expect(response.statusCode, JSON.stringify(settings)).to.equal(502);
        expect(response.json<{ message: string }>().message).to.equal(
          'governance:GetSettings answered no positive maxHomeKw',
        );
      }
      expect(suite.gateway.ledger.callsOf('PublishDispatch')).to.have.length(0);
    });

    it('sends λ to the chaincode as a plain decimal', async () => {
      suite.gateway.ledger.on('PublishDispatch', { slotId: 'slot-1', status: 'DISPATCHED' });
      for (const [lambda, sent] of [
        [1e-7, '0'],
        [0.0000015, '0.000002'],
        [1, '1'],
        [0, '0'],
        [0.35, '0.35'],
      ] as const) {
        await dispatch({ lambda });
        expect(suite.gateway.ledger.callsOf('PublishDispatch').at(-1)?.options.arguments?.[1]).to.equal(sent);
      }
    });

    it('refuses λ out of range, both or neither of λ and capacities, and non-DSO callers', async () => {
      const bad: unknown[] = [
        { lambda: 1.5 },
        { lambda: -0.1 },
        { lambda: '0.5' },
        {},
        { lambda: 0.5, capacities: {} },
        { capacities: { b: -1 } },
      ];
      for (const payload of bad) {
        const response = await dispatch(payload);
        expect(response.statusCode, JSON.stringify(payload)).to.equal(400);
      }
      const auditor = await suite.gateway.pki.role('RegulatorMSP', 'auditor');
      expect((await dispatch({ lambda: 0.5 }, auditor)).statusCode).to.equal(403);
      suite.gateway.ledger.refuse(
        'PublishDispatch',
        'FAILED_PRECONDITION',
        'slot slot-1 has no complete set of aggregates yet',
      );
      const early = await dispatch({ lambda: 0.5 });
      expect(early.statusCode).to.equal(409);
    });
  });
});

describe('DSO gateway: POST /v1/slots/:slotId/aggregates', () => {
  it('asks every utility gateway to aggregate and reports each outcome; refuses non-DSO callers', async () => {
    const outcomes = [
      { org: 'UtilityAMSP', statusCode: 200, result: { buses: [] } },
      {
        org: 'UtilityBMSP',
        statusCode: 503,
        result: { code: 'UTILITY_GATEWAY_UNAVAILABLE', message: 'the utility gateway is not reachable' },
      },
    ];
    const asked: string[] = [];
    const gateway = await TestGateway.create('DSOMSP', ['dso'], {
      aggregationFanOut: (slotId) => {
        asked.push(slotId);
        return Promise.resolve(outcomes);
      },
    });
    const operator = await gateway.pki.role('DSOMSP', 'dso');
    const response = await gateway.request(operator, { method: 'POST', url: '/v1/slots/slot-1/aggregates' });
    expect(response.statusCode).to.equal(200);
    expect(response.json()).to.deep.equal({ slotId: 'slot-1', utilities: outcomes });
    expect(asked).to.deep.equal(['slot-1']);
    const auditor = await gateway.pki.role('RegulatorMSP', 'auditor');
    expect(
      (await gateway.request(auditor, { method: 'POST', url: '/v1/slots/slot-1/aggregates' })).statusCode,
    ).to.equal(403);
    await gateway.app.close();
  });
});

describe('utility gateway: POST /v1/slots/:slotId/aggregates', () => {
  let gateway: TestGateway;

  beforeEach(async () => {
    gateway = await TestGateway.create('UtilityAMSP', ['relay', 'admin']);
    gateway.ledger.on('GetSlot', {
      ...SLOT,
      aggregates: [
        { org: 'UtilityAMSP', bus: 'bus-1', expectedHomes: 6, published: false },
        { org: 'UtilityAMSP', bus: 'bus-2', expectedHomes: 2, published: false },
        { org: 'UtilityAMSP', bus: 'bus-3', expectedHomes: 2, published: true, homes: 2, withheld: true },
        { org: 'UtilityBMSP', bus: 'bus-1', expectedHomes: 6, published: false },
      ],
    });
    gateway.ledger.on('ListForecastBatches', { batches: ['a'.repeat(64), 'b'.repeat(64)], items: 7 });
    gateway.ledger.on('PublishAggregate', (options: { arguments?: readonly string[] }) => {
      if (options.arguments?.[1] === 'bus-2') {
        throw refusal('FAILED_PRECONDITION', 'slot slot-1 is still open for bus bus-2 of UtilityAMSP');
      }
      return { homes: 2, withheld: true };
    });
  });

  afterEach(() => gateway.app.close());

  it('lists and publishes each of its own pending buses when the DSO asks, reporting buses that may not close yet', async () => {
    const operator = await gateway.pki.role('DSOMSP', 'dso');
    const response = await gateway.request(operator, { method: 'POST', url: '/v1/slots/slot-1/aggregates' });
    expect(response.statusCode).to.equal(200);
    expect(response.json()).to.deep.equal({
      slotId: 'slot-1',
      org: 'UtilityAMSP',
      buses: [
        { bus: 'bus-1', outcome: 'published', homes: 2, withheld: true },
        { bus: 'bus-2', outcome: 'not yet: the window is still open' },
        { bus: 'bus-3', outcome: 'already published', homes: 2, withheld: true },
      ],
    });
    const [publish] = gateway.ledger.callsOf('PublishAggregate');
    expect(publish?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    expect(JSON.parse(Buffer.from(publish?.options.transientData?.batches ?? []).toString())).to.deep.equal([
      'a'.repeat(64),
      'b'.repeat(64),
    ]);
    expect(gateway.ledger.callsOf('ListForecastBatches').every((call) => call.kind === 'evaluate')).to.equal(
      true,
    );
  });

  it("refuses other utilities' admins, devices and auditors", async () => {
    for (const caller of [
      await gateway.pki.role('UtilityBMSP', 'admin'),
      await gateway.pki.device('UtilityAMSP', 'h', 'bus-1'),
      await gateway.pki.role('RegulatorMSP', 'auditor'),
    ]) {
      expect(
        (await gateway.request(caller, { method: 'POST', url: '/v1/slots/slot-1/aggregates' })).statusCode,
      ).to.equal(403);
    }
    expect(gateway.ledger.callsOf('PublishAggregate')).to.deep.equal([]);
  });
});

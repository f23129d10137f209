import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';
import { calledAs, expectError, expectRefusalsMapped } from './support/expectations';

const SPEC = {
  windowId: 'w-1',
  deliverySlotId: 'slot-1',
  deliveryStart: '2030-01-01T10:15:00.000Z',
  deliveryEnd: '2030-01-01T10:30:00.000Z',
  closesAt: '2030-01-01T10:10:00.000Z',
};

const WINDOW = {
  ...SPEC,
  pricingRule: 'pay-as-clear',
  status: 'CLEARED',
  clearing: { clearingPrice: 82.5, trades: [], totals: { energyWh: 0, value: '0' } },
};

describe('auction: trading windows', () => {
  const suite = gatewaySuite(
    async (pki) => ({
      market: await pki.role('DSOMSP', 'market', 'market-operator'),
      dsoOperator: await pki.role('DSOMSP', 'dso', 'dso-operator'),
      auditor: await pki.role('RegulatorMSP', 'auditor'),
      device: await pki.device('UtilityAMSP', 'home-a-001', 'bus-1'),
    }),
    { dso: true },
  );

  describe('POST /v1/windows', () => {
    it("opens a window as the DSO gateway's market identity with the spec as JSON", async () => {
      suite.dso.ledger.on('OpenTradingWindow', { ...WINDOW, status: 'OPEN', clearing: undefined });
      const response = await suite.dso.request(suite.market, {
        method: 'POST',
        url: '/v1/windows',
        payload: { ...SPEC, pricingRule: 'pay-as-bid' },
      });
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      expect(response.headers.location).to.equal('/v1/windows/w-1');
      expect(response.json()).to.include({ windowId: 'w-1', status: 'OPEN' });
      const [call] = suite.dso.ledger.callsOf('OpenTradingWindow');
      expect(call).to.include({ identity: 'market', contract: 'auction', kind: 'submit' });
      expect(call?.options.arguments?.[0]).to.equal('w-1');
      expect(JSON.parse(call?.options.arguments?.[1] ?? '')).to.deep.equal({
        deliverySlotId: 'slot-1',
        deliveryStart: SPEC.deliveryStart,
        deliveryEnd: SPEC.deliveryEnd,
        closesAt: SPEC.closesAt,
        pricingRule: 'pay-as-bid',
      });
    });

    it('leaves the pricing rule to the chaincode default when none is given', async () => {
      suite.dso.ledger.on('OpenTradingWindow', { windowId: 'w-1', status: 'OPEN' });
      const response = await suite.dso.request(suite.market, {
        method: 'POST',
        url: '/v1/windows',
        payload: SPEC,
      });
      expect(response.statusCode).to.equal(201);
      const spec = JSON.parse(
        suite.dso.ledger.callsOf('OpenTradingWindow')[0]?.options.arguments?.[1] ?? '{}',
      ) as object;
      expect(spec).to.not.have.property('pricingRule');
    });

    it('passes reportGraceSeconds on in the spec, from 0 to 7 days', async () => {
      suite.dso.ledger.on('OpenTradingWindow', { windowId: 'w-1', status: 'OPEN' });
      for (const reportGraceSeconds of [0, 900, 604800]) {
        const response = await suite.dso.request(suite.market, {
          method: 'POST',
          url: '/v1/windows',
          payload: { ...SPEC, reportGraceSeconds },
        });
        expect(response.statusCode, response.body).to.equal(201);
      }
      const specs = suite.dso.ledger
        .callsOf('OpenTradingWindow')
        .map((call) => JSON.parse(call.options.arguments?.[1] ?? '{}') as Record<string, unknown>);
      expect(specs.map((spec) => spec.reportGraceSeconds)).to.deep.equal([0, 900, 604800]);
      // Left out: the chaincode's default (3600) applies.
      await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows', payload: SPEC });
      expect(
        JSON.parse(
          suite.dso.ledger.callsOf('OpenTradingWindow')[3]?.options.arguments?.[1] ?? '{}',
        ) as object,
      ).to.not.have.property('reportGraceSeconds');
    });

    it('refuses a reportGraceSeconds that is not a whole number of seconds from 0 to 604800', async () => {
      // Raw JSON texts: 1e400 parses as Infinity.
      for (const value of ['-1', '604801', '1.5', '"3600"', 'null', 'true', '1e400']) {
        const response = await suite.dso.request(suite.market, {
          method: 'POST',
          url: '/v1/windows',
          headers: { 'content-type': 'application/json' },
          payload: `${JSON.stringify(SPEC).slice(0, -1)},"reportGraceSeconds":${value}}`,
        });
        expectError(response, 400, 'INVALID_REQUEST', /reportGraceSeconds/);
      }
      expect(suite.dso.ledger.calls).to.have.length(0);
    });

    it('keeps the global 64 KiB body limit on the window routes', async () => {
      const response = await suite.dso.request(suite.market, {
        method: 'POST',
        url: '/v1/windows',
        payload: { ...SPEC, pricingRule: 'x'.repeat(70 * 1024) },
      });
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
      expect(suite.dso.ledger.calls).to.have.length(0);
    });

    it('refuses other roles, a market role from a utility CA, and a gateway without a market identity', async () => {
      expectError(
        await suite.dso.request(suite.dsoOperator, { method: 'POST', url: '/v1/windows', payload: SPEC }),
        403,
        'FORBIDDEN',
        /for market identities/,
      );
      const forged = await suite.pki.role('UtilityAMSP', 'market', 'forged');
      expectError(
        await suite.dso.request(forged, { method: 'POST', url: '/v1/windows', payload: SPEC }),
        403,
        'FORBIDDEN',
        /hems.role=market is not valid for a certificate of UtilityAMSP/,
      );
      expectError(
        await suite.gateway.request(suite.market, { method: 'POST', url: '/v1/windows', payload: SPEC }),
        403,
        'FORBIDDEN',
        /gateway of a different organization/,
      );
      const elsewhere = await TestGateway.create('RegulatorMSP', ['auditor', 'market'], { pki: suite.pki });
      expectError(
        await elsewhere.request(suite.market, { method: 'POST', url: '/v1/windows', payload: SPEC }),
        403,
        'FORBIDDEN',
        /for operators of RegulatorMSP/,
      );
      await elsewhere.app.close();
      expect(suite.dso.ledger.calls).to.have.length(0);
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    it('refuses bad specs with 400 before anything reaches the ledger', async () => {
      const bad: Record<string, unknown>[] = [
        { ...SPEC, closesAt: '2030-01-01T10:20:00.000Z' },
        { ...SPEC, deliveryEnd: SPEC.deliveryStart },
        { ...SPEC, pricingRule: 'pay-as-you-like' },
        { ...SPEC, closesAt: 'tomorrow' },
        { ...SPEC, windowId: '../etc' },
        { ...SPEC, windowId: 'x'.repeat(65) },
        { ...SPEC, extra: 1 },
        { ...SPEC, deliveryStart: 1893492900000 },
        { windowId: 'w-1' },
      ];
      for (const payload of bad) {
        const response = await suite.dso.request(suite.market, {
          method: 'POST',
          url: '/v1/windows',
          payload,
        });
        expectError(response, 400, 'INVALID_REQUEST');
      }
      expect(suite.dso.ledger.calls).to.have.length(0);
    });

    it('maps chaincode refusals: existing window 409, closesAt in the past 409 or 422, forbidden 403', async () => {
      await expectRefusalsMapped(
        suite.dso.ledger,
        'OpenTradingWindow',
        () => suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows', payload: SPEC }),
        [
          'CONFLICT: window w-1 exists already',
          'FAILED_PRECONDITION: closesAt must be after the transaction time',
          'INVALID_ARGUMENT: spec.closesAt must be at most 7 days ahead',
          'FORBIDDEN: only the market operator opens windows',
        ],
      );
    });

    it('replays an idempotent retry without opening the window twice', async () => {
      suite.dso.ledger.on('OpenTradingWindow', { windowId: 'w-1', status: 'OPEN' });
      const send = (): Promise<LightMyRequestResponse> =>
        suite.dso.request(suite.market, {
          method: 'POST',
          url: '/v1/windows',
          payload: SPEC,
          headers: { 'idempotency-key': 'open-w-1' },
        });
      const first = await send();
      const second = await send();
      expect(first.statusCode).to.equal(201);
      expect(second.statusCode).to.equal(201);
      expect(second.headers['idempotent-replay']).to.equal('true');
      expect(second.headers['x-transaction-id']).to.equal('f'.repeat(64));
      expect(second.body).to.equal(first.body);
      expect(suite.dso.ledger.callsOf('OpenTradingWindow')).to.have.length(1);
      const changed = await suite.dso.request(suite.market, {
        method: 'POST',
        url: '/v1/windows',
        payload: { ...SPEC, pricingRule: 'pay-as-bid' },
        headers: { 'idempotency-key': 'open-w-1' },
      });
      expectError(changed, 422, 'IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('GET /v1/windows and /v1/windows/:windowId', () => {
    it('lists windows a page at a time with the reader identity, with opaque bookmarks', async () => {
      const key = (id: string): string => `\u0000hems.window\u0000${id}\u0000`;
      const page = {
        windows: [{ windowId: 'w-1', status: 'OPEN', closesAt: SPEC.closesAt }],
        bookmark: key('w-2'),
      };
      suite.gateway.ledger.on('ListWindows', page);
      const response = await suite.gateway.request(suite.auditor, {
        method: 'GET',
        url: `/v1/windows?pageSize=20&bookmark=${Buffer.from(key('w-1')).toString('base64url')}`,
      });
      expect(response.statusCode).to.equal(200);
      expect(response.json()).to.deep.equal({
        ...page,
        bookmark: Buffer.from(key('w-2')).toString('base64url'),
      });
      expect(suite.gateway.ledger.callsOf('ListWindows')[0]).to.deep.include({
        ...calledAs('relay', 'auction', 'evaluate'),
      });
      expect(suite.gateway.ledger.callsOf('ListWindows')[0]?.options.arguments).to.deep.equal([
        '20',
        key('w-1'),
      ]);
      await suite.gateway.request(suite.device, { method: 'GET', url: '/v1/windows' });
      expect(suite.gateway.ledger.callsOf('ListWindows')[1]?.options.arguments).to.deep.equal(['50', '']);
      for (const query of [
        'pageSize=0',
        'pageSize=101',
        'pageSize=-1',
        'pageSize=1e2',
        'other=1',
        'bookmark=%00',
        'bookmark=a%2Fb',
        'bookmark=%FF%FE',
        `bookmark=${'A'.repeat(1365)}`,
      ]) {
        expectError(
          await suite.gateway.request(suite.auditor, { method: 'GET', url: `/v1/windows?${query}` }),
          400,
          'INVALID_REQUEST',
        );
      }
    });

    it('answers 400 for a well-formed bookmark the chaincode did not hand out', async () => {
      suite.gateway.ledger.refuse(
        'ListWindows',
        'INVALID_ARGUMENT',
        'bookmark is not one this listing handed out: start again without one',
      );
      const response = await suite.gateway.request(suite.auditor, {
        method: 'GET',
        url: `/v1/windows?bookmark=${Buffer.from('\u0000hems.slot\u0000s-1\u0000').toString('base64url')}`,
      });
      expectError(response, 400, 'INVALID_REQUEST');
      expect(response.json<{ message: string }>().message).to.match(/bookmark is not one this listing/);
    });

    it('shows a window with its status to any authenticated caller, with its clearing once cleared; devices at their own gateway', async () => {
      const { clearing, ...record } = WINDOW;
      suite.gateway.ledger.on('GetWindow', { ...record, status: 'OPEN' });
      expect(
        (await suite.gateway.request(suite.device, { method: 'GET', url: '/v1/windows/w-1' })).json(),
      ).to.deep.equal({
        ...record,
        status: 'OPEN',
      });
      expect(suite.gateway.ledger.callsOf('GetClearing')).to.have.length(0);
      suite.gateway.ledger.on('GetWindow', { ...record, clearedAt: '2030-01-01T10:11:00.000Z' });
      suite.gateway.ledger.on('GetClearing', clearing);
      for (const caller of [suite.device, suite.auditor, suite.market]) {
        const response = await suite.gateway.request(caller, { method: 'GET', url: '/v1/windows/w-1' });
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.deep.equal({ ...record, clearedAt: '2030-01-01T10:11:00.000Z', clearing });
      }
      expect(suite.gateway.ledger.callsOf('GetClearing')[0]).to.deep.include({
        contract: 'auction',
        kind: 'evaluate',
        options: { arguments: ['w-1'] },
      });
      expect(suite.gateway.ledger.callsOf('GetWindow')[0]?.options.arguments).to.deep.equal(['w-1']);
      const foreignDevice = await suite.pki.device('UtilityBMSP', 'home-b-001', 'bus-1');
      expectError(
        await suite.gateway.request(foreignDevice, { method: 'GET', url: '/v1/windows/w-1' }),
        403,
        'FORBIDDEN',
        /HEMS devices of UtilityAMSP only/,
      );
      expectError(
        await suite.gateway.request(undefined, { method: 'GET', url: '/v1/windows/w-1' }),
        401,
        'UNAUTHENTICATED',
      );
      suite.gateway.ledger.refuse('GetWindow', 'NOT_FOUND', 'window w-9 does not exist');
      expectError(
        await suite.gateway.request(suite.auditor, { method: 'GET', url: '/v1/windows/w-9' }),
        404,
        'NOT_FOUND',
        /w-9/,
      );
    });
  });

  describe('GET /v1/windows/:windowId fields', () => {
    it('passes every field of the window, its parts and its clearing on, the newer ones included', async () => {
      const window = {
        windowId: 'w-1',
        deliverySlotId: 'slot-1',
        deliveryStart: SPEC.deliveryStart,
        deliveryEnd: SPEC.deliveryEnd,
        closesAt: SPEC.closesAt,
        revealBy: SPEC.deliveryStart,
        reportBy: '2030-01-01T11:30:00.000Z',
        reportGraceSeconds: 3600,
        pricingRule: 'pay-as-clear',
        status: 'CLEARED',
        clearedAt: '2030-01-01T10:16:00.000Z',
        orgs: ['UtilityAMSP', 'UtilityBMSP'],
        tradeOrgs: ['UtilityAMSP'],
        parts: [
          {
            windowId: 'w-1',
            org: 'UtilityAMSP',
            charged: '0',
            paid: '0',
            refunded: '0',
            withdrawnOffers: 2,
            revealed: { count: 3, revealedAt: '2030-01-01T10:10:10.000Z', txId: 'a'.repeat(64) },
          },
          { windowId: 'w-1', org: 'UtilityBMSP', charged: '0', paid: '0', refunded: '0', withdrawnOffers: 0 },
        ],
        pool: { amount: '0', charged: '0', paid: '0', toGrid: '0' },
      };
      const clearing = {
        windowId: 'w-1',
        pricingRule: 'pay-as-clear',
        clearingPrice: 825000,
        orders: 3,
        trades: [
          {
            tradeId: 't1',
            offerRef: 'o'.repeat(64),
            bidRef: 'b'.repeat(64),
            sellerAccount: `acct-${'1'.repeat(32)}`,
            buyerAccount: `acct-${'2'.repeat(32)}`,
            sellerOrg: 'UtilityAMSP',
            buyerOrg: 'UtilityAMSP',
            energyWh: 1000,
            price: 825000,
            value: '825000000',
          },
        ],
        totals: { offeredWh: 1000, bidWh: 2000, tradedWh: 1000, value: '825000000' },
        excludedOrgs: ['UtilityBMSP'],
        droppedRevoked: 1,
        clearedAt: '2030-01-01T10:16:00.000Z',
        txId: 'c'.repeat(64),
      };
      suite.gateway.ledger.on('GetWindow', window);
      suite.gateway.ledger.on('GetClearing', clearing);
      const response = await suite.gateway.request(suite.auditor, { method: 'GET', url: '/v1/windows/w-1' });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ ...window, clearing });
    });
  });

  describe('POST /v1/windows/:windowId/clearing', () => {
    const SUMMARY = {
      windowId: 'w-1',
      pricingRule: 'pay-as-clear',
      clearingPrice: 825000,
      trades: 3,
      tradedWh: 5000,
      excludedOrgs: ['UtilityBMSP'],
      droppedRevoked: 1,
      clearedAt: '2030-01-01T10:16:00.000Z',
      txId: 'c'.repeat(64),
    };

    it("clears as the market identity and answers the chaincode's summary, fields it adds included", async () => {
      suite.dso.ledger.on('ClearWindow', { ...SUMMARY, later: { field: true } });
      const response = await suite.dso.request(suite.market, {
        method: 'POST',
        url: '/v1/windows/w-1/clearing',
      });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ ...SUMMARY, later: { field: true } });
      // Without trades the clearing price is null.
      suite.dso.ledger.on('ClearWindow', {
        ...SUMMARY,
        clearingPrice: null,
        trades: 0,
        tradedWh: 0,
        excludedOrgs: [],
      });
      expect(
        (await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows/w-1/clearing' })).json(),
      ).to.include({
        clearingPrice: null,
        trades: 0,
      });
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      expect(suite.dso.ledger.callsOf('ClearWindow')[0]).to.deep.include({
        ...calledAs('market', 'auction', 'submit'),
        options: { arguments: ['w-1'] },
      });
    });

    it('documents the summary in the OpenAPI document', async () => {
      const document = (await suite.dso.request(undefined, { method: 'GET', url: '/docs/json' })).json<{
        paths: Record<
          string,
          Record<
            string,
            {
              responses: Record<
                string,
                { content: Record<string, { schema: { properties: Record<string, { type?: unknown }> } }> }
              >;
            }
          >
        >;
      }>();
      const schema =
        document.paths['/v1/windows/{windowId}/clearing']?.post?.responses['200']?.content['application/json']
          ?.schema;
      expect(schema?.properties.trades?.type).to.equal('integer');
      expect(Object.keys(schema?.properties ?? {})).to.include.members([
        'tradedWh',
        'excludedOrgs',
        'droppedRevoked',
      ]);
    });

    it('refuses other roles and gateways, and maps a clearing before every reveal to 409', async () => {
      const admin = await suite.pki.role('DSOMSP', 'admin', 'orgadmin');
      expectError(
        await suite.dso.request(admin, { method: 'POST', url: '/v1/windows/w-1/clearing' }),
        403,
        'FORBIDDEN',
      );
      expectError(
        await suite.gateway.request(suite.market, { method: 'POST', url: '/v1/windows/w-1/clearing' }),
        403,
        'FORBIDDEN',
        /different organization/,
      );
      suite.dso.ledger.refuse(
        'ClearWindow',
        'FAILED_PRECONDITION',
        'UtilityBMSP has not revealed its orders of window w-1',
      );
      expectError(
        await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows/w-1/clearing' }),
        409,
        'FAILED_PRECONDITION',
        /has not revealed/,
      );
      suite.dso.ledger.refuse('ClearWindow', 'CONFLICT', 'window w-1 is cleared already');
      expectError(
        await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows/w-1/clearing' }),
        409,
        'CONFLICT',
      );
    });
  });

  describe('POST /v1/windows/:windowId/grid-share', () => {
    const url = '/v1/windows/w-1/grid-share';
    const CLAIM = {
      windowId: 'w-1',
      account: 'grid:DSOMSP',
      amount: '123456',
      reserved: '0',
      claimedAt: '2030-01-01T12:00:00.000Z',
      txId: 'd'.repeat(64),
    };

    it("claims as the market identity under the default (majority) plan and answers the chaincode's receipt", async () => {
      suite.dso.ledger.on('ClaimGridShare', CLAIM);
      const response = await suite.dso.request(suite.market, { method: 'POST', url });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal(CLAIM);
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      const [call] = suite.dso.ledger.callsOf('ClaimGridShare');
      expect(call).to.deep.include({ identity: 'market', contract: 'auction', kind: 'submit' });
      expect(call?.options).to.deep.equal({ arguments: ['w-1'] });
    });

    it('refuses other roles, other gateways and hostile ids; maps unsettled 409, repeated 409, other DSO 403', async () => {
      for (const caller of [suite.dsoOperator, suite.auditor, await suite.pki.role('UtilityAMSP', 'admin')]) {
        expectError(await suite.dso.request(caller, { method: 'POST', url }), 403, 'FORBIDDEN');
      }
      expectError(await suite.gateway.request(suite.market, { method: 'POST', url }), 403, 'FORBIDDEN');
      expectError(
        await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows/bad id/grid-share' }),
        400,
        'INVALID_REQUEST',
      );
      expect(suite.dso.ledger.calls).to.have.length(0);
      const claim = (): Promise<LightMyRequestResponse> =>
        suite.dso.request(suite.market, { method: 'POST', url });
      await expectRefusalsMapped(
        suite.dso.ledger,
        'ClaimGridShare',
        claim,
        [
          'FAILED_PRECONDITION: window w-1 is not settled yet',
          'CONFLICT: the grid share of window w-1 was already claimed',
          'FORBIDDEN: ClaimGridShare of window w-1 is for the market operator of DSO2MSP',
          'NOT_FOUND: window w-1 does not exist',
        ],
        'including',
      );
    });
  });

  describe('POST /v1/windows/:windowId/report-closure', () => {
    const url = '/v1/windows/w-1/report-closure';
    const CLOSURE = {
      windowId: 'w-1',
      unreportedOrgs: ['UtilityBMSP'],
      reportsClosedAt: '2030-01-01T12:00:00.000Z',
      txId: 'e'.repeat(64),
    };

    it("closes as the market identity under the default (majority) plan and answers the chaincode's closure", async () => {
      suite.dso.ledger.on('CloseDeliveryReports', CLOSURE);
      const response = await suite.dso.request(suite.market, { method: 'POST', url });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal(CLOSURE);
      const [call] = suite.dso.ledger.callsOf('CloseDeliveryReports');
      expect(call).to.deep.include({ identity: 'market', contract: 'auction', kind: 'submit' });
      // No endorsingOrganizations: the gateway plans the chaincode's majority policy.
      expect(call?.options).to.deep.equal({ arguments: ['w-1'] });
    });

    it("refuses other roles, other gateways and hostile ids; maps the chaincode's refusals", async () => {
      for (const caller of [suite.dsoOperator, suite.auditor, await suite.pki.role('UtilityAMSP', 'admin')]) {
        expectError(await suite.dso.request(caller, { method: 'POST', url }), 403, 'FORBIDDEN');
      }
      expectError(await suite.gateway.request(suite.market, { method: 'POST', url }), 403, 'FORBIDDEN');
      expectError(
        await suite.dso.request(suite.market, { method: 'POST', url: '/v1/windows/bad id/report-closure' }),
        400,
        'INVALID_REQUEST',
      );
      expect(suite.dso.ledger.calls).to.have.length(0);
      await expectRefusalsMapped(
        suite.dso.ledger,
        'CloseDeliveryReports',
        () => suite.dso.request(suite.market, { method: 'POST', url }),
        [
          'FAILED_PRECONDITION: the delivery reports of window w-1 are due until 2030-01-01T12:00:00.000Z',
          'CONFLICT: the delivery reports of window w-1 were closed at 2030-01-01T12:00:00.000Z',
          'FAILED_PRECONDITION: window w-1 is not cleared yet',
          'NOT_FOUND: window w-1 does not exist',
        ],
        'including',
      );
    });
  });

  describe('GET /v1/windows/:windowId/audit', () => {
    it("answers the chaincode's recomputation to auditors and members", async () => {
      const audit = {
        windowId: 'w-1',
        matches: true,
        sameResult: true,
        ordersVerified: 3,
        ordersMismatched: [],
        ordersPurged: 0,
        recomputed: WINDOW.clearing,
        published: WINDOW.clearing,
      };
      const regulator = await TestGateway.create('RegulatorMSP', ['auditor', 'admin'], { pki: suite.pki });
      regulator.ledger.on('AuditClearing', audit);
      const response = await regulator.request(suite.auditor, {
        method: 'GET',
        url: '/v1/windows/w-1/audit',
      });
      expect(response.statusCode).to.equal(200);
      expect(response.json()).to.deep.equal(audit);
      expect(regulator.ledger.callsOf('AuditClearing')[0]).to.deep.include({
        ...calledAs('auditor', 'auction', 'evaluate'),
      });
      regulator.ledger.on('AuditClearing', { ...audit, matches: false });
      const mismatch = await regulator.request(suite.market, { method: 'GET', url: '/v1/windows/w-1/audit' });
      expect(mismatch.json()).to.include({ matches: false });
      await regulator.app.close();
    });
  });

  it('lists every auction route in the OpenAPI document with its schema', async () => {
    const response = await suite.gateway.request(undefined, { method: 'GET', url: '/docs/json' });
    const document = response.json<{
      paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>>;
    }>();
    const expected: [string, string][] = [
      ['/v1/windows', 'post'],
      ['/v1/windows', 'get'],
      ['/v1/windows/{windowId}', 'get'],
      ['/v1/windows/{windowId}/clearing', 'post'],
      ['/v1/windows/{windowId}/audit', 'get'],
      ['/v1/windows/{windowId}/orders', 'post'],
      ['/v1/windows/{windowId}/orders', 'delete'],
      ['/v1/windows/{windowId}/commitment', 'post'],
      ['/v1/windows/{windowId}/reveal', 'post'],
      ['/v1/windows/{windowId}/available-energy', 'post'],
      ['/v1/windows/{windowId}/meter-reports', 'post'],
      ['/v1/windows/{windowId}/settlement', 'post'],
      ['/v1/windows/{windowId}/escrow-release', 'post'],
      ['/v1/windows/{windowId}/report-closure', 'post'],
      ['/v1/windows/{windowId}/grid-share', 'post'],
      ['/v1/accounts', 'post'],
      ['/v1/accounts/me', 'get'],
      ['/v1/accounts/{accountId}', 'get'],
      ['/v1/accounts/{accountId}/history', 'get'],
      ['/v1/accounts/deposits', 'post'],
    ];
    for (const [path, method] of expected) {
      expect(document.paths[path]?.[method], `${method} ${path}`).to.be.an('object');
    }
    for (const [path, method] of [
      ['/v1/windows', 'post'],
      ['/v1/windows/{windowId}/orders', 'post'],
      ['/v1/windows/{windowId}/available-energy', 'post'],
      ['/v1/accounts/deposits', 'post'],
      ['/v1/accounts', 'post'],
      ['/v1/windows/{windowId}/escrow-release', 'post'],
    ] as const) {
      expect(document.paths[path]?.[method]?.requestBody, `${method} ${path} body`).to.be.an('object');
    }
  });
});

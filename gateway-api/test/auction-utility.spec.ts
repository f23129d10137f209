import type { LightMyRequestResponse } from 'fastify';
import type { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import {
  MAX_AVAILABILITY_BYTES,
  MAX_AVAILABILITY_ENTRIES,
  MAX_READINGS,
  MAX_READINGS_BYTES,
  MAX_RELEASE_ACCOUNTS,
  MAX_TRADES,
} from '@hems/protocol';
import { AVAILABILITY_BODY_LIMIT, READINGS_BODY_LIMIT } from '../src/resources/meter/schemas';
import { RELEASE_BODY_LIMIT } from '../src/resources/reveal/schemas';
import { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';
import {
  calledAs,
  expectError,
  expectNoneOf,
  expectRefusalsMapped,
  ledgerCall,
} from './support/expectations';

// Distinctive private values: home ids and readings must never show up in logs or answers.
const AVAILABILITY = [
  { homeId: 'home-secret-71', energyKwh: 4.321 },
  { homeId: 'home-secret-72', energyKwh: 0 },
];
const READINGS = [
  { tradeId: 't1', side: 'offer', energyKwh: 2.987 },
  { tradeId: 't1', side: 'bid', energyKwh: 3.019 },
];
const SECRETS = ['home-secret-71', 'home-secret-72', '4.321', '2.987', '3.019'];

/** The window and org of this utility's own answers, and the transaction the fake commits. */
const OWN_PART = { windowId: 'w-1', org: 'UtilityAMSP' };
const TX_ID = 'f'.repeat(64);

const expectNoSecret = (text: string): void => expectNoneOf(text, SECRETS);

/** ListOrderRefs' answer: the references and the commitment to them. */
const listed = (refs: readonly string[], digest = 'd'.repeat(64)): Record<string, unknown> => ({
  windowId: 'w-1',
  org: 'UtilityAMSP',
  refs,
  count: refs.length,
  digest,
});

describe('auction: a utility gateway (meter head-end, reveal, settlement)', () => {
  const suite = gatewaySuite(async (pki) => ({
    meter: await pki.role('UtilityAMSP', 'meter', 'meter-headend'),
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    relay: await pki.role('UtilityAMSP', 'relay'),
  }));

  const post: TestGateway['post'] = (...args) => suite.gateway.post(...args);
  /** POSTs `text` as the meter head-end's JSON body, formatted as the client chose. */
  const postText = (url: string, text: string): Promise<LightMyRequestResponse> =>
    suite.gateway.post(suite.meter, url, text, { 'content-type': 'application/json' });

  describe('POST /v1/windows/:windowId/available-energy', () => {
    const url = '/v1/windows/w-1/available-energy';

    it("posts the availability in transient data as the meter identity on the utility's own peer", async () => {
      suite.gateway.ledger.on('PostAvailableEnergy', { windowId: 'w-1', homes: 2 });
      const response = await post(suite.meter, url, { availability: AVAILABILITY });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ ...OWN_PART, homes: 2, txId: TX_ID });
      const [call] = suite.gateway.ledger.callsOf('PostAvailableEnergy');
      expect(call).to.deep.include({ identity: 'meter', contract: 'auction', kind: 'submit' });
      expect(call?.options.arguments).to.deep.equal(['w-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(
        JSON.parse(Buffer.from(call?.options.transientData?.availability ?? []).toString('utf8')),
      ).to.deep.equal(AVAILABILITY);
      expectNoSecret(response.body);
    });

    it('accepts the most homes the chaincode takes with the longest home ids, above the global body limit', async () => {
      suite.gateway.ledger.on('PostAvailableEnergy', {});
      const many = Array.from({ length: MAX_AVAILABILITY_ENTRIES }, (_, index) => ({
        homeId: `h${String(index).padStart(127, '0')}`,
        energyKwh: 999999.999,
      }));
      const body = JSON.stringify({ availability: many }, null, 4);
      expect(body.length).to.be.above(64 * 1024);
      const response = await postText(url, body);
      expect(response.statusCode, response.body.slice(0, 200)).to.equal(200);
      const sent =
        suite.gateway.ledger.callsOf('PostAvailableEnergy')[0]?.options.transientData?.availability;
      // What the chaincode reads stays within its own transient bound.
      expect(Buffer.from(sent ?? []).length).to.be.at.most(MAX_AVAILABILITY_BYTES);
      expect(body.length).to.be.below(AVAILABILITY_BODY_LIMIT);
    });

    it('sends -0 as 0 and accepts exactly 1000 entries', async () => {
      suite.gateway.ledger.on('PostAvailableEnergy', {});
      const many = Array.from({ length: 1000 }, (_, index) => ({
        homeId: `h-${index}`,
        energyKwh: index / 1000,
      }));
      expect((await post(suite.meter, url, { availability: many })).statusCode).to.equal(200);
      await postText(url, '{"availability":[{"homeId":"h-1","energyKwh":-0}]}');
      const sent =
        suite.gateway.ledger.callsOf('PostAvailableEnergy')[1]?.options.transientData?.availability;
      expect(Buffer.from(sent ?? []).toString('utf8')).to.equal('[{"homeId":"h-1","energyKwh":0}]');
    });

    it('refuses hostile numbers, oversized and malformed lists with 400, never naming a home or a value', async () => {
      const entry = (energyKwh: unknown, homeId = 'home-secret-71'): unknown => ({
        availability: [{ homeId, energyKwh }],
      });
      const cases: [unknown, RegExp][] = [
        [entry(4.3215), /availability\[0\]\.energyKwh must have at most 3 decimal places/],
        [entry(1e-7), /at most 3 decimal places/],
        [entry(-0.001), /must be >= 0/],
        [entry(1000000.001), /must be <= 1000000/],
        [entry('4.321'), /must be number/],
        [entry(null), /must be number/],
        [entry(true), /must be number/],
        [entry(1, 'home secret 71'), /homeId/],
        [entry(1, ''), /homeId/],
        [{ availability: [] }, /fewer than 1/],
        [
          {
            availability: Array.from({ length: 1001 }, (_, index) => ({
              homeId: `h-${index}`,
              energyKwh: 1,
            })),
          },
          /more than 1000/,
        ],
        [
          { availability: [...AVAILABILITY, AVAILABILITY[0]] },
          /availability\[2\] repeats the home of an earlier entry/,
        ],
        [{ availability: AVAILABILITY, extra: true }, /additional properties/],
        [{ availability: [{ homeId: 'home-secret-71' }] }, /energyKwh/],
      ];
      for (const [body, message] of cases) {
        const response = await post(suite.meter, url, body);
        expectError(response, 400, 'INVALID_REQUEST', message);
        expectNoSecret(response.body);
      }
      // JSON numbers too large for a double parse as Infinity; NaN is not JSON at all.
      for (const raw of [
        '{"availability":[{"homeId":"h-1","energyKwh":1e400}]}',
        '{"availability":[{"homeId":"h-1","energyKwh":NaN}]}',
      ]) {
        const response = await postText(url, raw);
        expect(response.statusCode).to.equal(400);
      }
      expect(suite.gateway.ledger.calls).to.have.length(0);
      expectNoSecret(suite.logs.join('\n'));
    });

    it("refuses other roles, another utility's meter, and a gateway without a meter identity", async () => {
      const callers: [X509Certificate, RegExp][] = [
        [suite.admin, /for meter identities/],
        [suite.relay, /for meter identities/],
        [await suite.pki.device('UtilityAMSP', 'home-a-001', 'bus-1'), /for meter identities/],
        // Another utility's meter, and a meter role forged by an org that has no meters.
        [await suite.pki.role('UtilityBMSP', 'meter'), /operators of UtilityAMSP/],
        [await suite.pki.role('DSOMSP', 'meter'), /not valid for a certificate of DSOMSP/],
      ];
      for (const [caller, message] of callers) {
        expectError(await post(caller, url, { availability: AVAILABILITY }), 403, 'FORBIDDEN', message);
      }
      const noMeter = await TestGateway.create('UtilityAMSP', ['relay', 'admin'], { pki: suite.pki });
      const refused = await noMeter.request(suite.meter, {
        method: 'POST',
        url,
        payload: { availability: AVAILABILITY },
      });
      expectError(refused, 403, 'FORBIDDEN', /different organization/);
      await noMeter.app.close();
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    it('maps a closed window to 409 and an unknown one to 404', async () => {
      suite.gateway.ledger.refuse('PostAvailableEnergy', 'FAILED_PRECONDITION', 'window w-1 is closed');
      expectError(
        await post(suite.meter, url, { availability: AVAILABILITY }),
        409,
        'FAILED_PRECONDITION',
        /closed/,
      );
      suite.gateway.ledger.refuse('PostAvailableEnergy', 'NOT_FOUND', 'window w-1 does not exist');
      expectError(await post(suite.meter, url, { availability: AVAILABILITY }), 404, 'NOT_FOUND');
      expectNoSecret(suite.logs.join('\n'));
    });
  });

  describe('POST /v1/windows/:windowId/meter-reports', () => {
    const url = '/v1/windows/w-1/meter-reports';
    const totals = {
      deliveredWh: 2987,
      receivedWh: 3000,
      sellerValue: '24642750000',
      buyerCharge: '24750000000',
    };

    it('reports the readings in transient data and answers only the public per-org totals', async () => {
      suite.gateway.ledger.on('ReportDelivery', { ...OWN_PART, totals, readings: READINGS });
      const response = await post(suite.meter, url, { readings: READINGS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ ...OWN_PART, readings: 2, txId: TX_ID, totals });
      const [call] = suite.gateway.ledger.callsOf('ReportDelivery');
      expect(call).to.deep.include({ identity: 'meter', contract: 'auction', kind: 'submit' });
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(
        JSON.parse(Buffer.from(call?.options.transientData?.readings ?? []).toString('utf8')),
      ).to.deep.equal(READINGS);
      expectNoSecret(response.body);
      // The totals may also be the org's window part or the whole answer.
      suite.gateway.ledger.on('ReportDelivery', {
        ...OWN_PART,
        delivery: { ...totals, reportedAt: '2030-01-01T10:31:00.000Z' },
      });
      expect((await post(suite.meter, url, { readings: READINGS })).json()).to.deep.include({ totals });
      suite.gateway.ledger.on('ReportDelivery', totals);
      expect((await post(suite.meter, url, { readings: READINGS })).json()).to.deep.include({ totals });
    });

    it('refuses repeated trade sides, bad sides, hostile numbers and oversized lists with 400', async () => {
      const cases: [unknown, RegExp][] = [
        [
          { readings: [...READINGS, READINGS[0]] },
          /readings\[2\] repeats the trade side of an earlier entry/,
        ],
        [{ readings: [{ ...READINGS[0], side: 'both' }] }, /allowed values/],
        [
          { readings: [{ ...READINGS[0], energyKwh: 2.9871 }] },
          /readings\[0\]\.energyKwh must have at most 3/,
        ],
        [{ readings: [{ ...READINGS[0], energyKwh: -1 }] }, />= 0/],
        [{ readings: [{ ...READINGS[0], tradeId: 'w 1' }] }, /tradeId/],
        [{ readings: [{ ...READINGS[0], tradeId: 'w-1:t-1' }] }, /tradeId/],
        [{ readings: [{ ...READINGS[0], tradeId: 't0' }] }, /tradeId/],
        [{ readings: [{ ...READINGS[0], tradeId: 't1000000' }] }, /tradeId/],
        [{}, /readings/],
      ];
      for (const [body, message] of cases) {
        const response = await post(suite.meter, url, body);
        expectError(response, 400, 'INVALID_REQUEST', message);
        expectNoSecret(response.body);
      }
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    /** Every side of `trades` trades (t1 offer, t1 bid, t2 offer, ...) with the longest energies. */
    const readingsOf = (sides: number): { tradeId: string; side: string; energyKwh: number }[] =>
      Array.from({ length: sides }, (_, index) => ({
        tradeId: `t${Math.floor(index / 2) + 1}`,
        side: index % 2 === 0 ? 'offer' : 'bid',
        energyKwh: 999999.999,
      }));

    it('fits both sides of every trade of one clearing in one report', () => {
      expect(MAX_READINGS).to.equal(2 * MAX_TRADES);
      // A reading's longest compact form fits the chaincode's per-reading transient budget.
      const longest = JSON.stringify({ tradeId: `t${MAX_TRADES}`, side: 'offer', energyKwh: 999999.999 });
      expect((longest.length + 1) * MAX_READINGS).to.be.at.most(MAX_READINGS_BYTES);
    });

    it('accepts one report with a reading for both sides of the most trades a clearing makes', async function () {
      this.timeout(60_000);
      suite.gateway.ledger.on('ReportDelivery', { windowId: 'w-1', org: 'UtilityAMSP', totals });
      const body = JSON.stringify({ readings: readingsOf(MAX_READINGS) }, null, 4);
      expect(body.length).to.be.below(READINGS_BODY_LIMIT);
      const response = await postText(url, body);
      expect(response.statusCode, response.body.slice(0, 200)).to.equal(200);
      expect(response.json()).to.include({ readings: MAX_READINGS });
      const sent = suite.gateway.ledger.callsOf('ReportDelivery')[0]?.options.transientData?.readings;
      expect(Buffer.from(sent ?? []).length).to.be.at.most(MAX_READINGS_BYTES);
    });

    it('refuses one reading more than that with 400, and a body above the route limit with 413', async function () {
      this.timeout(60_000);
      const tooMany = await post(suite.meter, url, {
        readings: [...readingsOf(MAX_READINGS), { tradeId: 't1', side: 'offer', energyKwh: 1 }],
      });
      expectError(tooMany, 400, 'INVALID_REQUEST', new RegExp(`more than ${MAX_READINGS} items`));
      const padded = await postText(
        url,
        `{"readings":[{"tradeId":"t1","side":"offer","energyKwh":1}]${' '.repeat(READINGS_BODY_LIMIT)}}`,
      );
      expectError(padded, 413, 'PAYLOAD_TOO_LARGE');
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    it('maps a report before deliveryEnd to 409, missing trades to 422 and a second report to 409', async () => {
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'ReportDelivery',
        () => post(suite.meter, url, { readings: READINGS }),
        [
          'FAILED_PRECONDITION: window w-1 is not delivered yet',
          'INVALID_ARGUMENT: readings must cover every trade side of UtilityAMSP: 1 missing',
          'CONFLICT: UtilityAMSP has reported window w-1 already',
        ],
      );
      expectNoSecret(suite.logs.join('\n'));
    });
  });

  describe('POST /v1/windows/:windowId/reveal', () => {
    const url = '/v1/windows/w-1/reveal';

    it('lists the order references on its own peer, then reveals them in transient data', async () => {
      suite.gateway.ledger.on('ListOrderRefs', listed(['r1', 'r2', 'r3']));
      suite.gateway.ledger.on('RevealOrders', { windowId: 'w-1', org: 'UtilityAMSP', count: 3 });
      for (const caller of [suite.admin, suite.relay]) {
        const response = await post(caller, url);
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal({ ...OWN_PART, orders: 3, txId: TX_ID });
      }
      const [list, reveal] = suite.gateway.ledger.calls;
      expect(list).to.deep.include(ledgerCall('relay', 'auction', 'evaluate', 'ListOrderRefs'));
      expect(list?.options.arguments).to.deep.equal(['w-1']);
      // A private range query: evaluated on the utility's own peer only.
      expect(list?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(reveal).to.deep.include(ledgerCall('relay', 'auction', 'submit', 'RevealOrders'));
      expect(reveal?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(
        JSON.parse(Buffer.from(reveal?.options.transientData?.refs ?? []).toString('utf8')),
      ).to.deep.equal(['r1', 'r2', 'r3']);
    });

    it('reveals an empty list for an org without orders', async () => {
      suite.gateway.ledger.on('ListOrderRefs', listed([]));
      suite.gateway.ledger.on('RevealOrders', {});
      expect((await post(suite.admin, url)).json()).to.include({ orders: 0 });
      expect(
        Buffer.from(
          suite.gateway.ledger.callsOf('RevealOrders')[0]?.options.transientData?.refs ?? [],
        ).toString(),
      ).to.equal('[]');
    });

    it("refuses other orgs' admins, meters and devices; maps early and repeated reveals to 409", async () => {
      const adminB = await suite.pki.role('UtilityBMSP', 'admin');
      expectError(await post(adminB, url), 403, 'FORBIDDEN', /only UtilityAMSP itself/);
      expectError(await post(suite.meter, url), 403, 'FORBIDDEN');
      expectError(await post(await suite.pki.role('DSOMSP', 'market'), url), 403, 'FORBIDDEN');
      expect(suite.gateway.ledger.calls).to.have.length(0);
      suite.gateway.ledger.on('ListOrderRefs', listed(['r1']));
      suite.gateway.ledger.refuse('RevealOrders', 'FAILED_PRECONDITION', 'window w-1 is still open');
      expectError(await post(suite.admin, url), 409, 'FAILED_PRECONDITION', /still open/);
      suite.gateway.ledger.refuse(
        'RevealOrders',
        'CONFLICT',
        'UtilityAMSP has revealed its orders of window w-1 already',
      );
      expectError(await post(suite.admin, url), 409, 'CONFLICT', /already/);
      suite.gateway.ledger.on('ListOrderRefs', { refs: 'r1' });
      expectError(await post(suite.admin, url), 502, 'BAD_LEDGER_RESPONSE');
    });
  });

  describe('POST /v1/windows/:windowId/commitment', () => {
    const url = '/v1/windows/w-1/commitment';

    it('lists its orders on its own peer, then commits to them under the majority policy', async () => {
      suite.gateway.ledger.on('ListOrderRefs', listed(['r1', 'r2']));
      suite.gateway.ledger.on('CommitOrders', { windowId: 'w-1', org: 'UtilityAMSP', count: 2 });
      const response = await post(suite.relay, url);
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ ...OWN_PART, orders: 2, digest: 'd'.repeat(64), txId: TX_ID });
      const [list, commit, check] = suite.gateway.ledger.calls;
      expect(list).to.deep.include(ledgerCall('relay', 'auction', 'evaluate', 'ListOrderRefs'));
      expect(list?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(commit).to.deep.include(ledgerCall('relay', 'auction', 'submit', 'CommitOrders'));
      // Public arguments: a count and a digest, nothing about an order; no endorsing orgs (majority).
      expect(commit?.options).to.deep.equal({ arguments: ['w-1', '2', 'd'.repeat(64)] });
      expect(check).to.deep.include(ledgerCall('relay', 'auction', 'evaluate', 'ListOrderRefs'));
    });

    it('commits once more when an order committed while the commitment was on its way', async () => {
      let listings = 0;
      suite.gateway.ledger.on('ListOrderRefs', () => {
        listings += 1;
        return listings === 1 ? listed(['r1']) : listed(['r1', 'r2'], 'e'.repeat(64));
      });
      suite.gateway.ledger.on('CommitOrders', {});
      expect((await post(suite.admin, url)).json()).to.include({ orders: 2, digest: 'e'.repeat(64) });
      expect(
        suite.gateway.ledger.callsOf('CommitOrders').map((call) => call.options.arguments),
      ).to.deep.equal([
        ['w-1', '1', 'd'.repeat(64)],
        ['w-1', '2', 'e'.repeat(64)],
      ]);
    });

    it("refuses other orgs' admins, meters and devices; maps a commitment after the close to 409", async () => {
      expectError(await post(await suite.pki.role('UtilityBMSP', 'admin'), url), 403, 'FORBIDDEN');
      expectError(await post(suite.meter, url), 403, 'FORBIDDEN');
      expect(suite.gateway.ledger.calls).to.have.length(0);
      suite.gateway.ledger.on('ListOrderRefs', listed(['r1']));
      suite.gateway.ledger.refuse('CommitOrders', 'FAILED_PRECONDITION', 'window w-1 closed at …');
      expectError(await post(suite.admin, url), 409, 'FAILED_PRECONDITION', /closed/);
      suite.gateway.ledger.on('ListOrderRefs', { refs: ['r1'] });
      expectError(await post(suite.admin, url), 502, 'BAD_LEDGER_RESPONSE', /with their commitment/);
    });
  });

  describe('POST /v1/windows/:windowId/escrow-release', () => {
    const url = '/v1/windows/w-1/escrow-release';
    const UNREVEALED = [`acct-${'a'.repeat(32)}`, `acct-${'b'.repeat(32)}`];
    const answer = (refunded: string, unrevealedAccounts: number): Record<string, unknown> => ({
      ...OWN_PART,
      refunded,
      unrevealedAccounts,
      txId: 'c'.repeat(64),
    });

    it("releases the org's escrows as the relay on its own peer, without transient data", async () => {
      suite.gateway.ledger.on('ReleaseEscrow', answer('4200000000', 0));
      for (const payload of [undefined, {}]) {
        const response = await post(suite.admin, url, payload);
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal({ ...answer('4200000000', 0), txId: 'f'.repeat(64) });
        expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      }
      const [call] = suite.gateway.ledger.callsOf('ReleaseEscrow');
      expect(call).to.deep.include({ identity: 'relay', contract: 'auction', kind: 'submit' });
      expect(call?.options.arguments).to.deep.equal(['w-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(call?.options.transientData).to.equal(undefined);
    });

    it('sends the accounts of unrevealed orders in transient data only', async () => {
      suite.gateway.ledger.on('ReleaseEscrow', answer('900', 2));
      const response = await post(suite.admin, url, { accounts: UNREVEALED });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.include({ refunded: '900', unrevealedAccounts: 2 });
      const [call] = suite.gateway.ledger.callsOf('ReleaseEscrow');
      expect(call?.options.arguments).to.deep.equal(['w-1']);
      expect(
        JSON.parse(Buffer.from(call?.options.transientData?.accounts ?? []).toString('utf8')),
      ).to.deep.equal(UNREVEALED);
    });

    it('accepts the most accounts the chaincode refunds in one call, however the list is formatted', async () => {
      suite.gateway.ledger.on('ReleaseEscrow', answer('0', MAX_RELEASE_ACCOUNTS));
      const accounts = Array.from(
        { length: MAX_RELEASE_ACCOUNTS },
        (_, index) => `acct-${index.toString(16).padStart(32, '0')}`,
      );
      const body = JSON.stringify({ accounts }, null, 4);
      expect(body.length).to.be.below(RELEASE_BODY_LIMIT);
      const response = await suite.gateway.request(suite.admin, {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: body,
      });
      expect(response.statusCode, response.body).to.equal(200);
      expect(
        JSON.parse(
          Buffer.from(
            suite.gateway.ledger.callsOf('ReleaseEscrow')[0]?.options.transientData?.accounts ?? [],
          ).toString(),
        ),
      ).to.have.length(MAX_RELEASE_ACCOUNTS);
    });

    it('refuses malformed, repeated and oversized account lists with 400', async () => {
      const bodies: unknown[] = [
        { accounts: ['acct-XYZ'] },
        { accounts: ['grid:DSOMSP'] },
        { accounts: [UNREVEALED[0], UNREVEALED[0]] },
        {
          accounts: Array.from(
            { length: 1001 },
            (_, index) => `acct-${index.toString(16).padStart(32, '0')}`,
          ),
        },
        { accounts: 'acct' },
        { accounts: [42] },
        { other: true },
      ];
      for (const body of bodies) {
        expectError(await post(suite.admin, url, body), 400, 'INVALID_REQUEST');
      }
      expectError(await post(suite.admin, '/v1/windows/bad id/escrow-release'), 400, 'INVALID_REQUEST');
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });

    it("refuses relays, meters, devices, other orgs' admins and gateways without a relay identity", async () => {
      for (const caller of [suite.relay, suite.meter, await suite.pki.role('DSOMSP', 'market')]) {
        expectError(await post(caller, url), 403, 'FORBIDDEN');
      }
      expectError(
        await post(await suite.pki.role('UtilityBMSP', 'admin'), url),
        403,
        'FORBIDDEN',
        /only UtilityAMSP itself/,
      );
      expect(suite.gateway.ledger.calls).to.have.length(0);
      const meterOnly = await TestGateway.create('UtilityAMSP', ['meter', 'admin'], { pki: suite.pki });
      const refused = await meterOnly.request(suite.admin, { method: 'POST', url });
      expectError(refused, 403, 'FORBIDDEN', /different organization/);
      await meterOnly.app.close();
    });

    it('maps a release before the clearing to 409, a repeated one to 409, unknown accounts to 404', async () => {
      const cases: [string, string, number, string][] = [
        ['FAILED_PRECONDITION', 'window w-1 is not cleared yet', 409, 'FAILED_PRECONDITION'],
        [
          'CONFLICT',
          'UtilityAMSP has already released the escrows of its revealed bids in window w-1',
          409,
          'CONFLICT',
        ],
        ['NOT_FOUND', 'accounts[0] does not exist', 404, 'NOT_FOUND'],
        ['FORBIDDEN', 'accounts[1] belongs to another organization', 403, 'FORBIDDEN'],
        ['INVALID_ARGUMENT', 'accounts[0] has a revealed order in window w-1', 422, 'INVALID_ARGUMENT'],
      ];
      for (const [code, message, status, answered] of cases) {
        suite.gateway.ledger.refuse('ReleaseEscrow', code, message);
        const response = await post(suite.admin, url, { accounts: UNREVEALED });
        expect(response.statusCode, `${code}: ${response.body}`).to.equal(status);
        expect(response.json()).to.include({ code: answered });
      }
      suite.gateway.ledger.on('ReleaseEscrow', { windowId: 'w-1' });
      expectError(await post(suite.admin, url), 502, 'BAD_LEDGER_RESPONSE');
    });
  });

  describe('POST /v1/windows/:windowId/settlement', () => {
    const url = '/v1/windows/w-1/settlement';

    it("settles the org's accounts on its own peer and answers the public result", async () => {
      const settled = { windowId: 'w-1', org: 'UtilityAMSP', final: false, factor: '0.95' };
      suite.gateway.ledger.on('SettleWindow', settled);
      const response = await post(suite.admin, url);
      expect(response.statusCode).to.equal(200);
      expect(response.json()).to.deep.equal(settled);
      expect(suite.gateway.ledger.callsOf('SettleWindow')[0]).to.deep.include({
        ...calledAs('relay', 'auction', 'submit'),
        options: { arguments: ['w-1'], endorsingOrganizations: ['UtilityAMSP'] },
      });
    });

    it('refuses a second settlement (409), early settlement (409), other roles and orgs (403)', async () => {
      suite.gateway.ledger.refuse('SettleWindow', 'CONFLICT', 'UtilityAMSP has settled window w-1 already');
      expectError(await post(suite.admin, url), 409, 'CONFLICT', /settled window w-1 already/);
      suite.gateway.ledger.refuse(
        'SettleWindow',
        'FAILED_PRECONDITION',
        'UtilityBMSP has not reported its deliveries',
      );
      expectError(await post(suite.admin, url), 409, 'FAILED_PRECONDITION', /not reported/);
      const before = suite.gateway.ledger.calls.length;
      expectError(await post(suite.relay, url), 403, 'FORBIDDEN', /for admin identities/);
      expectError(await post(suite.meter, url), 403, 'FORBIDDEN');
      expectError(
        await post(await suite.pki.role('UtilityBMSP', 'admin'), url),
        403,
        'FORBIDDEN',
        /own admins only/,
      );
      const dso = await TestGateway.create('DSOMSP', ['dso', 'market', 'admin'], { pki: suite.pki });
      const atDso = await dso.request(await suite.pki.role('DSOMSP', 'admin'), { method: 'POST', url });
      expectError(atDso, 403, 'FORBIDDEN', /different organization/);
      await dso.app.close();
      expect(suite.gateway.ledger.calls.length).to.equal(before);
    });

    it('replays an idempotent retry without settling twice', async () => {
      suite.gateway.ledger.on('SettleWindow', { windowId: 'w-1', org: 'UtilityAMSP', final: true });
      const first = await post(suite.admin, url, undefined, { 'idempotency-key': 'settle-w-1' });
      const second = await post(suite.admin, url, undefined, { 'idempotency-key': 'settle-w-1' });
      expect(second.headers['idempotent-replay']).to.equal('true');
      expect(second.body).to.equal(first.body);
      expect(suite.gateway.ledger.callsOf('SettleWindow')).to.have.length(1);
    });
  });
});

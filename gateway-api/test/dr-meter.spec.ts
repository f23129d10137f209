import { expect } from 'chai';
import {
  MAX_METER_DAYS,
  MAX_PRODUCTION_EXPORTS,
  METER_DAYS_BODY_LIMIT,
  PRODUCTION_BODY_LIMIT,
} from '../src/resources/meter/schemas';
import {
  calledAs,
  expectBadBodies,
  expectError,
  expectNoneOf,
  expectRefusalsMapped,
  expectTransientOnly,
  transientJson,
  type BadBody,
} from './support/expectations';
import type { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';

const TX_ID = 'f'.repeat(64);

/** 96 readings, each distinctive (8700 + i): none may show up in logs or answers. */
const intervals = (base: number): number[] => Array.from({ length: 96 }, (_, index) => base + index);
const DAYS = [
  { homeId: 'home-secret-81', bus: 'bus-1', date: '2030-01-06', intervalsWh: intervals(8700) },
  { homeId: 'home-secret-82', bus: 'bus-2', date: '2030-01-06', intervalsWh: intervals(6300), holiday: true },
];
const SECRETS = ['home-secret-81', 'home-secret-82', '8731', '6347'];

const EXPORTS = [
  { homeId: 'home-secret-81', exportWh: 7919 },
  { homeId: 'home-secret-82', exportWh: 1234 },
];
const EXPORT_SECRETS = ['home-secret-81', 'home-secret-82', '7919'];

describe("Demand response: the meter head-end's days and a slot's production", () => {
  const suite = gatewaySuite(async (pki) => ({
    meter: await pki.role('UtilityAMSP', 'meter', 'meter-headend'),
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    relay: await pki.role('UtilityAMSP', 'relay'),
    operator: await pki.role('DSOMSP', 'dso', 'operator1'),
    otherMeter: await pki.role('UtilityBMSP', 'meter', 'meter-headend'),
    device: await pki.device('UtilityAMSP', 'home-a-1', 'bus-1'),
  }));
  const post: TestGateway['post'] = (...args) => suite.gateway.post(...args);

  describe('POST /v1/meter/days', () => {
    const url = '/v1/meter/days';

    it("records the days in transient data as the meter identity on the utility's own peer", async () => {
      const receipt = { txId: TX_ID, recordedAt: '2030-01-07T01:00:00.000Z', accepted: 2, refused: [] };
      suite.gateway.ledger.on('RecordMeterDays', receipt);
      const response = await post(suite.meter, url, { days: DAYS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(receipt);
      const [call] = suite.gateway.ledger.callsOf('RecordMeterDays');
      expect(call).to.deep.include(calledAs('meter', 'dr', 'submit'));
      expect(call?.options.arguments).to.equal(undefined);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(transientJson(call, 'days')).to.deep.equal(DAYS);
      expectTransientOnly(call, SECRETS);
      expectNoneOf(response.body, SECRETS);
      expect(suite.logs, 'the request was logged').to.not.be.empty;
      expectNoneOf(suite.logs.join('\n'), SECRETS);
    });

    it('answers only counts and refusals by position, and does not order a post whose every day was refused', async () => {
      const refused = [
        { index: 0, code: 'CONFLICT', message: 'days[0] repeats a recorded day' },
        { index: 1, code: 'INVALID_ARGUMENT', message: 'days[1].date is not a calendar date' },
      ];
      suite.gateway.ledger.on('RecordMeterDays', {
        txId: TX_ID,
        recordedAt: 'now',
        accepted: 0,
        refused,
        homes: ['home-secret-81'],
      });
      const response = await post(suite.meter, url, { days: DAYS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ recordedAt: 'now', accepted: 0, refused });
      expect(response.headers['x-transaction-id']).to.equal(undefined);
      expect(suite.gateway.ledger.skipped).to.deep.equal(['RecordMeterDays']);
    });

    it('refuses malformed days with 400 before the ledger, never quoting a reading or home', async () => {
      const [day] = DAYS;
      const bad: BadBody[] = [
        [{}, /must have required property 'days'/],
        [{ days: [] }, /must NOT have fewer than 1 items/],
        [{ days: [{ ...day, intervalsWh: intervals(8700).slice(1) }] }, /must NOT have fewer than 96 items/],
        [{ days: [{ ...day, intervalsWh: [...intervals(8700), 1] }] }, /must NOT have more than 96 items/],
        [{ days: [{ ...day, intervalsWh: [8731.5, ...intervals(8700).slice(1)] }] }, /must be integer/],
        [{ days: [{ ...day, intervalsWh: [-8731, ...intervals(8700).slice(1)] }] }, /must be >= 0/],
        [{ days: [{ ...day, intervalsWh: [2_500_001, ...intervals(8700).slice(1)] }] }, /must be <= 2500000/],
        [{ days: [{ ...day, date: '2030-1-6' }] }, /must match pattern/],
        [{ days: [{ ...day, date: '2030-13-06' }] }, /must match pattern/],
        [{ days: [{ ...day, bus: 'bus 1' }] }, /must match pattern/],
        [{ days: [{ ...day, homeId: 'home secret 81' }] }, /must match pattern/],
        [{ days: [{ ...day, holiday: 'yes' }] }, /must be boolean/],
        [{ days: [{ ...day, eventDay: true }] }, /must NOT have additional properties/],
        [
          { days: [{ homeId: 'h', date: '2030-01-06', intervalsWh: intervals(1) }] },
          /required property 'bus'/,
        ],
        [
          { days: Array.from({ length: MAX_METER_DAYS + 1 }, () => day) },
          /must NOT have more than 200 items/,
        ],
      ];
      await expectBadBodies(
        bad,
        (body) => post(suite.meter, url, body),
        (response) => expectNoneOf(response.body, [...SECRETS, '8731.5', '2500001', 'home secret 81']),
      );
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
      expectNoneOf(suite.logs.join('\n'), [...SECRETS, '8731.5', 'home secret 81']);
    });

    it('takes the most days the chaincode does, each at its largest', async () => {
      const longest = Array.from({ length: MAX_METER_DAYS }, (_, index) => ({
        homeId: `${'h'.repeat(124)}${String(index).padStart(4, '0')}`,
        bus: 'b'.repeat(32),
        date: '2030-01-06',
        intervalsWh: Array.from({ length: 96 }, () => 2_500_000),
        holiday: false,
      }));
      expect(JSON.stringify({ days: longest }, null, 4).length).to.be.below(METER_DAYS_BODY_LIMIT);
      suite.gateway.ledger.on('RecordMeterDays', { txId: TX_ID, accepted: MAX_METER_DAYS, refused: [] });
      const response = await post(suite.meter, url, { days: longest });
      expect(response.statusCode, response.body).to.equal(200);
    });

    it("refuses every caller but its own utility's meter head-end", async () => {
      for (const caller of [suite.admin, suite.relay, suite.operator, suite.device]) {
        expectError(await post(caller, url, { days: DAYS }), 403, 'FORBIDDEN', /for meter identities/);
      }
      expectError(
        await post(suite.otherMeter, url, { days: DAYS }),
        403,
        'FORBIDDEN',
        /operators of UtilityAMSP/,
      );
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals to their statuses", async () => {
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'RecordMeterDays',
        () => post(suite.meter, url, { days: DAYS }),
        [
          'FORBIDDEN: RecordMeterDays is for the meter head-end of a utility',
          'INVALID_ARGUMENT: days must hold at most 200 days',
          'FAILED_PRECONDITION: the utility has no meter history collection',
        ],
      );
      expectNoneOf(suite.logs.join('\n'), SECRETS);
    });
  });

  describe('POST /v1/slots/{slotId}/production', () => {
    const url = '/v1/slots/slot-1/production';

    it("mints the exports as the meter identity on the utility's own peer, the homes in transient data only", async () => {
      const answer = { slotId: 'slot-1', txId: TX_ID, accepted: 2, minted: '9153000000', refused: [] };
      suite.gateway.ledger.on('MintForProduction', answer);
      const response = await post(suite.meter, url, { exports: EXPORTS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(answer);
      const [call] = suite.gateway.ledger.callsOf('MintForProduction');
      expect(call).to.deep.include(calledAs('meter', 'token', 'submit'));
      expect(call?.options.arguments).to.deep.equal(['slot-1']);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(transientJson(call, 'exports')).to.deep.equal(EXPORTS);
      expectTransientOnly(call, EXPORT_SECRETS);
      expectNoneOf(suite.logs.join('\n'), EXPORT_SECRETS);
    });

    it('refuses malformed exports with 400 before the ledger', async () => {
      const bad: BadBody[] = [
        [{}, /must have required property 'exports'/],
        [{ exports: [] }, /must NOT have fewer than 1 items/],
        [{ exports: [{ homeId: 'home-secret-81', exportWh: 1.5 }] }, /must be integer/],
        [{ exports: [{ homeId: 'home-secret-81', exportWh: -7919 }] }, /must be >= 1/],
        [{ exports: [{ homeId: 'home-secret-81', exportWh: 2_500_001 }] }, /must be <= 2500000/],
        [{ exports: [{ homeId: 'home secret', exportWh: 1 }] }, /must match pattern/],
        [
          { exports: [{ homeId: 'home-secret-81', exportWh: 1, kwh: 1 }] },
          /must NOT have additional properties/,
        ],
        [{ exports: [{ homeId: 'home-secret-81', exportWh: 0 }] }, /must be >= 1/],
        [
          { exports: Array.from({ length: MAX_PRODUCTION_EXPORTS + 1 }, () => EXPORTS[0]) },
          /must NOT have more than 1000 items/,
        ],
      ];
      await expectBadBodies(
        bad,
        (body) => post(suite.meter, url, body),
        (response) => expectNoneOf(response.body, EXPORT_SECRETS),
      );
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
      const longest = Array.from({ length: MAX_PRODUCTION_EXPORTS }, (_, index) => ({
        homeId: `${'h'.repeat(124)}${String(index).padStart(4, '0')}`,
        exportWh: 2_500_000,
      }));
      expect(JSON.stringify({ exports: longest }, null, 4).length).to.be.below(PRODUCTION_BODY_LIMIT);
      suite.gateway.ledger.on('MintForProduction', {
        slotId: 'slot-1',
        txId: TX_ID,
        accepted: MAX_PRODUCTION_EXPORTS,
        minted: '1',
        refused: [],
      });
      expect((await post(suite.meter, url, { exports: longest })).statusCode).to.equal(200);
    });

    it('answers only counts and refusals by position, and does not order a post whose every export was refused', async () => {
      const twice = [...EXPORTS, EXPORTS[0]];
      const refused = [
        { index: 0, code: 'CONFLICT', message: "this home's production in slot slot-1 was already minted" },
        { index: 1, code: 'NOT_FOUND', message: 'this home has no token account' },
        { index: 2, code: 'CONFLICT', message: 'the batch holds an earlier export of the same home' },
      ];
      suite.gateway.ledger.on('MintForProduction', {
        slotId: 'slot-1',
        txId: TX_ID,
        accepted: 0,
        minted: '0',
        refused,
        homes: ['home-secret-81'],
      });
      const response = await post(suite.meter, url, { exports: twice });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ slotId: 'slot-1', accepted: 0, minted: '0', refused });
      expect(response.headers['x-transaction-id']).to.equal(undefined);
      expect(suite.gateway.ledger.skipped).to.deep.equal(['MintForProduction']);
      // A home named twice is the chaincode's to refuse, by position.
      expect(transientJson(suite.gateway.ledger.callsOf('MintForProduction')[0], 'exports')).to.deep.equal(
        twice,
      );
    });

    it("refuses every caller but its own utility's meter head-end", async () => {
      for (const caller of [suite.admin, suite.relay, suite.operator, suite.device, suite.otherMeter]) {
        expectError(await post(caller, url, { exports: EXPORTS }), 403, 'FORBIDDEN');
      }
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals: unknown slot 404, undelivered or minted slot 409", async () => {
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'MintForProduction',
        () => post(suite.meter, url, { exports: EXPORTS }),
        [
          'NOT_FOUND: slot slot-1 does not exist',
          'FAILED_PRECONDITION: the delivery of slot slot-1 has not ended',
          'CONFLICT: production of slot slot-1 is already minted for UtilityAMSP',
          'INVALID_ARGUMENT: exports must hold at most 1000 entries',
        ],
      );
      expectNoneOf(suite.logs.join('\n'), EXPORT_SECRETS);
    });
  });
});

import { expect } from 'chai';
import { MAX_REWARD_HOMES, PAY_REWARDS_BODY_LIMIT } from '../src/resources/dr/schemas';
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
const EVENT_ID = 'dr-2030-01-07';

// Distinctive private values: home ids, baselines and readings never show in logs or refusals.
const HOME_IDS = ['home-secret-71', 'home-secret-72', 'home-secret-73'];
const RECEIPT = {
  eventId: EVENT_ID,
  txId: TX_ID,
  accepted: 2,
  paid: '37500000000',
  refused: [{ index: 2, code: 'FAILED_PRECONDITION', message: 'homeIds[2] has fewer than 10 baseline days' }],
};

/** A device's own result as GetMyReward answers it. */
const MY_REWARD = {
  eventId: EVENT_ID,
  method: 'residential-5-in-10',
  rate: 0.5,
  baselineWh: [9137, 9241, 9353, 9467],
  meteredWh: [4711, 4723, 4733, 4747],
  baselineTotalWh: 37198,
  meteredTotalWh: 18914,
  reductionWh: 18284,
  reward: '91420000000',
  paid: true,
};
const MY_SECRETS = ['9137', '9241', '4711', '4723', '37198', '18914', '18284'];

describe('Demand response on a utility gateway: rewards, totals and a device’s own result', () => {
  const suite = gatewaySuite(async (pki) => ({
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    meter: await pki.role('UtilityAMSP', 'meter', 'meter-headend'),
    relay: await pki.role('UtilityAMSP', 'relay'),
    auditor: await pki.role('RegulatorMSP', 'auditor'),
    operator: await pki.role('DSOMSP', 'dso', 'operator1'),
    otherAdmin: await pki.role('UtilityBMSP', 'admin', 'orgadmin'),
    device: await pki.device('UtilityAMSP', 'home-secret-71', 'bus-1'),
    otherDevice: await pki.device('UtilityBMSP', 'home-b-1', 'bus-3'),
  }));
  const post: TestGateway['post'] = (...args) => suite.gateway.post(...args);
  const get: TestGateway['get'] = (...args) => suite.gateway.get(...args);
  const rewardsUrl = `/v1/dr/events/${EVENT_ID}/rewards`;

  describe('POST /v1/dr/events/{eventId}/rewards', () => {
    it("pays on the utility's own peer as its admin, the homes in transient data only, answering the receipt", async () => {
      suite.gateway.ledger.on('PayRewards', RECEIPT);
      const response = await post(suite.admin, rewardsUrl, { homeIds: HOME_IDS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(RECEIPT);
      const [call] = suite.gateway.ledger.callsOf('PayRewards');
      expect(call).to.deep.include(calledAs('admin', 'dr', 'submit'));
      expect(call?.options.arguments).to.deep.equal([EVENT_ID]);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(transientJson(call, 'homeIds')).to.deep.equal(HOME_IDS);
      expectTransientOnly(call, HOME_IDS);
      expectNoneOf(response.body, HOME_IDS);
      expect(suite.logs, 'the request was logged').to.not.be.empty;
      expectNoneOf(suite.logs.join('\n'), HOME_IDS);
    });

    it("answers only the receipt's members, whatever else the chaincode's answer holds", async () => {
      suite.gateway.ledger.on('PayRewards', { ...RECEIPT, homes: HOME_IDS, baselines: [9137] });
      const response = await post(suite.admin, rewardsUrl, { homeIds: HOME_IDS });
      expect(response.json()).to.deep.equal(RECEIPT);
      expectNoneOf(response.body, [...HOME_IDS, '9137']);
    });

    it('does not order a call whose every home was refused, and answers without a transaction', async () => {
      const refused = HOME_IDS.map((_, index) => ({
        index,
        code: 'CONFLICT',
        message: `homeIds[${index}] was already paid for this event`,
      }));
      suite.gateway.ledger.on('PayRewards', {
        eventId: EVENT_ID,
        txId: TX_ID,
        accepted: 0,
        paid: '0',
        refused,
      });
      const response = await post(suite.admin, rewardsUrl, { homeIds: HOME_IDS });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal({ eventId: EVENT_ID, accepted: 0, paid: '0', refused });
      expect(response.headers['x-transaction-id']).to.equal(undefined);
      expect(suite.gateway.ledger.skipped).to.deep.equal(['PayRewards']);
    });

    it('refuses malformed home lists with 400 before the ledger, never quoting a home', async () => {
      const bad: BadBody[] = [
        [{}, /must have required property 'homeIds'/],
        [{ homeIds: [] }, /must NOT have fewer than 1 items/],
        [{ homeIds: ['home-secret-71', 'home-secret-71'] }, /must NOT have duplicate items/],
        [{ homeIds: ['home secret 71'] }, /must match pattern/],
        [{ homeIds: [71] }, /must be string/],
        [{ homeIds: HOME_IDS, all: true }, /must NOT have additional properties/],
        [
          { homeIds: Array.from({ length: MAX_REWARD_HOMES + 1 }, (_, index) => `home-${index}`) },
          /must NOT have more than 500 items/,
        ],
      ];
      await expectBadBodies(
        bad,
        (body) => post(suite.admin, rewardsUrl, body),
        (response) => expectNoneOf(response.body, ['home-secret-71', 'home secret 71']),
      );
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
      const longest = Array.from(
        { length: MAX_REWARD_HOMES },
        (_, index) => `${'h'.repeat(124)}${String(index).padStart(4, '0')}`,
      );
      expect(JSON.stringify({ homeIds: longest }, null, 4).length).to.be.below(PAY_REWARDS_BODY_LIMIT);
      suite.gateway.ledger.on('PayRewards', { ...RECEIPT, accepted: MAX_REWARD_HOMES, refused: [] });
      expect((await post(suite.admin, rewardsUrl, { homeIds: longest })).statusCode).to.equal(200);
    });

    it("refuses every caller but the utility's own admins", async () => {
      for (const caller of [suite.meter, suite.relay, suite.auditor, suite.operator, suite.device]) {
        expectError(
          await post(caller, rewardsUrl, { homeIds: HOME_IDS }),
          403,
          'FORBIDDEN',
          /for admin identities/,
        );
      }
      expectError(
        await post(suite.otherAdmin, rewardsUrl, { homeIds: HOME_IDS }),
        403,
        'FORBIDDEN',
        /operators of UtilityAMSP/,
      );
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals: unknown event 404, too early 409, never naming a home", async () => {
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'PayRewards',
        () => post(suite.admin, rewardsUrl, { homeIds: HOME_IDS }),
        [
          `NOT_FOUND: event ${EVENT_ID} does not exist`,
          `FAILED_PRECONDITION: the delivery of event ${EVENT_ID} has not ended`,
          `FAILED_PRECONDITION: the event day of ${EVENT_ID} is not in the meter history yet`,
          'CONFLICT: the allotment of UtilityAMSP is spent',
          'FORBIDDEN: PayRewards is for utility relays and admins',
          'INVALID_ARGUMENT: homeIds must hold at most 500 homes',
        ],
      );
      expectNoneOf(suite.logs.join('\n'), HOME_IDS);
    });
  });

  describe('POST /v1/dr/events/{eventId}/totals', () => {
    const url = `/v1/dr/events/${EVENT_ID}/totals`;

    it("publishes the per-bus totals on the utility's own peer as its admin", async () => {
      const answer = {
        eventId: EVENT_ID,
        org: 'UtilityAMSP',
        buses: [{ bus: 'bus-1', homes: 6, withheld: false, reductionWh: 90000, reward: '450000000000' }],
        txId: TX_ID,
      };
      suite.gateway.ledger.on('PublishRewardTotals', answer);
      const response = await suite.gateway.request(suite.admin, { method: 'POST', url });
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.headers['x-transaction-id']).to.equal(TX_ID);
      expect(response.json()).to.deep.equal(answer);
      const [call] = suite.gateway.ledger.callsOf('PublishRewardTotals');
      expect(call).to.deep.include(calledAs('admin', 'dr', 'submit'));
      expect(call?.options).to.deep.equal({ arguments: [EVENT_ID], endorsingOrganizations: ['UtilityAMSP'] });
    });

    it('takes no body, refuses other callers and maps refusals', async () => {
      expectError(
        await post(suite.admin, url, { buses: [] }),
        400,
        'INVALID_REQUEST',
        /takes no request body/,
      );
      for (const caller of [suite.meter, suite.auditor, suite.device]) {
        expectError(await suite.gateway.request(caller, { method: 'POST', url }), 403, 'FORBIDDEN');
      }
      expectError(await suite.gateway.request(suite.otherAdmin, { method: 'POST', url }), 403, 'FORBIDDEN');
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
      await expectRefusalsMapped(
        suite.gateway.ledger,
        'PublishRewardTotals',
        () => suite.gateway.request(suite.admin, { method: 'POST', url }),
        [
          `NOT_FOUND: event ${EVENT_ID} does not exist`,
          `FAILED_PRECONDITION: UtilityAMSP has paid no home for event ${EVENT_ID}`,
          `CONFLICT: the totals of UtilityAMSP for event ${EVENT_ID} are already published`,
        ],
      );
    });
  });

  describe('GET /v1/dr/events/{eventId}/reward', () => {
    const url = `/v1/dr/events/${EVENT_ID}/reward`;

    it("evaluates the device's own result on the utility's own peer from its certificate", async () => {
      suite.gateway.ledger.on('GetMyReward', MY_REWARD);
      const response = await get(suite.device, url);
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal(MY_REWARD);
      const [call] = suite.gateway.ledger.callsOf('GetMyReward');
      expect(call).to.deep.include(calledAs('relay', 'dr', 'evaluate'));
      expect(call?.options.arguments).to.deep.equal([EVENT_ID]);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(call?.options.transientData?.certificate ?? []).toString('utf8')).to.equal(
        suite.device.toString(),
      );
      expectTransientOnly(call, ['home-secret-71']);
      // The device sees its own values; the logs never do.
      expectNoneOf(suite.logs.join('\n'), [...MY_SECRETS, 'home-secret-71']);
    });

    it('is for devices at their own utility only', async () => {
      for (const caller of [suite.admin, suite.relay, suite.auditor]) {
        expectError(await get(caller, url), 403, 'FORBIDDEN', /for hems identities/);
      }
      expectError(await get(suite.otherDevice, url), 403, 'FORBIDDEN', /HEMS devices of UtilityAMSP only/);
      expect(suite.gateway.ledger.calls).to.deep.equal([]);
    });

    it("maps the chaincode's refusals to their statuses", async () => {
      await expectRefusalsMapped(suite.gateway.ledger, 'GetMyReward', () => get(suite.device, url), [
        `NOT_FOUND: event ${EVENT_ID} does not exist`,
        `FAILED_PRECONDITION: the delivery of event ${EVENT_ID} has not ended`,
        'FAILED_PRECONDITION: the home has fewer than 10 baseline days',
        'FORBIDDEN: the certificate is revoked',
      ]);
    });
  });
});

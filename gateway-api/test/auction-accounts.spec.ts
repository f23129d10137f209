import type { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';
import { calledAs, expectError, ledgerCall } from './support/expectations';

const ACCOUNT_ID = `acct-${'0123456789abcdef'.repeat(2)}`;
const ACCOUNT = {
  accountId: ACCOUNT_ID,
  mspId: 'UtilityAMSP',
  balance: '125000000000',
  escrowed: '9137000000',
  escrows: { 'w-1': '9137000000' },
  updatedAt: '2030-01-01T10:01:00.000Z',
  txId: 'e'.repeat(64),
  lastEntries: [{ kind: 'escrow', amount: '9137000000', windowId: 'w-1' }],
};
const SETTINGS = {
  dsoMspIds: ['DSOMSP'],
  utilityMspIds: ['UtilityAMSP', 'UtilityBMSP'],
  auditorMspIds: ['RegulatorMSP'],
};
const HOME = 'home-secret-deposit-9';

describe('auction: token accounts', () => {
  const suite = gatewaySuite(async (pki) => ({
    device: await pki.device('UtilityAMSP', 'home-a-001', 'bus-1'),
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    auditor: await pki.role('RegulatorMSP', 'auditor'),
  }));

  const get = (certificate: X509Certificate | undefined, url: string): Promise<LightMyRequestResponse> =>
    suite.gateway.get(certificate, url);

  describe('GET /v1/accounts/me', () => {
    it("looks up the device's account through the relay with its certificate, then its balance", async () => {
      suite.gateway.ledger.on('GetMyAccount', { accountId: ACCOUNT_ID });
      suite.gateway.ledger.on('GetAccount', ACCOUNT);
      const response = await get(suite.device, '/v1/accounts/me');
      expect(response.statusCode, response.body).to.equal(200);
      expect(response.json()).to.deep.equal(ACCOUNT);
      const [mine, account] = suite.gateway.ledger.calls;
      expect(mine).to.deep.include(ledgerCall('relay', 'token', 'evaluate', 'GetMyAccount'));
      // The account id needs the utility's secret: evaluated on its own peer only.
      expect(mine?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Buffer.from(mine?.options.transientData?.certificate ?? []).toString('utf8')).to.equal(
        suite.device.toString(),
      );
      expect(account).to.deep.include({
        contract: 'token',
        name: 'GetAccount',
        options: { arguments: [ACCOUNT_ID] },
      });
    });

    it('uses a whole record from GetMyAccount as it is, and maps "no account yet" to 404', async () => {
      suite.gateway.ledger.on('GetMyAccount', ACCOUNT);
      expect((await get(suite.device, '/v1/accounts/me')).json()).to.deep.equal(ACCOUNT);
      expect(suite.gateway.ledger.callsOf('GetAccount')).to.have.length(0);
      suite.gateway.ledger.refuse('GetMyAccount', 'NOT_FOUND', 'this home has no account yet');
      expectError(await get(suite.device, '/v1/accounts/me'), 404, 'NOT_FOUND', /no account yet/);
      suite.gateway.ledger.on('GetMyAccount', { nothing: true });
      expectError(await get(suite.device, '/v1/accounts/me'), 502, 'BAD_LEDGER_RESPONSE');
    });

    it('refuses non-devices and devices of other utilities', async () => {
      expectError(await get(suite.admin, '/v1/accounts/me'), 403, 'FORBIDDEN', /for hems identities/);
      expectError(
        await get(await suite.pki.device('UtilityBMSP', 'home-b-001', 'bus-1'), '/v1/accounts/me'),
        403,
        'FORBIDDEN',
        /HEMS devices of UtilityAMSP only/,
      );
      expect(suite.gateway.ledger.calls).to.have.length(0);
    });
  });

  describe('GET /v1/accounts/reconciliation', () => {
    const RECONCILIATION = {
      reconciled: false,
      utilities: [
        {
          org: 'UtilityAMSP',
          issued: '10',
          charged: '2',
          paid: '1',
          expected: '9',
          held: '14',
          difference: '5',
        },
      ],
      grid: [{ org: 'DSOMSP', gridShares: '0', held: '0', difference: '0' }],
      pools: '1',
      unreadable: { accounts: 0, parts: 0, windows: 0 },
    };

    it("answers the chaincode's reconciliation to auditors and admins, evaluated", async () => {
      suite.gateway.ledger.on('ReconcileTokens', RECONCILIATION);
      for (const caller of [suite.auditor, suite.admin]) {
        const response = await get(caller, '/v1/accounts/reconciliation');
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json()).to.deep.equal(RECONCILIATION);
      }
      expect(suite.gateway.ledger.callsOf('ReconcileTokens')[0]).to.deep.include({
        contract: 'token',
        kind: 'evaluate',
      });
    });

    it('refuses devices; maps a malformed answer to 502', async () => {
      expectError(await get(suite.device, '/v1/accounts/reconciliation'), 403, 'FORBIDDEN');
      expect(suite.gateway.ledger.calls).to.have.length(0);
      suite.gateway.ledger.on('ReconcileTokens', { reconciled: 'yes' });
      expectError(await get(suite.auditor, '/v1/accounts/reconciliation'), 502, 'BAD_LEDGER_RESPONSE');
    });
  });

  describe('GET /v1/accounts/:accountId and its history', () => {
    it("shows an account to auditors and to its own org's admins only", async () => {
      suite.gateway.ledger.on('GetAccount', ACCOUNT);
      for (const caller of [suite.auditor, suite.admin]) {
        const response = await get(caller, `/v1/accounts/${ACCOUNT_ID}`);
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.deep.equal(ACCOUNT);
      }
      expectError(
        await get(await suite.pki.role('UtilityBMSP', 'admin'), `/v1/accounts/${ACCOUNT_ID}`),
        403,
        'FORBIDDEN',
        /auditors and to its own org's admins/,
      );
      for (const caller of [
        suite.device,
        await suite.pki.role('UtilityAMSP', 'relay'),
        await suite.pki.role('DSOMSP', 'market'),
      ]) {
        expectError(await get(caller, `/v1/accounts/${ACCOUNT_ID}`), 403, 'FORBIDDEN');
      }
      suite.gateway.ledger.on('GetAccount', { ...ACCOUNT, accountId: 'grid:DSOMSP', mspId: 'DSOMSP' });
      expect((await get(suite.auditor, '/v1/accounts/grid:DSOMSP')).statusCode).to.equal(200);
      for (const bad of [
        'acct-XYZ',
        'acct-0123',
        `acct-${'0'.repeat(33)}`,
        'home-a-001',
        'grid:',
        'grid:a b',
      ]) {
        // The router takes account ids only: anything else is no such resource.
        expectError(await get(suite.auditor, `/v1/accounts/${bad}`), 404, 'NOT_FOUND');
      }
      suite.gateway.ledger.refuse('GetAccount', 'NOT_FOUND', `account ${ACCOUNT_ID} does not exist`);
      expectError(await get(suite.auditor, `/v1/accounts/${ACCOUNT_ID}`), 404, 'NOT_FOUND');
    });

    it("gives the history to auditors and to the org's admins at its own gateway", async () => {
      const history = { accountId: ACCOUNT_ID, entries: [{ kind: 'deposit', txId: 'a'.repeat(64) }] };
      suite.gateway.ledger.on('GetAccount', ACCOUNT);
      suite.gateway.ledger.on('GetAccountHistory', history);
      for (const caller of [suite.admin, suite.auditor]) {
        const response = await get(caller, `/v1/accounts/${ACCOUNT_ID}/history`);
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.deep.equal(history);
      }
      expect(suite.gateway.ledger.callsOf('GetAccountHistory')[0]).to.deep.include({
        ...calledAs('relay', 'token', 'evaluate'),
        options: { arguments: [ACCOUNT_ID] },
      });
      const other = await TestGateway.create('UtilityBMSP', ['relay', 'admin'], { pki: suite.pki });
      other.ledger.on('GetAccount', ACCOUNT);
      const elsewhere = await other.request(suite.admin, {
        method: 'GET',
        url: `/v1/accounts/${ACCOUNT_ID}/history`,
      });
      expectError(elsewhere, 403, 'FORBIDDEN', /admins of UtilityBMSP/);
      await other.app.close();
      suite.gateway.ledger.on('GetAccount', { ...ACCOUNT, mspId: 'UtilityBMSP' });
      expectError(await get(suite.admin, `/v1/accounts/${ACCOUNT_ID}/history`), 403, 'FORBIDDEN');
    });
  });

  describe('POST /v1/accounts/deposits and POST /v1/accounts', () => {
    const post: TestGateway['post'] = (...args) => suite.gateway.post(...args);
    const deposit = (
      certificate: X509Certificate,
      payload: unknown,
      headers: Record<string, string> = {},
    ): Promise<LightMyRequestResponse> => post(certificate, '/v1/accounts/deposits', payload, headers);

    beforeEach(() => {
      suite.gateway.ledger.on('GetSettings', SETTINGS);
      suite.gateway.ledger.on('GetAccountId', { accountId: ACCOUNT_ID, mspId: 'UtilityAMSP', exists: true });
      suite.gateway.ledger.on('Deposit', ACCOUNT);
    });

    it('looks the account id up on its own peer (home id in transient data), then deposits by id with a majority including its own org', async () => {
      const response = await deposit(suite.admin, { homeId: HOME, amount: 12.5 });
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.json()).to.deep.equal(ACCOUNT);
      const [lookup] = suite.gateway.ledger.callsOf('GetAccountId');
      expect(lookup).to.deep.include({ identity: 'admin', contract: 'token', kind: 'evaluate' });
      expect(lookup?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(lookup?.options.arguments ?? []).to.deep.equal([]);
      expect(Buffer.from(lookup?.options.transientData?.homeId ?? []).toString('utf8')).to.equal(HOME);
      const [call] = suite.gateway.ledger.callsOf('Deposit');
      expect(call).to.deep.include({ identity: 'admin', contract: 'token', kind: 'submit' });
      expect(call?.options.arguments).to.deep.equal([ACCOUNT_ID, '12.5']);
      // No transient data, and 3 of the 4 peer orgs with the own org first (DSO, then auditor).
      expect(call?.options.transientData).to.equal(undefined);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP', 'DSOMSP', 'RegulatorMSP']);
      expect(JSON.stringify(call?.options)).to.not.include(HOME);
      expect(suite.logs.join('\n')).to.not.include(HOME);
    });

    it('reads the channel roster once and derives the majority from it', async () => {
      suite.gateway.ledger.on('GetSettings', {
        dsoMspIds: ['DSOMSP'],
        utilityMspIds: ['UtilityAMSP', 'UtilityBMSP', 'UtilityCMSP'],
        auditorMspIds: ['RegulatorMSP', 'AuditorTwoMSP'],
      });
      for (const amount of [1, 2]) {
        expect((await deposit(suite.admin, { homeId: HOME, amount })).statusCode).to.equal(201);
      }
      expect(suite.gateway.ledger.callsOf('GetSettings')).to.have.length(1);
      expect(suite.gateway.ledger.callsOf('Deposit')[1]?.options.endorsingOrganizations).to.deep.equal([
        'UtilityAMSP',
        'DSOMSP',
        'RegulatorMSP',
        'AuditorTwoMSP',
      ]);
    });

    it('answers 502 for a malformed roster and reads it again next time; 503 when the own org is not in it', async () => {
      suite.gateway.ledger.on('GetSettings', { dsoMspIds: 'DSOMSP' });
      expectError(
        await deposit(suite.admin, { homeId: HOME, amount: 1 }),
        502,
        'BAD_LEDGER_RESPONSE',
        /dsoMspIds/,
      );
      suite.gateway.ledger.on('GetSettings', SETTINGS);
      expect((await deposit(suite.admin, { homeId: HOME, amount: 1 })).statusCode).to.equal(201);
      expect(suite.gateway.ledger.callsOf('GetSettings')).to.have.length(2);
      expect(suite.gateway.ledger.callsOf('Deposit')).to.have.length(1);
      // A roster that does not name this gateway's org: it has no peer to endorse with.
      const outsider = await TestGateway.create('UtilityAMSP', ['relay', 'admin'], { pki: suite.pki });
      outsider.ledger.on('GetSettings', { ...SETTINGS, utilityMspIds: ['UtilityBMSP'] });
      outsider.ledger.on('GetAccountId', { accountId: ACCOUNT_ID, mspId: 'UtilityAMSP', exists: true });
      const refused = await outsider.request(suite.admin, {
        method: 'POST',
        url: '/v1/accounts/deposits',
        payload: { homeId: HOME, amount: 1 },
      });
      expectError(refused, 503, 'UNAVAILABLE', /not a peer org/);
      expect(outsider.ledger.callsOf('Deposit')).to.have.length(0);
      await outsider.app.close();
    });

    it('answers 502 when GetAccountId answers no account id, without depositing', async () => {
      for (const answer of [{ accountId: 'grid:DSOMSP', exists: true }, { accountId: ACCOUNT_ID }, null]) {
        suite.gateway.ledger.on('GetAccountId', answer);
        expectError(await deposit(suite.admin, { homeId: HOME, amount: 1 }), 502, 'BAD_LEDGER_RESPONSE');
      }
      expect(suite.gateway.ledger.callsOf('Deposit')).to.have.length(0);
    });

    it('sends every accepted amount as one plain decimal spelling', async () => {
      const cases: [unknown, string][] = [
        ['12.50', '12.5'],
        ['7', '7'],
        [0.0001, '0.0001'],
        ['1000000000', '1000000000'],
        [1e9, '1000000000'],
        [3.1, '3.1'],
      ];
      for (const [amount, sent] of cases) {
        expect((await deposit(suite.admin, { homeId: HOME, amount })).statusCode, String(amount)).to.equal(
          201,
        );
        expect(suite.gateway.ledger.calls.at(-1)?.options.arguments).to.deep.equal([ACCOUNT_ID, sent]);
      }
    });

    it('refuses hostile amounts and home ids with 400, never naming the home', async () => {
      const amounts: unknown[] = [
        0,
        -1,
        '0',
        '0.0000',
        1e9 + 0.0001,
        '1000000000.0001',
        1e10,
        0.00001,
        '1e3',
        'NaN',
        '',
        ' 1',
        '01',
        '1.',
        '+1',
        true,
        null,
        [1],
        {},
      ];
      for (const amount of amounts) {
        const response = await deposit(suite.admin, { homeId: HOME, amount });
        expectError(response, 400, 'INVALID_REQUEST');
        expect(response.body).to.not.include(HOME);
      }
      const infinite = await suite.gateway.request(suite.admin, {
        method: 'POST',
        url: '/v1/accounts/deposits',
        headers: { 'content-type': 'application/json' },
        payload: `{"homeId":"${HOME}","amount":1e400}`,
      });
      // JSON numbers beyond a double parse as Infinity, which the schema does not count as a number.
      expectError(infinite, 400, 'INVALID_REQUEST', /amount/);
      for (const homeId of ['', 'home with spaces', 'h'.repeat(129), 42]) {
        expectError(await deposit(suite.admin, { homeId, amount: 1 }), 400, 'INVALID_REQUEST');
        expectError(await post(suite.admin, '/v1/accounts', { homeId }), 400, 'INVALID_REQUEST');
      }
      expectError(await deposit(suite.admin, { homeId: HOME }), 400, 'INVALID_REQUEST');
      expectError(
        await post(suite.admin, '/v1/accounts', { homeId: HOME, amount: 1 }),
        400,
        'INVALID_REQUEST',
      );
      expect(suite.gateway.ledger.calls).to.have.length(0);
      expect(suite.logs.join('\n')).to.not.include(HOME);
    });

    it("refuses other roles, other orgs' admins, and maps the chaincode's refusals without the home", async () => {
      for (const caller of [suite.device, await suite.pki.role('UtilityAMSP', 'relay'), suite.auditor]) {
        for (const url of ['/v1/accounts/deposits', '/v1/accounts']) {
          expectError(
            await post(caller, url, { homeId: HOME, amount: 1 }),
            403,
            'FORBIDDEN',
            /for admin identities/,
          );
        }
      }
      const otherAdmin = await suite.pki.role('UtilityBMSP', 'admin');
      expectError(
        await deposit(otherAdmin, { homeId: HOME, amount: 1 }),
        403,
        'FORBIDDEN',
        /operators of UtilityAMSP/,
      );
      expectError(
        await post(otherAdmin, '/v1/accounts', { homeId: HOME }),
        403,
        'FORBIDDEN',
        /operators of UtilityAMSP/,
      );
      expect(suite.gateway.ledger.calls).to.have.length(0);
      suite.gateway.ledger.refuse('GetAccountId', 'NOT_FOUND', 'the home is not enrolled at UtilityAMSP');
      const unknown = await deposit(suite.admin, { homeId: HOME, amount: 1 });
      expectError(unknown, 404, 'NOT_FOUND');
      expect(unknown.body).to.not.include(HOME);
      suite.gateway.ledger.on('GetAccountId', { accountId: ACCOUNT_ID, mspId: 'UtilityAMSP', exists: true });
      suite.gateway.ledger.refuse(
        'Deposit',
        'FORBIDDEN',
        `account ${ACCOUNT_ID} belongs to another organization`,
      );
      expectError(
        await deposit(suite.admin, { homeId: HOME, amount: 1 }),
        403,
        'FORBIDDEN',
        /another organization/,
      );
      expect(suite.logs.join('\n')).to.not.include(HOME);
    });

    it('opens a new home\'s account with Deposit(accountId, "0") and refuses one that exists with 409', async () => {
      const opened = { ...ACCOUNT, balance: '0', escrowed: '0', escrows: {}, lastEntries: [] };
      suite.gateway.ledger.on('GetAccountId', { accountId: ACCOUNT_ID, mspId: 'UtilityAMSP', exists: false });
      suite.gateway.ledger.on('Deposit', opened);
      const response = await post(suite.admin, '/v1/accounts', { homeId: HOME });
      expect(response.statusCode, response.body).to.equal(201);
      expect(response.json()).to.deep.equal(opened);
      expect(response.headers.location).to.equal(`/v1/accounts/${ACCOUNT_ID}`);
      const [call] = suite.gateway.ledger.callsOf('Deposit');
      expect(call?.options.arguments).to.deep.equal([ACCOUNT_ID, '0']);
      expect(call?.options.transientData).to.equal(undefined);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP', 'DSOMSP', 'RegulatorMSP']);
      suite.gateway.ledger.on('GetAccountId', { accountId: ACCOUNT_ID, mspId: 'UtilityAMSP', exists: true });
      const again = await post(suite.admin, '/v1/accounts', { homeId: HOME });
      expectError(again, 409, 'CONFLICT', /already has account acct-/);
      expect(again.body).to.not.include(HOME);
      expect(suite.gateway.ledger.callsOf('Deposit')).to.have.length(1);
      expect(suite.logs.join('\n')).to.not.include(HOME);
    });

    it('replays an idempotent retry without depositing twice', async () => {
      const first = await deposit(suite.admin, { homeId: HOME, amount: 5 }, { 'idempotency-key': 'dep-1' });
      const second = await deposit(suite.admin, { amount: 5, homeId: HOME }, { 'idempotency-key': 'dep-1' });
      expect(first.statusCode).to.equal(201);
      expect(second.headers['idempotent-replay']).to.equal('true');
      expect(suite.gateway.ledger.callsOf('Deposit')).to.have.length(1);
    });
  });
});

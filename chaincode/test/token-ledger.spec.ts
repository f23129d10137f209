import { expect } from 'chai';
import { currencyToUnits } from '@hems/protocol';
import { identities, type TestIdentity } from './support/fake-ledger';
import { AuctionScenario, CURRENCY } from './support/auction';
import type { TestDevice } from './support/pki';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

describe('token ledger', () => {
  let s: AuctionScenario;
  let home: TestDevice;
  let accountId: string;

  before(async () => {
    s = await AuctionScenario.create();
    home = await s.device(UTILITY_A, 'bus-1');
  });

  describe('Deposit', () => {
    it('creates the home’s pseudonymous account with a policy naming its utility’s peer, then credits it', async () => {
      const first = await s.deposit(UTILITY_A, home.homeId, '12.5');
      accountId = first.accountId;
      expect(first).to.include({
        mspId: UTILITY_A,
        balance: ((125n * CURRENCY) / 10n).toString(),
        escrowed: '0',
      });
      expect(first.escrows).to.deep.equal({});
      expect(accountId).to.match(/^acct-[0-9a-f]{32}$/);
      expect(accountId).not.to.include(home.homeId);
      const created = s.ledger.lastCommitted();
      expect(created.endorsement).to.equal('majority');
      const accountWrite = created.publicWrites.find((write) => write.key.includes('hems.account'));
      expect(s.ledger.keyPolicyOrgs(accountWrite?.key ?? '')).to.deep.equal([UTILITY_A]);
      // The issued total: majority-written, no key-level policy.
      const issuance = created.publicWrites.find((write) => write.key.includes('hems.issuance'));
      expect(s.ledger.keyPolicyOrgs(issuance?.key ?? '')).to.equal(undefined);
      expect(JSON.parse(issuance?.value ?? '{}')).to.include({ org: UTILITY_A, amount: '125000000000' });
      const second = await s.deposit(UTILITY_A, home.homeId, '0.0001');
      expect(second.accountId).to.equal(accountId);
      expect(second.balance).to.equal(((125n * CURRENCY) / 10n + 1_000_000n).toString());
      for (const tx of s.ledger.committed.slice(-2)) {
        expect(JSON.stringify(tx)).not.to.include(home.homeId);
      }
      expect(s.ledgerInvariants()).to.deep.equal([]);
    });

    it('needs the account’s own utility peer among the endorsers once the account exists', async () => {
      // Endorsed by other orgs' peers only: the majority is there, the account's policy is not met.
      await expectRefusal(
        s.ledger.invoke(identities.admin(), (ctx) => s.token.Deposit(ctx, accountId, '1'), {
          peer: 'DSOMSP',
          endorsers: ['RegulatorMSP', UTILITY_B],
        }),
        'ENDORSEMENT_POLICY_FAILURE',
        /needs the peers of UtilityAMSP/,
      );
      // Creating an account needs only the majority: a new key has no policy yet.
      const fresh = await s.device(UTILITY_A, 'bus-1');
      const freshId = await s.accountIdOf(UTILITY_A, fresh.homeId);
      await s.ledger.invoke(identities.admin(), (ctx) => s.token.Deposit(ctx, freshId, '1'), {
        peer: 'DSOMSP',
        endorsers: ['RegulatorMSP', UTILITY_B],
      });
      expect((await s.account(accountId)).balance).to.equal('125001000000');
    });

    it('gives the same home id different accounts at different utilities; an account stays its utility’s', async () => {
      const other = await s.deposit(UTILITY_B, home.homeId, '1');
      expect(other.accountId).not.to.equal(accountId);
      expect(other.mspId).to.equal(UTILITY_B);
      await expectRefusal(
        s.ledger.invoke(identities.admin(UTILITY_B), (ctx) => s.token.Deposit(ctx, accountId, '1')),
        'FORBIDDEN',
        /belongs to another organization/,
      );
    });

    it('opens an account with 0, and refuses 0 on an existing account', async () => {
      const prosumer = await s.device(UTILITY_A, 'bus-1');
      const opened = await s.openAccount(UTILITY_A, prosumer.homeId);
      expect(opened).to.include({ balance: '0', escrowed: '0', mspId: UTILITY_A });
      expect(s.ledger.lastCommitted().publicWrites).to.have.length(1);
      await expectRefusal(
        s.ledger.invoke(identities.admin(), (ctx) => s.token.Deposit(ctx, opened.accountId, '0')),
        'INVALID_ARGUMENT',
        /greater than 0 \(an amount of 0 only opens a new account\)/,
      );
    });

    it('refuses hostile amounts and account ids without echoing them', async () => {
      const cases: [unknown, RegExp][] = [
        ['0.0000', /greater than 0/],
        ['-1', /currency amount/],
        ['1.00001', /currency amount/],
        ['1e3', /currency amount/],
        ['NaN', /currency amount/],
        ['Infinity', /currency amount/],
        [' 1', /currency amount/],
        ['01', /currency amount/],
        ['1000000000.0001', /at most 1000000000/],
        ['99999999999', /currency amount/],
        [12, /must be a string/],
      ];
      for (const [amount, pattern] of cases) {
        const error = await expectRefusal(
          s.ledger.invoke(identities.admin(), (ctx) => s.token.Deposit(ctx, accountId, amount as string)),
          'INVALID_ARGUMENT',
          pattern,
        );
        expect(error.message).not.to.match(/1\.00001|99999999999/);
      }
      expect(currencyToUnits('1000000000', 'amount')).to.equal(10n ** 19n);
      for (const [id, pattern] of [
        ['acct-XYZ', /accountId must be/],
        [home.homeId, /accountId must be/],
        ['grid:DSOMSP', /home account/],
        [7, /must be a string/],
      ] as const) {
        await expectRefusal(
          s.ledger.invoke(identities.admin(), (ctx) => s.token.Deposit(ctx, id as string, '1')),
          'INVALID_ARGUMENT',
          pattern,
        );
      }
    });

    it('refuses every identity but a utility admin (on any peer: it reads no private data)', async () => {
      const callers: TestIdentity[] = [
        identities.relay(),
        identities.meter(),
        identities.device(),
        identities.ouOnlyAdmin(),
        identities.dso(),
        identities.market(),
        identities.auditor(),
        identities.outsider(),
      ];
      for (const caller of callers) {
        await expectRefusal(
          s.ledger.invoke(caller, (ctx) => s.token.Deposit(ctx, accountId, '1')),
          'FORBIDDEN',
          /administrators of a utility/,
        );
      }
    });
  });

  describe('GetAccountId', () => {
    it('answers the admin or relay on its own peer, and whether the account exists', async () => {
      const lookup = async (caller: TestIdentity, homeId: string, peer?: string): Promise<unknown> =>
        JSON.parse(
          await s.ledger.evaluate(caller, (ctx) => s.token.GetAccountId(ctx), {
            peer: peer ?? caller.mspId,
            transient: { homeId },
          }),
        );
      expect(await lookup(identities.admin(), home.homeId)).to.deep.equal({
        accountId,
        mspId: UTILITY_A,
        exists: true,
      });
      expect(await lookup(identities.relay(), 'home-never-seen')).to.include({ exists: false });
      for (const [caller, peer] of [
        [identities.meter(), UTILITY_A],
        [identities.auditor(), 'RegulatorMSP'],
        [identities.market(), 'DSOMSP'],
        [identities.admin(UTILITY_B), UTILITY_A],
      ] as const) {
        await expectRefusal(lookup(caller, home.homeId, peer), 'FORBIDDEN');
      }
      await expectRefusal(
        s.ledger.evaluate(identities.admin(), (ctx) => s.token.GetAccountId(ctx)),
        'INVALID_ARGUMENT',
        /'homeId' is required/,
      );
      const error = await expectRefusal(
        lookup(identities.admin(), 'a b; drop'),
        'INVALID_ARGUMENT',
        /homeId must be/,
      );
      expect(error.message).not.to.include('drop');
    });
  });

  describe('reading accounts', () => {
    it('GetAccount: any member; unknown and malformed ids are refused', async () => {
      expect((await s.account(accountId, identities.relay(UTILITY_B))).balance).to.equal('125001000000');
      await expectRefusal(s.account(`acct-${'0'.repeat(32)}`), 'NOT_FOUND');
      await expectRefusal(s.account('acct-XYZ'), 'INVALID_ARGUMENT', /accountId must be/);
      await expectRefusal(s.account(accountId, identities.outsider()), 'FORBIDDEN');
    });

    it('GetMyAccount: the relay, for a device of its own utility; a zero account before any deposit', async () => {
      expect((await s.myAccount(UTILITY_A, home)).accountId).to.equal(accountId);
      const fresh = await s.device(UTILITY_A, 'bus-1');
      expect(await s.myAccount(UTILITY_A, fresh)).to.include({ balance: '0', escrowed: '0' });
      const foreign = await s.device(UTILITY_B, 'bus-1');
      await expectRefusal(s.myAccount(UTILITY_A, foreign), 'FORBIDDEN', /not issued by a CA/);
      for (const caller of [
        identities.admin(),
        identities.meter(),
        identities.auditor(),
        identities.device(),
      ]) {
        await expectRefusal(
          s.ledger.evaluate(caller, (ctx) => s.token.GetMyAccount(ctx), {
            transient: { certificate: home.pem },
          }),
          'FORBIDDEN',
        );
      }
    });

    it('GetAccountHistory: auditors and the account’s own utility see every entry with window and tx id', async () => {
      const window = 'w-history';
      await s.openWindow(window);
      await s.submitOrder(UTILITY_A, home, {
        windowId: window,
        side: 'bid',
        energyKwh: 1,
        limitPrice: 10,
        escrow: '2',
      });
      await s.cancelOrder(UTILITY_A, home, window);
      const history = JSON.parse(
        await s.ledger.evaluate(identities.auditor(), (ctx) => s.token.GetAccountHistory(ctx, accountId)),
      ) as {
        entries: {
          txId: string;
          escrows: Record<string, string>;
          entries: { kind: string; windowId?: string; amount: string }[];
        }[];
      };
      expect(history.entries.map((entry) => entry.entries.map((e) => e.kind))).to.deep.equal([
        ['deposit'],
        ['deposit'],
        ['escrow'],
        ['refund'],
      ]);
      const [, , escrowed, refunded] = history.entries;
      expect(escrowed?.escrows).to.deep.equal({ [window]: (2n * CURRENCY).toString() });
      expect(refunded?.escrows).to.deep.equal({});
      expect(escrowed?.entries[0]).to.include({
        windowId: window,
        amount: (2n * CURRENCY).toString(),
      });
      expect(history.entries.every((entry) => /^[0-9a-f]{64}$/.test(entry.txId))).to.equal(true);
      await s.ledger.evaluate(identities.relay(), (ctx) => s.token.GetAccountHistory(ctx, accountId));
      for (const caller of [
        identities.relay(UTILITY_B),
        identities.dso(),
        { mspId: 'RegulatorMSP', role: 'relay' },
      ]) {
        await expectRefusal(
          s.ledger.evaluate(caller, (ctx) => s.token.GetAccountHistory(ctx, accountId)),
          'FORBIDDEN',
          /auditors and the account's own organization/,
        );
      }
      await expectRefusal(
        s.ledger.evaluate(identities.auditor(), (ctx) =>
          s.token.GetAccountHistory(ctx, `acct-${'1'.repeat(32)}`),
        ),
        'NOT_FOUND',
      );
      s.ledger.advance(15 * MINUTE);
    });
  });
});

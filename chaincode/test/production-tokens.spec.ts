import { expect } from 'chai';
import { canonicalJson } from '@hems/protocol';
import type { HemsContext } from '../src/lib/context';
import { identities, type TestIdentity } from './support/fake-ledger';
import { AuctionScenario, CURRENCY, type Account, type Answer } from './support/auction';
import type { TestDevice } from './support/pki';
import { callersOtherThan, expectRefusal, MINUTE, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * Production-backed tokens (REScoin): the meter head-end mints exportWh × productionTokenRate
 * into each exporting home's account, once per home and slot, on its own peer alone; the
 * reconciliation counts what the utility's production records say it minted.
 */

const slotId = 'slot-1';
const COLLECTION_A = `${UTILITY_A}PrivateCollection`;
/** Value units per Wh at the default rate of 50 currency per MWh (0.05 per kWh). */
const PER_WH = 50n * 10_000n;
/** The most one home exports in a 15-minute slot at the default maxHomeKw of 50: 50 kW × 250. */
const MAX_WH = 12_500;

interface Receipt {
  readonly slotId: string;
  readonly txId: string;
  readonly accepted: number;
  readonly minted: string;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

interface Reconciliation {
  readonly reconciled: boolean;
  readonly utilities: readonly Answer[];
  readonly unreadable: Answer;
}

describe('MintForProduction (production-backed tokens)', () => {
  let s: AuctionScenario;
  let homes: TestDevice[];
  let accounts: string[];
  let proposals = 0;

  const mint = async (
    exports: unknown,
    options: { who?: TestIdentity; peer?: string; slot?: string } = {},
  ): Promise<Receipt> =>
    s.ledger.invokeJson<Receipt>(
      options.who ?? identities.meter(UTILITY_A),
      (ctx) => s.token.MintForProduction(ctx, options.slot ?? slotId),
      {
        peer: options.peer ?? UTILITY_A,
        transient: { exports: typeof exports === 'string' ? exports : JSON.stringify(exports) },
      },
    );

  const account = async (id: string): Promise<Account & { lastEntries: Answer[] }> =>
    s.ledger.evaluateJson<Account & { lastEntries: Answer[] }>(identities.auditor(), (ctx) =>
      s.token.GetAccount(ctx, id),
    );

  const production = (org = UTILITY_A, slot = slotId): Answer => {
    const key = [...s.ledger.state.keys()].find(
      (entry) =>
        entry.startsWith('\u0000hems.production\u0000') && entry.includes(`${org}\u0000${slot}\u0000`),
    );
    return JSON.parse(s.ledger.state.get(key ?? '')?.toString() ?? '{}') as Answer;
  };

  const reconcile = async (): Promise<Reconciliation> =>
    s.ledger.evaluateJson<Reconciliation>(identities.auditor(), (ctx) => s.token.ReconcileTokens(ctx));

  /** A settings change proposed by UtilityA and approved by UtilityB and the DSO (3 of 4 members). */
  const byMajority = async (change: unknown): Promise<void> => {
    proposals += 1;
    const id = `rate-${proposals}`;
    await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
      s.governance.ProposeSettings(ctx, id, JSON.stringify(change)),
    );
    for (const org of [UTILITY_B, 'DSOMSP']) {
      await s.ledger.invoke(identities.admin(org), (ctx) => s.governance.ApproveSettings(ctx, id));
    }
  };

  /** Opens `slot` (deadline in 15 minutes) and dispatches it after the deadline. */
  const dispatchedSlot = async (slot = slotId): Promise<void> => {
    await s.openSlot(slot);
    s.ledger.advance(15 * MINUTE);
    await s.dispatch(slot, '0.5');
  };

  const home = (index: number): TestDevice => {
    const found = homes[index];
    if (found === undefined) {
      throw new Error(`no home ${index}`);
    }
    return found;
  };

  beforeEach(async () => {
    s = await AuctionScenario.create();
    homes = [];
    accounts = [];
    for (let index = 0; index < 3; index += 1) {
      const device = await s.device(UTILITY_A, 'bus-1');
      homes.push(device);
      accounts.push((await s.deposit(UTILITY_A, device.homeId, '1')).accountId);
    }
  });

  describe('OpenSlot', () => {
    it('keeps the rate in the slot record, and one production record per utility under a policy naming only its peer', async () => {
      await s.openSlot(slotId);
      const tx = s.ledger.lastCommitted();
      expect(tx.endorsement).to.equal('majority');
      expect(await s.getSlot(slotId)).to.include({ productionTokenRate: 50 });
      for (const org of [UTILITY_A, UTILITY_B]) {
        const write = tx.publicWrites.find(
          (entry) => entry.key.includes('hems.production') && entry.key.includes(org),
        );
        expect(s.ledger.keyPolicyOrgs(write?.key ?? '')).to.deep.equal([org]);
        expect(JSON.parse(write?.value ?? '{}')).to.deep.equal({
          slotId,
          org,
          minted: '0',
          homes: 0,
          exportWh: 0,
          rate: 50,
        });
      }
    });
  });

  describe('success', () => {
    it('credits exportWh × rate exactly, endorsed by the utility’s peer alone', async () => {
      await dispatchedSlot();
      const receipt = await mint([
        { homeId: home(0).homeId, exportWh: 1000 },
        { homeId: home(1).homeId, exportWh: MAX_WH },
        { homeId: home(2).homeId, exportWh: 1 },
      ]);
      const tx = s.ledger.lastCommitted();
      const amounts = [1000n * PER_WH, BigInt(MAX_WH) * PER_WH, PER_WH];
      const total = amounts.reduce((a, b) => a + b, 0n);
      expect(receipt).to.deep.equal({
        slotId,
        txId: tx.txId,
        accepted: 3,
        minted: total.toString(),
        refused: [],
      });
      // 1000 Wh at 0.05 per kWh: 0.05 currency.
      expect(amounts[0]).to.equal(CURRENCY / 20n);
      for (const [index, amount] of amounts.entries()) {
        const stored = await account(accounts[index] ?? '');
        expect(stored.balance).to.equal((CURRENCY + amount).toString());
        expect(stored.lastEntries).to.deep.equal([{ kind: 'mint', amount: amount.toString(), slotId }]);
      }
      expect(tx).to.include({ endorsement: 'single', endorser: UTILITY_A, creatorRole: 'meter' });
      expect(tx.events).to.deep.equal([]);
      const record = production();
      expect(record).to.include({
        minted: total.toString(),
        homes: 3,
        exportWh: 1000 + MAX_WH + 1,
        rate: 50,
        txId: tx.txId,
      });
      expect(record.lastMints).to.deep.equal(
        accounts
          .map((accountId, index) => ({ accountId, amount: (amounts[index] ?? 0n).toString() }))
          .sort((a, b) => (a.accountId < b.accountId ? -1 : 1)),
      );
      expect(s.ledgerInvariants()).to.deep.equal([]);
    });

    it('adds later batches to the record, at the rate the slot opened with', async () => {
      await byMajority({ productionTokenRate: 123.4567 });
      await dispatchedSlot();
      await mint([{ homeId: home(0).homeId, exportWh: 7 }]);
      // A rate changed after the opening does not apply to the slot.
      await byMajority({ productionTokenRate: 80 });
      const second = await mint([{ homeId: home(1).homeId, exportWh: 3 }]);
      expect(second.minted).to.equal((3n * 1_234_567n).toString());
      expect((await account(accounts[0] ?? '')).balance).to.equal((CURRENCY + 7n * 1_234_567n).toString());
      expect(production()).to.include({
        minted: (10n * 1_234_567n).toString(),
        homes: 2,
        exportWh: 10,
        rate: 123.4567,
      });
      // The record's history lists every mint.
      const history = s.ledger.history.get(
        [...s.ledger.state.keys()].find(
          (key) => key.includes('hems.production') && key.includes(UTILITY_A),
        ) ?? '',
      );
      expect(history?.map((entry) => (JSON.parse(entry.value.toString()) as Answer).lastMints)).to.deep.equal(
        [
          undefined,
          [{ accountId: accounts[0], amount: (7n * 1_234_567n).toString() }],
          [{ accountId: accounts[1], amount: (3n * 1_234_567n).toString() }],
        ],
      );
    });
  });

  describe('reconciliation', () => {
    it('stays reconciled after minting, the minted total counted in the utility’s expected holdings', async () => {
      await dispatchedSlot();
      await mint([
        { homeId: home(0).homeId, exportWh: 400 },
        { homeId: home(1).homeId, exportWh: 600 },
      ]);
      const r = await reconcile();
      expect(r.reconciled, JSON.stringify(r)).to.equal(true);
      const a = r.utilities.find((entry) => entry.org === UTILITY_A);
      expect(a).to.include({
        issued: (3n * CURRENCY).toString(),
        minted: (1000n * PER_WH).toString(),
        expected: (3n * CURRENCY + 1000n * PER_WH).toString(),
        difference: '0',
      });
      expect(r.utilities.find((entry) => entry.org === UTILITY_B)).to.include({
        minted: '0',
        difference: '0',
      });
    });

    it('shows a balance raised beyond what the records say was minted as the utility’s difference', async () => {
      await dispatchedSlot();
      await mint([{ homeId: home(0).homeId, exportWh: 400 }]);
      await s.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.account(accounts[0] ?? ''),
        (stored) => ({ ...stored, balance: (BigInt(stored.balance as string) + 5n).toString() }),
      );
      const r = await reconcile();
      expect(r.reconciled).to.equal(false);
      expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({ difference: '5' });
    });

    it('does not trust a production record whose total is not its exports times its rate', async () => {
      await dispatchedSlot();
      await mint([{ homeId: home(0).homeId, exportWh: 400 }]);
      // UtilityA's modified peer claims more minted (to cover tokens it credited on its own).
      await s.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.production(UTILITY_A, slotId),
        (stored) => ({ ...stored, minted: (BigInt(stored.minted as string) + 5n).toString() }),
      );
      const r = await reconcile();
      expect(r.reconciled).to.equal(false);
      expect(r.unreadable).to.include({ issues: 1 });
      expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({ minted: '0' });
    });

    it('cannot be evened out with a production record of a slot that never opened: a new key needs the majority', async () => {
      await expectRefusal(
        s.ledger.writeAlone(UTILITY_A, async (ctx: HemsContext) => {
          await ctx.stub.putState(
            ctx.keys.production(UTILITY_A, 'slot-forged'),
            Buffer.from(
              canonicalJson({
                slotId: 'slot-forged',
                org: UTILITY_A,
                minted: (1000n * PER_WH).toString(),
                homes: 1,
                exportWh: 1000,
                rate: 50,
              }),
            ),
          );
        }),
        'ENDORSEMENT_POLICY_FAILURE',
        /hems\.production\/UtilityAMSP\/slot-forged/,
      );
    });

    describe('a malicious member on its own peer', () => {
      /**
       * UtilityA's modified chaincode rewrites its production record of `slot` (consistently: the
       * total is the exports times the record's rate) and credits its own home's account with what
       * the forged record adds, so the sums would balance if the record were trusted.
       */
      const forge = async (
        slot: string,
        forged: { rate: number; homes: number; exportWh: number },
      ): Promise<bigint> => {
        const minted = BigInt(forged.exportWh) * BigInt(Math.round(forged.rate * 10_000));
        const before = BigInt(production(UTILITY_A, slot).minted as string);
        await s.ledger.rewriteAlone(
          UTILITY_A,
          (ctx) => ctx.keys.production(UTILITY_A, slot),
          (stored) => ({ ...stored, ...forged, minted: minted.toString() }),
        );
        await s.ledger.rewriteAlone(
          UTILITY_A,
          (ctx) => ctx.keys.account(accounts[2] ?? ''),
          (stored) => ({
            ...stored,
            balance: (BigInt(stored.balance as string) + minted - before).toString(),
          }),
        );
        return minted;
      };

      it('cannot cover tokens it credited itself with a rewritten record: rate, exports or homes beyond the slot', async () => {
        await dispatchedSlot();
        await mint([{ homeId: home(0).homeId, exportWh: 400 }]);
        // Even a settled slot's record is the utility's to rewrite: the checks read the slot record.
        await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
        const forgeries = [
          // A higher rate than the slot opened with (the record's copy of it is the utility's).
          { rate: 5000, homes: 1, exportWh: 400 },
          // More than one home can export in 15 minutes at maxHomeKw (50 kW: 12,500 Wh).
          { rate: 50, homes: 1, exportWh: MAX_WH + 1 },
          // More homes than the slot expects of UtilityA (its enrolment at opening: 5 + 2).
          { rate: 50, homes: 8, exportWh: 8 * MAX_WH },
        ];
        for (const forged of forgeries) {
          const minted = await forge(slotId, forged);
          const r = await reconcile();
          expect(r.reconciled, JSON.stringify(forged)).to.equal(false);
          expect(r.unreadable).to.include({ issues: 1 });
          // Not trusted, the record counts for nothing: UtilityA holds all it claims as a difference.
          expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({
            minted: '0',
            difference: minted.toString(),
          });
        }
      });

      it('cannot mint in a slot opened while minting was off by rewriting its record', async () => {
        await byMajority({ productionTokenRate: 0 });
        await dispatchedSlot('slot-off');
        await byMajority({ productionTokenRate: 50 });
        expect(await s.getSlot('slot-off')).to.include({ productionTokenRate: 0 });
        const minted = await forge('slot-off', { rate: 50, homes: 1, exportWh: 400 });
        const r = await reconcile();
        expect(r.reconciled).to.equal(false);
        expect(r.unreadable).to.include({ issues: 1 });
        expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({
          minted: '0',
          difference: minted.toString(),
        });
      });

      it('stays reconciled with a record within the bounds and consistent with the slot', async () => {
        await dispatchedSlot();
        // Every minted home at the physical bound of the slot: the honest mint passes the checks.
        await mint(homes.map((device) => ({ homeId: device.homeId, exportWh: MAX_WH })));
        let r = await reconcile();
        expect(r.reconciled, JSON.stringify(r)).to.equal(true);
        expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({
          minted: (3n * BigInt(MAX_WH) * PER_WH).toString(),
          difference: '0',
        });
        // What the checks cannot see: an overstatement within the bounds (all 7 expected homes at
        // the bound) is the utility's meters' word, as for consumption.
        const minted = await forge(slotId, { rate: 50, homes: 7, exportWh: 7 * MAX_WH });
        r = await reconcile();
        expect(r.reconciled, JSON.stringify(r)).to.equal(true);
        expect(r.utilities.find((entry) => entry.org === UTILITY_A)).to.include({
          minted: minted.toString(),
          difference: '0',
        });
      });
    });
  });

  describe('refuses', () => {
    it('any caller but the utility’s meter head-end, and it on another org’s peer', async () => {
      await dispatchedSlot();
      const exports = [{ homeId: home(0).homeId, exportWh: 10 }];
      for (const { caller, peer } of callersOtherThan(['meter'])) {
        await expectRefusal(mint(exports, { who: caller, peer }), 'FORBIDDEN');
      }
      await expectRefusal(
        mint(exports, { peer: UTILITY_B }),
        'FORBIDDEN',
        /must be endorsed by a peer of the caller's own organization/,
      );
    });

    it('a slot that is unknown, not dispatched yet or settled', async () => {
      const exports = [{ homeId: home(0).homeId, exportWh: 10 }];
      await expectRefusal(mint(exports, { slot: 'slot-unknown' }), 'NOT_FOUND', /does not exist/);
      await s.openSlot(slotId);
      await expectRefusal(mint(exports), 'FAILED_PRECONDITION', /has no dispatch yet/);
      s.ledger.advance(15 * MINUTE);
      await s.dispatch(slotId, '0.5');
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      await expectRefusal(mint(exports), 'FAILED_PRECONDITION', /is settled; production is minted before/);
    });

    it('a home without an account, and a home whose account is another org’s, alone by position', async () => {
      await dispatchedSlot();
      const newcomer = await s.device(UTILITY_A, 'bus-1');
      // An account under the home's id held by UtilityB (as corrupt or forged state would be).
      const foreign = await s.device(UTILITY_A, 'bus-1');
      const foreignId = await s.accountIdOf(UTILITY_A, foreign.homeId);
      await s.ledger.invoke(identities.dso(), async (ctx) => {
        await ctx.stub.putState(
          ctx.keys.account(foreignId),
          Buffer.from(
            canonicalJson({
              accountId: foreignId,
              mspId: UTILITY_B,
              balance: '0',
              escrowed: '0',
              escrows: {},
              updatedAt: '',
              txId: '',
              lastEntries: [],
            }),
          ),
        );
        return '';
      });
      const receipt = await mint([
        { homeId: newcomer.homeId, exportWh: 10 },
        { homeId: home(0).homeId, exportWh: 10 },
        { homeId: foreign.homeId, exportWh: 10 },
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.minted).to.equal((10n * PER_WH).toString());
      expect(receipt.refused).to.deep.equal([
        {
          index: 0,
          code: 'NOT_FOUND',
          message: 'this home has no token account (a utility admin opens one with Deposit)',
        },
        {
          index: 2,
          code: 'FAILED_PRECONDITION',
          message: "this home's account is held by another organization",
        },
      ]);
    });

    it('a second mint of a home in the same slot, in the batch or later, and not in another slot', async () => {
      await dispatchedSlot();
      const first = await mint([
        { homeId: home(0).homeId, exportWh: 10 },
        { homeId: home(0).homeId, exportWh: 20 },
      ]);
      expect(first.accepted).to.equal(1);
      expect(first.refused).to.deep.equal([
        {
          index: 1,
          code: 'CONFLICT',
          message: 'the batch holds an earlier export of the same home; a home is minted once per slot',
        },
      ]);
      const second = await mint([
        { homeId: home(1).homeId, exportWh: 10 },
        { homeId: home(0).homeId, exportWh: 10 },
      ]);
      expect(second.accepted).to.equal(1);
      expect(second.refused).to.deep.equal([
        { index: 1, code: 'CONFLICT', message: "this home's production in slot slot-1 was already minted" },
      ]);
      expect((await account(accounts[0] ?? '')).balance).to.equal((CURRENCY + 10n * PER_WH).toString());
      await dispatchedSlot('slot-2');
      expect((await mint([{ homeId: home(0).homeId, exportWh: 10 }], { slot: 'slot-2' })).accepted).to.equal(
        1,
      );
    });

    it('malformed items alone, by position, without echoing them; a malformed or empty list whole', async () => {
      await dispatchedSlot();
      const receipt = await mint([
        { homeId: home(0).homeId, exportWh: 0 },
        { homeId: home(0).homeId, exportWh: MAX_WH + 1 },
        { homeId: home(0).homeId, exportWh: 1.5 },
        { homeId: home(0).homeId, exportWh: '10' },
        { homeId: 'bad id with spaces', exportWh: 10 },
        { exportWh: 10 },
        { homeId: home(0).homeId, exportWh: 10, bus: 'bus-1' },
        { homeId: home(0).homeId, exportWh: 10 },
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal(
        [0, 1, 2, 3, 4, 5, 6].map((index) => [index, 'INVALID_ARGUMENT']),
      );
      expect(JSON.stringify(receipt)).not.to.include('bad id with spaces').and.not.include(home(0).homeId);
      await expectRefusal(mint([]), 'INVALID_ARGUMENT', /at least one export/);
      await expectRefusal(mint('{"homeId":'), 'INVALID_ARGUMENT');
      await expectRefusal(mint({ homeId: home(0).homeId, exportWh: 1 }), 'INVALID_ARGUMENT', /exports/);
      const many = Array.from({ length: 1001 }, () => ({ homeId: home(1).homeId, exportWh: 1 }));
      await expectRefusal(mint(many), 'INVALID_ARGUMENT', /exports/);
      await expectRefusal(
        s.ledger.invoke(identities.meter(UTILITY_A), (ctx) => s.token.MintForProduction(ctx, slotId), {
          peer: UTILITY_A,
        }),
        'INVALID_ARGUMENT',
        /transient field 'exports' is required/,
      );
    });

    it('an export above maxHomeKw × 250 Wh, and homes beyond those the slot expects of the utility', async () => {
      // 7.001 kW over 15 minutes: 1750.25 Wh, so at most 1750 whole Wh.
      await byMajority({ maxHomeKw: 7.001 });
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.SetEnrolledHomes(ctx, 'bus-2', '0'),
      );
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.SetEnrolledHomes(ctx, 'bus-1', '2'),
      );
      await dispatchedSlot();
      const first = await mint([
        { homeId: home(0).homeId, exportWh: 1751 },
        { homeId: home(0).homeId, exportWh: 1750 },
      ]);
      expect(first.accepted).to.equal(1);
      expect(first.refused).to.deep.equal([
        { index: 0, code: 'INVALID_ARGUMENT', message: 'exports[0].exportWh must be between 1 and 1750' },
      ]);
      const second = await mint([
        { homeId: home(1).homeId, exportWh: 10 },
        { homeId: home(2).homeId, exportWh: 10 },
      ]);
      expect(second.accepted).to.equal(1);
      expect(second.refused).to.deep.equal([
        {
          index: 1,
          code: 'FAILED_PRECONDITION',
          message: `slot ${slotId} expects 2 homes of ${UTILITY_A} (its enrolment at opening), all minted for`,
        },
      ]);
      expect(production()).to.include({ homes: 2, exportWh: 1760 });
      expect((await reconcile()).reconciled).to.equal(true);
    });

    it('while the channel rate is 0, and in a slot opened while it was', async () => {
      await byMajority({ productionTokenRate: 0 });
      await dispatchedSlot();
      expect(production()).to.include({ rate: 0 });
      const exports = [{ homeId: home(0).homeId, exportWh: 10 }];
      await expectRefusal(mint(exports), 'FAILED_PRECONDITION', /productionTokenRate is 0/);
      await byMajority({ productionTokenRate: 50 });
      await expectRefusal(
        mint(exports),
        'FAILED_PRECONDITION',
        /opened while production minting was disabled/,
      );
    });

    it('a rate that is negative, above the price bound or finer than 4 decimals (a settings change)', async () => {
      for (const productionTokenRate of [-1, 100_001, 0.00001, '50', null]) {
        await expectRefusal(
          s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
            s.governance.ProposeSettings(ctx, 'bad-rate', JSON.stringify({ productionTokenRate })),
          ),
          'INVALID_ARGUMENT',
          /productionTokenRate/,
        );
      }
    });
  });

  describe('privacy', () => {
    it('puts no home id in public writes, answers or errors, nor an export in answers; writes only the accounts and the production record', async () => {
      await dispatchedSlot();
      const before = s.ledger.committed.length;
      await mint([
        { homeId: home(0).homeId, exportWh: 1234 },
        { homeId: home(1).homeId, exportWh: 4321 },
        { homeId: 'home-without-account', exportWh: 5 },
      ]);
      await mint([{ homeId: home(0).homeId, exportWh: 1234 }]);
      await expectRefusal(mint([{ homeId: home(2).homeId, exportWh: 9 }], { peer: UTILITY_B }), 'FORBIDDEN');
      const txs = s.ledger.committed.slice(before);
      expect(txs).to.have.length(2);
      const [firstTx] = txs;
      expect(firstTx?.publicWrites.map((write) => write.key.split('\u0000')[1]).sort()).to.deep.equal([
        'hems.account',
        'hems.account',
        'hems.production',
      ]);
      expect(txs[1]?.publicWrites).to.deep.equal([]);
      // One private marker per minted home, under its per-slot reference in UtilityA's collection.
      expect(firstTx?.privateKeys.map((entry) => entry.collection)).to.deep.equal([
        COLLECTION_A,
        COLLECTION_A,
      ]);
      const ref = await s.homeRef(UTILITY_A, home(0), slotId);
      expect(
        firstTx?.privateKeys.some((entry) =>
          entry.key.includes(`hems.productionmint\u0000${slotId}\u0000${ref}`),
        ),
      ).to.equal(true);
      const surface = s.ledger.publicSurface();
      for (const device of [home(0), home(1), home(2)]) {
        expect(surface).not.to.include(device.homeId);
      }
      expect(surface).not.to.include('home-without-account');
      // The answers hold counts and the batch's total, never a home's export.
      for (const tx of txs) {
        expect(tx.response).not.to.match(/1234|4321|exportWh|homeId/);
      }
    });

    it("publishes each account's export of the slot: its mint amount ÷ the slot's public rate", async () => {
      await dispatchedSlot();
      await mint([
        { homeId: home(0).homeId, exportWh: 1234 },
        { homeId: home(1).homeId, exportWh: 4321 },
      ]);
      // Anyone reading the public state: the slot's rate, the record's per-account amounts and
      // each account's entries. The account id is a pseudonym, but a persistent one, so the
      // 15-minute exports of one home form a metered time series (P1 holds for the home id only).
      const perWh = BigInt(Math.round(((await s.getSlot(slotId)).productionTokenRate as number) * 10_000));
      const published = (production().lastMints as { accountId: string; amount: string }[]).map(
        ({ accountId, amount }) => [accountId, Number(BigInt(amount) / perWh)],
      );
      expect(published).to.have.deep.members([
        [accounts[0], 1234],
        [accounts[1], 4321],
      ]);
      const entry = (await account(accounts[0] ?? '')).lastEntries.at(-1);
      expect(entry).to.include({ kind: 'mint', slotId });
      expect(BigInt(entry?.amount as string) / perWh).to.equal(1234n);
    });
  });
});

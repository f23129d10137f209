import { expect } from 'chai';
import type { HemsContext } from '../src/lib/context';
import { identities } from './support/fake-ledger';
import { AuctionScenario, CURRENCY, type Answer } from './support/auction';
import { expectRefusal, MINUTE, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * Money is reconciled: every utility's accounts against what it issued (majority-written at each
 * deposit) and what its window parts say its homes paid and received; grid accounts against the
 * grid shares. UtilityA, running modified chaincode on its own peer, can rewrite its homes'
 * balances alone (their key-level policy names its peer); the reconciliation shows it.
 */

interface Reconciliation {
  readonly reconciled: boolean;
  readonly utilities: readonly Answer[];
  readonly grid: readonly Answer[];
  readonly pools: string;
  readonly unreadable: Answer;
}

async function reconcile(s: AuctionScenario, caller = identities.auditor()): Promise<Reconciliation> {
  return JSON.parse(await s.ledger.evaluate(caller, (ctx) => s.token.ReconcileTokens(ctx))) as Reconciliation;
}

function utility(r: Reconciliation, org: string): Answer | undefined {
  return r.utilities.find((entry) => entry.org === org);
}

/** A's modified peer rewrites one of its accounts (single endorsement: the key names its peer). */
async function rewriteAccount(
  s: AuctionScenario,
  accountId: string,
  edit: (account: Answer) => Answer,
): Promise<void> {
  await s.ledger.rewriteAlone(UTILITY_A, (ctx) => ctx.keys.account(accountId), edit);
}

/** A window traded, delivered in full, settled and its grid share claimed. */
async function settledWindow(s: AuctionScenario, windowId: string): Promise<void> {
  const { clearing } = await s.clearedTradingWindow(windowId, { revealGapMs: 10 * MINUTE });
  s.ledger.advance(25 * MINUTE);
  for (const org of [UTILITY_A, UTILITY_B]) {
    await s.report(windowId, org, s.fullReadings(clearing.trades, org, 0.8));
  }
  for (const org of [UTILITY_A, UTILITY_B]) {
    await s.settle(windowId, org);
  }
  await s.claimGridShare(windowId);
}

describe('token reconciliation', () => {
  it('reconciles deposits, trades, settlements and grid shares to zero differences', async () => {
    const s = await AuctionScenario.create();
    await settledWindow(s, 'w-honest');
    const r = await reconcile(s);
    expect(r.reconciled, JSON.stringify(r)).to.equal(true);
    expect(utility(r, UTILITY_A)).to.include({ issued: CURRENCY.toString(), difference: '0' });
    expect(utility(r, UTILITY_B)).to.include({ issued: CURRENCY.toString(), difference: '0' });
    expect(r.grid.every((entry) => entry.difference === '0')).to.equal(true);
    expect(r.pools).to.equal('0');
    // Tokens are conserved: what both issued is held by accounts and pools.
    expect(s.totalTokens()).to.equal(2n * CURRENCY);
  });

  it('shows a balance rewritten without a deposit as the utility’s difference, and only its', async () => {
    const s = await AuctionScenario.create();
    await settledWindow(s, 'w-mint');
    const victim = (await s.deposit(UTILITY_A, (await s.device(UTILITY_A, 'bus-1')).homeId, '1')).accountId;
    await rewriteAccount(s, victim, (account) => ({
      ...account,
      balance: (BigInt(account.balance as string) + 5n * CURRENCY).toString(),
    }));
    const r = await reconcile(s);
    expect(r.reconciled).to.equal(false);
    expect(utility(r, UTILITY_A)).to.include({ difference: (5n * CURRENCY).toString() });
    expect(utility(r, UTILITY_B)).to.include({ difference: '0' });
  });

  it('shows a window part that claims more charged than its buyers paid as that utility’s difference', async () => {
    const s = await AuctionScenario.create();
    await settledWindow(s, 'w-claim');
    await s.ledger.rewriteAlone(
      UTILITY_A,
      (ctx) => ctx.keys.windowOrg('w-claim', UTILITY_A),
      (part) => ({ ...part, charged: (BigInt(part.charged as string) + 7n).toString() }),
    );
    const r = await reconcile(s);
    expect(r.reconciled).to.equal(false);
    expect(utility(r, UTILITY_A)).to.include({ difference: '7' });
    expect(utility(r, UTILITY_B)).to.include({ difference: '0' });
    // The window stays readable: the pool is shown as the parts give it.
    expect(((await s.getWindow('w-claim')).pool as Answer).amount).to.equal('7');
  });

  it('counts an account that does not parse as unreadable rather than failing', async () => {
    const s = await AuctionScenario.create();
    const accountId = (await s.deposit(UTILITY_A, (await s.device(UTILITY_A, 'bus-1')).homeId, '1'))
      .accountId;
    await s.ledger.writeAlone(UTILITY_A, async (ctx) => {
      await ctx.stub.putState(ctx.keys.account(accountId), Buffer.from('{"balance":'));
    });
    const r = await reconcile(s);
    expect(r.reconciled).to.equal(false);
    expect(r.unreadable).to.include({ accounts: 1 });
    expect(utility(r, UTILITY_A)).to.include({
      issued: CURRENCY.toString(),
      held: '0',
      difference: (-CURRENCY).toString(),
    });
  });

  it('cannot be evened out by one utility: its issue records are majority-written', async () => {
    const s = await AuctionScenario.create();
    await s.deposit(UTILITY_A, (await s.device(UTILITY_A, 'bus-1')).homeId, '1');
    const issueKey = [...s.ledger.state.keys()].find((key) => key.includes('hems.issuance'))!;
    expect(s.ledger.keyPolicyOrgs(issueKey)).to.equal(undefined);
    for (const write of [
      // A new issue record of its own...
      (ctx: HemsContext) =>
        ctx.stub.putState(
          ctx.keys.issuance(UTILITY_A, 'f'.repeat(64)),
          Buffer.from(
            JSON.stringify({ org: UTILITY_A, amount: (10n * CURRENCY).toString(), txId: 'f'.repeat(64) }),
          ),
        ),
      // ...or a larger amount in an existing one.
      (ctx: HemsContext) =>
        ctx.stub.putState(issueKey, Buffer.from(JSON.stringify({ org: UTILITY_A, amount: '1' }))),
    ]) {
      await expectRefusal(
        s.ledger.writeAlone(UTILITY_A, async (ctx) => {
          await write(ctx);
        }),
        'ENDORSEMENT_POLICY_FAILURE',
        /hems\.issuance\/UtilityAMSP/,
      );
    }
  });

  it('keeps one issue record per deposit, so deposits of one utility never conflict', async () => {
    const s = await AuctionScenario.create();
    const homes = [await s.device(UTILITY_A, 'bus-1'), await s.device(UTILITY_A, 'bus-1')];
    const ids = await Promise.all(homes.map((home) => s.accountIdOf(UTILITY_A, home.homeId)));
    const endorsed = await Promise.all(
      ids.map((id) => s.ledger.endorse(identities.admin(UTILITY_A), (ctx) => s.token.Deposit(ctx, id, '2'))),
    );
    for (const tx of endorsed) {
      await tx.commit();
    }
    expect(utility(await reconcile(s), UTILITY_A)).to.include({
      issued: (4n * CURRENCY).toString(),
      difference: '0',
    });
  });

  it('answers any member, and no outsider', async () => {
    const s = await AuctionScenario.create();
    for (const caller of [identities.auditor(), identities.relay(UTILITY_B), identities.market()]) {
      expect((await reconcile(s, caller)).reconciled).to.equal(true);
    }
    await expectRefusal(reconcile(s, identities.outsider()), 'FORBIDDEN');
  });
});

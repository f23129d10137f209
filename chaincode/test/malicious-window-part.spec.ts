import { expect } from 'chai';
import type { HemsContext } from '../src/lib/context';
import { identities } from './support/fake-ledger';
import { AuctionScenario, type Answer } from './support/auction';
import { expectRefusal, MINUTE, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * One utility runs modified chaincode on its own peer and endorses alone: Fabric lets it delete or
 * rewrite its own part of a trading window (the part's key-level policy names only its peer). The
 * other utility's orders must still clear once revealBy passed, exactly as without a silent
 * utility, and the window must stay readable.
 */

const windowId = 'w-forged';

/**
 * UtilityA's peer, running modified code, deletes (undefined), rewrites (text) or edits (a function
 * of the current part) its own part of the window.
 */
async function forgeOwnPart(
  s: AuctionScenario,
  value: string | undefined | ((current: Answer) => Answer),
): Promise<void> {
  const keyOf = (ctx: HemsContext): string => ctx.keys.windowOrg(windowId, UTILITY_A);
  if (typeof value === 'function') {
    await s.ledger.rewriteAlone(UTILITY_A, keyOf, (current) => value(current));
    return;
  }
  await s.ledger.writeAlone(UTILITY_A, (ctx) =>
    value === undefined
      ? ctx.stub.deleteState(keyOf(ctx))
      : ctx.stub.putState(keyOf(ctx), Buffer.from(value)),
  );
}

function part(values: Record<string, unknown>): string {
  return JSON.stringify({ windowId, org: UTILITY_A, charged: '0', paid: '0', refunded: '0', ...values });
}

const FORGERIES: readonly (readonly [string, string | undefined])[] = [
  ['deleted', undefined],
  ['bytes that are not JSON', '{"windowId":'],
  ['a part naming UtilityB', part({ org: UTILITY_B })],
  ['a part of another window', part({ windowId: 'w-other' })],
  ['negative amounts', part({ paid: '-5' })],
  [
    'revealed orders that are not orders',
    part({ revealed: { count: 1, orders: ['x'], revealedAt: 'now', txId: 't' } }),
  ],
  [
    'a revealed count that is not its orders',
    part({ revealed: { count: 3, orders: [], revealedAt: 'now', txId: 't' } }),
  ],
  [
    'a settlement naming a stranger as unreported',
    part({ settlement: { settledAt: 'now', txId: 't', unreportedOrgs: ['EvilMSP'] } }),
  ],
];

describe('a utility that forges its own part of a trading window', () => {
  for (const [what, forged] of FORGERIES) {
    it(`${what}: counts as a silent utility, and the other's orders clear after revealBy`, async () => {
      const s = await AuctionScenario.create();
      await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
      await s.reveal(windowId, UTILITY_B);
      await forgeOwnPart(s, forged);

      const view = await s.getWindow(windowId);
      expect(view.windowId).to.equal(windowId);
      await expectRefusal(
        s.clearWindow(windowId),
        'FAILED_PRECONDITION',
        /waits for the orders of UtilityAMSP/,
      );

      s.ledger.advance(10 * MINUTE);
      const summary = await s.clearWindow(windowId);
      expect(summary.excludedOrgs).to.deep.equal([UTILITY_A]);
      const clearing = await s.getClearing(windowId);
      expect(clearing.trades.map((trade) => [trade.sellerOrg, trade.buyerOrg, trade.energyWh])).to.deep.equal(
        [[UTILITY_B, UTILITY_B, 2000]],
      );
      await s.releaseEscrow(windowId, UTILITY_B);
    });
  }
});

describe('a utility that forges delivery totals beyond the public clearing', () => {
  const OPTIONS = { revealGapMs: 10 * MINUTE, reportGraceSeconds: 600 } as const;

  /** A cleared window in which B reports in full; A then forges its totals, or stays silent. */
  async function settledByB(forge: boolean): Promise<{ payment: Answer; view: Answer }> {
    const s = await AuctionScenario.create();
    const { clearing } = await s.clearedTradingWindow(windowId, OPTIONS);
    s.ledger.advance(25 * MINUTE); // the delivery's end
    await s.report(windowId, UTILITY_B, s.fullReadings(clearing.trades, UTILITY_B));
    if (forge) {
      const delivery = {
        deliveredWh: 10 ** 9,
        receivedWh: 0,
        sellerValue: (10n ** 30n).toString(),
        buyerCharge: '0',
        reportedAt: s.ledger.now.toISOString(),
        txId: 'f'.repeat(64),
      };
      await forgeOwnPart(s, (current) => ({ ...current, delivery }));
    }
    await expectRefusal(
      s.settle(windowId, UTILITY_B),
      'FAILED_PRECONDITION',
      /waits for the delivery reports of UtilityAMSP/,
    );
    s.ledger.advance(15 * MINUTE); // past reportBy
    await expectRefusal(
      s.settle(windowId, UTILITY_B),
      'FAILED_PRECONDITION',
      /waits for the delivery reports of UtilityAMSP/,
    );
    expect((await s.closeReports(windowId)).unreportedOrgs).to.deep.equal([UTILITY_A]);
    const payment = await s.settle(windowId, UTILITY_B);
    return { payment, view: await s.getWindow(windowId) };
  }

  it("counts as unreported: the other's sellers are paid exactly as if it had stayed silent", async () => {
    const silent = await settledByB(false);
    const forged = await settledByB(true);
    expect(forged.view.unreportedOrgs).to.deep.equal([UTILITY_A]);
    expect(forged.payment.sellersPaid).to.equal(silent.payment.sellersPaid);
    expect(BigInt(forged.payment.sellersPaid as string) > 0n).to.equal(true);
  });
});

describe('a utility that declares another one unreported in its own part', () => {
  const OPTIONS = { revealGapMs: 10 * MINUTE, reportGraceSeconds: 600 } as const;

  /** Both report in full; A first writes a settlement naming B as unreported into its own part. */
  async function paidToB(forge: boolean): Promise<{ s: AuctionScenario; payment: Answer }> {
    const s = await AuctionScenario.create();
    const { clearing } = await s.clearedTradingWindow(windowId, OPTIONS);
    s.ledger.advance(25 * MINUTE); // the delivery's end
    await s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A));
    if (forge) {
      await forgeOwnPart(s, (current) => ({
        ...current,
        settlement: {
          settledAt: s.ledger.now.toISOString(),
          txId: 'f'.repeat(64),
          unreportedOrgs: [UTILITY_B],
        },
      }));
    }
    await s.report(windowId, UTILITY_B, s.fullReadings(clearing.trades, UTILITY_B));
    return { s, payment: await s.settle(windowId, UTILITY_B) };
  }

  it("changes nothing: the other's report counts and its sellers are paid in full", async () => {
    const control = await paidToB(false);
    const forged = await paidToB(true);
    expect(forged.payment.sellersPaid).to.equal(control.payment.sellersPaid);
    expect(BigInt(forged.payment.sellersPaid as string) > 0n).to.equal(true);
    expect((await forged.s.getWindow(windowId)).unreportedOrgs).to.equal(undefined);
    // Not even past reportBy: only the majority-endorsed closure decides, and it counts B's report.
    forged.s.ledger.advance(15 * MINUTE);
    expect((await forged.s.closeReports(windowId)).unreportedOrgs).to.deep.equal([]);
  });

  it('cannot close the reports itself: the closure is the market operator’s, majority-endorsed', async () => {
    const s = await AuctionScenario.create();
    await s.clearedTradingWindow(windowId, OPTIONS);
    s.ledger.advance(40 * MINUTE); // past reportBy
    await expectRefusal(
      s.closeReports(windowId, identities.admin(UTILITY_A)),
      'FORBIDDEN',
      /CloseDeliveryReports is for the market operator/,
    );
    // Modified code on A's peer writes the closure into the window record: refused at validation.
    await expectRefusal(
      s.ledger.rewriteAlone(
        UTILITY_A,
        (ctx) => ctx.keys.window(windowId),
        (current) => ({ ...current, unreportedOrgs: [UTILITY_B] }),
      ),
      'ENDORSEMENT_POLICY_FAILURE',
      /hems\.window\/w-forged/,
    );
  });
});

describe('a utility that never settles', () => {
  const OPTIONS = { revealGapMs: 10 * MINUTE, reportGraceSeconds: 600 } as const;

  /** Both report (A's sellers deliver half: the pool keeps a grid share); B settles; then `rest`. */
  async function reportedWindow(): Promise<AuctionScenario> {
    const s = await AuctionScenario.create();
    const { clearing } = await s.clearedTradingWindow(windowId, OPTIONS);
    s.ledger.advance(25 * MINUTE); // the delivery's end
    await s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A, 0.5));
    await s.report(windowId, UTILITY_B, s.fullReadings(clearing.trades, UTILITY_B));
    await s.settle(windowId, UTILITY_B);
    return s;
  }

  it('cannot hold the grid share: from an hour after the closure it is claimed less a reserve for its sellers', async () => {
    const control = await reportedWindow();
    await control.settle(windowId, UTILITY_A);
    const whole = BigInt((await control.claimGridShare(windowId)).amount as string);
    expect(whole > 0n).to.equal(true);

    const s = await reportedWindow();
    await expectRefusal(s.claimGridShare(windowId), 'FAILED_PRECONDITION', /is not settled yet/);
    s.ledger.advance(15 * MINUTE); // past reportBy
    await s.closeReports(windowId);
    await expectRefusal(
      s.claimGridShare(windowId),
      'FAILED_PRECONDITION',
      /one hour after the delivery reports are closed/,
    );
    s.ledger.advance(60 * MINUTE);
    const pool = BigInt(((await s.getWindow(windowId)).pool as Answer).amount as string);
    const first = await s.claimGridShare(windowId);
    // A's counted report: seller value t1 + t2 at half delivery (1500 Wh x 600000).
    expect(first.reserved).to.equal('900000000');
    expect(BigInt(first.amount as string)).to.equal(pool - 900000000n);
    expect((await s.getWindow(windowId)).gridReserved).to.equal('900000000');
    await expectRefusal(s.claimGridShare(windowId), 'FAILED_PRECONDITION', /the rest of its grid share/);
    // A settles after all: the reserve covers its sellers, and the rest goes to the grid.
    await s.settle(windowId, UTILITY_A);
    expect(s.ledgerInvariants()).to.deep.equal([]);
    const rest = await s.claimGridShare(windowId);
    expect(BigInt(first.amount as string) + BigInt(rest.amount as string)).to.equal(whole);
    expect(rest.reserved).to.equal('0');
    const window = await s.getWindow(windowId);
    expect(window).to.include({ status: 'SETTLED', gridShare: whole.toString() });
    expect(window).to.not.have.property('gridReserved');
    await expectRefusal(s.claimGridShare(windowId), 'CONFLICT', /already claimed/);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });
});

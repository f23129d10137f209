import { expect } from 'chai';
import { MAX_TX_CLOCK_SKEW_MS } from '../src/lib/context';
import { identities } from './support/fake-ledger';
import { AuctionScenario } from './support/auction';
import { expectRefusal, MINUTE, Scenario, UTILITY_A } from './support/scenario';

/**
 * The client sets a transaction's time. The majority-endorsed steps that a deadline opens or
 * closes are refused by every honest endorser whose own clock is further than
 * MAX_TX_CLOCK_SKEW_MS from it: the DSO cannot forward-date a closure, a clearing, a dispatch or
 * a grid-share claim, nor a utility back-date a commitment after the close.
 */
const SKEW = new RegExp(`steps that a deadline opens or closes are endorsed only at their time`);

describe('transaction time of the deadline-driven majority steps', () => {
  const options = { revealGapMs: 10 * MINUTE, reportGraceSeconds: 600 } as const;

  it('refuses a commitment back-dated before the close by a utility whose peer clock is past it', async () => {
    const s = await AuctionScenario.create();
    await s.openWindow('w-late-commit', options);
    const closesAt = new Date((await s.getWindow('w-late-commit')).closesAt as string);
    const afterClose = new Date(closesAt.getTime() + MAX_TX_CLOCK_SKEW_MS + 1000);
    const listed = await s.orderCommitment('w-late-commit', UTILITY_A);
    const commit = (peerClock: Date): Promise<string> =>
      s.ledger.invoke(
        identities.relay(UTILITY_A),
        (ctx) => s.auction.CommitOrders(ctx, 'w-late-commit', String(listed.count), listed.digest),
        { at: new Date(closesAt.getTime() - 1000), peerClock },
      );
    await expectRefusal(commit(afterClose), 'FAILED_PRECONDITION', SKEW);
    // Within the tolerance (a slow endorsement) it goes through.
    const answer = JSON.parse(await commit(new Date(closesAt.getTime() + MAX_TX_CLOCK_SKEW_MS - 1000))) as {
      revision: number;
    };
    expect(answer.revision).to.equal(0);
  });

  it('refuses a forward-dated closure, clearing and grid-share claim', async () => {
    const s = await AuctionScenario.create();
    await s.clearedTradingWindow('w-early', options);
    const window = await s.getWindow('w-early');
    const reportBy = new Date(window.reportBy as string);
    const early = new Date(reportBy.getTime() - MAX_TX_CLOCK_SKEW_MS - 1000);
    await expectRefusal(
      s.ledger.invoke(identities.market(), (ctx) => s.auction.CloseDeliveryReports(ctx, 'w-early'), {
        at: reportBy,
        peerClock: early,
      }),
      'FAILED_PRECONDITION',
      SKEW,
    );
    await expectRefusal(
      s.ledger.invoke(identities.market(), (ctx) => s.auction.ClaimGridShare(ctx, 'w-early'), {
        at: new Date(reportBy.getTime() + 2 * 3600 * 1000),
        peerClock: reportBy,
      }),
      'FAILED_PRECONDITION',
      SKEW,
    );
    const t = await AuctionScenario.create();
    await t.tradingWindow('w-forward', undefined, options);
    const revealBy = new Date((await t.getWindow('w-forward')).revealBy as string);
    await expectRefusal(
      t.ledger.invoke(identities.market(), (ctx) => t.auction.ClearWindow(ctx, 'w-forward'), {
        at: revealBy,
        peerClock: t.ledger.now,
      }),
      'FAILED_PRECONDITION',
      /ClearWindow: the transaction time .* ahead of this peer's clock/,
    );
  });

  it('refuses a dispatch forward-dated past the deadline to go without the aggregates', async () => {
    const s = await Scenario.withSlot('slot-early');
    const deadline = new Date((await s.getSlot('slot-early')).deadline as string);
    await expectRefusal(
      s.ledger.invoke(
        identities.dso(),
        (ctx) => s.timeslot.PublishDispatch(ctx, 'slot-early', '0.5', '', ''),
        {
          at: deadline,
          peerClock: s.ledger.now,
        },
      ),
      'FAILED_PRECONDITION',
      /PublishDispatch: the transaction time/,
    );
  });
});

import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { AuctionScenario, CURRENCY } from './support/auction';
import { freshNonce, signPayload, type TestDevice } from './support/pki';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

/**
 * Orders, cancellations and available energy may change only while the utility has not revealed:
 * a transaction endorsed before the close can commit after the reveal, so the tx time is not
 * enough. These transactions read the utility's window record and the window key, which the
 * reveal and the clearing write, so a late commit fails Fabric's MVCC check.
 */
describe('auction: orders that arrive after the reveal', () => {
  const windowId = 'w-late';
  let s: AuctionScenario;
  let buyer: TestDevice;
  let seller: TestDevice;
  let buyerAccount: string;
  let closesAt: Date;
  /** A tx time just before the close: what a transaction endorsed in time carries. */
  let inTime: Date;

  const bid = (escrow: string): Parameters<AuctionScenario['submitOrder']>[2] => ({
    windowId,
    side: 'bid',
    energyKwh: 1,
    limitPrice: 50,
    escrow,
  });

  before(async () => {
    s = await AuctionScenario.create();
    buyer = await s.device(UTILITY_A, 'bus-1');
    seller = await s.device(UTILITY_A, 'bus-1');
    const opened = await s.openWindow(windowId, { revealGapMs: 10 * MINUTE });
    closesAt = new Date(opened.closesAt as string);
    inTime = new Date(closesAt.getTime() - 1000);
    buyerAccount = (await s.deposit(UTILITY_A, buyer.homeId, '1')).accountId;
    await s.openAccount(UTILITY_A, seller.homeId);
    await s.postAvailability(UTILITY_A, windowId, [{ homeId: seller.homeId, energyKwh: 2 }]);
    await s.submitOrder(UTILITY_A, seller, { windowId, side: 'offer', energyKwh: 2, limitPrice: 10 });
    await s.submitOrder(UTILITY_A, buyer, bid('0.1'));
  });

  it('commits an order endorsed before the close when nothing was revealed in between', async () => {
    const endorsed = await s.ledger.endorse(
      identities.relay(UTILITY_A),
      (ctx) => s.auction.SubmitOrder(ctx, windowId),
      { peer: UTILITY_A, transient: { ...s.signOrder(buyer, bid('0.2')) }, at: inTime },
    );
    s.ledger.now = closesAt;
    await endorsed.commit();
    expect((await s.account(buyerAccount)).escrows).to.deep.equal({ [windowId]: '2000000000' });
    // The order transaction read the utility's window record and the window key.
    const reads = s.ledger.lastCommitted().publicReads.map((key) => key.split('\u0000')[1]);
    expect(reads).to.include.members(['hems.window', 'hems.windoworg']);
  });

  it('fails at commit (MVCC) when the utility revealed after the endorsement, for orders, cancellations and availability', async () => {
    const replace = await s.ledger.endorse(
      identities.relay(UTILITY_A),
      (ctx) => s.auction.SubmitOrder(ctx, windowId),
      { peer: UTILITY_A, transient: { ...s.signOrder(buyer, bid('0.5')) }, at: inTime },
    );
    const cancel = await s.ledger.endorse(
      identities.relay(UTILITY_A),
      (ctx) => s.auction.CancelOrder(ctx, windowId),
      {
        peer: UTILITY_A,
        transient: {
          ...signPayload(
            buyer,
            Buffer.from(JSON.stringify({ windowId, action: 'cancel', nonce: freshNonce() })),
          ),
        },
        at: inTime,
      },
    );
    const post = await s.ledger.endorse(
      identities.meter(UTILITY_A),
      (ctx) => s.auction.PostAvailableEnergy(ctx, windowId),
      {
        peer: UTILITY_A,
        transient: { availability: JSON.stringify([{ homeId: seller.homeId, energyKwh: 1 }]) },
        at: inTime,
      },
    );
    await s.reveal(windowId, UTILITY_A);
    for (const late of [replace, cancel, post]) {
      await expectRefusal(late.commit(), 'MVCC_READ_CONFLICT', /hems\.windoworg\/w-late\/UtilityAMSP/);
    }
    // The revealed bid's escrow is the one it was revealed with.
    expect((await s.account(buyerAccount)).escrows).to.deep.equal({ [windowId]: '2000000000' });
  });

  it('refuses a back-dated order, cancellation or availability once the utility revealed', async () => {
    await expectRefusal(
      s.submitOrder(UTILITY_A, buyer, bid('0.5'), { at: inTime }),
      'FAILED_PRECONDITION',
      /^FAILED_PRECONDITION: window w-late is closed: UtilityAMSP has revealed its orders$/,
    );
    await expectRefusal(
      s.cancelOrder(UTILITY_A, buyer, windowId, { at: inTime }),
      'FAILED_PRECONDITION',
      /has revealed its orders/,
    );
    await expectRefusal(
      s.postAvailability(UTILITY_A, windowId, [{ homeId: seller.homeId, energyKwh: 1 }], { at: inTime }),
      'FAILED_PRECONDITION',
      /has revealed its orders/,
    );
    // B has not revealed: its relay may still (with an in-time tx) place an order.
    const other = await s.device(UTILITY_B, 'bus-1');
    await s.deposit(UTILITY_B, other.homeId, '1');
    await s.submitOrder(UTILITY_B, other, { ...bid('0.1') }, { at: inTime });
  });

  it('refuses them after the clearing, and the escrow the reveal saw is released in full', async () => {
    await s.reveal(windowId, UTILITY_B);
    await s.clear(windowId);
    await expectRefusal(
      s.submitOrder(UTILITY_B, await s.device(UTILITY_B, 'bus-1'), bid('0.5'), { at: inTime }),
      'FAILED_PRECONDITION',
      /^FAILED_PRECONDITION: window w-late is closed and cleared$/,
    );
    // The bid traded 1 kWh at 30 with the offer of A: 0.03 kept, the rest refunded.
    const released = await s.releaseEscrow(windowId, UTILITY_A);
    expect(released.refunded).to.equal((2n * 10n ** 9n - 300_000_000n).toString());
    expect((await s.account(buyerAccount)).escrows).to.deep.equal({ [windowId]: '300000000' });
    expect(s.ledgerInvariants()).to.deep.equal([]);
    expect(s.totalTokens()).to.equal(2n * CURRENCY);
  });
});

describe('auction: utilities that joined the channel after a window opened', () => {
  it('refuses their available energy and orders in that window (their escrow could never be released)', async () => {
    const s = await AuctionScenario.create();
    await s.openWindow('w-joined');
    // The channel's settings gain a third utility after the opening.
    await s.setUtilities([UTILITY_A, UTILITY_B, 'UtilityCMSP']);
    const late = 'UtilityCMSP';
    await expectRefusal(
      s.postAvailability(late, 'w-joined', [{ homeId: 'home-c', energyKwh: 1 }]),
      'FORBIDDEN',
      /UtilityCMSP was not a utility of the channel when window w-joined opened/,
    );
    const device = await s.device(UTILITY_A, 'bus-1');
    await expectRefusal(
      s.submitOrder(late, device, {
        windowId: 'w-joined',
        side: 'bid',
        energyKwh: 1,
        limitPrice: 1,
        escrow: '1',
      }),
      'FORBIDDEN',
      /was not a utility of the channel/,
    );
    await expectRefusal(s.cancelOrder(late, device, 'w-joined'), 'FORBIDDEN', /was not a utility/);
    // A window opened now includes it.
    const next = await s.openWindow('w-next');
    expect(next.orgs).to.deep.equal([UTILITY_A, UTILITY_B, late]);
  });
});

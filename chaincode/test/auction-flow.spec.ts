import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { AuctionScenario, CURRENCY, type Clearing } from './support/auction';
import { itemAt } from './support/lists';
import type { TestDevice } from './support/pki';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

const windowId = 'w-flow';

describe('auction: one window end to end', () => {
  let s: AuctionScenario;
  let d: Record<'prosumerA' | 'consumerA' | 'prosumerB' | 'consumerB', TestDevice>;
  let clearing: Clearing;
  let deposited: bigint;

  before(async () => {
    s = await AuctionScenario.create();
    d = await s.devices({
      prosumerA: UTILITY_A,
      consumerA: UTILITY_A,
      prosumerB: UTILITY_B,
      consumerB: UTILITY_B,
    });
  });

  it('opens a window (market operator) with WindowOpened and status OPEN', async () => {
    const opened = await s.openWindow(windowId);
    expect(opened.status).to.equal('OPEN');
    expect(opened.pricingRule).to.equal('pay-as-clear');
    expect(opened.orgs).to.deep.equal([UTILITY_A, UTILITY_B]);
    const tx = s.ledger.lastCommitted();
    expect(tx.events.map((event) => event.name)).to.deep.equal(['WindowOpened']);
    // Each utility's part of the window may only be changed by that utility's peer.
    const parts = [...s.ledger.validationParameters.keys()].filter((key) => key.includes('hems.windoworg'));
    expect(parts).to.have.length(2);
  });

  it('deposits tokens for the consumers and posts the prosumers’ available energy', async () => {
    const a = await s.deposit(UTILITY_A, d.consumerA.homeId, '1');
    const b = await s.deposit(UTILITY_B, d.consumerB.homeId, '1');
    expect(a.balance).to.equal(CURRENCY.toString());
    expect(a.accountId).to.match(/^acct-[0-9a-f]{32}$/);
    expect(b.mspId).to.equal(UTILITY_B);
    deposited = 2n * CURRENCY;
    // A prosumer needs an account to offer (and to be paid): opened with a deposit of 0.
    await s.openAccount(UTILITY_A, d.prosumerA.homeId);
    await s.openAccount(UTILITY_B, d.prosumerB.homeId);
    await s.postAvailability(UTILITY_A, windowId, [{ homeId: d.prosumerA.homeId, energyKwh: 5 }]);
    await s.postAvailability(UTILITY_B, windowId, [{ homeId: d.prosumerB.homeId, energyKwh: 4 }]);
  });

  it('accepts orders from both utilities; a bid escrows its escrow', async () => {
    await s.submitOrder(UTILITY_A, d.prosumerA, { windowId, side: 'offer', energyKwh: 5, limitPrice: 50 });
    await s.submitOrder(UTILITY_B, d.prosumerB, { windowId, side: 'offer', energyKwh: 4, limitPrice: 60 });
    await s.submitOrder(UTILITY_A, d.consumerA, {
      windowId,
      side: 'bid',
      energyKwh: 6,
      limitPrice: 80,
      escrow: '0.9',
    });
    await s.submitOrder(UTILITY_B, d.consumerB, {
      windowId,
      side: 'bid',
      energyKwh: 2,
      limitPrice: 55,
      escrow: '0.5',
    });
    const account = await s.myAccount(UTILITY_A, d.consumerA);
    expect(account.balance).to.equal(((CURRENCY * 1n) / 10n).toString());
    expect(account.escrowed).to.equal(((CURRENCY * 9n) / 10n).toString());
    expect(s.totalTokens()).to.equal(deposited);
    expect((await s.getWindow(windowId)).status).to.equal('OPEN');
  });

  it('reveals each utility’s orders after the close, then clears the window', async () => {
    s.ledger.advance(15 * MINUTE);
    expect((await s.getWindow(windowId)).status).to.equal('CLOSED');
    await s.reveal(windowId, UTILITY_A);
    await s.reveal(windowId, UTILITY_B, identities.admin(UTILITY_B));
    clearing = await s.clear(windowId);
    expect(clearing.clearingPrice).to.equal(700000);
    expect(
      clearing.trades.map((trade) => [trade.tradeId, trade.sellerOrg, trade.buyerOrg, trade.energyWh]),
    ).to.deep.equal([
      ['t1', UTILITY_A, UTILITY_A, 5000],
      ['t2', UTILITY_B, UTILITY_A, 1000],
    ]);
    expect(clearing.totals).to.deep.equal({
      offeredWh: 9000,
      bidWh: 8000,
      tradedWh: 6000,
      value: '4200000000',
    });
    const tx = s.ledger.lastCommitted();
    expect(tx.events.map((event) => event.name)).to.deep.equal(['WindowCleared']);
    expect((await s.getWindow(windowId)).status).to.equal('CLEARED');
    // The clearing writes no account: it is endorsed by a majority, the accounts by their utility.
    expect(tx.publicWrites.map((write) => write.key.split('\u0000')[1]).sort()).to.deep.equal([
      'hems.clearing',
      'hems.window',
    ]);
    expect(tx.endorsement).to.equal('majority');
    expect(s.totalTokens()).to.equal(deposited);
  });

  it('lets each utility release the escrow above its bids’ trades, once, on its own peer', async () => {
    expect((await s.myAccount(UTILITY_B, d.consumerB)).escrowed).to.equal(((CURRENCY * 5n) / 10n).toString());
    const released = await s.releaseEscrow(windowId, UTILITY_B);
    expect(released).to.include({ org: UTILITY_B, refunded: ((CURRENCY * 5n) / 10n).toString() });
    // The unmatched bid gets its whole escrow back; the matched one keeps the trades' value.
    expect(await s.myAccount(UTILITY_B, d.consumerB)).to.include({
      balance: CURRENCY.toString(),
      escrowed: '0',
    });
    await s.releaseEscrow(windowId, UTILITY_A);
    const buyer = await s.myAccount(UTILITY_A, d.consumerA);
    expect(buyer.escrowed).to.equal('4200000000');
    expect(buyer.escrows).to.deep.equal({ [windowId]: '4200000000' });
    expect(BigInt(buyer.balance)).to.equal(CURRENCY - 4_200_000_000n);
    const tx = s.ledger.lastCommitted();
    expect(tx.endorsement).to.equal('single');
    expect(tx.endorsers).to.deep.equal([UTILITY_A]);
    await expectRefusal(s.releaseEscrow(windowId, UTILITY_A), 'CONFLICT', /already released/);
    const parts = (await s.getWindow(windowId)).parts as {
      org: string;
      refunded: string;
      released?: unknown;
    }[];
    expect(parts.map((part) => [part.org, part.refunded, part.released !== undefined])).to.deep.equal([
      [UTILITY_A, ((CURRENCY * 9n) / 10n - 4_200_000_000n).toString(), true],
      [UTILITY_B, ((CURRENCY * 5n) / 10n).toString(), true],
    ]);
    expect(s.totalTokens()).to.equal(deposited);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('lets an auditor recompute the clearing and check every revealed order against its hash', async () => {
    const audit = await s.audit(windowId);
    expect(audit.matches).to.equal(true);
    expect(audit.ordersVerified).to.equal(4);
    expect(audit.ordersMismatched).to.deep.equal([]);
  });

  it('takes the delivery reports after the delivery period and settles in proportion', async () => {
    s.ledger.advance(15 * MINUTE);
    // The prosumer of A delivered 4 of its 5 kWh; everything else as traded.
    await s.report(windowId, UTILITY_A, [
      { tradeId: 't1', side: 'offer', energyKwh: 4 },
      { tradeId: 't1', side: 'bid', energyKwh: 5 },
      { tradeId: 't2', side: 'bid', energyKwh: 1 },
    ]);
    await s.report(windowId, UTILITY_B, [{ tradeId: 't2', side: 'offer', energyKwh: 1.5 }]);
    const window = await s.getWindow(windowId);
    const parts = window.parts as { org: string; delivery: Record<string, unknown> }[];
    expect(itemAt(parts, 0).delivery).to.include({
      deliveredWh: 4000,
      receivedWh: 6000,
      sellerValue: '2800000000',
      buyerCharge: '4200000000',
    });
    // Readings are clamped to the trade's energy.
    expect(itemAt(parts, 1).delivery).to.include({ deliveredWh: 1000, sellerValue: '700000000' });
    expect(window.pool).to.deep.equal({
      amount: '4200000000',
      charged: '4200000000',
      paid: '0',
      toGrid: '0',
    });
    expect(s.totalTokens()).to.equal(deposited);

    const first = await s.settle(windowId, UTILITY_A);
    expect(first.final).to.equal(false);
    expect(first.sellersPaid).to.equal('2800000000');
    expect((await s.getWindow(windowId)).status).to.equal('CLEARED');
    await expectRefusal(s.claimGridShare(windowId), 'FAILED_PRECONDITION', /not settled yet/);
    const last = await s.settle(windowId, UTILITY_B, identities.admin(UTILITY_B));
    expect(last.final).to.equal(true);
    expect(last.pool).to.deep.equal({
      amount: '700000000',
      charged: '4200000000',
      paid: '3500000000',
      toGrid: '0',
    });
    const tx = s.ledger.lastCommitted();
    expect(tx.events).to.deep.equal([
      { name: 'WindowSettled', payload: JSON.stringify({ final: true, org: UTILITY_B, windowId }) },
    ]);
    // Settling writes only the utility's own record and accounts: nothing of the window itself.
    expect(tx.publicWrites.every((write) => /hems\.windoworg|hems\.account/.test(write.key))).to.equal(true);
    expect(s.totalTokens()).to.equal(deposited);

    // The market operator collects what the pool kept (energy the grid supplied), once.
    for (const caller of [identities.dso(), identities.relay(), identities.auditor()]) {
      await expectRefusal(s.claimGridShare(windowId, caller), 'FORBIDDEN', /market operator/);
    }
    const claimed = await s.claimGridShare(windowId);
    expect(claimed).to.include({ account: 'grid:DSOMSP', amount: '700000000' });
    const claimTx = s.ledger.lastCommitted();
    expect(itemAt(claimTx.events, 0).name).to.equal('GridShareClaimed');
    await expectRefusal(s.claimGridShare(windowId), 'CONFLICT', /already claimed/);

    expect((await s.myAccount(UTILITY_A, d.prosumerA)).balance).to.equal('2800000000');
    expect((await s.myAccount(UTILITY_B, d.prosumerB)).balance).to.equal('700000000');
    const buyer = await s.myAccount(UTILITY_A, d.consumerA);
    expect(buyer).to.include({ escrowed: '0', balance: (CURRENCY - 4_200_000_000n).toString() });
    expect((await s.account('grid:DSOMSP')).balance).to.equal('700000000');
    const window2 = await s.getWindow(windowId);
    expect(window2.status).to.equal('SETTLED');
    expect(window2.pool).to.deep.equal({
      amount: '0',
      charged: '4200000000',
      paid: '3500000000',
      toGrid: '700000000',
    });
    expect(window2).to.include({ gridShare: '700000000' });
    expect(window2.settledAt).to.be.a('string');
    expect(s.totalTokens()).to.equal(deposited);
    expect(s.ledgerInvariants()).to.deep.equal([]);
    await expectRefusal(s.settle(windowId, UTILITY_A), 'CONFLICT', /already settled/);
  });

  it('lists windows with their status', async () => {
    const listed = JSON.parse(
      await s.ledger.evaluate(identities.auditor(), (ctx) => s.auction.ListWindows(ctx, '10', '')),
    ) as { windows: { windowId: string; status: string; deliverySlotId: string }[]; fetched: number };
    expect(listed.fetched).to.equal(1);
    expect(listed.windows[0]).to.include({ windowId, deliverySlotId: 'slot-1', status: 'SETTLED' });
    await expectRefusal(
      s.ledger.evaluate(identities.auditor(), (ctx) => s.auction.ListWindows(ctx, '0', '')),
      'INVALID_ARGUMENT',
    );
    await expectRefusal(
      s.ledger.evaluate(identities.auditor(), (ctx) => s.auction.ListWindows(ctx, '5', 'x'.repeat(1025))),
      'INVALID_ARGUMENT',
    );
  });
});

describe('auction: settlement when sellers delivered more than buyers received', () => {
  it('pays sellers floor(price x delivered x B/S) and never more than the buyers paid in', async () => {
    const s = await AuctionScenario.create();
    const seller1 = await s.device(UTILITY_A, 'bus-1');
    const seller2 = await s.device(UTILITY_B, 'bus-1');
    const buyer = await s.device(UTILITY_B, 'bus-1');
    await s.openWindow('w-short', { pricingRule: 'pay-as-bid' });
    await s.placeOrders('w-short', [
      { org: UTILITY_A, device: seller1, side: 'offer', energyKwh: 3, limitPrice: 10 },
      { org: UTILITY_B, device: seller2, side: 'offer', energyKwh: 3, limitPrice: 20 },
      {
        org: UTILITY_B,
        device: buyer,
        side: 'bid',
        energyKwh: 6,
        limitPrice: 33.3333,
        escrow: '0.2',
        deposit: '10',
      },
    ]);
    s.ledger.advance(15 * MINUTE);
    await s.revealAll('w-short');
    const clearing = await s.clear('w-short');
    expect(clearing.clearingPrice).to.equal(null);
    expect(clearing.trades.map((trade) => trade.price)).to.deep.equal([333333, 333333]);
    s.ledger.advance(15 * MINUTE);
    // The buyer received only 4 of 6 kWh; both sellers delivered in full.
    await s.report('w-short', UTILITY_A, [{ tradeId: 't1', side: 'offer', energyKwh: 3 }]);
    await s.report('w-short', UTILITY_B, [
      { tradeId: 't1', side: 'bid', energyKwh: 2 },
      { tradeId: 't2', side: 'bid', energyKwh: 2 },
      { tradeId: 't2', side: 'offer', energyKwh: 3 },
    ]);
    await s.settle('w-short', UTILITY_B);
    const last = await s.settle('w-short', UTILITY_A);
    const charge = 4000n * 333333n;
    const value = 3000n * 333333n;
    const expected = (value * charge) / (2n * value);
    expect((await s.myAccount(UTILITY_A, seller1)).balance).to.equal(expected.toString());
    expect((await s.myAccount(UTILITY_B, seller2)).balance).to.equal(expected.toString());
    expect(last.final).to.equal(true);
    expect((await s.claimGridShare('w-short')).amount).to.equal((charge - 2n * expected).toString());
    // The buyer's escrow above its charge went back at its utility's delivery report.
    expect(await s.myAccount(UTILITY_B, buyer)).to.include({
      escrowed: '0',
      balance: (10n * CURRENCY - charge).toString(),
    });
    expect(s.totalTokens()).to.equal(10n * CURRENCY);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('settles a window without trades at the clearing', async () => {
    const s = await AuctionScenario.create();
    await s.openWindow('w-empty');
    s.ledger.advance(15 * MINUTE);
    await s.revealAll('w-empty');
    const clearing = await s.clear('w-empty');
    expect(clearing.trades).to.deep.equal([]);
    expect((await s.getWindow('w-empty')).status).to.equal('SETTLED');
    await expectRefusal(s.settle('w-empty', UTILITY_A), 'FAILED_PRECONDITION', /no trades/);
    // Nothing to claim, but the claim is recorded once, without creating a grid account.
    expect((await s.claimGridShare('w-empty')).amount).to.equal('0');
    await expectRefusal(s.account('grid:DSOMSP'), 'NOT_FOUND');
  });
});

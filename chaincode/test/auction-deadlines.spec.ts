import { expect } from 'chai';
import { storedOrderFromBytes } from '@hems/protocol';
import { clearingFromBytes, windowFromBytes } from '../src/auction/window';
import { identities } from './support/fake-ledger';
import { AuctionScenario, CURRENCY, type Clearing, type TradingDevices } from './support/auction';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

/**
 * Deadlines of a window: from revealBy (= deliveryStart) the operator may clear without the
 * utilities that have not revealed; from reportBy (= deliveryEnd + reportGraceSeconds) a utility
 * may settle without the delivery reports still missing. One utility's silence cannot lock the
 * others' escrows or payments.
 *
 * Timeline of `tradingWindow` here: close at +15 min (where it leaves the clock), delivery from
 * +25 to +40 min (revealBy = +25), reportBy = +40 min + 10 min of grace = +50.
 */
const WINDOW = { revealGapMs: 10 * MINUTE, reportGraceSeconds: 600 } as const;

function parts(window: Record<string, unknown>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    (window.parts as Record<string, unknown>[]).map((part) => [part.org as string, part]),
  );
}

function settlementOf(window: Record<string, unknown>, org: string): Record<string, unknown> | undefined {
  return parts(window)[org]?.settlement as Record<string, unknown> | undefined;
}

describe('auction deadlines: the window spec', () => {
  let s: AuctionScenario;
  before(async () => {
    s = await AuctionScenario.create();
  });

  it('sets revealBy to deliveryStart and reportBy to deliveryEnd + reportGraceSeconds (default 3600)', async () => {
    const opened = await s.openWindow('w-default', { revealGapMs: 5 * MINUTE });
    expect(opened.revealBy).to.equal(opened.deliveryStart);
    expect(Date.parse(opened.reportBy as string) - Date.parse(opened.deliveryEnd as string)).to.equal(
      3600 * 1000,
    );
    const window = await s.getWindow('w-default');
    expect(window).to.include({ revealBy: opened.revealBy, reportBy: opened.reportBy });
    expect(window).not.to.have.property('reportGraceSeconds');
    for (const grace of [0, 604800]) {
      const edge = await s.openWindow(`w-grace-${grace}`, { reportGraceSeconds: grace });
      expect(Date.parse(edge.reportBy as string) - Date.parse(edge.deliveryEnd as string)).to.equal(
        grace * 1000,
      );
    }
  });

  it('refuses a reportGraceSeconds that is not a whole number of seconds from 0 to 7 days', async () => {
    for (const grace of [-1, 604801, 1.5, '3600', null, Number.MAX_SAFE_INTEGER + 2]) {
      await expectRefusal(
        s.openWindow('w-bad-grace', { reportGraceSeconds: grace }),
        'INVALID_ARGUMENT',
        /spec\.reportGraceSeconds must be (a whole number|between 0 and 604800)/,
      );
    }
  });
});

describe('auction deadlines: clearing without a utility that did not reveal', () => {
  const windowId = 'w-silent';
  let s: AuctionScenario;
  let devices: TradingDevices;
  let revealBy: Date;

  before(async () => {
    s = await AuctionScenario.create();
    devices = await s.tradingWindow(windowId, undefined, WINDOW);
    revealBy = new Date((await s.getWindow(windowId)).revealBy as string);
    await s.reveal(windowId, UTILITY_A);
  });

  it('refuses the clearing before revealBy while a utility has not revealed', async () => {
    await expectRefusal(
      s.clear(windowId),
      'FAILED_PRECONDITION',
      /waits for the orders of UtilityBMSP to be revealed \(from 2026-11-21T10:25:00\.000Z on it may be cleared without them\)/,
    );
    await expectRefusal(
      s.ledger.invoke(identities.market(), (ctx) => s.auction.ClearWindow(ctx, windowId), {
        at: new Date(revealBy.getTime() - 1),
      }),
      'FAILED_PRECONDITION',
      /waits for the orders of UtilityBMSP/,
    );
  });

  it('clears without it from revealBy on; its reveal endorsed before the clearing fails at commit', async () => {
    s.ledger.now = revealBy;
    const refs = await s.listOrderRefs(windowId, UTILITY_B);
    const clearing = await s.ledger.endorse(identities.market(), (ctx) =>
      s.auction.ClearWindow(ctx, windowId),
    );
    const lateReveal = await s.ledger.endorse(
      identities.relay(UTILITY_B),
      (ctx) => s.auction.RevealOrders(ctx, windowId),
      { peer: UTILITY_B, transient: { refs: JSON.stringify(refs) } },
    );
    const summary = JSON.parse(await clearing.commit()) as Record<string, unknown>;
    await expectRefusal(lateReveal.commit(), 'MVCC_READ_CONFLICT', /hems\.window\/w-silent/);
    expect(summary).to.deep.include({ excludedOrgs: [UTILITY_B], droppedRevoked: 0, trades: 1 });
    // Only A's orders traded: A's seller (3 kWh at 40) with A's buyer (2 kWh at 90).
    const published = await s.getClearing(windowId);
    expect(published.excludedOrgs).to.deep.equal([UTILITY_B]);
    expect(published.orders).to.equal(2);
    expect(published.trades.map((trade) => [trade.sellerOrg, trade.buyerOrg, trade.energyWh])).to.deep.equal([
      [UTILITY_A, UTILITY_A, 2000],
    ]);
    expect((await s.getWindow(windowId)).tradeOrgs).to.deep.equal([UTILITY_A]);
  });

  it('refuses the excluded utility’s reveal after the clearing, with the way to its escrows', async () => {
    await expectRefusal(
      s.reveal(windowId, UTILITY_B),
      'FAILED_PRECONDITION',
      /cleared without the orders of UtilityBMSP, which were not revealed by 2026-11-21T10:25:00\.000Z: they do not trade; ReleaseEscrow with transient accounts refunds their escrows/,
    );
    // A utility that revealed in time gets the usual conflict.
    await expectRefusal(s.reveal(windowId, UTILITY_A), 'CONFLICT', /already revealed/);
  });

  it('lets the excluded utility refund every escrow of its orders with ReleaseEscrow', async () => {
    const total = s.totalTokens();
    const buyerB = await s.accountIdOf(UTILITY_B, devices.buyerB.homeId);
    const sellerB = await s.accountIdOf(UTILITY_B, devices.sellerB.homeId);
    const first = await s.releaseEscrow(windowId, UTILITY_B);
    expect(first).to.include({ refunded: '0', unrevealedAccounts: 0 });
    await expectRefusal(
      s.releaseEscrow(windowId, UTILITY_B, { accounts: [sellerB] }),
      'FAILED_PRECONDITION',
      /accounts\[0\] holds no escrow/,
    );
    const refund = await s.releaseEscrow(windowId, UTILITY_B, { accounts: [buyerB] });
    expect(refund).to.include({ refunded: (CURRENCY / 2n).toString(), unrevealedAccounts: 1 });
    expect(await s.account(buyerB)).to.include({ balance: CURRENCY.toString(), escrowed: '0' });
    expect(parts(await s.getWindow(windowId))[UTILITY_B]).to.include({
      refunded: (CURRENCY / 2n).toString(),
    });
    expect(parts(await s.getWindow(windowId))[UTILITY_B]).not.to.have.property('revealed');
    expect(s.totalTokens()).to.equal(total);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('a clearing endorsed while a reveal commits fails at commit, and clears with it on retry', async () => {
    const t = await AuctionScenario.create();
    await t.tradingWindow('w-race', undefined, WINDOW);
    await t.reveal('w-race', UTILITY_A);
    t.ledger.now = new Date((await t.getWindow('w-race')).revealBy as string);
    const clearing = await t.ledger.endorse(identities.market(), (ctx) =>
      t.auction.ClearWindow(ctx, 'w-race'),
    );
    await t.reveal('w-race', UTILITY_B);
    await expectRefusal(clearing.commit(), 'MVCC_READ_CONFLICT', /hems\.windoworg\/w-race\/UtilityBMSP/);
    const summary = await t.clearWindow('w-race');
    expect(summary).to.deep.include({ excludedOrgs: [], trades: 3 });
  });
});

describe('auction deadlines: settling without a delivery report', () => {
  const windowId = 'w-unreported';
  let s: AuctionScenario;
  let devices: TradingDevices;
  let clearing: Clearing;
  let reportBy: Date;

  before(async () => {
    s = await AuctionScenario.create();
    ({ devices, clearing } = await s.clearedTradingWindow(windowId, WINDOW));
    reportBy = new Date((await s.getWindow(windowId)).reportBy as string);
    // Trades at 60: t1 A→A 2 kWh, t2 A→B 1 kWh, t3 B→B 2 kWh. B releases the padding of its bid.
    await s.releaseEscrow(windowId, UTILITY_B);
    s.ledger.now = new Date((await s.getWindow(windowId)).deliveryEnd as string);
    await s.report(windowId, UTILITY_A, s.fullReadings(clearing.trades, UTILITY_A));
  });

  it('refuses the settlement while a utility with trades has not reported and the reports are open', async () => {
    const waits =
      /waits for the delivery reports of UtilityBMSP \(from 2026-11-21T10:50:00\.000Z on the market operator closes the reports, CloseDeliveryReports, and the window settles without them\)/;
    await expectRefusal(s.settle(windowId, UTILITY_A), 'FAILED_PRECONDITION', waits);
    // Past reportBy too: no single utility decides whose report is missing.
    s.ledger.now = reportBy;
    await expectRefusal(s.settle(windowId, UTILITY_A), 'FAILED_PRECONDITION', waits);
  });

  it('refuses the closure before reportBy, and to anyone but the market operator', async () => {
    const t = await AuctionScenario.create();
    await t.clearedTradingWindow('w-early', WINDOW);
    await expectRefusal(
      t.closeReports('w-early'),
      'FAILED_PRECONDITION',
      /the delivery reports of window w-early are due until 2026-11-21T10:50:00\.000Z/,
    );
    t.ledger.now = new Date((await t.getWindow('w-early')).reportBy as string);
    for (const caller of [identities.relay(UTILITY_A), identities.admin(UTILITY_B), identities.auditor()]) {
      await expectRefusal(
        t.closeReports('w-early', caller),
        'FORBIDDEN',
        /CloseDeliveryReports is for the market operator/,
      );
    }
    expect((await t.getWindow('w-early')).reportsClosedAt).to.equal(undefined);
  });

  it('a closure and the missing report racing at reportBy: whichever commits second fails (MVCC)', async () => {
    const t = await AuctionScenario.create();
    const race = async (id: string): Promise<{ trades: Clearing['trades'] }> => {
      const { trades } = (await t.clearedTradingWindow(id, WINDOW)).clearing;
      t.ledger.now = new Date((await t.getWindow(id)).deliveryEnd as string);
      await t.report(id, UTILITY_A, t.fullReadings(trades, UTILITY_A));
      t.ledger.now = new Date((await t.getWindow(id)).reportBy as string);
      return { trades };
    };
    const endorseClose = (id: string): ReturnType<typeof t.ledger.endorse> =>
      t.ledger.endorse(identities.market(), (ctx) => t.auction.CloseDeliveryReports(ctx, id));
    const endorseReport = (id: string, trades: Clearing['trades']): ReturnType<typeof t.ledger.endorse> =>
      t.ledger.endorse(identities.meter(UTILITY_B), (ctx) => t.auction.ReportDelivery(ctx, id), {
        peer: UTILITY_B,
        transient: { readings: JSON.stringify(t.fullReadings(trades, UTILITY_B)) },
      });

    // The report commits first: the closure read B's part without it and fails; on retry it
    // closes with every report counted.
    const first = await race('w-race-1');
    const close1 = await endorseClose('w-race-1');
    await (await endorseReport('w-race-1', first.trades)).commit();
    await expectRefusal(close1.commit(), 'MVCC_READ_CONFLICT', /hems\.windoworg\/w-race-1\/UtilityBMSP/);
    expect((await t.closeReports('w-race-1')).unreportedOrgs).to.deep.equal([]);
    expect((await t.settle('w-race-1', UTILITY_A)).sellersPaid).to.equal('1800000000');

    // The closure commits first: the report endorsed before it read the window and fails, and a
    // new one is refused.
    const second = await race('w-race-2');
    const report2 = await endorseReport('w-race-2', second.trades);
    await (await endorseClose('w-race-2')).commit();
    await expectRefusal(report2.commit(), 'MVCC_READ_CONFLICT', /hems\.window\/w-race-2/);
    await expectRefusal(
      t.report('w-race-2', UTILITY_B, t.fullReadings(second.trades, UTILITY_B)),
      'FAILED_PRECONDITION',
      /were closed at .*: UtilityBMSP's report no longer counts; ReleaseEscrow refunds the escrows of its bids/,
    );
    await expectRefusal(t.closeReports('w-race-2'), 'CONFLICT', /were closed at/);
    expect(t.ledgerInvariants()).to.deep.equal([]);
  });

  it('once closed, settles on the reports that are in: the missing one counts as nothing delivered or received', async () => {
    s.ledger.now = reportBy;
    const closure = await s.closeReports(windowId);
    expect(closure).to.include({ windowId, reportsClosedAt: reportBy.toISOString() });
    expect(closure.unreportedOrgs).to.deep.equal([UTILITY_B]);
    expect(await s.getWindow(windowId)).to.deep.include({
      unreportedOrgs: [UTILITY_B],
      reportsClosedAt: reportBy.toISOString(),
    });
    const total = s.totalTokens();
    const settled = await s.settle(windowId, UTILITY_A);
    // B = A's buyer charge (t1: 2000 Wh x 600000), S = A's seller value (t1 + t2: 3000 Wh x
    // 600000), f = 2/3: A's seller is paid 0.12 of its 0.18.
    expect(settled.sellersPaid).to.equal('1200000000');
    expect(settled.final).to.equal(false);
    expect(settled.pool).to.include({ amount: '0', charged: '1200000000', paid: '1200000000' });
    expect((await s.myAccount(UTILITY_A, devices.sellerA)).balance).to.equal('1200000000');
    expect(s.totalTokens()).to.equal(total);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('then refuses the missing report, and ReleaseEscrow refunds what its bids still held', async () => {
    await expectRefusal(
      s.report(windowId, UTILITY_B, s.fullReadings(clearing.trades, UTILITY_B)),
      'FAILED_PRECONDITION',
      /the delivery reports of window w-unreported were closed at 2026-11-21T10:50:00\.000Z \(due by 2026-11-21T10:50:00\.000Z\): UtilityBMSP's report no longer counts; ReleaseEscrow refunds the escrows of its bids/,
    );
    const buyerB = await s.myAccount(UTILITY_B, devices.buyerB);
    // B's bid kept the value of t2 and t3 (3 kWh at 60) after its first release.
    expect(buyerB.escrows).to.deep.equal({ [windowId]: '1800000000' });
    const released = await s.releaseEscrow(windowId, UTILITY_B);
    expect(released).to.include({ refunded: '1800000000' });
    expect(await s.myAccount(UTILITY_B, devices.buyerB)).to.include({
      escrowed: '0',
      balance: CURRENCY.toString(),
    });
    await expectRefusal(s.releaseEscrow(windowId, UTILITY_B), 'CONFLICT', /already released/);
    // A reported: its reports were not closed, its release is the usual conflict.
    await expectRefusal(s.releaseEscrow(windowId, UTILITY_A), 'CONFLICT', /already released/);
  });

  it('lets the unreported utility settle with nothing paid, and the window is SETTLED', async () => {
    const settled = await s.settle(windowId, UTILITY_B);
    expect(settled).to.include({ sellersPaid: '0', final: true });
    const window = await s.getWindow(windowId);
    expect(window.status).to.equal('SETTLED');
    expect(settlementOf(window, UTILITY_A)).to.not.have.property('unreportedOrgs');
    expect((await s.claimGridShare(windowId)).amount).to.equal('0');
    expect((await s.myAccount(UTILITY_B, devices.sellerB)).balance).to.equal('0');
    expect(s.totalTokens()).to.equal(2n * CURRENCY);
    for (const [key, value] of s.ledger.state) {
      if (key.includes('hems.account')) {
        expect((JSON.parse(value.toString('utf8')) as { escrowed: string }).escrowed).to.equal('0');
      }
    }
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('an unreported utility that settles first refunds its bids’ escrows in the settlement', async () => {
    const t = await AuctionScenario.create();
    const d = (await t.clearedTradingWindow('w-none-reported', WINDOW)).devices;
    t.ledger.now = new Date((await t.getWindow('w-none-reported')).reportBy as string);
    expect((await t.closeReports('w-none-reported')).unreportedOrgs).to.deep.equal([UTILITY_A, UTILITY_B]);
    const b = await t.settle('w-none-reported', UTILITY_B);
    expect(b).to.include({ sellersPaid: '0', refunded: (CURRENCY / 2n).toString(), final: false });
    expect(b.released).to.be.an('object');
    const a = await t.settle('w-none-reported', UTILITY_A);
    expect(a).to.include({ sellersPaid: '0', final: true });
    for (const device of [d.buyerA, d.buyerB]) {
      const org = device === d.buyerA ? UTILITY_A : UTILITY_B;
      expect(await t.myAccount(org, device)).to.include({ balance: CURRENCY.toString(), escrowed: '0' });
    }
    expect((await t.getWindow('w-none-reported')).status).to.equal('SETTLED');
    expect(t.totalTokens()).to.equal(2n * CURRENCY);
    expect(t.ledgerInvariants()).to.deep.equal([]);
  });

  it('a back-dated report that slips in after the closure changes no one’s payment', async () => {
    const t = await AuctionScenario.create();
    const { devices: d, clearing } = await t.clearedTradingWindow('w-backdated', WINDOW);
    const trades = clearing.trades;
    const window = await t.getWindow('w-backdated');
    t.ledger.now = new Date(window.deliveryEnd as string);
    await t.report('w-backdated', UTILITY_A, t.fullReadings(trades, UTILITY_A));
    t.ledger.now = new Date(window.reportBy as string);
    await t.closeReports('w-backdated');
    expect((await t.settle('w-backdated', UTILITY_A)).sellersPaid).to.equal('1200000000');
    // B's meter head-end stamps its report before reportBy: the window record refuses it anyway.
    await expectRefusal(
      t.report('w-backdated', UTILITY_B, t.fullReadings(trades, UTILITY_B), {
        at: new Date(Date.parse(window.reportBy as string) - 1000),
      }),
      'FAILED_PRECONDITION',
      /were closed at/,
    );
    const b = await t.settle('w-backdated', UTILITY_B);
    expect(b).to.include({ sellersPaid: '0', final: true });
    expect((await t.claimGridShare('w-backdated')).amount).to.equal('0');
    expect((await t.myAccount(UTILITY_B, d.sellerB)).balance).to.equal('0');
    expect(t.totalTokens()).to.equal(2n * CURRENCY);
    expect(t.ledgerInvariants()).to.deep.equal([]);
  });
});

describe('auction deadlines: records stored before the deadlines existed', () => {
  it('reads an older window with the default deadlines, an older clearing with nothing excluded', () => {
    const window = windowFromBytes(
      Buffer.from(
        JSON.stringify({
          windowId: 'w-old',
          deliverySlotId: 'slot-1',
          deliveryStart: '2026-11-21T10:15:00.000Z',
          deliveryEnd: '2026-11-21T10:30:00.000Z',
          closesAt: '2026-11-21T10:15:00.000Z',
          pricingRule: 'pay-as-clear',
          openedAt: '2026-11-21T10:00:00.000Z',
          openTxId: 'tx',
          operatorMspId: 'DSOMSP',
          orgs: [UTILITY_A, UTILITY_B],
        }),
      ),
    );
    expect(window).to.include({ revealBy: '2026-11-21T10:15:00.000Z', reportBy: '2026-11-21T11:30:00.000Z' });
    const clearing = clearingFromBytes(
      Buffer.from(
        JSON.stringify({
          windowId: 'w-old',
          pricingRule: 'pay-as-clear',
          clearingPrice: null,
          orders: 0,
          trades: [],
          totals: { offeredWh: 0, bidWh: 0, tradedWh: 0, value: '0' },
          clearedAt: '2026-11-21T10:20:00.000Z',
          txId: 'tx',
        }),
      ),
    );
    expect(clearing).to.deep.include({ excludedOrgs: [], droppedRevoked: 0 });
    // An order stored without the device serial is read as it was (never left out as revoked).
    const order = storedOrderFromBytes(
      Buffer.from(
        JSON.stringify({ windowId: 'w-old', orderRef: 'r', accountId: 'a', payload: '{}', submittedAt: 1 }),
      ),
    );
    expect(order.deviceSerial).to.equal(undefined);
    expect(() =>
      storedOrderFromBytes(
        Buffer.from(
          JSON.stringify({
            windowId: 'w',
            orderRef: 'r',
            accountId: 'a',
            payload: '{}',
            submittedAt: 1,
            deviceSerial: 7,
          }),
        ),
      ),
    ).to.throw(/device serial/);
  });
});

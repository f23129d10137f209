import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson, collectionOf, orderCommitment } from '@hems/protocol';
import { identities } from './support/fake-ledger';
import type { TestDevice } from './support/pki';
import { AuctionScenario, type Answer, type Clearing, type TradingDevices } from './support/auction';
import { expectRefusal, MINUTE, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * Sealed means committed: each utility commits (majority-endorsed) to its sealed orders before the
 * close, and the clearing checks what majority code can check without identifying a home. Here
 * UtilityA runs modified chaincode on its own peer and endorses alone: it writes orders and its
 * part of the window as it likes. B's orders must clear exactly as against an honest A, or
 * without A's orders, never against orders A made up.
 */

const windowId = 'w-sealed';
const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A bid as A's modified peer would store it: for an account that does not exist, no escrow. */
function madeUpBid(serial = 'ABCDEF01'): { ref: string; bytes: string } {
  const ref = randomBytes(32).toString('hex');
  const payload = JSON.stringify({
    windowId,
    side: 'bid',
    energyKwh: 5,
    limitPrice: 200,
    escrow: '1',
    nonce: randomBytes(16).toString('base64'),
  });
  const stored = {
    windowId,
    orderRef: ref,
    accountId: `acct-${randomBytes(16).toString('hex')}`,
    payload,
    submittedAt: Date.parse('2026-11-21T10:00:00Z'),
    ...(serial === '' ? {} : { deviceSerial: serial }),
  };
  return { ref, bytes: canonicalJson(stored) };
}

/** A's modified peer writes `bytes` as a sealed order in its own collection (no device, no escrow). */
async function plantOwnOrder(s: AuctionScenario, order: { ref: string; bytes: string }): Promise<void> {
  await s.ledger.writeAlone(UTILITY_A, async (ctx) => {
    await ctx.stub.putPrivateData(
      collectionOf(UTILITY_A),
      ctx.keys.order(windowId, order.ref),
      Buffer.from(order.bytes),
    );
  });
}

/** A's modified peer rewrites its own part of the window. */
async function rewriteOwnPart(s: AuctionScenario, edit: (current: Answer) => Answer): Promise<void> {
  await s.ledger.rewriteAlone(UTILITY_A, (ctx) => ctx.keys.windowOrg(windowId, UTILITY_A), edit);
}

/** The trades as [seller org, buyer org, Wh]. */
function tradesOf(clearing: Clearing): [string, string, number][] {
  return clearing.trades.map((trade) => [trade.sellerOrg, trade.buyerOrg, trade.energyWh]);
}

/** The honest window: both commit and reveal; its trades are the control. */
async function honestTrades(): Promise<[string, string, number][]> {
  const s = await AuctionScenario.create();
  await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
  await s.revealAll(windowId);
  return tradesOf(await s.clear(windowId));
}

describe('sealed orders: commitments before the close', () => {
  let s: AuctionScenario;
  let devices: TradingDevices;

  beforeEach(async () => {
    s = await AuctionScenario.create();
    devices = await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
  });

  it('records each utility’s count and digest in a majority-written key, shown with an event', async () => {
    const key = `\u0000hems.windowcommit\u0000${windowId}\u0000${UTILITY_A}\u0000`;
    const record = JSON.parse(s.ledger.state.get(key)!.toString('utf8')) as Answer;
    const listed = await s.orderCommitment(windowId, UTILITY_A);
    expect(record).to.include({ windowId, org: UTILITY_A, count: 2, digest: listed.digest, revision: 0 });
    // The key carries no key-level policy: the chaincode's majority policy applies.
    expect(s.ledger.keyPolicyOrgs(key)).to.equal(undefined);
    const event = s.ledger.committed.flatMap((tx) => tx.events).find((e) => e.name === 'OrdersCommitted');
    expect(JSON.parse(event!.payload)).to.deep.equal({ windowId, org: UTILITY_A, count: 2 });
    // Privacy: the commitment's transaction carries no order's side, energy, price, account,
    // nonce or reference in its writes, reads, events or response (its arguments: count, digest).
    const orders = [...s.ledger.collection(collectionOf(UTILITY_A))]
      .filter(([k]) => k.startsWith(`\u0000hems.order\u0000${windowId}\u0000`))
      .map(
        ([, value]) =>
          JSON.parse(value.toString('utf8')) as { orderRef: string; accountId: string; payload: string },
      );
    const commitTx = s.ledger.committed.find((tx) => tx.events.some((e) => e.name === 'OrdersCommitted'));
    expect(commitTx).to.not.equal(undefined);
    const text = JSON.stringify(commitTx);
    for (const order of orders) {
      const payload = JSON.parse(order.payload) as { nonce: string };
      for (const secret of [order.orderRef, order.accountId, payload.nonce, order.payload]) {
        expect(text).to.not.include(secret);
      }
    }
    expect(text).to.not.match(/"side"|limitPrice|energyKwh/);
  });

  it('refuses a commitment after the close, malformed ones, and other roles', async () => {
    await expectRefusal(
      s.commit(windowId, UTILITY_A, { at: s.ledger.now }),
      'FAILED_PRECONDITION',
      /closed at .*: orders are committed before the close; those not committed do not trade/,
    );
    for (const [count, digest, pattern] of [
      ['-1', 'a'.repeat(64), /count must be a whole number of orders from 0 to 5000/],
      ['5001', 'a'.repeat(64), /count must be/],
      ['1.5', 'a'.repeat(64), /count must be/],
      ['1', 'A'.repeat(64), /digest must be 64 lower-case hexadecimal characters/],
      ['1', 'abc', /digest must be/],
    ] as const) {
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) =>
          s.auction.CommitOrders(ctx, windowId, count, digest),
        ),
        'INVALID_ARGUMENT',
        pattern,
      );
    }
    for (const caller of [
      identities.meter(UTILITY_A),
      identities.market(),
      identities.auditor(),
      identities.device(UTILITY_A),
    ]) {
      await expectRefusal(
        s.ledger.invoke(caller, (ctx) => s.auction.CommitOrders(ctx, windowId, '1', 'a'.repeat(64))),
        'FORBIDDEN',
        /CommitOrders is for a utility's relay or admin identity/,
      );
    }
  });

  it('refuses further orders and cancellations of a utility once it committed', async () => {
    const t = await AuctionScenario.create();
    const seller = await t.device(UTILITY_A, 'bus-1');
    await t.openWindow('w-frozen');
    await t.placeOrders('w-frozen', [
      { org: UTILITY_A, device: seller, side: 'offer', energyKwh: 1, limitPrice: 10 },
    ]);
    await t.commit('w-frozen', UTILITY_A, { at: t.ledger.now });
    await expectRefusal(
      t.submitOrder(UTILITY_A, seller, { windowId: 'w-frozen', side: 'offer', energyKwh: 1, limitPrice: 12 }),
      'FAILED_PRECONDITION',
      /UtilityAMSP has committed to its orders of window w-frozen .*orders and cancellations are closed/,
    );
    await expectRefusal(t.cancelOrder(UTILITY_A, seller, 'w-frozen'), 'FAILED_PRECONDITION', /has committed/);
    // A commitment may be made again until the close; the last one counts.
    expect(await t.commit('w-frozen', UTILITY_A, { at: t.ledger.now })).to.include({ revision: 1, count: 1 });
  });

  it('an order endorsed before the commitment and committed after it fails (MVCC on the commitment key)', async () => {
    const t = await AuctionScenario.create();
    const seller = await t.device(UTILITY_A, 'bus-1');
    await t.openWindow('w-race');
    await t.openAccount(UTILITY_A, seller.homeId);
    await t.postAvailability(UTILITY_A, 'w-race', [{ homeId: seller.homeId, energyKwh: 1 }]);
    const signed = t.signOrder(seller, { windowId: 'w-race', side: 'offer', energyKwh: 1, limitPrice: 10 });
    const late = await t.ledger.endorse(
      identities.relay(UTILITY_A),
      (ctx) => t.auction.SubmitOrder(ctx, 'w-race'),
      {
        peer: UTILITY_A,
        transient: { ...signed },
      },
    );
    await t.commit('w-race', UTILITY_A, { at: t.ledger.now });
    await expectRefusal(late.commit(), 'MVCC_READ_CONFLICT', /hems\.windowcommit\/w-race\/UtilityAMSP/);
  });

  it('a utility without a commitment at the close is left out at once, without waiting for revealBy', async () => {
    const t = await AuctionScenario.create();
    const d = await t.devices({ seller: UTILITY_A, buyer: UTILITY_B, sellerB: UTILITY_B });
    await t.openWindow('w-uncommitted', { revealGapMs: 10 * MINUTE });
    await t.placeOrders('w-uncommitted', [
      { org: UTILITY_A, device: d.seller, side: 'offer', energyKwh: 2, limitPrice: 10 },
      { org: UTILITY_B, device: d.sellerB, side: 'offer', energyKwh: 1, limitPrice: 30 },
      { org: UTILITY_B, device: d.buyer, side: 'bid', energyKwh: 1, limitPrice: 50, escrow: '0.5' },
    ]);
    await t.commit('w-uncommitted', UTILITY_B, { at: t.ledger.now });
    t.ledger.advance(15 * MINUTE);
    await expectRefusal(
      t.ledger.invoke(identities.relay(UTILITY_A), (ctx) => t.auction.RevealOrders(ctx, 'w-uncommitted'), {
        transient: { refs: JSON.stringify(await t.listOrderRefs('w-uncommitted', UTILITY_A)) },
      }),
      'FAILED_PRECONDITION',
      /UtilityAMSP did not commit to its orders of window w-uncommitted before the close: they do not trade; ReleaseEscrow/,
    );
    await t.reveal('w-uncommitted', UTILITY_B);
    const summary = await t.clearWindow('w-uncommitted');
    expect(summary).to.deep.include({ excludedOrgs: [UTILITY_A] });
    expect(summary.checks).to.deep.include({ uncommittedOrgs: [UTILITY_A] });
    expect(tradesOf(await t.getClearing('w-uncommitted'))).to.deep.equal([[UTILITY_B, UTILITY_B, 1000]]);
  });

  it('its commitment cannot be written by one utility alone (refused at validation)', async () => {
    await expectRefusal(
      s.ledger.writeAlone(UTILITY_A, async (ctx) => {
        await ctx.stub.putState(
          ctx.keys.windowCommitment(windowId, UTILITY_A),
          Buffer.from(JSON.stringify({ windowId, org: UTILITY_A, count: 3, digest: 'a'.repeat(64) })),
        );
      }),
      'ENDORSEMENT_POLICY_FAILURE',
      /hems\.windowcommit\/w-sealed\/UtilityAMSP/,
    );
    expect(devices.buyerA.homeId).to.be.a('string');
  });
});

describe('sealed orders: a utility that adds orders after seeing the others’', () => {
  it('is left out when its reveal does not give its commitment; the others clear without it', async () => {
    const s = await AuctionScenario.create();
    await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
    await s.reveal(windowId, UTILITY_B);
    // Having read B's orders, A plants a high bid after the close and reveals it with its own.
    await s.reveal(windowId, UTILITY_A);
    const bid = madeUpBid();
    await plantOwnOrder(s, bid);
    await rewriteOwnPart(s, (part) => {
      const revealed = part.revealed as { orders: string[]; count: number };
      return {
        ...part,
        revealed: { ...revealed, orders: [...revealed.orders, bid.bytes], count: revealed.count + 1 },
      };
    });
    const summary = await s.clearWindow(windowId);
    expect(summary.excludedOrgs).to.deep.equal([UTILITY_A]);
    expect(summary.checks).to.deep.include({ unmatchedOrgs: [UTILITY_A], uncommittedOrgs: [] });
    expect(tradesOf(await s.getClearing(windowId))).to.deep.equal([[UTILITY_B, UTILITY_B, 2000]]);
    expect(await s.audit(windowId)).to.include({ matches: true, sameResult: true });
  });

  it('its honest code refuses a reveal that does not give the commitment', async () => {
    const s = await AuctionScenario.create();
    await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
    await plantOwnOrder(s, madeUpBid());
    await expectRefusal(
      s.reveal(windowId, UTILITY_A),
      'CONFLICT',
      /the listed orders of UtilityAMSP do not give its commitment of window w-sealed \(2 orders\): list the orders again/,
    );
  });
});

describe('sealed orders: orders a utility made up before the close', () => {
  /** A window in which A's collection also holds `extra` before A commits; B is honest. */
  async function windowWith(extra: readonly { ref: string; bytes: string }[]): Promise<AuctionScenario> {
    const s = await AuctionScenario.create();
    const d = await s.devices({ sellerB: UTILITY_B, buyerB: UTILITY_B, sellerA: UTILITY_A });
    await s.openWindow(windowId, { revealGapMs: 10 * MINUTE });
    await s.placeOrders(windowId, [
      { org: UTILITY_A, device: d.sellerA, side: 'offer', energyKwh: 1, limitPrice: 60 },
      { org: UTILITY_B, device: d.sellerB, side: 'offer', energyKwh: 2, limitPrice: 50 },
      { org: UTILITY_B, device: d.buyerB, side: 'bid', energyKwh: 1, limitPrice: 55, escrow: '0.5' },
    ]);
    for (const order of extra) {
      await plantOwnOrder(s, order);
    }
    await s.commitAll(windowId);
    s.ledger.advance(15 * MINUTE);
    await s.revealAll(windowId);
    return s;
  }

  it('a bid for an account that does not exist, without escrow, is left out as unfunded', async () => {
    const bid = madeUpBid();
    const s = await windowWith([bid]);
    const summary = await s.clearWindow(windowId);
    expect(summary.checks).to.deep.include({ unfundedBids: [bid.ref], unverifiedOrders: [] });
    // B's seller trades with B's buyer only, as without the made-up bid.
    expect(tradesOf(await s.getClearing(windowId))).to.deep.equal([[UTILITY_B, UTILITY_B, 1000]]);
    const audit = await s.audit(windowId);
    expect(audit).to.include({ matches: true });
    expect(audit.ordersUnverified).to.deep.equal([]);
  });

  it('an order without the serial of a device is left out (it cannot be checked against revocations)', async () => {
    const s = await windowWith([madeUpBid('')]);
    const summary = await s.clearWindow(windowId);
    expect(summary.droppedRevoked).to.equal(1);
    expect(tradesOf(await s.getClearing(windowId))).to.deep.equal([[UTILITY_B, UTILITY_B, 1000]]);
  });

  it('a revealed order whose private-data hash is not on the ledger is left out, and audited as missing, not purged', async () => {
    const s = await AuctionScenario.create();
    const d = await s.devices({ sellerB: UTILITY_B, buyerB: UTILITY_B });
    await s.openWindow(windowId, { revealGapMs: 10 * MINUTE });
    await s.placeOrders(windowId, [
      { org: UTILITY_B, device: d.sellerB, side: 'offer', energyKwh: 2, limitPrice: 50 },
      { org: UTILITY_B, device: d.buyerB, side: 'bid', energyKwh: 1, limitPrice: 55, escrow: '0.5' },
    ]);
    // A commits to an order that was never written to its collection, then reveals it.
    const ghost = madeUpBid();
    const { count, digest } = orderCommitment([{ orderRef: ghost.ref, orderHash: sha256(ghost.bytes) }]);
    await s.commit(windowId, UTILITY_A, { at: s.ledger.now, count, digest });
    await s.commit(windowId, UTILITY_B, { at: s.ledger.now });
    s.ledger.advance(15 * MINUTE);
    await s.reveal(windowId, UTILITY_B);
    await s.reveal(windowId, UTILITY_A).catch(() => undefined);
    await rewriteOwnPart(s, (part) => ({
      ...part,
      revealed: {
        count: 1,
        orders: [ghost.bytes],
        withdrawn: [],
        revealedAt: s.ledger.now.toISOString(),
        txId: 'f'.repeat(64),
      },
    }));
    const summary = await s.clearWindow(windowId);
    expect(summary.checks).to.deep.include({ unverifiedOrders: [ghost.ref], unmatchedOrgs: [] });
    expect(tradesOf(await s.getClearing(windowId))).to.deep.equal([[UTILITY_B, UTILITY_B, 1000]]);
    const audit = await s.audit(windowId);
    expect(audit).to.include({ matches: true, ordersPurged: 0 });
    expect(audit.ordersUnverified).to.deep.equal([ghost.ref]);
  });

  it('control: the same window without made-up orders trades B against A’s real offer too', async () => {
    const s = await windowWith([]);
    await s.clearWindow(windowId);
    expect(tradesOf(await s.getClearing(windowId))).to.deep.equal([[UTILITY_B, UTILITY_B, 1000]]);
    expect(await honestTrades()).to.have.length.greaterThan(0);
  });
});

describe('sealed orders: a revealed order does not identify its home', () => {
  it('carries the order reference, pseudonymous account, payload, time and device serial only', async () => {
    const s = await AuctionScenario.create();
    const devices = await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
    await s.revealAll(windowId);
    const parts = [...s.ledger.state]
      .filter(([key]) => key.includes('hems.windoworg'))
      .map(([, value]) => value.toString('utf8'));
    for (const text of parts) {
      for (const device of Object.values(devices) as TestDevice[]) {
        expect(text).to.not.include(device.homeId);
      }
      expect(text).to.not.match(/BEGIN CERTIFICATE|certificate|signature/i);
    }
    const orders = parts.flatMap(
      (text) => ((JSON.parse(text) as Answer).revealed as { orders: string[] }).orders,
    );
    for (const order of orders) {
      expect(Object.keys(JSON.parse(order) as object).sort()).to.deep.equal([
        'accountId',
        'deviceSerial',
        'orderRef',
        'payload',
        'submittedAt',
        'windowId',
      ]);
    }
  });
});

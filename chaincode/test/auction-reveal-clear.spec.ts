import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { orderCommitment } from '@hems/protocol';
import { identities } from './support/fake-ledger';
import { AuctionScenario } from './support/auction';
import { itemAt } from './support/lists';
import { MINUTE, UTILITY_A, UTILITY_B, callersOtherThan, expectRefusal } from './support/scenario';

const windowId = 'w-reveal';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('auction: reveal, clearing and audit', () => {
  let s: AuctionScenario;

  before(async () => {
    s = await AuctionScenario.create();
    await s.openWindow('w-early', { closeInMs: 60 * MINUTE });
    // Delivery starts 10 minutes after the close: until then the clearing waits for every reveal.
    await s.tradingWindow(windowId, undefined, { revealGapMs: 10 * MINUTE });
  });

  it('refuses a reveal before the close', async () => {
    await expectRefusal(s.reveal('w-early', UTILITY_A), 'FAILED_PRECONDITION', /orders stay sealed/);
  });

  it('refuses a reveal to the wrong roles and on another org’s peer', async () => {
    for (const { caller, peer } of callersOtherThan(['relay', 'admin'])) {
      await expectRefusal(
        s.ledger.invoke(caller, (ctx) => s.auction.RevealOrders(ctx, windowId), {
          peer,
          transient: { refs: '[]' },
        }),
        'FORBIDDEN',
      );
    }
    await expectRefusal(
      s.ledger.invoke(identities.relay(UTILITY_B), (ctx) => s.auction.RevealOrders(ctx, windowId), {
        peer: UTILITY_A,
        transient: { refs: '[]' },
      }),
      'FORBIDDEN',
      /own organization/,
    );
  });

  it('refuses malformed or stale reference lists', async () => {
    const cases: [string, string, RegExp][] = [
      ['{}', 'INVALID_ARGUMENT', /refs must be a JSON array/],
      ['["x"]', 'INVALID_ARGUMENT', /refs\[0\] must be 64 lowercase hexadecimal/],
      [JSON.stringify(['a'.repeat(64), 'a'.repeat(64)]), 'INVALID_ARGUMENT', /twice/],
      [JSON.stringify(['b'.repeat(64)]), 'CONFLICT', /list the orders again/],
      ['[', 'INVALID_ARGUMENT', /not valid JSON/],
    ];
    for (const [refs, code, pattern] of cases) {
      await expectRefusal(
        s.ledger.invoke(identities.relay(), (ctx) => s.auction.RevealOrders(ctx, windowId), {
          transient: { refs },
        }),
        code,
        pattern,
      );
    }
  });

  it('refuses the clearing before every utility revealed, and to anyone but the market operator', async () => {
    await expectRefusal(s.clear('w-early'), 'FAILED_PRECONDITION', /is open until/);
    await expectRefusal(s.clear(windowId), 'FAILED_PRECONDITION', /UtilityAMSP, UtilityBMSP to be revealed/);
    await s.reveal(windowId, UTILITY_A);
    await expectRefusal(s.clear(windowId), 'FAILED_PRECONDITION', /of UtilityBMSP to be revealed/);
    await expectRefusal(s.audit(windowId), 'FAILED_PRECONDITION', /not cleared yet/);
  });

  it('writes the exact private bytes of each order into the utility’s window record, once per utility', async () => {
    const before = s.ledger.committed.length;
    await s.reveal(windowId, UTILITY_B);
    const tx = s.ledger.committedAt(before);
    // One public write, to the record OpenTradingWindow created with a policy naming B's peer.
    expect(tx.publicWrites).to.have.length(1);
    expect(tx.endorsement).to.equal('single');
    const write = itemAt(tx.publicWrites, 0);
    expect(s.ledger.keyPolicyOrgs(write.key)).to.deep.equal([UTILITY_B]);
    const record = JSON.parse(write.value) as { revealed: { count: number; orders: string[] } };
    expect(record.revealed.count).to.equal(2);
    expect(record.revealed.orders).to.have.length(2);
    const collection = s.ledger.collection(`${UTILITY_B}PrivateCollection`);
    for (const text of record.revealed.orders) {
      const ref = (JSON.parse(text) as { orderRef: string }).orderRef;
      const privateValue = collection.get([...collection.keys()].find((key) => key.includes(ref))!)!;
      expect(sha256(Buffer.from(text, 'utf8'))).to.equal(sha256(privateValue));
    }
    // GetWindow shows the count, not the orders' bytes.
    const parts = (await s.getWindow(windowId)).parts as { revealed: Record<string, unknown> }[];
    expect(Object.keys(itemAt(parts, 1).revealed).sort()).to.deep.equal(['count', 'revealedAt', 'txId']);
    expect(tx.events).to.deep.equal([
      { name: 'OrdersRevealed', payload: JSON.stringify({ count: 2, org: UTILITY_B, windowId }) },
    ]);
    await expectRefusal(s.reveal(windowId, UTILITY_B), 'CONFLICT', /already revealed/);
  });

  it('refuses the clearing to other roles, then clears once', async () => {
    for (const caller of [identities.dso(), identities.relay(), identities.auditor(), identities.admin()]) {
      await expectRefusal(s.clear(windowId, caller), 'FORBIDDEN', /market operator/);
    }
    const clearing = await s.clear(windowId);
    // Bids: A 2 kWh at 90, B 4 kWh at 70; offers: A 3 kWh at 40, B 2 kWh at 50.
    expect(clearing.trades.map((trade) => [trade.sellerOrg, trade.buyerOrg, trade.energyWh])).to.deep.equal([
      [UTILITY_A, UTILITY_A, 2000],
      [UTILITY_A, UTILITY_B, 1000],
      [UTILITY_B, UTILITY_B, 2000],
    ]);
    expect(clearing.clearingPrice).to.equal(600000);
    await expectRefusal(s.clear(windowId), 'CONFLICT', /already cleared/);
    expect(s.ledgerInvariants()).to.deep.equal([]);
    const published = JSON.parse(
      await s.ledger.evaluate(identities.relay(UTILITY_B), (ctx) => s.auction.GetClearing(ctx, windowId)),
    ) as { trades: unknown[] };
    expect(published.trades).to.have.length(3);
  });

  it('audits to a match, and detects revealed bytes that differ from the private-data hash', async () => {
    const audit = await s.audit(windowId, identities.relay(UTILITY_B));
    expect(audit).to.include({ matches: true, sameResult: true, ordersVerified: 4, ordersPurged: 0 });
    // Tamper with one revealed order in public state: the hash no longer matches, and the
    // recomputed clearing differs from the published one.
    const key = [...s.ledger.state.keys()].find((k) => k.includes('hems.windoworg') && k.includes(windowId))!;
    const original = s.ledger.state.get(key)!;
    const part = JSON.parse(original.toString('utf8')) as { revealed: { orders: string[] } };
    const order = JSON.parse(itemAt(part.revealed.orders, 0)) as { payload: string };
    const payload = JSON.parse(order.payload) as { limitPrice: number };
    payload.limitPrice = payload.limitPrice === 40 ? 45 : payload.limitPrice + 1;
    part.revealed.orders[0] = JSON.stringify({ ...order, payload: JSON.stringify(payload) });
    s.ledger.state.set(key, Buffer.from(JSON.stringify(part)));
    // The part no longer gives A's commitment: the audit recomputes without A's orders.
    const tampered = await s.audit(windowId);
    expect(tampered).to.include({ matches: false, sameResult: false, ordersVerified: 2 });
    expect(
      (tampered.recomputed as { checks: { unmatchedOrgs: string[] } }).checks.unmatchedOrgs,
    ).to.deep.equal([UTILITY_A]);
    s.ledger.state.set(key, original);
    expect((await s.audit(windowId)).matches).to.equal(true);
    await expectRefusal(s.audit(windowId, identities.outsider()), 'FORBIDDEN');
  });

  it('audits orders purged from the collections (blockToLive) as purged, not as mismatches', async () => {
    // blockToLive purges the private order and its hash: getPrivateDataHash answers nothing.
    const collection = s.ledger.collection(`${UTILITY_A}PrivateCollection`);
    const orderKeys = [...collection.keys()].filter((key) => key.includes('hems.order\u0000w-reveal'));
    expect(orderKeys).to.have.length(2);
    const saved = orderKeys.map((key) => [key, collection.get(key)!] as const);
    collection.delete(itemAt(orderKeys, 0));
    const purged = await s.audit(windowId);
    expect(purged).to.include({ matches: true, sameResult: true, ordersVerified: 3, ordersPurged: 1 });
    expect(purged.ordersMismatched).to.deep.equal([]);
    // Once all are purged, the match rests on the recomputed clearing alone.
    collection.delete(itemAt(orderKeys, 1));
    expect(await s.audit(windowId)).to.include({ matches: true, ordersVerified: 2, ordersPurged: 2 });
    // A published clearing that the revealed orders do not give is still detected.
    const clearingKey = [...s.ledger.state.keys()].find((key) => key.includes('hems.clearing'))!;
    const original = s.ledger.state.get(clearingKey)!;
    const published = JSON.parse(original.toString('utf8')) as { clearingPrice: number };
    s.ledger.state.set(clearingKey, Buffer.from(JSON.stringify({ ...published, clearingPrice: 1 })));
    expect(await s.audit(windowId)).to.include({ matches: false, sameResult: false, ordersPurged: 2 });
    s.ledger.state.set(clearingKey, original);
    for (const [key, value] of saved) {
      collection.set(key, value);
    }
    expect(await s.audit(windowId)).to.include({ matches: true, ordersVerified: 4, ordersPurged: 0 });
  });

  it('ReleaseEscrow: refused before the clearing, to other identities and on another peer', async () => {
    await expectRefusal(s.releaseEscrow('w-early', UTILITY_A), 'FAILED_PRECONDITION', /not cleared yet/);
    for (const caller of [identities.meter(), identities.dso(), identities.market(), identities.auditor()]) {
      await expectRefusal(s.releaseEscrow(windowId, UTILITY_A, { caller, peer: caller.mspId }), 'FORBIDDEN');
    }
    await expectRefusal(
      s.releaseEscrow(windowId, UTILITY_A, { caller: identities.relay(UTILITY_B), peer: UTILITY_A }),
      'FORBIDDEN',
      /own organization/,
    );
    await expectRefusal(s.releaseEscrow('w-none', UTILITY_A), 'NOT_FOUND');
  });

  it('ReleaseEscrow: keeps exactly the value of each revealed bid’s trades, once', async () => {
    const total = s.totalTokens();
    // A bids 2 kWh at 90 with 0.5 escrow and buys 2 kWh at 60: it keeps 0.12 (2000 Wh x 600000).
    const released = await s.releaseEscrow(windowId, UTILITY_A, { caller: identities.admin() });
    expect(released).to.include({ refunded: '3800000000', unrevealedAccounts: 0 });
    await expectRefusal(s.releaseEscrow(windowId, UTILITY_A), 'CONFLICT', /already released/);
    expect(s.totalTokens()).to.equal(total);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('ReleaseEscrow: refunds in full the escrow of orders a utility did not reveal, for listed accounts', async () => {
    const t = await AuctionScenario.create();
    const buyer = await t.device(UTILITY_A, 'bus-1');
    const revealedBuyer = await t.device(UTILITY_A, 'bus-1');
    const account = (await t.deposit(UTILITY_A, buyer.homeId, '1')).accountId;
    const revealedAccount = (await t.deposit(UTILITY_A, revealedBuyer.homeId, '1')).accountId;
    const foreign = (await t.deposit(UTILITY_B, buyer.homeId, '1')).accountId;
    const idle = (await t.openAccount(UTILITY_A, (await t.device(UTILITY_A, 'bus-1')).homeId)).accountId;
    await t.openWindow('w-withheld');
    for (const device of [buyer, revealedBuyer]) {
      await t.submitOrder(UTILITY_A, device, {
        windowId: 'w-withheld',
        side: 'bid',
        energyKwh: 1,
        limitPrice: 10,
        escrow: '0.3',
      });
    }
    const refs = await t.listOrderRefs('w-withheld', UTILITY_A);
    // A's gateway committed to revealedBuyer's order alone (the other one committed while it
    // was committing, and it did not commit again): only that one can be revealed.
    const collection = t.ledger.collection(`${UTILITY_A}PrivateCollection`);
    const bytesOf = (ref: string): Buffer =>
      collection.get([...collection.keys()].find((key) => key.includes(ref))!)!;
    const revealedRef = refs.filter(
      (ref) =>
        (JSON.parse(bytesOf(ref).toString('utf8')) as { accountId: string }).accountId === revealedAccount,
    );
    expect(revealedRef).to.have.length(1);
    const { count, digest } = orderCommitment(
      revealedRef.map((ref) => ({ orderRef: ref, orderHash: sha256(bytesOf(ref)) })),
    );
    await t.commit('w-withheld', UTILITY_A, { count, digest });
    t.ledger.advance(15 * MINUTE);
    await t.ledger.invoke(identities.relay(), (ctx) => t.auction.RevealOrders(ctx, 'w-withheld'), {
      transient: { refs: JSON.stringify(revealedRef) },
    });
    await t.reveal('w-withheld', UTILITY_B);
    await t.clear('w-withheld');
    // The clearing refunds nothing: the withheld order's escrow stays locked until A releases it.
    expect(await t.account(account)).to.include({ escrowed: '3000000000' });
    const cases: [unknown, string, RegExp][] = [
      [[revealedAccount], 'INVALID_ARGUMENT', /accounts\[0\] has a revealed order/],
      [[foreign], 'FORBIDDEN', /accounts\[0\] belongs to another organization/],
      [[`acct-${'0'.repeat(32)}`], 'NOT_FOUND', /accounts\[0\] does not exist/],
      [[idle], 'FAILED_PRECONDITION', /accounts\[0\] holds no escrow/],
      [['grid:DSOMSP'], 'INVALID_ARGUMENT', /home account id/],
      [[account, account], 'INVALID_ARGUMENT', /twice/],
      [{ account }, 'INVALID_ARGUMENT', /must be a JSON array/],
      [new Array(1001).fill(account), 'INVALID_ARGUMENT', /larger than 40002 bytes/],
    ];
    for (const [accounts, code, pattern] of cases) {
      await expectRefusal(
        t.ledger.invoke(identities.relay(), (ctx) => t.auction.ReleaseEscrow(ctx, 'w-withheld'), {
          endorsement: 'single',
          transient: { accounts: JSON.stringify(accounts) },
        }),
        code,
        pattern,
      );
    }
    const released = await t.releaseEscrow('w-withheld', UTILITY_A, { accounts: [account] });
    expect(released).to.include({ refunded: '6000000000', unrevealedAccounts: 1 });
    expect(await t.account(account)).to.include({ escrowed: '0', balance: '10000000000' });
    expect(await t.account(revealedAccount)).to.include({ escrowed: '0', balance: '10000000000' });
    // Listing accounts again is possible after the release of the revealed bids; nothing else is.
    await expectRefusal(
      t.releaseEscrow('w-withheld', UTILITY_A, { accounts: [account] }),
      'FAILED_PRECONDITION',
      /holds no escrow/,
    );
    await expectRefusal(t.releaseEscrow('w-withheld', UTILITY_A), 'CONFLICT', /already released/);
    expect(t.ledgerInvariants()).to.deep.equal([]);
  });
});

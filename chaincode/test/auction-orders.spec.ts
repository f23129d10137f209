import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { freshNonce, issueDevice, signPayload, type TestDevice } from './support/pki';
import { MAX_OPEN_ESCROWS } from '../src/token/token-ledger';
import { AuctionScenario, CURRENCY, type OrderInput } from './support/auction';
import { MINUTE, UTILITY_A, UTILITY_B, callersOtherThan, expectRefusal } from './support/scenario';

const windowId = 'w-orders';

/** A bid of 1 kWh at 10 per MWh in the shared window (worth 0.01), with `change` applied. */
function bid(change: Partial<OrderInput> = {}): OrderInput {
  return { windowId, side: 'bid', energyKwh: 1, limitPrice: 10, escrow: '0.5', ...change };
}

/** An offer of `energyKwh` at `limitPrice` in the shared window. */
function offer(energyKwh: number, limitPrice: number): OrderInput {
  return { windowId, side: 'offer', energyKwh, limitPrice };
}

/**
 * Every caller A's order paths refuse: all but A's relay on A's peer, and B's relay on its own
 * peer too (A's devices are not B's).
 */
function notARelayOfA(): { caller: TestIdentity; peer: string }[] {
  return [...callersOtherThan(['relay']), { caller: identities.relay(UTILITY_B), peer: UTILITY_B }];
}

describe('auction: opening a window', () => {
  let s: AuctionScenario;
  before(async () => {
    s = await AuctionScenario.create();
  });

  it('is refused to anyone but the market operator', async () => {
    for (const caller of [
      identities.dso(),
      identities.relay(),
      identities.admin(),
      identities.auditor(),
      identities.device(),
      identities.outsider(),
      { mspId: UTILITY_A, role: 'market' },
    ]) {
      await expectRefusal(s.openWindow('w-role', {}, caller), 'FORBIDDEN', /market operator/);
    }
  });

  it('validates the window id and every field of the spec', async () => {
    const now = s.ledger.now.getTime();
    const at = (minutes: number): string => new Date(now + minutes * MINUTE).toISOString();
    const good = { deliverySlotId: 's1', deliveryStart: at(20), deliveryEnd: at(35), closesAt: at(15) };
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', '{', /spec is not valid JSON/],
      ['an array', [], /spec must be a JSON object/],
      ['an unknown field', { ...good, price: 1 }, /unknown field/],
      ['a bad slot id', { ...good, deliverySlotId: '../x' }, /deliverySlotId/],
      ['a time without zone', { ...good, closesAt: '2026-11-21T10:15:00' }, /closesAt must be an RFC 3339/],
      ['a number for a time', { ...good, deliveryStart: 5 }, /deliveryStart must be a string/],
      ['a close in the past', { ...good, closesAt: at(-1) }, /after the transaction time/],
      ['a close at the transaction time', { ...good, closesAt: at(0) }, /after the transaction time/],
      [
        'a close too far ahead',
        {
          ...good,
          closesAt: at(8 * 24 * 60),
          deliveryStart: at(9 * 24 * 60),
          deliveryEnd: at(9 * 24 * 60 + 15),
        },
        /7 days/,
      ],
      ['a delivery before the close', { ...good, deliveryStart: at(10) }, /deliveryStart must not be before/],
      ['an empty delivery', { ...good, deliveryEnd: at(20) }, /deliveryEnd must be after/],
      ['a delivery over a day', { ...good, deliveryEnd: at(20 + 25 * 60) }, /24 hours/],
      ['an unknown pricing rule', { ...good, pricingRule: 'pay-as-you-wish' }, /pricingRule/],
    ];
    for (const [, spec, pattern] of cases) {
      const text = typeof spec === 'string' ? spec : JSON.stringify(spec);
      await expectRefusal(
        s.ledger.invoke(identities.market(), (ctx) => s.auction.OpenTradingWindow(ctx, 'w-bad', text)),
        'INVALID_ARGUMENT',
        pattern,
      );
    }
    await expectRefusal(
      s.ledger.invoke(identities.market(), (ctx) =>
        s.auction.OpenTradingWindow(ctx, 'x'.repeat(70), JSON.stringify(good)),
      ),
      'INVALID_ARGUMENT',
      /windowId/,
    );
    await expectRefusal(
      s.ledger.invoke(identities.market(), (ctx) =>
        s.auction.OpenTradingWindow(ctx, 'w-big', ' '.repeat(5000)),
      ),
      'INVALID_ARGUMENT',
      /larger than/,
    );
    expect(s.ledger.state.size).to.equal(
      [...s.ledger.state.keys()].filter((key) => !key.includes('hems.window')).length,
    );
  });

  it('opens a window once; a second one with the same id is a conflict', async () => {
    const opened = await s.openWindow('w-once', { pricingRule: 'pay-as-bid' });
    expect(opened).to.include({
      windowId: 'w-once',
      pricingRule: 'pay-as-bid',
      operatorMspId: 'DSOMSP',
      status: 'OPEN',
    });
    await expectRefusal(s.openWindow('w-once'), 'CONFLICT', /already exists/);
  });

  it('answers GetWindow to members only, and NOT_FOUND for an unknown window', async () => {
    await expectRefusal(s.getWindow('w-none'), 'NOT_FOUND', /does not exist/);
    await expectRefusal(s.getWindow('w-once', identities.outsider()), 'FORBIDDEN');
    expect((await s.getWindow('w-once', identities.relay(UTILITY_B))).status).to.equal('OPEN');
  });
});

describe('auction: available energy and orders', () => {
  let s: AuctionScenario;
  let d: Record<'prosumer' | 'consumer' | 'poor', TestDevice>;
  let consumerAccount: string;

  before(async () => {
    s = await AuctionScenario.create();
    d = await s.devices({ prosumer: UTILITY_A, consumer: UTILITY_A, poor: UTILITY_A });
    await s.openWindow(windowId);
    consumerAccount = (await s.deposit(UTILITY_A, d.consumer.homeId, '2')).accountId;
    await s.deposit(UTILITY_A, d.poor.homeId, '0.0001');
    await s.openAccount(UTILITY_A, d.prosumer.homeId);
  });

  describe('PostAvailableEnergy', () => {
    it('stores each home’s available energy privately under a salted key', async () => {
      const before = s.ledger.committed.length;
      const response = JSON.parse(
        await s.postAvailability(UTILITY_A, windowId, [
          { homeId: d.prosumer.homeId, energyKwh: 2.5 },
          { homeId: 'home-other', energyKwh: 0 },
        ]),
      ) as Record<string, unknown>;
      expect(response).to.include({ homes: 2, org: UTILITY_A });
      const tx = s.ledger.committedAt(before);
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.privateKeys.every((entry) => !entry.key.includes('home-'))).to.equal(true);
    });

    it('is refused to anyone but the utility’s meter head-end on its own peer', async () => {
      for (const { caller, peer } of callersOtherThan(['meter'])) {
        await expectRefusal(
          s.postAvailability(UTILITY_A, windowId, [{ homeId: 'h1', energyKwh: 1 }], { caller, peer }),
          'FORBIDDEN',
        );
      }
      await expectRefusal(
        s.postAvailability(UTILITY_A, windowId, [{ homeId: 'h1', energyKwh: 1 }], {
          caller: identities.meter(UTILITY_B),
          peer: UTILITY_A,
        }),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
    });

    it('refuses hostile entries without echoing them', async () => {
      const cases: [unknown, RegExp][] = [
        [{}, /must be a JSON array/],
        [[], /at least one home/],
        [new Array(1001).fill({ homeId: 'h', energyKwh: 1 }), /at most 1000/],
        [[{ homeId: 'h1' }], /energyKwh must be a number/],
        [[{ homeId: 'h1', energyKwh: '5' }], /energyKwh must be a number/],
        [[{ homeId: 'h1', energyKwh: null }], /energyKwh must be a number/],
        [[{ homeId: 'h1', energyKwh: -1 }], /between 0 and/],
        [[{ homeId: 'h1', energyKwh: 1e300 }], /between 0 and/],
        [[{ homeId: 'h1', energyKwh: 1.2345 }], /3 decimal places/],
        [[{ homeId: 'h 1; drop', energyKwh: 1 }], /homeId must be/],
        [[{ homeId: 7, energyKwh: 1 }], /homeId must be a string/],
        [[{ homeId: 'h1', energyKwh: 1, bus: 'x' }], /unknown field/],
        [
          [
            { homeId: 'h1', energyKwh: 1 },
            { homeId: 'h1', energyKwh: 2 },
          ],
          /twice/,
        ],
        ['[1,', /transient field 'availability' is not valid JSON/],
      ];
      for (const [entries, pattern] of cases) {
        const error = await expectRefusal(
          s.ledger.invoke(identities.meter(), (ctx) => s.auction.PostAvailableEnergy(ctx, windowId), {
            transient: { availability: typeof entries === 'string' ? entries : JSON.stringify(entries) },
          }),
          'INVALID_ARGUMENT',
          pattern,
        );
        expect(error.message).not.to.match(/1\.2345|1e300|drop/);
      }
      await expectRefusal(
        s.ledger.invoke(identities.meter(), (ctx) => s.auction.PostAvailableEnergy(ctx, windowId)),
        'INVALID_ARGUMENT',
        /'availability' is required/,
      );
    });
  });

  describe('SubmitOrder', () => {
    it('refuses an offer without posted availability', async () => {
      const other = await s.device(UTILITY_A, 'bus-1');
      await expectRefusal(
        s.submitOrder(UTILITY_A, other, offer(1, 10)),
        'FAILED_PRECONDITION',
        /no available energy is posted/,
      );
    });

    it('refuses an offer above the available energy, with no value in the text', async () => {
      const error = await expectRefusal(
        s.submitOrder(UTILITY_A, d.prosumer, offer(2.501, 10)),
        'FAILED_PRECONDITION',
        /^FAILED_PRECONDITION: offer exceeds the available energy for this window$/,
      );
      expect(error.message).not.to.match(/2\.5/);
    });

    it('accepts an offer up to the available energy and no public write at all', async () => {
      const before = s.ledger.committed.length;
      const response = JSON.parse(await s.submitOrder(UTILITY_A, d.prosumer, offer(2.5, 10))) as Record<
        string,
        unknown
      >;
      expect(Object.keys(response).sort()).to.deep.equal(['acceptedAt', 'txId', 'windowId']);
      const tx = s.ledger.committedAt(before);
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
      expect(tx.privateKeys).to.have.length(2);
    });

    it('checks a later offer against the latest posted availability', async () => {
      await s.postAvailability(UTILITY_A, windowId, [{ homeId: d.prosumer.homeId, energyKwh: 1 }]);
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.prosumer, offer(1.5, 10)),
        'FAILED_PRECONDITION',
        /offer exceeds the available energy/,
      );
      await s.submitOrder(UTILITY_A, d.prosumer, offer(1, 12));
    });

    it('refuses an order of a home without account, a bid without balance, and a bid whose escrow is below its value', async () => {
      const nobody = await s.device(UTILITY_A, 'bus-1');
      await s.postAvailability(UTILITY_A, windowId, [{ homeId: nobody.homeId, energyKwh: 1 }]);
      for (const order of [bid({ escrow: '0.01' }), offer(1, 10)]) {
        await expectRefusal(
          s.submitOrder(UTILITY_A, nobody, order),
          'FAILED_PRECONDITION',
          /^FAILED_PRECONDITION: the home has no token account: its utility opens one with token:Deposit first$/,
        );
      }
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.poor, bid({ escrow: '0.01' })),
        'FAILED_PRECONDITION',
        /^FAILED_PRECONDITION: balance does not cover the escrow$/,
      );
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.poor, bid({ limitPrice: 0.1, escrow: '0.0002' })),
        'FAILED_PRECONDITION',
        /balance does not cover the escrow/,
      );
      // 1 kWh at 10 per MWh is worth 0.01.
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.consumer, bid({ escrow: '0.0099' })),
        'INVALID_ARGUMENT',
        /escrow does not cover the bid's value/,
      );
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.prosumer, {
          windowId,
          side: 'offer',
          energyKwh: 1,
          limitPrice: 10,
          escrow: '0.01',
        }),
        'INVALID_ARGUMENT',
        /escrow of an offer must be "0"/,
      );
    });

    it('escrows a bid, and a replacing order refunds the old escrow first', async () => {
      await s.submitOrder(UTILITY_A, d.consumer, bid({ escrow: '1.5' }));
      let account = await s.account(consumerAccount);
      expect(account).to.include({
        balance: (CURRENCY / 2n).toString(),
        escrowed: ((CURRENCY * 3n) / 2n).toString(),
      });
      // The whole balance may be escrowed again once the old escrow is refunded in the same transaction.
      await s.submitOrder(UTILITY_A, d.consumer, bid({ energyKwh: 2, escrow: '2' }));
      account = await s.account(consumerAccount);
      expect(account).to.include({ balance: '0', escrowed: (2n * CURRENCY).toString() });
      expect(account.escrows).to.deep.equal({ [windowId]: (2n * CURRENCY).toString() });
      // The order transaction changed only the account, with the utility's peer alone.
      const tx = s.ledger.lastCommitted();
      expect(tx.endorsement).to.equal('single');
      expect(tx.publicWrites.map((write) => write.key.split('\u0000')[1])).to.deep.equal(['hems.account']);
      expect(await s.listOrderRefs(windowId, UTILITY_A)).to.have.length(2);
      expect(s.ledgerInvariants()).to.deep.equal([]);
    });

    it('refuses hostile numbers and malformed payloads without echoing them', async () => {
      const base = bid();
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ energyKwh: 'NaN' }, /energyKwh must be a number/],
        [{ energyKwh: '1' }, /energyKwh must be a number/],
        [{ energyKwh: null }, /energyKwh must be a number/],
        [{ energyKwh: -1 }, /energyKwh must be between/],
        [{ energyKwh: 0 }, /energyKwh must be greater than 0/],
        [{ energyKwh: 1e308 }, /energyKwh must be between/],
        [{ energyKwh: 1.0001 }, /energyKwh must have at most 3 decimal places/],
        [{ limitPrice: -0.5 }, /limitPrice must be between 0 and/],
        [{ limitPrice: 100000.5 }, /limitPrice must be between/],
        [{ limitPrice: 10.00001 }, /limitPrice must have at most 4 decimal places/],
        [{ limitPrice: 'Infinity' }, /limitPrice must be a number/],
        [{ limitPrice: [10] }, /limitPrice must be a number/],
        [{ escrow: 0.5 }, /escrow must be a string/],
        [{ escrow: '-1' }, /escrow must be a currency amount/],
        [{ escrow: '1e3' }, /escrow must be a currency amount/],
        [{ escrow: '0.00001' }, /escrow must be a currency amount/],
        [{ escrow: '1000000000.0001' }, /escrow must be at most/],
        [{ escrow: '99999999999' }, /escrow must be a currency amount/],
        [{ side: 'sell' }, /side must be "offer" or "bid"/],
        [{ nonce: 'short' }, /nonce must decode to/],
        [{ nonce: 5 }, /nonce must be a string/],
        [{ windowId: 'w-other' }, /payload.windowId does not match/],
      ];
      for (const [change, pattern] of cases) {
        const error = await expectRefusal(
          s.submitOrder(UTILITY_A, d.consumer, { ...base, ...change }, { argWindowId: windowId }),
          'INVALID_ARGUMENT',
          pattern,
        );
        expect(error.message).not.to.match(/1\.0001|10\.00001|100000\.5|1e308|99999999999/);
      }
      const payloads: [Buffer, RegExp][] = [
        [Buffer.from('{"windowId":'), /payload is not valid JSON/],
        [Buffer.from('[]'), /payload must be a JSON object/],
        [Buffer.from(JSON.stringify({ ...base, nonce: freshNonce(), extra: 1 })), /unknown field/],
        [
          Buffer.from(JSON.stringify({ ...base, nonce: freshNonce(), pad: 'x'.repeat(1100) })),
          /at most|1024 bytes/,
        ],
        [Buffer.from([0x7b, 0xff, 0x7d]), /UTF-8/],
      ];
      for (const [payload, pattern] of payloads) {
        await expectRefusal(
          s.submitSigned(UTILITY_A, signPayload(d.consumer, payload), windowId),
          'INVALID_ARGUMENT',
          pattern,
        );
      }
    });

    it('refuses a forged signature, a foreign certificate and a revoked device', async () => {
      const signed = s.signOrder(d.consumer, bid());
      const forged = { ...signed, certificate: d.prosumer.pem };
      await expectRefusal(
        s.submitSigned(UTILITY_A, forged, windowId),
        'FORBIDDEN',
        /order signature does not verify/,
      );
      const foreign = await s.device(UTILITY_B, 'bus-1');
      await expectRefusal(
        s.submitOrder(UTILITY_A, foreign, bid()),
        'FORBIDDEN',
        /not issued by a CA registered for UtilityAMSP/,
      );
      const notHems = await issueDevice(s.ca(UTILITY_A), { homeId: 'home-x', bus: 'bus-1', role: 'meter' });
      await expectRefusal(s.submitOrder(UTILITY_A, notHems, bid()), 'FORBIDDEN', /hems.role=hems/);
      const revoked = await s.device(UTILITY_A, 'bus-1');
      await s.ledger.invoke(identities.admin(), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, revoked.serial, 'stolen'),
      );
      await expectRefusal(s.submitOrder(UTILITY_A, revoked, bid()), 'FORBIDDEN', /revoked/);
      for (const missing of ['payload', 'signature', 'certificate'] as const) {
        const transient: Record<string, Buffer | string> = { ...signed };
        delete transient[missing];
        await expectRefusal(
          s.ledger.invoke(identities.relay(), (ctx) => s.auction.SubmitOrder(ctx, windowId), { transient }),
          'INVALID_ARGUMENT',
          new RegExp(`'${missing}' is required`),
        );
      }
    });

    it('refuses a replayed signed order, even after the order was replaced', async () => {
      const signed = s.signOrder(d.consumer, bid({ escrow: '1' }));
      await s.submitSigned(UTILITY_A, signed, windowId);
      await expectRefusal(s.submitSigned(UTILITY_A, signed, windowId), 'CONFLICT', /nonce was already used/);
      await s.submitOrder(UTILITY_A, d.consumer, bid({ energyKwh: 2, escrow: '2' }));
      await expectRefusal(s.submitSigned(UTILITY_A, signed, windowId), 'CONFLICT', /nonce was already used/);
      expect((await s.account(consumerAccount)).escrowed).to.equal((2n * CURRENCY).toString());
    });

    it('is refused to every identity but the device’s utility relay, and on another peer', async () => {
      for (const { caller, peer } of notARelayOfA()) {
        await expectRefusal(
          s.submitOrder(UTILITY_A, d.consumer, bid({ escrow: '1' }), { caller, peer }),
          'FORBIDDEN',
        );
      }
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.consumer, bid({ escrow: '1' }), { peer: UTILITY_B }),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
    });

    it('refuses orders for an unknown window', async () => {
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.consumer, bid({ windowId: 'w-none', limitPrice: 1, escrow: '1' })),
        'NOT_FOUND',
      );
    });
  });

  describe('open escrows per account', () => {
    it(`refuses a bid in a new window once the account holds ${MAX_OPEN_ESCROWS} open escrows`, async function () {
      this.timeout(120_000);
      const t = await AuctionScenario.create();
      const busy = await t.device(UTILITY_A, 'bus-1');
      await t.deposit(UTILITY_A, busy.homeId, '1');
      const tinyBid = (id: string): OrderInput =>
        bid({ windowId: id, energyKwh: 0.001, limitPrice: 0.0001, escrow: '0.0001' });
      for (let index = 0; index < MAX_OPEN_ESCROWS; index += 1) {
        await t.openWindow(`w-busy-${index}`);
        await t.submitOrder(UTILITY_A, busy, tinyBid(`w-busy-${index}`));
      }
      await t.openWindow('w-busy-last');
      await expectRefusal(
        t.submitOrder(UTILITY_A, busy, tinyBid('w-busy-last')),
        'FAILED_PRECONDITION',
        new RegExp(`already holds ${MAX_OPEN_ESCROWS} open escrows`),
      );
      // Replacing a bid in a window that already has an escrow is still possible.
      await t.submitOrder(UTILITY_A, busy, { ...tinyBid('w-busy-0'), escrow: '0.0002' });
      const account = await t.account(await t.accountIdOf(UTILITY_A, busy.homeId));
      expect(Object.keys(account.escrows)).to.have.length(MAX_OPEN_ESCROWS);
      expect(t.ledgerInvariants()).to.deep.equal([]);
    });
  });

  describe('CancelOrder', () => {
    it('deletes the order and refunds its escrow; a second cancel finds nothing', async () => {
      const before = (await s.listOrderRefs(windowId, UTILITY_A)).length;
      await s.cancelOrder(UTILITY_A, d.consumer, windowId);
      expect(await s.account(consumerAccount)).to.include({
        balance: (2n * CURRENCY).toString(),
        escrowed: '0',
      });
      expect(await s.listOrderRefs(windowId, UTILITY_A)).to.have.length(before - 1);
      await expectRefusal(s.cancelOrder(UTILITY_A, d.consumer, windowId), 'NOT_FOUND', /no order/);
      expect(s.ledgerInvariants()).to.deep.equal([]);
    });

    it('refuses a replayed cancellation, a bad action and the wrong identities', async () => {
      const nonce = freshNonce();
      await s.cancelOrder(UTILITY_A, d.prosumer, windowId, { nonce });
      await s.submitOrder(UTILITY_A, d.prosumer, offer(1, 12));
      await expectRefusal(s.cancelOrder(UTILITY_A, d.prosumer, windowId, { nonce }), 'CONFLICT', /nonce/);
      const bad = signPayload(
        d.prosumer,
        Buffer.from(JSON.stringify({ windowId, action: 'delete', nonce: freshNonce() })),
      );
      await expectRefusal(
        s.ledger.invoke(identities.relay(), (ctx) => s.auction.CancelOrder(ctx, windowId), {
          transient: { ...bad },
        }),
        'INVALID_ARGUMENT',
        /action must be "cancel"/,
      );
      const other = signPayload(
        d.prosumer,
        Buffer.from(JSON.stringify({ windowId: 'w-x', action: 'cancel', nonce: freshNonce() })),
      );
      await expectRefusal(
        s.ledger.invoke(identities.relay(), (ctx) => s.auction.CancelOrder(ctx, windowId), {
          transient: { ...other },
        }),
        'INVALID_ARGUMENT',
        /does not match/,
      );
      for (const { caller, peer } of notARelayOfA()) {
        await expectRefusal(s.cancelOrder(UTILITY_A, d.prosumer, windowId, { caller, peer }), 'FORBIDDEN');
      }
    });
  });

  describe('after the close', () => {
    it('refuses orders, cancellations and availability once the tx time reaches closesAt', async () => {
      s.ledger.advance(15 * MINUTE);
      await expectRefusal(
        s.submitOrder(UTILITY_A, d.consumer, bid({ escrow: '1' })),
        'FAILED_PRECONDITION',
        /window w-orders is closed/,
      );
      await expectRefusal(s.cancelOrder(UTILITY_A, d.prosumer, windowId), 'FAILED_PRECONDITION', /is closed/);
      await expectRefusal(
        s.postAvailability(UTILITY_A, windowId, [{ homeId: d.prosumer.homeId, energyKwh: 9 }]),
        'FAILED_PRECONDITION',
        /is closed/,
      );
    });

    it('lists order refs only for the utility’s relay or admin on its own peer', async () => {
      expect(await s.listOrderRefs(windowId, UTILITY_A, identities.admin())).to.have.length(1);
      for (const caller of [
        identities.meter(),
        identities.dso(),
        identities.auditor(),
        identities.device(),
      ]) {
        await expectRefusal(s.listOrderRefs(windowId, UTILITY_A, caller), 'FORBIDDEN');
      }
      await expectRefusal(
        s.ledger.evaluate(identities.relay(UTILITY_B), (ctx) => s.auction.ListOrderRefs(ctx, windowId), {
          peer: UTILITY_A,
        }),
        'FORBIDDEN',
        /own organization/,
      );
    });
  });
});

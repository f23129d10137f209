import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson } from '@hems/protocol';
import { identities } from './support/fake-ledger';
import { AuctionScenario, type OrderInput } from './support/auction';
import { itemAt } from './support/lists';
import type { TestDevice } from './support/pki';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal, expectRelayTransactions } from './support/scenario';

const windowId = 'w-private';
const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** Distinctive order values: each one would be easy to spot in any spelling. */
const ORDERS = [
  { org: UTILITY_A, side: 'offer', energyKwh: 3.217, limitPrice: 47.3129, escrow: '0' },
  { org: UTILITY_B, side: 'offer', energyKwh: 2.683, limitPrice: 51.8437, escrow: '0' },
  { org: UTILITY_A, side: 'bid', energyKwh: 1.937, limitPrice: 83.6911, escrow: '7.7777' },
  { org: UTILITY_B, side: 'bid', energyKwh: 4.519, limitPrice: 66.2383, escrow: '8.8888' },
] as const;

/** A number as it could be spelled: in kWh / currency, or as integer Wh / price units. */
function spellings(value: number, scale: number): RegExp[] {
  const text = String(value).replace('.', '\\.');
  return [
    new RegExp(`(?<![0-9.])${text}(?![0-9])`),
    new RegExp(`(?<![0-9a-f])${Math.round(value * scale)}(?![0-9a-f])`),
  ];
}

describe('auction privacy: nothing about an order is public before the close', () => {
  let s: AuctionScenario;
  let devices: TestDevice[];
  let surfaceBeforeClose: string;

  before(async () => {
    s = await AuctionScenario.create();
    await s.openWindow(windowId);
    devices = [];
    for (const order of ORDERS) {
      const device = await s.device(order.org, 'bus-1');
      devices.push(device);
      if (order.side === 'offer') {
        await s.openAccount(order.org, device.homeId);
        await s.postAvailability(order.org, windowId, [{ homeId: device.homeId, energyKwh: 9.999 }]);
      } else {
        await s.deposit(order.org, device.homeId, '10');
      }
      await s.submitOrder(order.org, device, { windowId, ...order });
    }
    // Refusals whose texts must not echo the values either.
    const offerA = itemAt(devices, 0);
    const bidA = itemAt(devices, 2);
    const refused: [TestDevice, Omit<OrderInput, 'windowId'>, string][] = [
      [offerA, { side: 'offer', energyKwh: 10.417, limitPrice: 47.3129 }, 'FAILED_PRECONDITION'],
      [bidA, { side: 'bid', energyKwh: 1.937, limitPrice: 83.6911, escrow: '0.0001' }, 'INVALID_ARGUMENT'],
      [
        bidA,
        { side: 'bid', energyKwh: 1.937, limitPrice: 83.6911, escrow: '99.9999' },
        'FAILED_PRECONDITION',
      ],
    ];
    for (const [device, order, code] of refused) {
      await expectRefusal(s.submitOrder(UTILITY_A, device, { windowId, ...order }), code);
    }
    surfaceBeforeClose = s.ledger.publicSurface();
  });

  it('no side, energy or limit price of any order in public writes, read sets, events, responses or errors', () => {
    for (const order of ORDERS) {
      for (const pattern of [...spellings(order.energyKwh, 1000), ...spellings(order.limitPrice, 10000)]) {
        expect(surfaceBeforeClose, `${order.energyKwh} / ${order.limitPrice}`).not.to.match(pattern);
      }
    }
    // The ledger does not tell offers from bids (refusal texts name the kind of rule that failed,
    // e.g. "offer exceeds the available energy", but no value).
    const ledgerOnly = JSON.stringify((JSON.parse(surfaceBeforeClose) as { committed: unknown }).committed);
    expect(ledgerOnly).not.to.match(/"side"|offer|"bid"/);
    expect(surfaceBeforeClose).not.to.match(/10\.417|9\.999/);
  });

  it('no home id, certificate serial, order reference or nonce appears in public', async () => {
    for (const device of devices) {
      expect(surfaceBeforeClose).not.to.include(device.homeId);
      expect(surfaceBeforeClose.toUpperCase()).not.to.include(device.serial);
    }
    for (const org of [UTILITY_A, UTILITY_B]) {
      for (const ref of await s.listOrderRefs(windowId, org)) {
        expect(surfaceBeforeClose).not.to.include(ref);
      }
    }
  });

  it('the only public trace of an order is a bid’s (paddable) escrow; offers leave none', () => {
    const orderTxs = s.ledger.committedWithPrivateKey('hems.order');
    expectRelayTransactions(orderTxs, 4);
    for (const tx of orderTxs) {
      for (const write of tx.publicWrites) {
        expect(write.key).to.match(/hems\.account/);
      }
    }
    expect(itemAt(orderTxs, 0).publicWrites).to.deep.equal([]);
    const bidWrites = itemAt(orderTxs, 2).publicWrites.map(
      (write) => JSON.parse(write.value) as { escrows: Record<string, string> },
    );
    expect(bidWrites).to.have.length(1);
    expect(itemAt(bidWrites, 0).escrows).to.deep.equal({ [windowId]: '77777000000' });
    // Offers and bids read the same kinds of public keys, and as many private keys: a bid reads
    // its home's availability key too, so the hashed read set does not tell the sides apart.
    const readKinds = (index: number): string[] =>
      [...new Set(itemAt(orderTxs, index).publicReads.map((key) => key.split('\u0000')[1] ?? ''))].sort();
    expect(readKinds(0)).to.deep.equal(readKinds(2));
    expect(readKinds(0)).to.include.members(['hems.window', 'hems.windoworg', 'hems.account']);
    const privateReads = orderTxs.map((tx) => tx.privateReadHashes.length);
    expect(new Set(privateReads).size, JSON.stringify(privateReads)).to.equal(1);
  });

  it('the private-data hashes are salted: the plain order values do not hash to them', () => {
    const hashes = new Set(
      s.ledger.committed.flatMap((tx) => tx.privateWriteHashes.map((entry) => entry.valueHash)),
    );
    for (const order of ORDERS) {
      for (const guess of [
        canonicalJson({ energyWh: Math.round(order.energyKwh * 1000) }),
        canonicalJson({ side: order.side, energyKwh: order.energyKwh, limitPrice: order.limitPrice }),
      ]) {
        expect(hashes.has(sha256(guess))).to.equal(false);
      }
    }
  });

  it('after the close the orders are public by design, under order references and accounts only', async () => {
    s.ledger.advance(15 * MINUTE);
    await s.reveal(windowId, UTILITY_A);
    await s.reveal(windowId, UTILITY_B);
    const clearing = await s.clear(windowId);
    expect(clearing.trades.length).to.be.greaterThan(0);
    const after = JSON.stringify([...s.ledger.state.values()].map((value) => value.toString('utf8')));
    expect(after).to.include('47.3129');
    for (const device of devices) {
      expect(after).not.to.include(device.homeId);
    }
    s.ledger.advance(15 * MINUTE);
    for (const org of [UTILITY_A, UTILITY_B]) {
      await s.report(windowId, org, s.fullReadings(clearing.trades, org, 0.777));
    }
    const reportTxs = s.ledger.committed.slice(-2);
    for (const tx of reportTxs) {
      // Readings stay in the collection; only per-org totals are public.
      expect(tx.privateKeys.length).to.be.greaterThan(0);
      expect(JSON.stringify(tx.events)).not.to.include('tradeId');
    }
    expect(await s.getWindow(windowId, identities.relay(UTILITY_B))).to.have.property('parts');
  });
});

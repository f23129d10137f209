import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  MAX_REVEALED_ORDERS,
  MAX_REVEALED_RECORD_BYTES,
  MAX_WINDOW_ORDERS,
} from '../src/auction/reveal-limits';
import { canonicalJson, normalizeSerial } from '@hems/protocol';
import { HOME_REF_SECRET_KEY } from '../src/lib/keys';
import { collectionOf } from '@hems/protocol';
import { availabilityReferenceOfOrder } from '../src/auction/references';
import { identities } from './support/fake-ledger';
import { itemAt } from './support/lists';
import { AuctionScenario, CURRENCY } from './support/auction';
import type { TestDevice } from './support/pki';
import { MINUTE, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

/** The private orders of `org` in a window, parsed. */
function storedOrders(s: AuctionScenario, org: string, windowId: string): Record<string, unknown>[] {
  return [...s.ledger.collection(collectionOf(org))]
    .filter(([key]) => key.startsWith(`\u0000hems.order\u0000${windowId}\u0000`))
    .map(([, value]) => JSON.parse(value.toString('utf8')) as Record<string, unknown>);
}

async function revoke(s: AuctionScenario, org: string, device: TestDevice): Promise<void> {
  await s.ledger.invoke(identities.admin(org), (ctx) =>
    s.governance.RevokeDeviceCertificate(ctx, device.serial, 'lost'),
  );
}

describe('auction: orders of revoked devices', () => {
  const windowId = 'w-revoked';
  let s: AuctionScenario;
  let d: Record<'cheapSeller' | 'seller' | 'buyerA' | 'buyerB', TestDevice>;

  before(async () => {
    s = await AuctionScenario.create();
    d = await s.devices({ cheapSeller: UTILITY_A, seller: UTILITY_A, buyerA: UTILITY_A, buyerB: UTILITY_B });
    await s.openWindow(windowId, { revealGapMs: 10 * MINUTE });
    await s.placeOrders(windowId, [
      { org: UTILITY_A, device: d.cheapSeller, side: 'offer', energyKwh: 2, limitPrice: 10 },
      { org: UTILITY_A, device: d.seller, side: 'offer', energyKwh: 2, limitPrice: 20 },
      { org: UTILITY_A, device: d.buyerA, side: 'bid', energyKwh: 1, limitPrice: 40, escrow: '0.2' },
      { org: UTILITY_B, device: d.buyerB, side: 'bid', energyKwh: 2, limitPrice: 50, escrow: '0.5' },
    ]);
  });

  it('keeps the serial of the signing device certificate in the private order record', () => {
    const serials = [...storedOrders(s, UTILITY_A, windowId), ...storedOrders(s, UTILITY_B, windowId)]
      .map((order) => order.deviceSerial)
      .sort();
    expect(serials).to.deep.equal(
      Object.values(d)
        .map((device) => normalizeSerial(device.serial))
        .sort(),
    );
  });

  it('leaves out, at the clearing, the orders of devices revoked by then', async () => {
    // Revoked after they signed: the orders were valid when submitted.
    await revoke(s, UTILITY_A, d.cheapSeller);
    await revoke(s, UTILITY_B, d.buyerB);
    s.ledger.advance(15 * MINUTE);
    await s.reveal(windowId, UTILITY_A);
    await s.reveal(windowId, UTILITY_B);
    const summary = await s.clearWindow(windowId);
    expect(summary).to.include({ droppedRevoked: 2, trades: 1 });
    const clearing = await s.getClearing(windowId);
    expect(clearing).to.include({ orders: 2, droppedRevoked: 2 });
    // Only the remaining pair trades: A's buyer (1 kWh at 40) with the 20 offer, at 30.
    expect(clearing.trades.map((trade) => [trade.energyWh, trade.price])).to.deep.equal([[1000, 300000]]);
    const sellerAccount = await s.accountIdOf(UTILITY_A, d.seller.homeId);
    expect(itemAt(clearing.trades, 0).sellerAccount).to.equal(sellerAccount);
  });

  it('refunds the revoked device’s bid in full, like a bid that did not trade', async () => {
    const released = await s.releaseEscrow(windowId, UTILITY_B);
    expect(released.refunded).to.equal((CURRENCY / 2n).toString());
    // (GetMyAccount refuses a revoked device: the utility looks the account up by home id.)
    const account = await s.account(await s.accountIdOf(UTILITY_B, d.buyerB.homeId));
    expect(account).to.include({ balance: CURRENCY.toString(), escrowed: '0' });
    expect(s.totalTokens()).to.equal(2n * CURRENCY);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('audits to a match, also after later revocations (only those by the clearing time count)', async () => {
    expect(await s.audit(windowId)).to.include({ matches: true, ordersVerified: 4, ordersPurged: 0 });
    s.ledger.advance(MINUTE);
    await revoke(s, UTILITY_A, d.buyerA);
    expect(await s.audit(windowId)).to.include({ matches: true, sameResult: true });
  });
});

describe('auction: offers above the available energy at the reveal', () => {
  const windowId = 'w-lowered';
  let s: AuctionScenario;
  let d: Record<'lowered' | 'exact' | 'buyer', TestDevice>;

  before(async () => {
    s = await AuctionScenario.create();
    d = await s.devices({ lowered: UTILITY_A, exact: UTILITY_A, buyer: UTILITY_B });
    await s.openWindow(windowId);
    await s.placeOrders(windowId, [
      { org: UTILITY_A, device: d.lowered, side: 'offer', energyKwh: 3, limitPrice: 10 },
      { org: UTILITY_A, device: d.exact, side: 'offer', energyKwh: 2, limitPrice: 20 },
      { org: UTILITY_B, device: d.buyer, side: 'bid', energyKwh: 5, limitPrice: 50, escrow: '0.5' },
    ]);
    // The meter head-end lowers the first prosumer's export forecast after its offer.
    await s.postAvailability(UTILITY_A, windowId, [{ homeId: d.lowered.homeId, energyKwh: 2.999 }]);
    s.ledger.advance(15 * MINUTE);
  });

  it('withdraws an offer above its home’s current availability at the reveal and counts it', async () => {
    const part = JSON.parse(await s.reveal(windowId, UTILITY_A)) as Record<string, unknown>;
    expect(part).to.include({ withdrawnOffers: 1 });
    expect(part.revealed).to.include({ count: 1 });
    // An offer exactly at its availability is revealed.
    const record = JSON.parse(itemAt(s.ledger.lastCommitted().publicWrites, 0).value) as {
      revealed: { orders: string[] };
    };
    const revealed = record.revealed.orders.map((text) => JSON.parse(text) as { accountId: string });
    expect(revealed.map((order) => order.accountId)).to.deep.equal([
      await s.accountIdOf(UTILITY_A, d.exact.homeId),
    ]);
    const partB = JSON.parse(await s.reveal(windowId, UTILITY_B)) as Record<string, unknown>;
    expect(partB).to.include({ withdrawnOffers: 0 });
    const window = await s.getWindow(windowId);
    expect((window.parts as Record<string, unknown>[]).map((p) => p.withdrawnOffers)).to.deep.equal([1, 0]);
  });

  it('clears without the withdrawn offer (it held no escrow, so nothing stays locked)', async () => {
    const clearing = await s.clear(windowId);
    expect(clearing.orders).to.equal(2);
    expect(clearing.trades.map((trade) => [trade.sellerAccount, trade.energyWh])).to.deep.equal([
      [await s.accountIdOf(UTILITY_A, d.exact.homeId), 2000],
    ]);
    expect(await s.audit(windowId)).to.include({ matches: true, ordersVerified: 2 });
  });
});

/** Writes `count` stored orders of `org` straight into its collection, as SubmitOrder would. */
function plantOrders(
  s: AuctionScenario,
  org: string,
  windowId: string,
  count: number,
  order: (index: number) => { side: 'offer' | 'bid'; payload: string },
): string[] {
  const collection = s.ledger.collection(collectionOf(org));
  const secret = collection.get(HOME_REF_SECRET_KEY)!;
  const refs: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const orderRef = randomBytes(32).toString('hex');
    const { side, payload } = order(index);
    const stored = {
      windowId,
      orderRef,
      accountId: `acct-${randomBytes(16).toString('hex')}`,
      payload,
      submittedAt: Date.parse('2026-11-21T10:00:00Z') + index,
      deviceSerial: randomBytes(16).toString('hex').toUpperCase(),
    };
    collection.set(
      `\u0000hems.order\u0000${windowId}\u0000${orderRef}\u0000`,
      Buffer.from(canonicalJson(stored)),
    );
    if (side === 'bid') {
      // A bid's escrow, held in an account of the utility, as SubmitOrder leaves it.
      const escrow = (JSON.parse(payload) as { escrow: string }).escrow;
      const units = (BigInt(escrow) * 10n ** 10n).toString();
      s.ledger.state.set(
        `\u0000hems.account\u0000${stored.accountId}\u0000`,
        Buffer.from(
          canonicalJson({
            accountId: stored.accountId,
            mspId: org,
            balance: '0',
            escrowed: units,
            escrows: { [windowId]: units },
            updatedAt: '2026-11-21T10:00:00.000Z',
            txId: 'a'.repeat(64),
            lastEntries: [],
          }),
        ),
      );
    }
    if (side === 'offer') {
      const ref = availabilityReferenceOfOrder(secret, windowId, orderRef);
      collection.set(
        `\u0000hems.availability\u0000${windowId}\u0000${ref}\u0000`,
        Buffer.from(canonicalJson({ ref, windowId, energyWh: 1000 })),
      );
    }
    refs.push(orderRef);
  }
  return refs;
}

function compactPayload(windowId: string, side: 'offer' | 'bid', limitPrice: number): string {
  return JSON.stringify({
    windowId,
    side,
    energyKwh: 1,
    limitPrice,
    escrow: side === 'bid' ? '1' : '0',
    nonce: randomBytes(16).toString('base64'),
  });
}

describe('auction: sizes of a reveal and a clearing', function () {
  this.timeout(120_000);

  it('answers ClearWindow with a summary; the full clearing is read with GetClearing', async () => {
    const s = await AuctionScenario.create();
    await s.tradingWindow('w-summary');
    await s.revealAll('w-summary');
    const summary = await s.clearWindow('w-summary');
    expect(Object.keys(summary).sort()).to.deep.equal([
      'checks',
      'clearedAt',
      'clearingPrice',
      'droppedRevoked',
      'excludedOrgs',
      'pricingRule',
      'tradedWh',
      'trades',
      'txId',
      'windowId',
    ]);
    const clearing = await s.getClearing('w-summary');
    expect(summary).to.deep.include({
      windowId: 'w-summary',
      trades: clearing.trades.length,
      tradedWh: clearing.totals.tradedWh,
      clearingPrice: clearing.clearingPrice,
      excludedOrgs: [],
      droppedRevoked: 0,
      checks: { uncommittedOrgs: [], unmatchedOrgs: [], unverifiedOrders: [], unfundedBids: [] },
    });
  });

  it(`reveals ${MAX_REVEALED_ORDERS} orders per utility and clears ${MAX_WINDOW_ORDERS} well under Fabric's 10 MB block`, async () => {
    const s = await AuctionScenario.create();
    const id = 'w-full';
    await s.openWindow(id);
    const offers = plantOrders(s, UTILITY_A, id, MAX_REVEALED_ORDERS, () => ({
      side: 'offer',
      payload: compactPayload(id, 'offer', 40),
    }));
    const bids = plantOrders(s, UTILITY_B, id, MAX_REVEALED_ORDERS, () => ({
      side: 'bid',
      payload: compactPayload(id, 'bid', 60),
    }));
    await s.commitAll(id);
    s.ledger.advance(15 * MINUTE);
    for (const [org, refs] of [
      [UTILITY_A, offers],
      [UTILITY_B, bids],
    ] as const) {
      await s.ledger.invoke(identities.relay(org), (ctx) => s.auction.RevealOrders(ctx, id), {
        peer: org,
        transient: { refs: JSON.stringify(refs) },
      });
      const written = itemAt(s.ledger.lastCommitted().publicWrites, 0).value;
      expect(Buffer.byteLength(written)).to.be.below(MAX_REVEALED_RECORD_BYTES);
    }
    const summary = await s.clearWindow(id);
    expect(summary.trades).to.equal(MAX_REVEALED_ORDERS);
    const tx = s.ledger.lastCommitted();
    const blockBytes =
      tx.publicWrites.reduce((sum, write) => sum + Buffer.byteLength(write.value), 0) +
      Buffer.byteLength(tx.response);
    expect(blockBytes).to.be.below(3 * 1024 * 1024);
    expect(Buffer.byteLength(tx.response)).to.be.below(1024);
  });

  it('refuses a reveal of more orders than the utility’s share, with advice', async () => {
    const s = await AuctionScenario.create();
    await s.openWindow('w-many');
    s.ledger.advance(15 * MINUTE);
    const refs = Array.from({ length: MAX_REVEALED_ORDERS + 1 }, () => randomBytes(32).toString('hex'));
    await expectRefusal(
      s.ledger.invoke(identities.relay(), (ctx) => s.auction.RevealOrders(ctx, 'w-many'), {
        transient: { refs: JSON.stringify(refs) },
      }),
      'INVALID_ARGUMENT',
      /transient field 'refs' is larger than 335002 bytes: one utility may reveal at most 5000 orders in window w-many .*list at most 5000; those left out do not trade, and ReleaseEscrow with transient accounts refunds their escrows/,
    );
    // With four utilities on the channel each may reveal a quarter of the window's orders.
    await s.setUtilities([UTILITY_A, UTILITY_B, 'UtilityCMSP', 'UtilityDMSP']);
    await s.openWindow('w-four');
    s.ledger.advance(15 * MINUTE);
    await expectRefusal(
      s.ledger.invoke(identities.relay(), (ctx) => s.auction.RevealOrders(ctx, 'w-four'), {
        transient: { refs: JSON.stringify(refs.slice(0, MAX_WINDOW_ORDERS / 4 + 1)) },
      }),
      'INVALID_ARGUMENT',
      /^INVALID_ARGUMENT: refs lists 2501 orders: one utility may reveal at most 2500 orders in window w-four/,
    );
  });

  it('refuses a reveal whose record would exceed its byte budget (padded payloads)', async () => {
    const s = await AuctionScenario.create();
    const id = 'w-padded';
    await s.openWindow(id);
    // Devices may pad what they sign up to 1 KB; line breaks double and triple in the record.
    const padded = (): { side: 'bid'; payload: string } => {
      const compact = compactPayload(id, 'bid', 60);
      return { side: 'bid', payload: compact.replace('{', `{${'\n'.repeat(1024 - compact.length)}`) };
    };
    // The utility committed to the first 1000; 500 more are in its collection beside them.
    const committed = plantOrders(s, UTILITY_A, id, 1000, padded);
    await s.commit(id, UTILITY_A, { at: s.ledger.now });
    const refs = [...committed, ...plantOrders(s, UTILITY_A, id, 500, padded)];
    s.ledger.advance(15 * MINUTE);
    const error = await expectRefusal(
      s.ledger.invoke(identities.relay(), (ctx) => s.auction.RevealOrders(ctx, id), {
        transient: { refs: JSON.stringify(refs) },
      }),
      'INVALID_ARGUMENT',
      new RegExp(`more than the ${MAX_REVEALED_RECORD_BYTES} one reveal may write .*list fewer orders`),
    );
    expect(error.message).not.to.match(/acct-|"side"/);
    // Two thirds of them fit: the 1000 it committed to.
    await s.ledger.invoke(identities.relay(), (ctx) => s.auction.RevealOrders(ctx, id), {
      transient: { refs: JSON.stringify(committed) },
    });
  });
});

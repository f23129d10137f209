import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { freshNonce, signPayload, type TestDevice } from './support/pki';
import { AuctionScenario, CURRENCY, type OrderInput } from './support/auction';
import { UTILITY_A, UTILITY_B, callersOtherThan, expectRefusal } from './support/scenario';

const windowId = 'w-batches';
const collectionA = `${UTILITY_A}PrivateCollection`;

interface WindowBatchReceipt {
  windowId: string;
  txId: string;
  at: string;
  accepted: number;
  refused: { index: number; code: string; message: string }[];
}

/** A bid of 1 kWh at 10 per MWh (worth 0.01), with `change` applied. */
function bid(change: Partial<OrderInput> = {}): OrderInput {
  return { windowId, side: 'bid', energyKwh: 1, limitPrice: 10, escrow: '0.5', ...change };
}

/** A signed payload as an entry of transient `items`. */
function asItem(signed: { payload: Buffer; signature: Buffer; certificate: string }): Record<string, string> {
  return {
    payload: signed.payload.toString('base64'),
    signature: signed.signature.toString('base64'),
    certificate: signed.certificate,
  };
}

describe('auction: SubmitOrders and CancelOrders (relay batches)', () => {
  let s: AuctionScenario;
  let homes: TestDevice[];
  let accounts: string[];

  const orderItem = (device: TestDevice, order: OrderInput): Record<string, string> =>
    asItem(s.signOrder(device, order));
  const cancelItem = (device: TestDevice, nonce = freshNonce(), window = windowId): Record<string, string> =>
    asItem(signPayload(device, Buffer.from(JSON.stringify({ windowId: window, action: 'cancel', nonce }))));
  const send = async (
    transaction: 'SubmitOrders' | 'CancelOrders',
    items: unknown,
    who = identities.relay(UTILITY_A),
    peer = UTILITY_A,
    window = windowId,
  ): Promise<WindowBatchReceipt> =>
    JSON.parse(
      await s.ledger.invoke(who, (ctx) => s.auction[transaction](ctx, window), {
        peer,
        transient: { items: typeof items === 'string' ? items : JSON.stringify(items) },
      }),
    ) as WindowBatchReceipt;
  const balances = async (): Promise<string[]> =>
    Promise.all(accounts.map(async (id) => (await s.account(id)).balance));

  beforeEach(async () => {
    s = await AuctionScenario.create();
    await s.openWindow(windowId);
    homes = await Promise.all([0, 1, 2, 3].map(() => s.device(UTILITY_A, 'bus-1')));
    accounts = await Promise.all(
      homes.map(async (home) => (await s.deposit(UTILITY_A, home.homeId, '1')).accountId),
    );
  });

  it('escrows every accepted bid in one transaction and refuses the others alone, by position, writing nothing for them', async () => {
    const [a, b, c, d] = homes as [TestDevice, TestDevice, TestDevice, TestDevice];
    const foreign = await s.device(UTILITY_B, 'bus-1');
    const noAccount = await s.device(UTILITY_A, 'bus-1');
    const forged = s.signOrder(b, bid());
    forged.signature[10] = (forged.signature[10] ?? 0) ^ 0xff;
    const receipt = await send('SubmitOrders', [
      orderItem(a, bid({ escrow: '0.25' })),
      asItem(forged),
      orderItem(foreign, bid()),
      orderItem(noAccount, bid()),
      orderItem(c, bid({ escrow: '5' })), // more than the balance
      orderItem(d, { windowId, side: 'offer', energyKwh: 1, limitPrice: 10 }), // no availability posted
      orderItem(b, bid({ escrow: '0.5' })),
      { payload: '***', signature: 'AA==', certificate: 'x' },
      orderItem(a, bid()), // a second item of one home
    ]);
    expect(receipt).to.include({ windowId, accepted: 2, at: s.ledger.now.toISOString() });
    expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal([
      [1, 'FORBIDDEN'],
      [2, 'FORBIDDEN'],
      [3, 'FAILED_PRECONDITION'],
      [4, 'FAILED_PRECONDITION'],
      [5, 'FAILED_PRECONDITION'],
      [7, 'INVALID_ARGUMENT'],
      [8, 'CONFLICT'],
    ]);
    expect(receipt.refused[1]?.message).to.match(/issued by|certificate/);
    expect(receipt.refused[3]?.message).to.equal('balance does not cover the escrow');
    // Only a's and b's balances moved; c's refused escrow left its account untouched.
    expect(await balances()).to.deep.equal([
      ((CURRENCY * 3n) / 4n).toString(),
      (CURRENCY / 2n).toString(),
      CURRENCY.toString(),
      CURRENCY.toString(),
    ]);
    expect(await s.listOrderRefs(windowId, UTILITY_A)).to.have.length(2);
    const tx = s.ledger.lastCommitted();
    expect(tx.endorsement).to.equal('single');
    expect(tx.events).to.deep.equal([]);
    // Two accounts, and an order and a nonce marker per accepted order.
    expect(tx.publicWrites).to.have.length(2);
    expect(tx.privateKeys.filter((entry) => entry.collection === collectionA)).to.have.length(4);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('replaces a home’s order in a later batch and refuses a replayed payload', async () => {
    const [a, b] = homes as [TestDevice, TestDevice];
    const signed = s.signOrder(a, bid({ escrow: '0.5' }));
    await send('SubmitOrders', [asItem(signed), orderItem(b, bid())]);
    const later = await send('SubmitOrders', [orderItem(a, bid({ escrow: '1' })), asItem(signed)]);
    // The replay is refused although the home's first item (its replacement) passed.
    expect(later.refused).to.deep.equal([
      {
        index: 1,
        code: 'CONFLICT',
        message: 'the home already has an item in this transaction: its relay sends the later one next',
      },
    ]);
    const replay = await send('SubmitOrders', [asItem(signed)]);
    expect(replay.refused.map((refusal) => refusal.code)).to.deep.equal(['CONFLICT']);
    expect(replay.refused[0]?.message).to.match(/nonce was already used/);
    expect((await s.account(accounts[0]!)).balance).to.equal('0');
    expect(await s.listOrderRefs(windowId, UTILITY_A)).to.have.length(2);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('refuses a nonce used twice in one batch', async () => {
    const [a, b] = homes as [TestDevice, TestDevice];
    const nonce = freshNonce();
    const receipt = await send('SubmitOrders', [orderItem(a, bid({ nonce })), orderItem(b, bid({ nonce }))]);
    expect(receipt.accepted).to.equal(1);
    expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal([[1, 'CONFLICT']]);
  });

  it('reads and writes a fixed number of records per order, and the window once per batch', async () => {
    const perBatch = async (count: number): Promise<number> => {
      const devices = await Promise.all(Array.from({ length: count }, () => s.device(UTILITY_A, 'bus-1')));
      await Promise.all(devices.map((device) => s.deposit(UTILITY_A, device.homeId, '1')));
      await send(
        'SubmitOrders',
        devices.map((device) => orderItem(device, bid())),
      );
      const tx = s.ledger.lastCommitted();
      return tx.publicReads.length + tx.privateReadHashes.length;
    };
    const one = await perBatch(1);
    const ten = await perBatch(10);
    const twenty = await perBatch(20);
    // Linear with a shared fixed part (the window, its commitments, the trust and the secret),
    // and a few point reads per order: its nonce, availability and account.
    expect((twenty - ten) * 9).to.equal((ten - one) * 10);
    expect((ten - one) / 9).to.be.at.most(4);
    expect(one - (ten - one) / 9).to.be.at.least(3);
  });

  it('cancels the orders of a batch and refunds them, refusing a home without order alone', async () => {
    const [a, b, c] = homes as [TestDevice, TestDevice, TestDevice];
    await send('SubmitOrders', [orderItem(a, bid()), orderItem(b, bid())]);
    const receipt = await send('CancelOrders', [
      cancelItem(a),
      cancelItem(c),
      cancelItem(b, freshNonce(), 'w-other'),
      cancelItem(b),
    ]);
    expect(receipt.accepted).to.equal(2);
    expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal([
      [1, 'NOT_FOUND'],
      [2, 'INVALID_ARGUMENT'],
    ]);
    expect(await balances()).to.deep.equal(homes.map(() => CURRENCY.toString()));
    expect(await s.listOrderRefs(windowId, UTILITY_A)).to.have.length(0);
    expect(s.ledgerInvariants()).to.deep.equal([]);
  });

  it('refuses a whole batch for an unknown or closed window, a malformed list, and every caller but the relay on its own peer', async () => {
    const [a] = homes as [TestDevice];
    await expectRefusal(
      send('SubmitOrders', [orderItem(a, bid())], undefined, undefined, 'w-none'),
      'NOT_FOUND',
    );
    await expectRefusal(send('SubmitOrders', []), 'INVALID_ARGUMENT', /at least one/);
    await expectRefusal(send('CancelOrders', '{"not":"a list"}'), 'INVALID_ARGUMENT', /items/);
    await expectRefusal(
      send(
        'SubmitOrders',
        Array.from({ length: 1001 }, () => orderItem(a, bid())),
      ),
      'INVALID_ARGUMENT',
      /1000/,
    );
    for (const transaction of ['SubmitOrders', 'CancelOrders'] as const) {
      for (const { caller, peer } of callersOtherThan(['relay'])) {
        const refused = await expectRefusal(
          send(transaction, [orderItem(a, bid())], caller, peer),
          'FORBIDDEN',
        );
        expect(refused.message).to.not.include(a.homeId);
      }
      // Another utility's relay may batch for its own homes only: A's device is refused alone.
      const foreign = await send(transaction, [orderItem(a, bid())], identities.relay(UTILITY_B), UTILITY_B);
      expect(foreign.refused.map((refusal) => refusal.code)).to.deep.equal(['FORBIDDEN']);
    }
    s.ledger.advance(20 * 60 * 1000);
    await expectRefusal(send('SubmitOrders', [orderItem(a, bid())]), 'FAILED_PRECONDITION', /closed/);
    await expectRefusal(send('CancelOrders', [cancelItem(a)]), 'FAILED_PRECONDITION', /closed/);
  });

  it('keeps homes, values and nonces out of everything other organizations see', async () => {
    const [a, b] = homes as [TestDevice, TestDevice];
    const nonce = freshNonce();
    await send('SubmitOrders', [
      orderItem(a, bid({ energyKwh: 1.234, limitPrice: 17.5, escrow: '0.75', nonce })),
      orderItem(b, bid({ energyKwh: 3.5, escrow: '-1' })),
    ]);
    const tx = s.ledger.lastCommitted();
    const visible = JSON.stringify({
      response: tx.response,
      reads: tx.publicReads,
      hashes: tx.privateWriteHashes,
      events: tx.events,
      accounts: tx.publicWrites.map((write) => write.key),
    });
    for (const secret of [a.homeId, b.homeId, '1.234', '17.5', '3.5', nonce, a.serial, b.serial]) {
      expect(visible).to.not.include(secret);
    }
  });
});

import { sign, randomBytes } from 'node:crypto';
import { type Device, devicesOf, evaluateJson, submitJson } from '@hems/network-client';
import { orderPayload, type OrderTerms } from '@hems/protocol';
import { expect } from 'chai';
import { Actors, expectRefusal, UTILITY_A, UTILITY_B, uniqueSlotId } from './support/actors';
import { sleep } from './support/gateways';
import { runModifiedChaincode, type ModifiedServer } from './support/modified-chaincode';

/**
 * One utility runs a modified chaincode server on its own peer (the genuine build plus raw writes)
 * and endorses alone, on the real network; every other peer runs the genuine code. What it writes
 * under its own keys speaks only for itself; every other key is refused at validation; the
 * others' window clears, the DSO dispatches, and a hidden mint shows in the reconciliation.
 * Runs last: it puts garbage into UtilityA's records of its own slot and window.
 */

const CURRENCY_UNITS = 10n ** 10n;

/**
 * Retries `read` until it answers without throwing and `ready` holds (up to 30 s): a transaction
 * commits on the peer that submitted it first, and another org's peer may see its block a moment
 * later.
 */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean = () => true): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const value = await read();
      if (ready(value)) {
        return value;
      }
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
    }
    if (Date.now() > deadline) {
      throw new Error('the network did not get there within 30 s');
    }
    await sleep(500);
  }
}

interface WindowParts {
  readonly parts: readonly { readonly org: string; readonly revealed?: { readonly count: number } }[];
}

interface UtilityDifference {
  readonly org: string;
  readonly difference: string;
}

describe('e2e: a utility that runs modified chaincode and endorses alone', function () {
  this.timeout(300_000);
  let actors: Actors;
  let modified: ModifiedServer;
  const windowId = uniqueSlotId('w-adversary');

  /** UtilityA's relay calls the adversary contract, endorsed by its own (modified) peer alone. */
  const alone = (name: string, args: readonly string[]): Promise<unknown> =>
    submitJson(actors.relay(UTILITY_A).contract('adversary'), name, {
      args,
      endorsingOrganizations: [UTILITY_A],
    });
  const market = (): ReturnType<Actors['connect']> => actors.connect('DSOMSP', 'market-operator');
  /** Waits until both utilities' peers have the window the market operator just opened. */
  const windowOnUtilityPeers = async (id: string): Promise<void> => {
    for (const org of [UTILITY_A, UTILITY_B]) {
      await eventually(() => evaluateJson(actors.relay(org).contract('auction'), 'GetWindow', [id]));
    }
  };

  before(async () => {
    actors = new Actors();
    modified = await runModifiedChaincode(UTILITY_A);
  });

  after(async () => {
    await modified?.restore();
    actors?.close();
  });

  it('commits what its own peer alone may endorse, and every other key is refused at validation', async () => {
    const now = Date.now();
    await submitJson(market().contract('auction'), 'OpenTradingWindow', {
      args: [
        windowId,
        JSON.stringify({
          deliverySlotId: windowId,
          closesAt: new Date(now + 15_000).toISOString(),
          deliveryStart: new Date(now + 45_000).toISOString(),
          deliveryEnd: new Date(now + 60_000).toISOString(),
          reportGraceSeconds: 0,
        }),
      ],
    });
    await windowOnUtilityPeers(windowId);
    // Both utilities commit (majority-endorsed) before the close; A's own code is still genuine.
    for (const org of [UTILITY_A, UTILITY_B]) {
      const listed = await evaluateJson<{ count: number; digest: string }>(
        actors.relay(org).contract('auction'),
        'ListOrderRefs',
        [windowId],
      );
      await submitJson(actors.relay(org).contract('auction'), 'CommitOrders', {
        args: [windowId, String(listed.count), listed.digest],
      });
    }
    // Its own part of the window: accepted (the key-level policy names its peer).
    await alone('PutComposite', ['hems.windoworg', JSON.stringify([windowId, UTILITY_A]), '{"garbage":']);
    const refused: [string, string[]][] = [
      ['hems.windoworg', [windowId, UTILITY_B]],
      ['hems.window', [windowId]],
      ['hems.windowcommit', [windowId, UTILITY_A]],
      ['hems.windowcommit', [windowId, UTILITY_B]],
      ['hems.issuance', [UTILITY_A, 'f'.repeat(64)]],
      ['hems.settings', ['current']],
    ];
    for (const [objectType, attributes] of refused) {
      let caught: unknown;
      try {
        await alone('PutComposite', [objectType, JSON.stringify(attributes), '{"forged":true}']);
      } catch (error) {
        caught = error;
      }
      expect(
        String((caught as Error | undefined)?.message),
        `${objectType} ${attributes.join('/')}`,
      ).to.match(/ENDORSEMENT_POLICY_FAILURE/);
    }
  });

  it('its garbage part of a window stops nobody: the window clears without it after revealBy', async () => {
    const window = await evaluateJson<{ closesAt: string; revealBy: string; status: string }>(
      market().contract('auction'),
      'GetWindow',
      [windowId],
    );
    expect(window.status).to.equal('OPEN');
    await sleep(Math.max(0, Date.parse(window.closesAt) - Date.now()) + 2_000);
    await submitJson(actors.relay(UTILITY_B).contract('auction'), 'RevealOrders', {
      args: [windowId],
      transientData: { refs: Buffer.from('[]') },
      endorsingOrganizations: [UTILITY_B],
    });
    await expectRefusal(
      submitJson(market().contract('auction'), 'ClearWindow', { args: [windowId] }),
      'FAILED_PRECONDITION',
      /waits for the orders of UtilityAMSP/,
    );
    await sleep(Math.max(0, Date.parse(window.revealBy) - Date.now()) + 2_000);
    const cleared = await submitJson<{ excludedOrgs: string[] }>(
      market().contract('auction'),
      'ClearWindow',
      {
        args: [windowId],
      },
    );
    expect(cleared.excludedOrgs).to.deep.equal([UTILITY_A]);
  });

  it('a forged aggregate stops neither the slot view nor the dispatch: it counts as not published', async () => {
    const slotId = uniqueSlotId('adversary');
    await actors.openSlot(slotId, 8_000);
    const slot = await evaluateJson<{ expected: { org: string; bus: string }[] }>(
      actors.dso.contract(),
      'GetSlot',
      [slotId],
    );
    const own = slot.expected.find((entry) => entry.org === UTILITY_A);
    expect(own, 'UtilityA has enrolled homes').to.not.equal(undefined);
    const bus = own?.bus ?? '';
    // A record under its own key that names UtilityB, with sums far too large.
    await alone('PutComposite', [
      'hems.aggregate',
      JSON.stringify([slotId, UTILITY_A, bus]),
      JSON.stringify({
        slotId,
        org: UTILITY_B,
        bus,
        expectedHomes: 1,
        published: true,
        homes: 50,
        withheld: false,
        lower: 900,
        upper: 990,
      }),
    ]);
    const view = await evaluateJson<{ aggregates: { org: string; bus: string; published: boolean }[] }>(
      actors.dso.contract(),
      'GetSlot',
      [slotId],
    );
    expect(
      view.aggregates.filter((agg) => agg.bus === bus).map((agg) => [agg.org, agg.published]),
    ).to.deep.include.members([
      [UTILITY_A, false],
      [UTILITY_B, false],
    ]);
    await sleep(9_000);
    const dispatched = await submitJson<{ dispatch: { missing: { org: string; bus: string }[] } }>(
      actors.dso.contract(),
      'PublishDispatch',
      { args: [slotId, '0.5', '', ''] },
    );
    expect(dispatched.dispatch.missing).to.deep.include({ org: UTILITY_A, bus });
  });

  it('a bid it adds after seeing the others’ orders is left out, and its claim that the other utility did not report changes no payment', async () => {
    const id = uniqueSlotId('w-sealed');
    // The first two devices of UtilityB (its last one was revoked by the refusals suite).
    const [seller, buyer] = devicesOf(actors.description, UTILITY_B);
    if (seller === undefined || buyer === undefined) {
      throw new Error('UtilityB has no two devices');
    }
    const token = actors.admin(UTILITY_B).contract('token');
    const accountOf = async (device: Device, amount: string): Promise<string> => {
      const { accountId, exists } = await evaluateJson<{ accountId: string; exists: boolean }>(
        token,
        'GetAccountId',
        [],
        { homeId: Buffer.from(device.homeId) },
      );
      if (!exists || amount !== '0') {
        await submitJson(token, 'Deposit', {
          args: [accountId, amount],
          endorsingOrganizations: [UTILITY_B, 'DSOMSP', 'RegulatorMSP'],
        });
      }
      return accountId;
    };
    const sellerAccount = await accountOf(seller, '0');
    await accountOf(buyer, '1');
    const now = Date.now();
    const closesAt = now + 25_000;
    await submitJson(market().contract('auction'), 'OpenTradingWindow', {
      args: [
        id,
        JSON.stringify({
          deliverySlotId: id,
          closesAt: new Date(closesAt).toISOString(),
          deliveryStart: new Date(closesAt + 20_000).toISOString(),
          deliveryEnd: new Date(closesAt + 22_000).toISOString(),
          reportGraceSeconds: 0,
        }),
      ],
    });
    await windowOnUtilityPeers(id);
    const meter = actors.connect(UTILITY_B, 'meter-headend').contract('auction');
    await submitJson(meter, 'PostAvailableEnergy', {
      args: [id],
      transientData: { availability: Buffer.from(JSON.stringify([{ homeId: seller.homeId, energyKwh: 2 }])) },
      endorsingOrganizations: [UTILITY_B],
    });
    const relayB = actors.relay(UTILITY_B).contract('auction');
    const order = async (device: Device, terms: OrderTerms, escrow: string): Promise<void> => {
      const payload = Buffer.from(orderPayload(id, terms, escrow, randomBytes(16).toString('base64')));
      await submitJson(relayB, 'SubmitOrder', {
        args: [id],
        transientData: {
          payload,
          signature: sign('sha256', payload, device.privateKey),
          certificate: Buffer.from(device.certificatePem),
        },
        endorsingOrganizations: [UTILITY_B],
      });
    };
    await order(seller, { side: 'offer', energyKwh: 2, limitPrice: 50 }, '0');
    await order(buyer, { side: 'bid', energyKwh: 1, limitPrice: 60 }, '0.06');
    for (const org of [UTILITY_A, UTILITY_B]) {
      const listed = await evaluateJson<{ count: number; digest: string }>(
        actors.relay(org).contract('auction'),
        'ListOrderRefs',
        [id],
      );
      await submitJson(actors.relay(org).contract('auction'), 'CommitOrders', {
        args: [id, String(listed.count), listed.digest],
      });
    }
    await sleep(Math.max(0, closesAt - Date.now()) + 2_000);
    for (const org of [UTILITY_B, UTILITY_A]) {
      const { refs } = await evaluateJson<{ refs: string[] }>(
        actors.relay(org).contract('auction'),
        'ListOrderRefs',
        [id],
      );
      await submitJson(actors.relay(org).contract('auction'), 'RevealOrders', {
        args: [id],
        transientData: { refs: Buffer.from(JSON.stringify(refs)) },
        endorsingOrganizations: [org],
      });
    }
    // Having read B's orders, A adds a high bid to its own revealed part.
    const partKey = ['hems.windoworg', JSON.stringify([id, UTILITY_A])];
    const rewritePart = async (
      edit: (part: Record<string, unknown>) => Record<string, unknown>,
    ): Promise<void> => {
      const part = await evaluateJson<Record<string, unknown>>(
        actors.relay(UTILITY_A).contract('adversary'),
        'GetComposite',
        partKey,
      );
      await alone('PutComposite', [...partKey, JSON.stringify(edit(part))]);
    };
    const madeUp = JSON.stringify({
      accountId: `acct-${randomBytes(16).toString('hex')}`,
      deviceSerial: 'ABCDEF01',
      orderRef: randomBytes(32).toString('hex'),
      payload: orderPayload(
        id,
        { side: 'bid', energyKwh: 5, limitPrice: 200 },
        '1',
        randomBytes(16).toString('base64'),
      ),
      submittedAt: now,
      windowId: id,
    });
    await rewritePart((part) => {
      const revealed = part.revealed as { orders: string[]; count: number };
      return {
        ...part,
        revealed: { ...revealed, orders: [...revealed.orders, madeUp], count: revealed.count + 1 },
      };
    });
    // The market operator's peer must see both reveals and A's rewrite before the clearing.
    await eventually(
      () => evaluateJson<WindowParts>(market().contract('auction'), 'GetWindow', [id]),
      (view) =>
        view.parts.find((part) => part.org === UTILITY_A)?.revealed?.count === 1 &&
        view.parts.find((part) => part.org === UTILITY_B)?.revealed !== undefined,
    );
    const cleared = await submitJson<{ excludedOrgs: string[]; checks: { unmatchedOrgs: string[] } }>(
      market().contract('auction'),
      'ClearWindow',
      { args: [id] },
    );
    expect(cleared.checks.unmatchedOrgs).to.deep.equal([UTILITY_A]);
    const clearing = await evaluateJson<{
      trades: { sellerOrg: string; buyerOrg: string; energyWh: number; value: string }[];
    }>(market().contract('auction'), 'GetClearing', [id]);
    expect(clearing.trades.map((trade) => [trade.sellerOrg, trade.buyerOrg, trade.energyWh])).to.deep.equal([
      [UTILITY_B, UTILITY_B, 1000],
    ]);
    // A now declares B unreported in its own part; B reports in full and settles.
    await rewritePart((part) => ({
      ...part,
      settlement: { settledAt: new Date().toISOString(), txId: 'f'.repeat(64), unreportedOrgs: [UTILITY_B] },
    }));
    await sleep(Math.max(0, closesAt + 22_000 - Date.now()) + 1_000);
    await eventually(() => evaluateJson(relayB, 'GetClearing', [id]));
    await submitJson(meter, 'ReportDelivery', {
      args: [id],
      transientData: {
        readings: Buffer.from(
          JSON.stringify([
            { tradeId: 't1', side: 'offer', energyKwh: 1 },
            { tradeId: 't1', side: 'bid', energyKwh: 1 },
          ]),
        ),
      },
      endorsingOrganizations: [UTILITY_B],
    });
    const before = await evaluateJson<{ balance: string }>(
      actors.relay(UTILITY_B).contract('token'),
      'GetAccount',
      [sellerAccount],
    );
    const settled = await submitJson<{ sellersPaid: string }>(relayB, 'SettleWindow', {
      args: [id],
      endorsingOrganizations: [UTILITY_B],
    });
    expect(settled.sellersPaid).to.equal(clearing.trades[0]?.value);
    const after = await evaluateJson<{ balance: string }>(
      actors.relay(UTILITY_B).contract('token'),
      'GetAccount',
      [sellerAccount],
    );
    expect(BigInt(after.balance) - BigInt(before.balance)).to.equal(
      BigInt(clearing.trades[0]?.value ?? '-1'),
    );
  });

  it('a balance it rewrites without a deposit shows as its own difference in the reconciliation', async () => {
    const reconcile = async (): Promise<Map<string, bigint>> => {
      const answer = await evaluateJson<{ utilities: UtilityDifference[] }>(
        actors.relay(UTILITY_A).contract('token'),
        'ReconcileTokens',
      );
      return new Map(answer.utilities.map((entry) => [entry.org, BigInt(entry.difference)]));
    };
    const admin = actors.admin(UTILITY_A).contract('token');
    const { accountId } = await evaluateJson<{ accountId: string }>(admin, 'GetAccountId', [], {
      homeId: Buffer.from(`adversary-home-${Date.now()}`),
    });
    await submitJson(admin, 'Deposit', {
      args: [accountId, '1'],
      endorsingOrganizations: [UTILITY_A, 'DSOMSP', 'RegulatorMSP'],
    });
    const before = await reconcile();
    // GetComposite answers the stored bytes: the account's own JSON.
    const stored = await evaluateJson<{ balance: string }>(
      actors.relay(UTILITY_A).contract('adversary'),
      'GetComposite',
      ['hems.account', JSON.stringify([accountId])],
    );
    const minted = { ...stored, balance: (BigInt(stored.balance) + 5n * CURRENCY_UNITS).toString() };
    await alone('PutComposite', ['hems.account', JSON.stringify([accountId]), JSON.stringify(minted)]);
    const after = await reconcile();
    expect((after.get(UTILITY_A) ?? 0n) - (before.get(UTILITY_A) ?? 0n)).to.equal(5n * CURRENCY_UNITS);
    expect(after.get(UTILITY_B)).to.equal(before.get(UTILITY_B));
  });
});

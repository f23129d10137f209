import { evaluateJson, submitJson } from '@hems/network-client';
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
      actors.auditor.contract('auction'),
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

  it('a balance it rewrites without a deposit shows as its own difference in the reconciliation', async () => {
    const reconcile = async (): Promise<Map<string, bigint>> => {
      const answer = await evaluateJson<{ utilities: UtilityDifference[] }>(
        actors.auditor.contract('token'),
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

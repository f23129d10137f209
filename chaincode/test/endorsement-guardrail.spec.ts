import { expect } from 'chai';
import { peerOfOrgPolicy } from '../src/lib/ledger';
import { collectionOf } from '@hems/protocol';
import type { HemsContext } from '../src/lib/context';
import { FakeLedger, identities, type InvokeOptions } from './support/fake-ledger';
import { AuctionScenario } from './support/auction';
import { UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

/**
 * The fake ledger's model of endorsement on a channel whose chaincode policy is MAJORITY: the
 * guardrail that makes unit tests fail where the real network would refuse a transaction at
 * validation (ENDORSEMENT_POLICY_FAILURE).
 */
describe('fake ledger: endorsement guardrail', () => {
  let ledger: FakeLedger;
  const relay = identities.relay(UTILITY_A);

  /** Writes `key`; `touchPrivate` reads the org's collection first, which makes it single-peer. */
  function write(
    key: string,
    options: InvokeOptions & { touchPrivate?: boolean; policyOrg?: string } = {},
  ): Promise<string> {
    return ledger.invoke(
      relay,
      async (ctx: HemsContext) => {
        if (options.touchPrivate === true) {
          await ctx.stub.getPrivateData(collectionOf(UTILITY_A), 'secret');
        }
        await ctx.stub.putState(key, Buffer.from('{}'));
        if (options.policyOrg !== undefined) {
          await ctx.stub.setStateValidationParameter(key, peerOfOrgPolicy(options.policyOrg));
        }
        return 'ok';
      },
      options,
    );
  }

  beforeEach(() => {
    ledger = new FakeLedger();
  });

  it('refuses a single-peer transaction that writes a key without a key-level policy, and commits nothing', async () => {
    await expectRefusal(
      write('new-key', { touchPrivate: true }),
      'ENDORSEMENT_POLICY_FAILURE',
      /new-key has no key-level policy.*only the peer of UtilityAMSP endorsed/,
    );
    expect(ledger.state.size).to.equal(0);
    expect(ledger.committed).to.have.length(0);
    expect(ledger.errors[0]).to.match(/^ENDORSEMENT_POLICY_FAILURE/);
    // The same refusal when the test declares the transaction single-peer without private data.
    await expectRefusal(write('new-key', { endorsement: 'single' }), 'ENDORSEMENT_POLICY_FAILURE');
  });

  it('lets a majority transaction create a key and give it a policy naming one org', async () => {
    await write('part', { policyOrg: UTILITY_A, peer: 'DSOMSP' });
    expect(ledger.keyPolicyOrgs('part')).to.deep.equal([UTILITY_A]);
    const tx = ledger.committedAt(0);
    expect(tx).to.include({ endorsement: 'majority', endorser: 'DSOMSP' });
    const policy = await ledger.evaluate(relay, async (ctx) =>
      Buffer.from(await ctx.stub.getStateValidationParameter('part')).toString('hex'),
    );
    expect(policy).to.equal(Buffer.from(peerOfOrgPolicy(UTILITY_A)).toString('hex'));
  });

  it('lets a single peer update a key whose policy names its org, and only its org', async () => {
    await write('part-a', { policyOrg: UTILITY_A, peer: 'DSOMSP' });
    await write('part-b', { policyOrg: UTILITY_B, peer: 'DSOMSP' });
    await write('part-a', { touchPrivate: true });
    expect(ledger.committedAt(2)).to.include({ endorsement: 'single' });
    expect(ledger.committedAt(2).endorsers).to.deep.equal([UTILITY_A]);
    await expectRefusal(
      write('part-b', { touchPrivate: true }),
      'ENDORSEMENT_POLICY_FAILURE',
      /part-b needs the peers of UtilityBMSP; endorsed by UtilityAMSP/,
    );
  });

  it('refuses a majority transaction that writes a key of one org unless that org’s peer endorsed it', async () => {
    await write('account', { policyOrg: UTILITY_A, peer: UTILITY_A });
    await expectRefusal(
      write('account', { peer: 'DSOMSP', endorsers: ['RegulatorMSP', UTILITY_B] }),
      'ENDORSEMENT_POLICY_FAILURE',
      /account needs the peers of UtilityAMSP/,
    );
    await write('account', { peer: 'DSOMSP', endorsers: [UTILITY_A, UTILITY_B] });
    await write('account', { peer: UTILITY_A });
    expect(ledger.committed.map((tx) => tx.endorsers)).to.deep.equal([
      [UTILITY_A],
      ['DSOMSP', UTILITY_A, UTILITY_B],
      [UTILITY_A],
    ]);
  });

  it('checks setting a policy like a write: a single peer cannot put a policy on a new key', async () => {
    await expectRefusal(
      write('fresh', { touchPrivate: true, policyOrg: UTILITY_A }),
      'ENDORSEMENT_POLICY_FAILURE',
      /fresh has no key-level policy/,
    );
    expect(ledger.validationParameters.size).to.equal(0);
  });

  it('refuses at commit a transaction whose public or private reads changed since its endorsement (MVCC)', async () => {
    await write('shared', { policyOrg: UTILITY_A, peer: 'DSOMSP' });
    const readThenWrite = (key: string, privateKey?: string): ReturnType<FakeLedger['endorse']> =>
      ledger.endorse(relay, async (ctx) => {
        await ctx.stub.getState(key);
        if (privateKey !== undefined) {
          await ctx.stub.getPrivateData(collectionOf(UTILITY_A), privateKey);
        }
        await ctx.stub.putState('shared', Buffer.from('{"late":true}'));
        return 'late';
      });
    const stale = await readThenWrite('shared');
    const fresh = await readThenWrite('shared');
    await fresh.commit();
    await expectRefusal(stale.commit(), 'MVCC_READ_CONFLICT', /shared changed after the transaction read it/);
    let again: unknown;
    await fresh.commit().catch((error: unknown) => {
      again = error;
    });
    expect((again as Error).message).to.match(/already submitted for commit/);
    expect(ledger.committed).to.have.length(2);

    // A private key read goes into the hashed read set: a write of it by another transaction
    // invalidates the reader too.
    const reader = await readThenWrite('other', 'secret');
    await ledger.invoke(
      relay,
      async (ctx) => {
        await ctx.stub.putPrivateData(collectionOf(UTILITY_A), 'secret', Buffer.from('x'));
        return '';
      },
      {},
    );
    await expectRefusal(
      reader.commit(),
      'MVCC_READ_CONFLICT',
      /UtilityAMSPPrivateCollection\/secret changed/,
    );
    expect(ledger.state.get('shared')?.toString()).to.equal('{"late":true}');
    expect(ledger.committed).to.have.length(3);
  });

  it('would have refused the auction’s single-peer writes of new public keys', async () => {
    // What escrow records, revealed orders or a pool key written by a utility's peer alone did.
    const s = await AuctionScenario.create();
    await s.openWindow('w-guard');
    const error = await expectRefusal(
      s.ledger.invoke(
        identities.relay(UTILITY_A),
        async (ctx) => {
          await ctx.stub.getPrivateData(collectionOf(UTILITY_A), 'x');
          await ctx.stub.putState(ctx.keys.window('w-guard'), Buffer.from('{}'));
          return '';
        },
        {},
      ),
      'ENDORSEMENT_POLICY_FAILURE',
    );
    expect(error.message).to.match(/hems\.window\/w-guard\/ has no key-level policy/);
    // The per-org records OpenTradingWindow created carry the policy of their org's peer only.
    const parts = [...s.ledger.validationParameters.keys()].filter((key) => key.includes('hems.windoworg'));
    expect(parts.map((key) => s.ledger.keyPolicyOrgs(key))).to.deep.equal([[UTILITY_A], [UTILITY_B]]);
  });
});

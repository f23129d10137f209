import { expect } from 'chai';
import * as sinon from 'sinon';
import { HttpError } from '../src/http/errors';
import { submitRetryingConflicts, type SubmitAttempt } from '../src/ledger/mvcc-retry';

const MVCC_READ_CONFLICT = 11;
const PHANTOM_READ_CONFLICT = 12;
const ENDORSEMENT_POLICY_FAILURE = 10;

function outcome(code: number, transactionId: string): SubmitAttempt {
  return { successful: code === 0, code, transactionId, result: Buffer.from('{"ok":true}') };
}

describe('submitting with MVCC conflict retries', () => {
  it('endorses and submits again after MVCC and phantom conflicts, with growing backoff, until it commits', async () => {
    const attempt = sinon.stub();
    attempt.onCall(0).resolves(outcome(MVCC_READ_CONFLICT, 't1'));
    attempt.onCall(1).resolves(outcome(PHANTOM_READ_CONFLICT, 't2'));
    attempt.onCall(2).resolves(outcome(0, 't3'));
    const sleep = sinon.stub().resolves();
    const result = await submitRetryingConflicts(attempt, { sleep, random: () => 0.5, backoffMs: 100 });
    expect(result.transactionId).to.equal('t3');
    expect(Buffer.from(result.result).toString()).to.equal('{"ok":true}');
    expect(sleep.args.map(([ms]) => ms as number)).to.deep.equal([100, 200]);
  });

  it('gives up after the last attempt with 409 CONFLICT and the last transaction id', async () => {
    const attempt = sinon.stub().resolves(outcome(MVCC_READ_CONFLICT, 'tx-last'));
    const error = await submitRetryingConflicts(attempt, {
      attempts: 3,
      sleep: () => Promise.resolve(),
    }).catch((e: unknown) => e);
    expect(attempt.callCount).to.equal(3);
    expect(error).to.be.instanceOf(HttpError);
    expect(error).to.include({ statusCode: 409, code: 'CONFLICT', transactionId: 'tx-last' });
    expect((error as Error).message).to.match(/MVCC_READ_CONFLICT after 3 attempts/);
  });

  it('fails at once on any other invalidation', async () => {
    const attempt = sinon.stub().resolves(outcome(ENDORSEMENT_POLICY_FAILURE, 'tx-bad'));
    const error = await submitRetryingConflicts(attempt, { sleep: () => Promise.resolve() }).catch(
      (e: unknown) => e,
    );
    expect(attempt.callCount).to.equal(1);
    expect(error).to.include({ statusCode: 502, code: 'COMMIT_FAILED', transactionId: 'tx-bad' });
    expect((error as Error).message).to.match(/ENDORSEMENT_POLICY_FAILURE/);
  });
});

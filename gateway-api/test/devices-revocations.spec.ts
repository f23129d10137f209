import 'reflect-metadata';
import type { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { rejectionOf } from './support/expectations';
import sinon, { type SinonStub } from 'sinon';
import { HttpError } from '../src/http/errors';
import type { Ledger, LedgerContract, ServiceIdentity, TransactionOptions } from '../src/ledger/ports';
import { ChaincodeRevocations } from '../src/services/revocations';
import { createCa, issueClient, trustStoreOf } from './support/pki';

type Evaluate = SinonStub<[string, TransactionOptions?], Promise<Uint8Array>>;

/** A Ledger whose governance contract answers GetSettings/GetRevocations from sinon stubs. */
function fakeLedger(identities: readonly ServiceIdentity[] = ['relay', 'admin']): {
  ledger: Ledger;
  evaluate: Evaluate;
  contract: SinonStub<[ServiceIdentity, ('timeslot' | 'governance')?], LedgerContract>;
} {
  const evaluate: Evaluate = sinon.stub<[string, TransactionOptions?], Promise<Uint8Array>>();
  const contract = sinon
    .stub<[ServiceIdentity, ('timeslot' | 'governance')?], LedgerContract>()
    .returns({ evaluate, submit: sinon.stub().rejects(new Error('read only')) });
  const ledger: Ledger = {
    mspId: 'UtilityAMSP',
    identities,
    contract,
    blockHeight: sinon.stub().resolves(1),
    block: sinon.stub().rejects(new Error('not used')),
    transaction: sinon.stub().rejects(new Error('not used')),
    close: sinon.stub(),
  };
  return { ledger, evaluate, contract };
}

const failureOf = (promise: Promise<unknown>): Promise<Error> => rejectionOf(promise, Error);

const encode = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

function revocations(mspId: string, serials: readonly string[]): Uint8Array {
  return encode({
    mspId,
    revoked: serials.map((serial) => ({
      serial,
      revokedAt: '2026-11-20T10:00:00.000Z',
      reason: 'keycompromise',
    })),
  });
}

function answer(
  evaluate: Evaluate,
  lists: Record<string, readonly string[]>,
  utilities = Object.keys(lists),
): void {
  evaluate.withArgs('GetSettings').resolves(encode({ utilityMspIds: utilities, minGroupSize: 5 }));
  for (const [mspId, serials] of Object.entries(lists)) {
    evaluate
      .withArgs('GetRevocations', sinon.match({ arguments: [mspId] }))
      .callsFake(() => Promise.resolve(revocations(mspId, serials)));
  }
}

describe('chaincode revocation lists (RevocationSource)', () => {
  afterEach(() => {
    sinon.restore();
  });

  it("reads every utility's list through the governance contract and answers synchronously", async () => {
    const { ledger, evaluate, contract } = fakeLedger();
    answer(evaluate, { UtilityAMSP: ['0ABC', '7F01'], UtilityBMSP: ['0DEF'] });
    const source = new ChaincodeRevocations({ ledger });
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(false);
    await source.refresh();
    sinon.assert.alwaysCalledWithExactly(contract, 'relay', 'governance');
    expect(evaluate.args.map((args) => [args[0], args[1]?.arguments])).to.deep.equal([
      ['GetSettings', undefined],
      ['GetRevocations', ['UtilityAMSP']],
      ['GetRevocations', ['UtilityBMSP']],
    ]);
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(true);
    expect(source.isRevoked('UtilityAMSP', '0abc')).to.equal(true);
    expect(source.isRevoked('UtilityAMSP', '000ABC')).to.equal(true);
    expect(source.isRevoked('UtilityAMSP', '7F01')).to.equal(true);
    expect(source.isRevoked('UtilityBMSP', '0DEF')).to.equal(true);
    // Lists are per org: the same serial from another CA is another certificate.
    expect(source.isRevoked('UtilityBMSP', '0ABC')).to.equal(false);
    expect(source.isRevoked('DSOMSP', '0ABC')).to.equal(false);
    expect(source.isRevoked('UtilityAMSP', 'not hex')).to.equal(false);
    const status = source.status();
    expect(status.counts).to.deep.equal({ UtilityAMSP: 2, UtilityBMSP: 1 });
    expect(status.refreshedAt).to.be.instanceOf(Date);
    expect(status).to.not.have.property('lastError');
  });

  it('uses the given orgs and identity instead of the channel settings', async () => {
    const { ledger, evaluate, contract } = fakeLedger(['dso']);
    answer(evaluate, { UtilityBMSP: ['01'] });
    const source = new ChaincodeRevocations({
      ledger,
      mspIds: ['UtilityBMSP', 'UtilityBMSP'],
      identity: 'dso',
    });
    await source.refresh();
    sinon.assert.neverCalledWith(evaluate, 'GetSettings');
    sinon.assert.calledOnce(evaluate);
    sinon.assert.calledWith(contract, 'dso', 'governance');
    expect(source.isRevoked('UtilityBMSP', '01')).to.equal(true);
  });

  it('picks up new revocations and lifted ones on the next refresh', async () => {
    const { ledger, evaluate } = fakeLedger();
    let listed = ['0ABC'];
    evaluate.withArgs('GetSettings').resolves(encode({ utilityMspIds: ['UtilityAMSP'] }));
    evaluate.withArgs('GetRevocations').callsFake(() => Promise.resolve(revocations('UtilityAMSP', listed)));
    const source = new ChaincodeRevocations({ ledger });
    await source.refresh();
    listed = ['0DEF'];
    await source.refresh();
    expect(source.isRevoked('UtilityAMSP', '0DEF')).to.equal(true);
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(false);
  });

  it('keeps the last complete lists when a refresh fails, and reports it', async () => {
    const { ledger, evaluate } = fakeLedger();
    answer(evaluate, { UtilityAMSP: ['0ABC'], UtilityBMSP: ['0DEF'] });
    const onError = sinon.spy();
    const source = new ChaincodeRevocations({ ledger, onError });
    await source.refresh();
    // The second org's list cannot be read: nothing is replaced, not even the first org's.
    evaluate
      .withArgs('GetRevocations', sinon.match({ arguments: ['UtilityAMSP'] }))
      .resolves(revocations('UtilityAMSP', []));
    evaluate
      .withArgs('GetRevocations', sinon.match({ arguments: ['UtilityBMSP'] }))
      .rejects(new HttpError(503, 'LEDGER_UNAVAILABLE', 'the Fabric network did not answer'));
    expect(await failureOf(source.refresh())).to.be.instanceOf(HttpError);
    sinon.assert.calledOnce(onError);
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(true);
    expect(source.isRevoked('UtilityBMSP', '0DEF')).to.equal(true);
    expect(source.status().lastError).to.equal('the Fabric network did not answer');
  });

  it('refuses answers it cannot read', async () => {
    const cases: [string, Uint8Array, string][] = [
      ['not JSON', Buffer.from('<html>'), 'not JSON'],
      ['no list', encode({ mspId: 'UtilityAMSP' }), 'no revoked list'],
      ['no serial', encode({ mspId: 'UtilityAMSP', revoked: [{ reason: 'x' }] }), 'no serial'],
      ['bad serial', encode({ mspId: 'UtilityAMSP', revoked: [{ serial: 'xyz' }] }), 'hexadecimal'],
    ];
    for (const [what, bytes, message] of cases) {
      const { ledger, evaluate } = fakeLedger();
      evaluate.withArgs('GetRevocations').resolves(bytes);
      const source = new ChaincodeRevocations({ ledger, mspIds: ['UtilityAMSP'] });
      expect((await failureOf(source.refresh())).message, what).to.contain(message);
    }
    const { ledger, evaluate } = fakeLedger();
    evaluate.withArgs('GetSettings').resolves(encode({ minGroupSize: 5 }));
    expect((await failureOf(new ChaincodeRevocations({ ledger }).refresh())).message).to.contain(
      'utilityMspIds',
    );
    const none = fakeLedger([]);
    expect((await failureOf(new ChaincodeRevocations({ ledger: none.ledger }).refresh())).message).to.contain(
      'no Fabric identity',
    );
  });

  it('shares one read between concurrent refreshes', async () => {
    const { ledger, evaluate } = fakeLedger();
    answer(evaluate, { UtilityAMSP: ['0ABC'] });
    const source = new ChaincodeRevocations({ ledger });
    await Promise.all([source.refresh(), source.refresh(), source.refresh()]);
    sinon.assert.calledTwice(evaluate); // GetSettings + one GetRevocations
    await source.refresh();
    sinon.assert.callCount(evaluate, 4);
  });

  it('refreshes on start and then every interval until stopped, never throwing', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { ledger, evaluate } = fakeLedger();
    answer(evaluate, { UtilityAMSP: ['0ABC'] });
    const source = new ChaincodeRevocations({ ledger, intervalMs: 30_000 });
    await source.start();
    await source.start(); // already running: no second timer
    sinon.assert.callCount(evaluate, 2);
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(true);
    await clock.tickAsync(29_999);
    sinon.assert.callCount(evaluate, 2);
    await clock.tickAsync(1);
    sinon.assert.callCount(evaluate, 4);
    evaluate.withArgs('GetSettings').rejects(new Error('peer down'));
    await clock.tickAsync(30_000); // a failed periodic refresh is reported, not thrown
    expect(source.status().lastError).to.equal('peer down');
    expect(source.isRevoked('UtilityAMSP', '0ABC')).to.equal(true);
    source.stop();
    const calls = evaluate.callCount;
    await clock.tickAsync(120_000);
    sinon.assert.callCount(evaluate, calls);
    source.stop();

    const failing = fakeLedger();
    failing.evaluate.rejects(new Error('peer down'));
    const late = new ChaincodeRevocations({ ledger: failing.ledger });
    await late.start(); // resolves although the first read failed
    expect(late.status().lastError).to.equal('peer down');
    late.stop();
  });

  it("makes the gateway's trust store refuse revoked device certificates", async () => {
    const ca = await createCa('UtilityAMSP');
    const device = (serialNumber: string): Promise<X509Certificate> =>
      issueClient(ca, {
        name: 'hems-home-a-101',
        serialNumber,
        attrs: { 'hems.role': 'hems', 'hems.home': 'home-a-101', 'hems.bus': 'bus-1' },
      });
    const revoked = await device('0abc');
    const fine = await device('0abd');
    const { ledger, evaluate } = fakeLedger();
    answer(evaluate, { UtilityAMSP: ['0ABC'] });
    const source = new ChaincodeRevocations({ ledger });
    await source.refresh();
    const trust = trustStoreOf([ca], source);
    expect(trust.authenticate(fine).homeId).to.equal('home-a-101');
    expect(() => trust.authenticate(revoked)).to.throw(HttpError, 'revoked');
  });
});

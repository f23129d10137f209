import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { freshNonce, signForecast, type TestDevice } from './support/pki';
import {
  type BatchReceiptView,
  callersOtherThan,
  expectRefusal,
  MINUTE,
  Scenario,
  UTILITY_A,
  UTILITY_B,
} from './support/scenario';

const slotId = 'slot-1';
const collectionA = `${UTILITY_A}PrivateCollection`;

describe('SubmitForecasts (relay batches)', () => {
  let s: Scenario;
  let devices: TestDevice[];

  const entry = (device: TestDevice, lower: unknown = 1, upper: unknown = 2, nonce?: string) => ({
    device,
    forecast: { slotId, lower, upper, ...(nonce === undefined ? {} : { nonce }) },
  });
  const submitItems = (
    items: unknown,
    who = identities.relay(UTILITY_A),
    peer = UTILITY_A,
  ): Promise<string> =>
    s.ledger.invoke(who, (ctx) => s.timeslot.SubmitForecasts(ctx, slotId), {
      peer,
      transient: { items: typeof items === 'string' ? items : JSON.stringify(items) },
    });
  const batchRecords = (): { txId: string; items: Record<string, unknown>[] }[] =>
    [...s.ledger.collection(collectionA).entries()]
      .filter(([key]) => key.includes('hems.forecastbatch'))
      .map(([, value]) => JSON.parse(value.toString()) as { txId: string; items: Record<string, unknown>[] });

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    devices = await Promise.all([0, 1, 2, 3, 4].map(() => s.device(UTILITY_A, 'bus-1')));
  });

  it('stores every accepted item in one batch record beside its root, and answers counts and refusals by position', async () => {
    const [a, b, c, d, e] = devices as [TestDevice, TestDevice, TestDevice, TestDevice, TestDevice];
    const foreign = await s.device(UTILITY_B, 'bus-1');
    const bus2 = await s.device(UTILITY_A, 'bus-2');
    const receipt = await s.submitBatch(UTILITY_A, [
      entry(a, 1, 2),
      entry(b, 3, 1), // lower > upper
      entry(foreign, 1, 2), // another utility's device
      entry(c, 0.5, 0.5),
      entry(bus2, 2, 4),
      entry(d, 1, 99), // above the per-home maximum
      entry(e, 0, 1),
    ]);
    expect(receipt).to.include({ slotId, accepted: 4, acceptedAt: s.ledger.now.toISOString() });
    expect(receipt.refused).to.deep.equal([
      { index: 1, code: 'INVALID_ARGUMENT', message: 'payload.lower must not exceed payload.upper' },
      {
        index: 2,
        code: 'FORBIDDEN',
        message: `device certificate was not issued by a CA registered for ${UTILITY_A}`,
      },
      { index: 5, code: 'INVALID_ARGUMENT', message: receipt.refused[2]?.message ?? '' },
    ]);
    expect(receipt.refused[2]?.message).to.match(/payload.upper must be between/);

    const tx = s.ledger.committed.at(-1);
    expect(tx?.publicWrites).to.deep.equal([]);
    expect(tx?.events).to.deep.equal([]);
    expect(tx?.endorsement).to.equal('single');
    expect(tx?.privateKeys.map((k) => k.key.split('\u0000')[1])).to.deep.equal([
      'hems.forecastbatch',
      'hems.forecastroot',
    ]);
    const [record] = batchRecords();
    expect(record?.txId).to.equal(receipt.txId);
    expect(record?.items.map((item) => [item.bus, item.lower, item.upper])).to.deep.equal([
      ['bus-1', 1, 2],
      ['bus-1', 0.5, 0.5],
      ['bus-2', 2, 4],
      ['bus-1', 0, 1],
    ]);
    expect(record?.items[0]?.ref).to.equal(await s.homeRef(UTILITY_A, a, slotId));
  });

  it('reads and writes the ledger a fixed number of times whatever the batch size', async () => {
    const roundTrips = async (count: number): Promise<number[]> => {
      const batchDevices = await Promise.all(
        Array.from({ length: count }, () => s.device(UTILITY_A, 'bus-1')),
      );
      await s.submitBatch(
        UTILITY_A,
        batchDevices.map((device) => entry(device)),
      );
      const tx = s.ledger.committed.at(-1);
      return [tx?.publicReads.length ?? -1, tx?.privateReadHashes.length ?? -1, tx?.privateKeys.length ?? -1];
    };
    expect(await roundTrips(40)).to.deep.equal(await roundTrips(1));
  });

  it('refuses the later of two items of one home, and a nonce used twice, in one batch', async () => {
    const [a, b] = devices as [TestDevice, TestDevice];
    const nonce = freshNonce();
    const receipt = await s.submitBatch(UTILITY_A, [
      entry(a, 1, 2),
      entry(a, 3, 4),
      entry(b, 1, 2, nonce),
      entry(devices[2]!, 1, 2, nonce),
    ]);
    expect(receipt.accepted).to.equal(2);
    expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([
      [1, 'CONFLICT'],
      [3, 'CONFLICT'],
    ]);
  });

  it('lets a later batch replace a home’s forecast, and never counts a replayed payload again', async () => {
    const [a] = devices as [TestDevice];
    const older = signForecast(a, { slotId, lower: 5, upper: 6 });
    const asItem = (signed: ReturnType<typeof signForecast>) => ({
      payload: Buffer.from(signed.payload).toString('base64'),
      signature: Buffer.from(signed.signature).toString('base64'),
      certificate: Buffer.from(signed.certificate).toString('utf8'),
    });
    await submitItems([asItem(older)]);
    s.ledger.advance(1000);
    await s.submitBatch(UTILITY_A, [entry(a, 7, 8)]);
    s.ledger.advance(1000);
    // The replay is stored (refusing it would cost a read per item) but resolves to nothing.
    const replay = JSON.parse(await submitItems([asItem(older)])) as BatchReceiptView;
    expect(replay.accepted).to.equal(1);
    s.ledger.advance(15 * MINUTE);
    const aggregate = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
      string,
      unknown
    >;
    expect(aggregate).to.include({ homes: 1 });
    await s.dispatch(slotId, '1');
    const table = await s.ledger.evaluateJson<{ homes: [string, number, number, number][] }>(
      identities.relay(UTILITY_A),
      (ctx) => s.timeslot.GetAllowedPowers(ctx, slotId),
    );
    expect(table.homes.map((row) => row[1])).to.deep.equal([8]);
  });

  it('sums each home once, with its latest forecast, across batches', async () => {
    const [a, b, c, d, e] = devices as [TestDevice, TestDevice, TestDevice, TestDevice, TestDevice];
    await s.submitBatch(UTILITY_A, [entry(a, 1, 2), entry(b, 1, 2), entry(c, 1, 2)]);
    s.ledger.advance(1000);
    await s.submitBatch(UTILITY_A, [entry(a, 0, 1), entry(d, 1, 2), entry(e, 1, 2)]);
    const aggregate = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
      string,
      unknown
    >;
    expect(aggregate).to.include({ homes: 5, lower: 4, upper: 9 });
  });

  describe('refuses', () => {
    it("callers other than the utility's own relay, on its own peer", async () => {
      const items = [{ payload: 'e30=', signature: 'AA==', certificate: 'x' }];
      for (const { caller, peer } of callersOtherThan(['relay'])) {
        await expectRefusal(submitItems(items, caller, peer), 'FORBIDDEN');
      }
    });

    it('a missing, malformed, empty or oversized list, and malformed entries one by one', async () => {
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.SubmitForecasts(ctx, slotId)),
        'INVALID_ARGUMENT',
        /'items' is required/,
      );
      await expectRefusal(submitItems('{'), 'INVALID_ARGUMENT', /items/);
      await expectRefusal(submitItems({}), 'INVALID_ARGUMENT', /items must be a JSON array/);
      await expectRefusal(submitItems([]), 'INVALID_ARGUMENT', /at least one/);
      await expectRefusal(submitItems(new Array(1001).fill(1)), 'INVALID_ARGUMENT', /at most 1000/);
      const good = signForecast(devices[0]!, { slotId, lower: 1, upper: 2 });
      const receipt = JSON.parse(
        await submitItems([
          7,
          { payload: 'e30=', signature: 'AA==' },
          { payload: '!!', signature: 'AA==', certificate: 'x' },
          { payload: 'e30=', signature: 'AA==', certificate: 'x', extra: 1 },
          { payload: 'e30=', signature: 'AA==', certificate: 'x'.repeat(9000) },
          {
            payload: Buffer.from(good.payload).toString('base64'),
            signature: Buffer.from(good.signature).toString('base64'),
            certificate: Buffer.from(good.certificate).toString('utf8'),
          },
        ]),
      ) as BatchReceiptView;
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([
        [0, 'INVALID_ARGUMENT'],
        [1, 'INVALID_ARGUMENT'],
        [2, 'INVALID_ARGUMENT'],
        [3, 'INVALID_ARGUMENT'],
        [4, 'INVALID_ARGUMENT'],
      ]);
    });

    it('a whole batch for a closed or unknown slot; writes nothing when no item is accepted', async () => {
      s.ledger.advance(15 * MINUTE);
      await expectRefusal(
        s.submitBatch(UTILITY_A, [entry(devices[0]!)]),
        'FAILED_PRECONDITION',
        /closed for forecasts/,
      );
      await expectRefusal(
        s.submitBatch(UTILITY_A, [entry(devices[0]!)], { argSlotId: 'slot-9' }),
        'NOT_FOUND',
      );
      const s2 = await Scenario.withSlot(slotId);
      const receipt = await s2.submitBatch(UTILITY_A, [entry(devices[0]!, 2, 1)]);
      expect(receipt.accepted).to.equal(0);
      expect(s2.ledger.committed.at(-1)?.privateKeys).to.deep.equal([]);
    });

    it('items of a revoked device or of a bus whose aggregate is published, alone', async () => {
      const [a, b] = devices as [TestDevice, TestDevice];
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, a.serial, 'key compromise'),
      );
      // bus-2 of UtilityA has two enrolled homes: both submit, and its aggregate is published.
      const bus2 = await Promise.all([0, 1].map(() => s.device(UTILITY_A, 'bus-2')));
      await s.submitBatch(
        UTILITY_A,
        bus2.map((device) => entry(device)),
      );
      await s.publishAggregate(slotId, UTILITY_A, 'bus-2');
      const late = await s.device(UTILITY_A, 'bus-2');
      const receipt = await s.submitBatch(UTILITY_A, [entry(a), entry(late), entry(b)]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused).to.deep.equal([
        { index: 0, code: 'FORBIDDEN', message: 'device certificate has been revoked' },
        {
          index: 1,
          code: 'FAILED_PRECONDITION',
          message: `the aggregate for the device's bus in slot ${slotId} is published: its window is closed`,
        },
      ]);
    });
  });

  it("GetHomeRefs: the references GetHomeRef gives, for the utility's relay on its own peer only", async () => {
    const [a, b] = devices as [TestDevice, TestDevice];
    const refsOf = (homes: unknown, who = identities.relay(UTILITY_A), peer = UTILITY_A) =>
      s.ledger.evaluateJson<{ refs: (string | null)[] }>(who, (ctx) => s.timeslot.GetHomeRefs(ctx, slotId), {
        peer,
        transient: { homes: JSON.stringify(homes) },
      });
    const { refs } = await refsOf([a.homeId, 'not a home id!', b.homeId]);
    expect(refs).to.deep.equal([
      await s.homeRef(UTILITY_A, a, slotId),
      null,
      await s.homeRef(UTILITY_A, b, slotId),
    ]);
    await expectRefusal(refsOf('x'), 'INVALID_ARGUMENT', /homes must be a JSON array/);
    await expectRefusal(refsOf(new Array(1001).fill('h')), 'INVALID_ARGUMENT', /at most 1000/);
    for (const { caller, peer } of callersOtherThan(['relay'])) {
      await expectRefusal(refsOf([a.homeId], caller, peer), 'FORBIDDEN');
    }
  });

  it('GetAllowedPowers: every home of the utility after dispatch, for its relay on its own peer only', async () => {
    const [a, b] = devices as [TestDevice, TestDevice];
    await s.submitBatch(UTILITY_A, [entry(a, 1, 3), entry(b, 2, 2)]);
    const table = (who = identities.relay(UTILITY_A), peer = UTILITY_A) =>
      s.ledger.evaluateJson<{
        revision: number;
        batches: string[];
        homes: [string, number, number, number][];
      }>(who, (ctx) => s.timeslot.GetAllowedPowers(ctx, slotId), { peer });
    await expectRefusal(table(), 'FAILED_PRECONDITION', /no dispatch yet/);
    s.ledger.advance(15 * MINUTE);
    await s.dispatch(slotId, '0.5');
    const answer = await table();
    const refA = await s.homeRef(UTILITY_A, a, slotId);
    const refB = await s.homeRef(UTILITY_A, b, slotId);
    expect(answer.revision).to.equal(0);
    expect(answer.batches).to.have.length(1);
    expect(
      new Map(answer.homes.map(([ref, allowedKw, lambda, batch]) => [ref, [allowedKw, lambda, batch]])),
    ).to.deep.equal(
      new Map([
        [refA, [2, 0.5, 0]],
        [refB, [2, 0.5, 0]],
      ]),
    );
    for (const { caller, peer } of callersOtherThan(['relay'])) {
      await expectRefusal(table(caller, peer), 'FORBIDDEN');
    }
  });

  it('ListForecastNonces: per batch its time and 128-bit digests of nonce and leaf, for the relay only', async () => {
    const [a] = devices as [TestDevice];
    const nonce = freshNonce();
    const receipt = await s.submitBatch(UTILITY_A, [entry(a, 1, 2, nonce)]);
    const listed = await s.ledger.evaluateJson<{
      batches: { txId: string; at: string; items: [string, string][] }[];
    }>(identities.relay(UTILITY_A), (ctx) => s.timeslot.ListForecastNonces(ctx, slotId));
    expect(listed.batches).to.have.length(1);
    expect(listed.batches[0]).to.include({ txId: receipt.txId, at: receipt.acceptedAt });
    expect(listed.batches[0]?.items[0]?.map((digest) => digest.length)).to.deep.equal([32, 32]);
    expect(JSON.stringify(listed)).to.not.include(nonce);
    for (const { caller, peer } of callersOtherThan(['relay'])) {
      await expectRefusal(
        s.ledger.evaluate(caller, (ctx) => s.timeslot.ListForecastNonces(ctx, slotId), { peer }),
        'FORBIDDEN',
      );
    }
  });

  it('keeps homes, values and nonces out of everything other orgs see', async () => {
    const nonce = freshNonce();
    const [a, b] = devices as [TestDevice, TestDevice];
    await s.submitBatch(UTILITY_A, [entry(a, 1.234, 2.345, nonce), entry(b, 3.5, 4.25), entry(b, 0, 9)]);
    const tx = s.ledger.committed.at(-1);
    const visible = JSON.stringify({
      response: tx?.response,
      publicWrites: tx?.publicWrites,
      publicReads: tx?.publicReads,
      events: tx?.events,
      hashes: tx?.privateWriteHashes,
    });
    for (const secret of [
      a.homeId,
      b.homeId,
      '1.234',
      '2.345',
      '3.5',
      '4.25',
      nonce,
      await s.homeRef(UTILITY_A, a, slotId),
    ]) {
      expect(visible).to.not.include(secret);
    }
    expect(Object.keys(JSON.parse(tx?.response ?? '{}') as object).sort()).to.deep.equal([
      'accepted',
      'acceptedAt',
      'refused',
      'slotId',
      'txId',
    ]);
  });
});

import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { expectRefusal, FIVE_RANGES, MINUTE, Scenario, UTILITY_A, UTILITY_B } from './support/scenario';

/** The slot every test of this file opens. */
const slotId = 'slot-1';

async function publishAll(s: Scenario, slotId: string): Promise<void> {
  for (const [org, bus] of [
    [UTILITY_A, 'bus-1'],
    [UTILITY_A, 'bus-2'],
    [UTILITY_B, 'bus-1'],
  ] as const) {
    await s.publishAggregate(slotId, org, bus);
  }
}

describe('PublishAggregate', () => {
  let s: Scenario;

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
  });

  it('publishes the sums and home count with an AggregatePublished event, by the relay or an admin', async () => {
    await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES);
    const result = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
      string,
      unknown
    >;
    expect(result).to.include({
      homes: 5,
      withheld: false,
      lower: 4.75,
      upper: 10.5,
      published: true,
      org: UTILITY_A,
    });
    const event = s.ledger.committed.at(-1)?.events[0];
    expect(event?.name).to.equal('AggregatePublished');
    expect(JSON.parse(event?.payload ?? '{}')).to.deep.equal({
      slotId,
      org: UTILITY_A,
      bus: 'bus-1',
      homes: 5,
      withheld: false,
      lower: 4.75,
      upper: 10.5,
      relayAttested: 0,
    });
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-2', identities.admin(UTILITY_A));
    await s.publishAggregate(slotId, UTILITY_B, 'bus-1', identities.relay(UTILITY_B));
  });

  it('withholds the sums below the minimum group size k and publishes them at exactly k (P3)', async () => {
    await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES.slice(0, 4));
    s.ledger.advance(15 * MINUTE);
    const below = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<string, unknown>;
    expect(below).to.include({ homes: 4, withheld: true });
    expect(below).to.not.have.any.keys('lower', 'upper');
    expect(s.ledger.committed.at(-1)?.events[0]?.payload).to.not.match(/lower|upper/);

    const s2 = await Scenario.withSlot(slotId);
    await s2.submitMany(slotId, UTILITY_B, 'bus-1', FIVE_RANGES);
    const atK = JSON.parse(await s2.publishAggregate(slotId, UTILITY_B, 'bus-1')) as Record<string, unknown>;
    expect(atK).to.include({ homes: 5, withheld: false });
  });

  it('publishes an empty bus after the deadline as zero homes, withheld', async () => {
    s.ledger.advance(15 * MINUTE);
    const result = JSON.parse(await s.publishAggregate(slotId, UTILITY_B, 'bus-1')) as Record<
      string,
      unknown
    >;
    expect(result).to.include({ homes: 0, withheld: true });
  });

  it('counts only the forecasts of the requested bus and the latest submission of each home', async () => {
    const devices = await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES);
    await s.submitMany(slotId, UTILITY_A, 'bus-2', [[9, 9]]);
    const first = devices[0];
    if (first === undefined) {
      throw new Error('no device');
    }
    await s.submit(UTILITY_A, first, { slotId, lower: 10, upper: 20 });
    const result = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
      string,
      unknown
    >;
    expect(result).to.include({ homes: 5, lower: 13.75, upper: 28.5 });
  });

  describe('refuses', () => {
    const publishWith = (who: TestIdentity, batches: unknown, peer = UTILITY_A): Promise<string> =>
      s.ledger.invoke(who, (ctx) => s.timeslot.PublishAggregate(ctx, slotId, 'bus-1'), {
        peer,
        transient: { batches: JSON.stringify(batches) },
      });

    it("callers other than the utility's own relay or admin, and other orgs' peers (the DSO asks the utility's gateway)", async () => {
      s.ledger.advance(15 * MINUTE);
      for (const who of [
        identities.dso(),
        identities.relay(UTILITY_B),
        identities.auditor(),
        identities.meter(UTILITY_A),
        identities.outsider(),
        identities.admin(UTILITY_B),
      ]) {
        await expectRefusal(publishWith(who, []), 'FORBIDDEN', /relay or admin|own organization/);
        await expectRefusal(
          s.listBatches(slotId, UTILITY_A, who),
          'FORBIDDEN',
          /relay or admin|own organization/,
        );
      }
      await expectRefusal(publishWith(identities.dso(), [], 'DSOMSP'), 'FORBIDDEN');
      await expectRefusal(
        publishWith(identities.relay(UTILITY_A), [], UTILITY_B),
        'FORBIDDEN',
        /own organization/,
      );
    });

    it('a missing, malformed, duplicated, stale or foreign list of forecast batches', async () => {
      const [device] = await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES.slice(0, 1));
      await s.submitMany(slotId, UTILITY_A, 'bus-2', FIVE_RANGES.slice(0, 1));
      s.ledger.advance(15 * MINUTE);
      const relay = identities.relay(UTILITY_A);
      const [bus1Batch, bus2Batch] = await s.listBatches(slotId, UTILITY_A);
      expect(await s.listBatches(slotId, UTILITY_A)).to.have.length(2);
      expect(device).to.not.equal(undefined);
      await expectRefusal(
        s.ledger.invoke(relay, (ctx) => s.timeslot.PublishAggregate(ctx, slotId, 'bus-1'), {
          peer: UTILITY_A,
        }),
        'INVALID_ARGUMENT',
        /'batches' is required/,
      );
      await expectRefusal(publishWith(relay, 'x'), 'INVALID_ARGUMENT', /batches must be a JSON array/);
      await expectRefusal(
        publishWith(relay, ['nope']),
        'INVALID_ARGUMENT',
        /batches\[0\] must be a transaction id/,
      );
      await expectRefusal(publishWith(relay, [bus1Batch, bus1Batch]), 'INVALID_ARGUMENT', /twice/);
      await expectRefusal(publishWith(relay, ['0'.repeat(64)]), 'CONFLICT', /does not exist/);
      // Batches are read whatever their buses; only this bus's forecasts are summed.
      const mixed = JSON.parse(await publishWith(relay, [bus1Batch, bus2Batch])) as { homes: number };
      expect(mixed.homes).to.equal(1);
      expect(s.ledger.committed.at(-1)?.privateWriteHashes).to.deep.equal([]);
    });

    it('after the dispatch: published aggregates can no longer change', async () => {
      s.ledger.advance(15 * MINUTE);
      await s.dispatch(slotId, '0.5');
      await expectRefusal(
        s.publishAggregate(slotId, UTILITY_A, 'bus-1'),
        'FAILED_PRECONDITION',
        /already dispatched/,
      );
    });

    it('before the deadline while enrolled homes are missing', async () => {
      await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES.slice(0, 4));
      await expectRefusal(
        s.publishAggregate(slotId, UTILITY_A, 'bus-1'),
        'FAILED_PRECONDITION',
        /still open/,
      );
    });

    it('a second publication, an unexpected bus, an unknown slot and malformed ids', async () => {
      s.ledger.advance(15 * MINUTE);
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await expectRefusal(s.publishAggregate(slotId, UTILITY_A, 'bus-1'), 'CONFLICT', /already published/);
      await expectRefusal(
        s.publishAggregate(slotId, UTILITY_B, 'bus-2'),
        'NOT_FOUND',
        /expects no aggregate/,
      );
      await expectRefusal(s.publishAggregate('slot-9', UTILITY_A, 'bus-1'), 'NOT_FOUND', /does not exist/);
      await expectRefusal(s.publishAggregate(slotId, UTILITY_A, 'bus 1'), 'INVALID_ARGUMENT', /bus must be/);
    });
  });
});

describe('PublishDispatch', () => {
  let s: Scenario;
  const dispatchAs = (who = identities.dso(), lambda = '0.5', perBus = '', reason = ''): Promise<string> =>
    s.ledger.invoke(who, (ctx) => s.timeslot.PublishDispatch(ctx, slotId, lambda, perBus, reason));

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
  });

  it('dispatches once every aggregate is published, before the deadline', async () => {
    await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES);
    await s.submitMany(slotId, UTILITY_A, 'bus-2', FIVE_RANGES.slice(0, 2));
    await s.submitMany(slotId, UTILITY_B, 'bus-1', FIVE_RANGES);
    await publishAll(s, slotId);
    const result = JSON.parse(
      await dispatchAs(identities.dso(), '0.25', JSON.stringify([{ bus: 'bus-2', lambda: 0 }])),
    ) as {
      dispatch: Record<string, unknown>;
    };
    expect(result.dispatch).to.deep.include({
      lambda: 0.25,
      perBus: [{ bus: 'bus-2', lambda: 0 }],
      revision: 0,
      missing: [],
    });
    const event = s.ledger.committed.at(-1)?.events[0];
    expect(event?.name).to.equal('DispatchPublished');
    expect(JSON.parse(event?.payload ?? '{}')).to.deep.equal({
      slotId,
      lambda: 0.25,
      perBus: [{ bus: 'bus-2', lambda: 0 }],
      revision: 0,
    });
  });

  it('dispatches after the deadline with missing aggregates, and records which are missing', async () => {
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
    const result = JSON.parse(await dispatchAs(identities.dso(), '1')) as {
      dispatch: { missing: unknown[] };
    };
    expect(result.dispatch.missing).to.deep.equal([
      { org: UTILITY_A, bus: 'bus-2' },
      { org: UTILITY_B, bus: 'bus-1' },
    ]);
  });

  it('accepts λ at 0 and 1', async () => {
    s.ledger.advance(15 * MINUTE);
    await dispatchAs(identities.dso(), '0');
    await dispatchAs(identities.dso(), '1', '', 'feeder constraint lifted');
  });

  it('keeps an explicit revision in the history and refuses an implicit second dispatch', async () => {
    s.ledger.advance(15 * MINUTE);
    await dispatchAs(identities.dso(), '0.5');
    await expectRefusal(dispatchAs(identities.dso(), '0.6'), 'CONFLICT', /already dispatched \(revision 0\)/);
    const revised = JSON.parse(await dispatchAs(identities.dso(), '0.6', '', 'transformer T3 derated')) as {
      dispatch: Record<string, unknown>;
    };
    expect(revised.dispatch).to.include({ lambda: 0.6, revision: 1, reason: 'transformer T3 derated' });
    const history = JSON.parse(
      await s.ledger.evaluate(identities.auditor(), (ctx) => s.timeslot.GetSlotHistory(ctx, slotId)),
    ) as { entries: { record: string; value: { dispatch?: { lambda: number } } }[] };
    const lambdas = history.entries.filter((e) => e.record === 'slot').map((e) => e.value.dispatch?.lambda);
    expect(lambdas).to.deep.equal([undefined, 0.5, 0.6]);
  });

  describe('refuses', () => {
    it('callers that are not DSO operators', async () => {
      s.ledger.advance(15 * MINUTE);
      for (const who of [
        identities.relay(),
        identities.auditor(),
        identities.admin('DSOMSP'),
        identities.outsider(),
      ]) {
        await expectRefusal(dispatchAs(who), 'FORBIDDEN', /DSO operators/);
      }
    });

    it('λ out of range or not a plain decimal', async () => {
      s.ledger.advance(15 * MINUTE);
      for (const bad of [
        '-0.1',
        '1.0001',
        '2',
        '1e-3',
        'NaN',
        'Infinity',
        '-Infinity',
        '',
        ' 0.5',
        '0x1',
        '0.5abc',
        '.5',
        '+0.5',
      ]) {
        await expectRefusal(dispatchAs(identities.dso(), bad), 'INVALID_ARGUMENT', /lambda/);
      }
    });

    it('bad per-bus λ values', async () => {
      s.ledger.advance(15 * MINUTE);
      const cases: [string, RegExp][] = [
        ['{}', /perBus must be a JSON array/],
        ['[{"bus":"bus-1","lambda":1.5}]', /perBus\[0\].lambda must be a number between 0 and 1/],
        ['[{"bus":"bus-1","lambda":"0.5"}]', /perBus\[0\].lambda/],
        ['[{"bus":"bus-1","lambda":-1e999}]', /perBus\[0\].lambda/],
        ['[{"bus":"bus-1","lambda":0.5},{"bus":"bus-1","lambda":0.4}]', /lists a bus twice/],
        ['[{"bus":"bus-9","lambda":0.5}]', /bus bus-9, which is not part of slot/],
        ['[{"bus":"bus-1","lambda":0.5,"x":1}]', /unknown field/],
        ['oops', /perBus is not valid JSON/],
      ];
      for (const [perBus, pattern] of cases) {
        await expectRefusal(dispatchAs(identities.dso(), '0.5', perBus), 'INVALID_ARGUMENT', pattern);
      }
    });

    it('dispatch before the aggregates exist and before the deadline', async () => {
      await s.submitMany(slotId, UTILITY_A, 'bus-1', FIVE_RANGES);
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await expectRefusal(dispatchAs(), 'FAILED_PRECONDITION', /no complete set of aggregates/);
    });

    it('a revision reason without a dispatch, a bad reason, an unknown slot, a settled slot', async () => {
      s.ledger.advance(15 * MINUTE);
      await expectRefusal(
        dispatchAs(identities.dso(), '0.5', '', 'why'),
        'INVALID_ARGUMENT',
        /no dispatch to revise/,
      );
      await dispatchAs();
      await expectRefusal(
        dispatchAs(identities.dso(), '0.5', '', 'line\nbreak'),
        'INVALID_ARGUMENT',
        /control characters/,
      );
      await expectRefusal(
        dispatchAs(identities.dso(), '0.5', '', 'x'.repeat(501)),
        'INVALID_ARGUMENT',
        /1-500 characters/,
      );
      await expectRefusal(
        s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.PublishDispatch(ctx, 'slot-9', '0.5', '', '')),
        'NOT_FOUND',
      );
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      await expectRefusal(
        dispatchAs(identities.dso(), '0.1', '', 'late change'),
        'FAILED_PRECONDITION',
        /settled/,
      );
    });
  });
});

describe('GetAllowedPower and GetHomeRef', () => {
  let s: Scenario;

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
  });

  it('answers paper eq. (1) with the per-bus λ where one is set', async () => {
    const [a1] = await s.submitMany(slotId, UTILITY_A, 'bus-1', [[2, 6]]);
    const [a2] = await s.submitMany(slotId, UTILITY_A, 'bus-2', [[1, 3]]);
    s.ledger.advance(15 * MINUTE);
    await s.dispatch(slotId, '0.5', JSON.stringify([{ bus: 'bus-2', lambda: 0.25 }]));
    const allowed = async (device: typeof a1): Promise<Record<string, unknown>> => {
      if (device === undefined) {
        throw new Error('no device');
      }
      const ref = await s.homeRef(UTILITY_A, device, slotId);
      return JSON.parse(
        await s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) =>
          s.timeslot.GetAllowedPower(ctx, slotId, ref),
        ),
      ) as Record<string, unknown>;
    };
    expect(await allowed(a1)).to.deep.equal({ slotId, lambda: 0.5, allowedKw: 4, revision: 0 });
    expect(await allowed(a2)).to.deep.equal({ slotId, lambda: 0.25, allowedKw: 1.5, revision: 0 });
  });

  it('refuses before the dispatch, unknown homes, other callers and peers, malformed references', async () => {
    const [device] = await s.submitMany(slotId, UTILITY_A, 'bus-1', [[2, 6]]);
    if (device === undefined) {
      throw new Error('no device');
    }
    const ref = await s.homeRef(UTILITY_A, device, slotId);
    const ask = (who = identities.relay(UTILITY_A), homeRef = ref, peer?: string): Promise<string> =>
      s.ledger.evaluate(who, (ctx) => s.timeslot.GetAllowedPower(ctx, slotId, homeRef), peer ? { peer } : {});
    await expectRefusal(ask(), 'FAILED_PRECONDITION', /no dispatch yet/);
    s.ledger.advance(15 * MINUTE);
    await s.dispatch(slotId, '0.5');
    await expectRefusal(
      ask(identities.relay(UTILITY_A), 'f'.repeat(64)),
      'NOT_FOUND',
      /no forecast of this home/,
    );
    await expectRefusal(ask(identities.relay(UTILITY_B)), 'NOT_FOUND');
    await expectRefusal(ask(identities.relay(UTILITY_A), ref, UTILITY_B), 'FORBIDDEN', /own organization/);
    await expectRefusal(ask(identities.dso()), 'FORBIDDEN', /relay/);
    await expectRefusal(ask(identities.auditor()), 'FORBIDDEN');
    await expectRefusal(ask(identities.relay(UTILITY_A), 'ABC'), 'INVALID_ARGUMENT', /homeRef must be 64/);
  });

  it('GetHomeRef gives a reference per home and slot, unlinkable across slots, and refuses revoked or foreign devices', async () => {
    const device = await s.device(UTILITY_A, 'bus-1');
    const first = await s.homeRef(UTILITY_A, device, slotId);
    expect(first).to.match(/^[0-9a-f]{64}$/);
    expect(await s.homeRef(UTILITY_A, device, slotId)).to.equal(first);
    expect(await s.homeRef(UTILITY_A, await s.device(UTILITY_A, 'bus-1'), slotId)).to.not.equal(first);
    await s.openSlot('slot-2');
    expect(await s.homeRef(UTILITY_A, device, 'slot-2')).to.not.equal(first);
    await expectRefusal(
      s.homeRef(UTILITY_B, device, slotId),
      'FORBIDDEN',
      /not issued by a CA registered for UtilityBMSP/,
    );
    await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
      s.governance.RevokeDeviceCertificate(ctx, device.serial, ''),
    );
    await expectRefusal(s.homeRef(UTILITY_A, device, slotId), 'FORBIDDEN', /revoked/);
    await expectRefusal(
      s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) => s.timeslot.GetHomeRef(ctx, slotId)),
      'INVALID_ARGUMENT',
      /'certificate' is required/,
    );
  });
});

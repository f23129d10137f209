import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { freshNonce, signPayload, type TestDevice } from './support/pki';
import { MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

const COLLECTION_A = `${UTILITY_A}PrivateCollection`;

/** Forecast ranges of the five bus-1 homes of UtilityA; with λ = 0.5 they are allowed 4, 2.5, 0.5, 2.625, 0.5 kW. */
const BUS1: readonly (readonly [number, number])[] = [
  [2, 6],
  [2, 3],
  [0.5, 0.5],
  [1.25, 4],
  [0, 1],
];

describe('consumption reports', () => {
  let s: Scenario;
  let bus1: TestDevice[];
  let bus2: TestDevice[];
  const slotId = 'slot-1';

  const report = async (
    device: TestDevice,
    drawnKw: unknown,
    options: {
      nonce?: string;
      who?: TestIdentity;
      peer?: string;
      payload?: Buffer;
      slot?: string;
      forecastBatch?: string;
    } = {},
  ): Promise<string> => {
    const payload =
      options.payload ??
      Buffer.from(JSON.stringify({ slotId, drawnKw, nonce: options.nonce ?? freshNonce() }));
    const forecastBatch = options.forecastBatch ?? (await s.forecastBatchOf(UTILITY_A, device, slotId));
    return s.ledger.invoke(
      options.who ?? identities.relay(UTILITY_A),
      (ctx) => s.timeslot.ReportConsumption(ctx, options.slot ?? slotId),
      {
        transient: { ...signPayload(device, payload), forecastBatch: Buffer.from(forecastBatch) },
        peer: options.peer ?? UTILITY_A,
      },
    );
  };

  const listRefs = async (org = UTILITY_A, who = identities.relay(org)): Promise<string[]> =>
    (
      JSON.parse(
        await s.ledger.evaluate(who, (ctx) => s.timeslot.ListConsumptionRefs(ctx, slotId), { peer: org }),
      ) as { refs: string[] }
    ).refs;

  const publish = async (
    bus: string,
    options: { org?: string; who?: TestIdentity; refs?: string[]; peer?: string } = {},
  ): Promise<Record<string, unknown>> => {
    const org = options.org ?? UTILITY_A;
    const refs = options.refs ?? (await listRefs(org));
    return JSON.parse(
      await s.ledger.invoke(
        options.who ?? identities.relay(org),
        (ctx) => s.timeslot.PublishConsumption(ctx, slotId, bus),
        { peer: options.peer ?? org, transient: { refs: JSON.stringify(refs) } },
      ),
    ) as Record<string, unknown>;
  };

  const storedReports = (): Record<string, unknown>[] =>
    [...s.ledger.collection(COLLECTION_A).entries()]
      .filter(([key]) => key.includes('hems.consumption'))
      .map(([, value]) => JSON.parse(value.toString()) as Record<string, unknown>);

  const at = <T>(list: readonly T[], index: number): T => {
    const item = list[index];
    if (item === undefined) {
      throw new Error(`no item ${index}`);
    }
    return item;
  };

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    bus1 = await s.submitMany(slotId, UTILITY_A, 'bus-1', BUS1);
    bus2 = await s.submitMany(slotId, UTILITY_A, 'bus-2', [
      [1, 3],
      [0, 2],
    ]);
    await s.submitMany(slotId, UTILITY_B, 'bus-1', BUS1);
    s.ledger.advance(15 * MINUTE);
  });

  describe('ReportConsumption', () => {
    it('stores the report privately under the home reference and answers only a receipt', async () => {
      await s.dispatch(slotId, '0.5');
      const device = at(bus1, 0);
      const receipt = JSON.parse(await report(device, 3.5)) as Record<string, unknown>;
      expect(Object.keys(receipt).sort()).to.deep.equal(['recordedAt', 'slotId', 'txId']);
      expect(receipt).to.include({ slotId, recordedAt: s.ledger.now.toISOString() });
      const tx = s.ledger.committed.at(-1);
      expect(tx?.publicWrites).to.deep.equal([]);
      expect(tx?.events).to.deep.equal([]);
      expect(tx?.endorsement).to.equal('single');
      expect(tx?.privateKeys.map((k) => k.collection)).to.deep.equal([COLLECTION_A, COLLECTION_A]);
      const ref = await s.homeRef(UTILITY_A, device, slotId);
      const key = tx?.privateKeys.find((k) => k.key.includes('hems.consumption'))?.key ?? '';
      expect(key).to.include(ref).and.not.include(device.homeId);
      expect(storedReports()).to.have.length(1);
      expect(at(storedReports(), 0)).to.include({
        slotId,
        bus: 'bus-1',
        drawnKw: 3.5,
        allowedKw: 4,
        compliant: true,
      });
    });

    it('judges compliance in watts against the allowed power of the per-bus λ, with 1 W tolerance', async () => {
      await s.dispatch(slotId, '0.5', JSON.stringify([{ bus: 'bus-2', lambda: 0.25 }]));
      await report(at(bus1, 0), 4.001); // allowed 4 (0.5·6 + 0.5·2): within tolerance
      await report(at(bus1, 1), 2.502); // allowed 2.5: 2 W over
      await report(at(bus1, 3), 2.625); // allowed 2.625 exactly
      await report(at(bus2, 0), 1.6); // bus-2 λ 0.25: allowed 0.25·3 + 0.75·1 = 1.5
      await report(at(bus2, 1), 0); // allowed 0.5
      const byAllowed = storedReports()
        .map((r) => [r.allowedKw, r.drawnKw, r.compliant])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
      expect(byAllowed).to.deep.equal([
        [0.5, 0, true],
        [1.5, 1.6, false],
        [2.5, 2.502, false],
        [2.625, 2.625, true],
        [4, 4.001, true],
      ]);
    });

    it('refuses callers other than the relay and peers of another org', async () => {
      await s.dispatch(slotId, '0.5');
      for (const who of [
        identities.admin(UTILITY_A),
        identities.dso(),
        identities.auditor(),
        identities.meter(UTILITY_A),
        identities.outsider(),
      ]) {
        await expectRefusal(report(at(bus1, 0), 1, { who }), 'FORBIDDEN', /relay/);
      }
      await expectRefusal(
        report(at(bus1, 0), 1, { peer: UTILITY_B }),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
      expect(storedReports()).to.have.length(0);
    });

    it('refuses before the dispatch and after settlement', async () => {
      await expectRefusal(report(at(bus1, 0), 1), 'FAILED_PRECONDITION', /no dispatch yet/);
      await s.dispatch(slotId, '0.5');
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      await expectRefusal(report(at(bus1, 0), 1), 'FAILED_PRECONDITION', /settled/);
      await expectRefusal(report(at(bus1, 0), 1, { slot: 'slot-9' }), 'NOT_FOUND', /does not exist/);
      expect(storedReports()).to.have.length(0);
    });

    it('refuses a home without a forecast in the slot, and a second report of a home', async () => {
      await s.dispatch(slotId, '0.5');
      const newcomer = await s.device(UTILITY_A, 'bus-1');
      const error = await expectRefusal(report(newcomer, 1.25), 'NOT_FOUND', /no forecast of this home/);
      expect(error.message).not.to.include(newcomer.homeId).and.not.include('1.25');
      await report(at(bus1, 0), 1);
      await expectRefusal(report(at(bus1, 0), 2), 'CONFLICT', /already reported/);
      expect(at(storedReports(), 0)).to.include({ drawnKw: 1 });
    });

    it('refuses bad or hostile numbers and payloads without echoing them', async () => {
      await s.dispatch(slotId, '0.5');
      const device = at(bus1, 0);
      const nonce = freshNonce();
      const cases: [string, RegExp][] = [
        [JSON.stringify({ slotId, drawnKw: -0.5, nonce }), /drawnKw must be between 0 and 50/],
        [JSON.stringify({ slotId, drawnKw: 50.001, nonce }), /drawnKw must be between 0 and 50/],
        [JSON.stringify({ slotId, drawnKw: 1.2345, nonce }), /at most 3 decimal places/],
        [JSON.stringify({ slotId, drawnKw: '1.5', nonce }), /drawnKw must be a number/],
        [`{"slotId":"${slotId}","drawnKw":1e400,"nonce":"${nonce}"}`, /finite/],
        [JSON.stringify({ slotId, drawnKw: 1, nonce, homeId: 'h' }), /payload/],
        [JSON.stringify({ slotId, drawnKw: 1, nonce: 'c2hvcnQ=' }), /nonce must decode/],
        [JSON.stringify({ slotId: 'slot-2', drawnKw: 1, nonce }), /does not match the slotId argument/],
        ['{not json', /not valid JSON/],
      ];
      for (const [text, pattern] of cases) {
        const error = await expectRefusal(
          report(device, 0, { payload: Buffer.from(text) }),
          'INVALID_ARGUMENT',
          pattern,
        );
        expect(error.message).not.to.match(/1\.2345|50\.001|-0\.5|1e400/);
      }
      expect(storedReports()).to.have.length(0);
    });

    it('refuses a bad signature, a revoked device and a replayed nonce', async () => {
      await s.dispatch(slotId, '0.5');
      const device = at(bus1, 0);
      const signed = signPayload(
        device,
        Buffer.from(JSON.stringify({ slotId, drawnKw: 1, nonce: freshNonce() })),
      );
      const tampered = Buffer.from(JSON.stringify({ slotId, drawnKw: 0, nonce: freshNonce() }));
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.ReportConsumption(ctx, slotId), {
          transient: { ...signed, payload: tampered },
        }),
        'FORBIDDEN',
        /consumption report signature does not verify/,
      );
      // The home's forecast nonce cannot be reused for its report of the same slot.
      const reused = freshNonce();
      const withForecastNonce = at(bus1, 1);
      const forecastNonce = [...s.ledger.collection(COLLECTION_A).entries()]
        .filter(([key]) => key.includes('hems.forecastbatch'))
        .flatMap(
          ([, value]) =>
            (JSON.parse(value.toString()) as { items: { lower: number; upper: number; nonce: string }[] })
              .items,
        )
        .find((item) => item.lower === 2 && item.upper === 3) ?? { nonce: '' };
      await expectRefusal(
        report(withForecastNonce, 1, { nonce: forecastNonce.nonce }),
        'CONFLICT',
        /nonce was already used/,
      );
      await report(at(bus1, 2), 0.5, { nonce: reused });
      await expectRefusal(report(at(bus1, 3), 0.5, { nonce: reused }), 'CONFLICT', /nonce was already used/);
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, device.serial, 'key compromise'),
      );
      await expectRefusal(report(device, 1), 'FORBIDDEN', /revoked/);
      expect(storedReports()).to.have.length(1);
    });
  });

  describe('ReportConsumptions (relay batches)', () => {
    const entryOf = async (device: TestDevice, drawnKw: unknown, nonce = freshNonce()) => {
      const signed = signPayload(device, Buffer.from(JSON.stringify({ slotId, drawnKw, nonce })));
      return {
        payload: Buffer.from(signed.payload).toString('base64'),
        signature: Buffer.from(signed.signature).toString('base64'),
        certificate: Buffer.from(signed.certificate).toString('utf8'),
        forecastBatch: await s.forecastBatchOf(UTILITY_A, device, slotId),
      };
    };
    const submitReports = async (items: unknown[], who = identities.relay(UTILITY_A)) =>
      JSON.parse(
        await s.ledger.invoke(who, (ctx) => s.timeslot.ReportConsumptions(ctx, slotId), {
          peer: UTILITY_A,
          transient: { items: JSON.stringify(items) },
        }),
      ) as { accepted: number; refused: { index: number; code: string; message: string }[] };

    it('stores each good report, refuses bad ones alone by position, and answers no value', async () => {
      await s.dispatch(slotId, '0.5');
      const duplicate = await entryOf(at(bus1, 1), 2);
      const receipt = await submitReports([
        await entryOf(at(bus1, 0), 3.5),
        duplicate,
        { ...(await entryOf(at(bus1, 2), 0.25)), forecastBatch: 'nope' },
        await entryOf(at(bus1, 3), 99),
        { ...duplicate, nonce: undefined },
        await entryOf(at(bus2, 0), 1.5),
      ]);
      expect(receipt.accepted).to.equal(3);
      expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([
        [2, 'INVALID_ARGUMENT'],
        [3, 'INVALID_ARGUMENT'],
        [4, 'CONFLICT'],
      ]);
      expect(
        storedReports()
          .map((r) => r.drawnKw)
          .sort(),
      ).to.deep.equal([1.5, 2, 3.5]);
      const tx = s.ledger.committed.at(-1);
      expect(tx?.publicWrites).to.deep.equal([]);
      expect(tx?.events).to.deep.equal([]);
      expect(tx?.response).to.not.match(/3\.5|1\.5|allowedKw|compliant/);
      // A second report of a home, in a later batch or the same one, is refused alone.
      const again = await submitReports([
        await entryOf(at(bus1, 0), 1),
        await entryOf(at(bus1, 4), 0.5),
        await entryOf(at(bus1, 4), 0.75),
      ]);
      expect(again.accepted).to.equal(1);
      expect(again.refused.map((r) => [r.index, r.code])).to.deep.equal([
        [0, 'CONFLICT'],
        [2, 'CONFLICT'],
      ]);
    });

    it('refuses a whole batch before dispatch, and callers other than the own relay', async () => {
      const items = [await entryOf(at(bus1, 0), 1)];
      await expectRefusal(submitReports(items), 'FAILED_PRECONDITION', /no dispatch yet/);
      await s.dispatch(slotId, '0.5');
      for (const who of [identities.admin(UTILITY_A), identities.relay(UTILITY_B), identities.dso()]) {
        await expectRefusal(submitReports(items, who), 'FORBIDDEN');
      }
    });
  });

  describe('ListConsumptionRefs and PublishConsumption', () => {
    it('publishes per-bus sums and non-compliant counts, only the count below k, into the aggregate record', async () => {
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await s.dispatch(slotId, '0.5');
      for (const [index, drawn] of [4.5, 2, 0.5, 2.625, 0.75].entries()) {
        await report(at(bus1, index), drawn);
      }
      await report(at(bus2, 0), 7.25);
      expect(await listRefs()).to.have.length(6);
      expect(await listRefs(UTILITY_A, identities.admin(UTILITY_A))).to.have.length(6);

      const published = await publish('bus-1');
      expect(published.consumption).to.deep.include({
        homes: 5,
        withheld: false,
        drawnKw: 10.375,
        nonCompliant: 2,
      });
      expect(published).to.include({ published: true, homes: 5, lower: 5.75, upper: 14.5 });
      let tx = s.ledger.committed.at(-1);
      expect(tx?.endorsement).to.equal('single');
      expect(tx?.publicWrites.map((w) => w.key)).to.have.length(1);
      expect(tx?.events).to.deep.equal([
        {
          name: 'ConsumptionPublished',
          payload: JSON.stringify({ bus: 'bus-1', homes: 5, org: UTILITY_A, slotId, withheld: false }),
        },
      ]);

      const withheld = await publish('bus-2', { who: identities.admin(UTILITY_A) });
      expect(withheld.consumption).to.include({ homes: 1, withheld: true });
      expect(withheld.consumption).not.to.have.any.keys('drawnKw', 'nonCompliant');
      tx = s.ledger.committed.at(-1);
      expect(tx?.publicWrites[0]?.value).not.to.include('7.25');
      expect(tx?.events[0]?.payload).not.to.include('7.25');

      const slot = await s.getSlot(slotId);
      const totals = slot.busTotals as { bus: string; consumption: Record<string, unknown> }[];
      expect(totals.find((t) => t.bus === 'bus-1')?.consumption).to.deep.equal({
        homes: 5,
        withheldHomes: 0,
        drawnKw: 10.375,
        nonCompliant: 2,
        relayAttested: 0,
        metered: 0,
        mismatched: 0,
        orgs: [UTILITY_A],
        withheldOrgs: [],
        pendingOrgs: [UTILITY_B],
      });
      expect(totals.find((t) => t.bus === 'bus-2')?.consumption).to.deep.equal({
        homes: 0,
        withheldHomes: 1,
        drawnKw: 0,
        nonCompliant: 0,
        relayAttested: 0,
        metered: 0,
        mismatched: 0,
        orgs: [],
        withheldOrgs: [UTILITY_A],
        pendingOrgs: [],
      });
      const aggregates = slot.aggregates as { org: string; bus: string; consumption?: unknown }[];
      expect(aggregates.find((a) => a.org === UTILITY_A && a.bus === 'bus-1')?.consumption).to.include({
        drawnKw: 10.375,
      });
    });

    it('marks a utility without reports as withheld in the per-bus total of GetSlot', async () => {
      await s.dispatch(slotId, '1');
      expect((await s.getSlot(slotId)).busTotals).to.satisfy(
        (totals: { consumption: { pendingOrgs: string[] } }[]) =>
          totals.every((t) => t.consumption.pendingOrgs.length > 0),
      );
      for (const device of bus1) {
        await report(device, 1.5);
      }
      expect(await listRefs(UTILITY_B)).to.deep.equal([]);
      await publish('bus-1');
      const empty = await publish('bus-1', { org: UTILITY_B });
      expect(empty.consumption).to.include({ homes: 0, withheld: true });
      const slot = await s.getSlot(slotId);
      const total = (slot.busTotals as { bus: string; consumption: Record<string, unknown> }[]).find(
        (t) => t.bus === 'bus-1',
      )?.consumption;
      // λ = 1 allows each home its upper bound: 0.5 and 1 kW are below the 1.5 kW drawn.
      expect(total).to.include({ homes: 5, drawnKw: 7.5, nonCompliant: 2, withheldHomes: 0 });
      expect(total?.withheldOrgs).to.deep.equal([UTILITY_B]);
    });

    it('re-publishes only when no reports vanished and, with sums, at least k homes were added', async () => {
      await s.dispatch(slotId, '0.5');
      for (const device of bus1.slice(0, 4)) {
        await report(device, 1);
      }
      expect((await publish('bus-1')).consumption).to.include({ homes: 4, withheld: true });
      await report(at(bus1, 4), 1);
      const refs = await listRefs();
      expect((await publish('bus-1')).consumption).to.include({ homes: 5, withheld: false, drawnKw: 5 });
      expect((await publish('bus-1')).consumption).to.include({ homes: 5, drawnKw: 5 });
      await expectRefusal(
        publish('bus-1', { refs: refs.slice(1) }),
        'CONFLICT',
        /already counts more reports/,
      );
      // A report on another bus does not change this bus's summary.
      await report(at(bus2, 0), 1);
      expect((await publish('bus-2')).consumption).to.include({ homes: 1, withheld: true });
      expect((await publish('bus-1')).consumption).to.include({ homes: 5, drawnKw: 5 });
    });

    it('refuses a differencing re-publication of fewer than k added homes', async () => {
      await s.openSlot('slot-2');
      const devices = await s.submitMany('slot-2', UTILITY_A, 'bus-1', [
        [1, 1],
        [1, 1],
        [1, 1],
        [1, 1],
        [1, 1],
        [1, 1],
      ]);
      s.ledger.advance(15 * MINUTE);
      await s.dispatch('slot-2', '0.5');
      const reportIn = async (device: TestDevice, drawnKw: number): Promise<string> => {
        const forecastBatch = await s.forecastBatchOf(UTILITY_A, device, 'slot-2');
        return s.ledger.invoke(
          identities.relay(UTILITY_A),
          (ctx) => s.timeslot.ReportConsumption(ctx, 'slot-2'),
          {
            transient: {
              ...signPayload(
                device,
                Buffer.from(JSON.stringify({ slotId: 'slot-2', drawnKw, nonce: freshNonce() })),
              ),
              forecastBatch: Buffer.from(forecastBatch),
            },
          },
        );
      };
      const publishIn = async (): Promise<string> => {
        const listed = await s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) =>
          s.timeslot.ListConsumptionRefs(ctx, 'slot-2'),
        );
        return s.ledger.invoke(
          identities.relay(UTILITY_A),
          (ctx) => s.timeslot.PublishConsumption(ctx, 'slot-2', 'bus-1'),
          {
            transient: { refs: JSON.stringify((JSON.parse(listed) as { refs: string[] }).refs) },
          },
        );
      };
      for (const device of devices.slice(0, 5)) {
        await reportIn(device, 1);
      }
      await publishIn();
      await reportIn(at(devices, 5), 3.25);
      const before = s.ledger.committed.length;
      await expectRefusal(publishIn(), 'FAILED_PRECONDITION', /at least 5 more homes/);
      expect(s.ledger.committed).to.have.length(before);
    });

    it('refuses other callers and peers, the wrong state, unknown buses and stale lists', async () => {
      await expectRefusal(publish('bus-1', { refs: [] }), 'FAILED_PRECONDITION', /no dispatch yet/);
      await s.dispatch(slotId, '0.5');
      await report(at(bus1, 0), 1);
      for (const who of [identities.dso(), identities.auditor(), identities.meter(UTILITY_A)]) {
        await expectRefusal(publish('bus-1', { who, refs: [], peer: UTILITY_A }), 'FORBIDDEN');
        await expectRefusal(
          s.ledger.evaluate(who, (ctx) => s.timeslot.ListConsumptionRefs(ctx, slotId), { peer: UTILITY_A }),
          'FORBIDDEN',
        );
      }
      await expectRefusal(
        publish('bus-1', { refs: [], peer: UTILITY_B }),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
      await expectRefusal(
        publish('bus-2', { org: UTILITY_B, refs: [] }),
        'NOT_FOUND',
        /expects no aggregate/,
      );
      await expectRefusal(
        publish('bus-1', { refs: ['a'.repeat(64)] }),
        'CONFLICT',
        /does not exist \(list it again\)/,
      );
      await expectRefusal(publish('bus-1', { refs: ['nope'] }), 'INVALID_ARGUMENT');
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      await expectRefusal(publish('bus-1'), 'FAILED_PRECONDITION', /settled/);
    });

    it('purges the reports and their nonces with the forecasts after settlement', async () => {
      await s.dispatch(slotId, '0.5');
      await report(at(bus1, 0), 1);
      await report(at(bus2, 1), 0.25);
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      const batches = await s.listBatches(slotId, UTILITY_A);
      const purged = JSON.parse(
        await s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.PurgeForecasts(ctx, slotId), {
          transient: { batches: JSON.stringify(batches) },
        }),
      ) as Record<string, unknown>;
      expect(purged).to.include({ purgedForecasts: 7, purgedConsumptionReports: 2 });
      expect(
        [...s.ledger.collection(COLLECTION_A).keys()].filter((k) => !k.includes('homerefsecret')),
      ).to.deep.equal([]);
    });
  });

  it('keeps drawn and allowed power and home ids out of everything other orgs see', async () => {
    await s.dispatch(slotId, '0.5', JSON.stringify([{ bus: 'bus-2', lambda: 0.25 }]));
    const drawn = [4.321, 2.468, 0.123, 3.579, 0.987];
    for (const [index, value] of drawn.entries()) {
      await report(at(bus1, index), value);
    }
    await report(at(bus2, 0), 9.876);
    await expectRefusal(report(at(bus1, 0), 1.111), 'CONFLICT');
    await publish('bus-1');
    await publish('bus-2');
    await s.getSlot(slotId);
    const secrets = [...drawn, 9.876, 1.111].map(String).concat([
      ...storedReports()
        .map((r) => String(r.allowedKw))
        .filter((v) => v.includes('.')),
      ...bus1.concat(bus2).map((d) => d.homeId),
    ]);
    const visible = s.ledger.committed
      .filter(
        (tx) =>
          tx.publicWrites.some((w) => w.value.includes('consumption')) || tx.response.includes('recordedAt'),
      )
      .flatMap((tx) => [
        ...tx.publicWrites.map((w) => `${w.key} ${w.value}`),
        ...tx.events.map((e) => e.payload),
        tx.response,
        ...tx.publicReads,
      ])
      .concat(s.ledger.errors);
    expect(visible.length).to.be.greaterThan(8);
    for (const secret of secrets) {
      for (const text of visible) {
        expect(text, `"${secret}" visible`).not.to.include(secret);
      }
    }
  });
});

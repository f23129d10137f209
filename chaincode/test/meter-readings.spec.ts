import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { freshNonce, signPayload, type TestDevice } from './support/pki';
import { MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

const COLLECTION_A = `${UTILITY_A}PrivateCollection`;
const slotId = 'slot-1';

/** Forecast ranges of UtilityA's five bus-1 homes; with λ = 0.5 they are allowed 4, 2.5, 0.5, 2.625, 0.5 kW. */
const BUS1: readonly (readonly [number, number])[] = [
  [2, 6],
  [2, 3],
  [0.5, 0.5],
  [1.25, 4],
  [0, 1],
];

interface Receipt {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
  readonly accepted: number;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

describe('meter-validated consumption (the meter head-end as validation authority)', () => {
  let s: Scenario;
  let bus1: TestDevice[];
  let bus2: TestDevice[];

  const record = async (
    readings: unknown,
    options: { who?: TestIdentity; peer?: string; slot?: string } = {},
  ): Promise<Receipt> =>
    JSON.parse(
      await s.ledger.invoke(
        options.who ?? identities.meter(UTILITY_A),
        (ctx) => s.timeslot.RecordMeterReadings(ctx, options.slot ?? slotId),
        { peer: options.peer ?? UTILITY_A, transient: { readings: JSON.stringify(readings) } },
      ),
    ) as Receipt;

  const report = async (device: TestDevice, drawnKw: number): Promise<void> => {
    const payload = Buffer.from(JSON.stringify({ slotId, drawnKw, nonce: freshNonce() }));
    const forecastBatch = await s.forecastBatchOf(UTILITY_A, device, slotId);
    await s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.ReportConsumption(ctx, slotId), {
      transient: { ...signPayload(device, payload), forecastBatch: Buffer.from(forecastBatch) },
      peer: UTILITY_A,
    });
  };

  const publish = async (bus: string): Promise<Record<string, unknown>> => {
    const { refs } = JSON.parse(
      await s.ledger.evaluate(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.ListConsumptionRefs(ctx, slotId),
        {
          peer: UTILITY_A,
        },
      ),
    ) as { refs: string[] };
    return JSON.parse(
      await s.ledger.invoke(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.PublishConsumption(ctx, slotId, bus),
        {
          peer: UTILITY_A,
          transient: { refs: JSON.stringify(refs) },
        },
      ),
    ) as Record<string, unknown>;
  };

  const device = (list: readonly TestDevice[], index: number): TestDevice => {
    const found = list[index];
    if (found === undefined) {
      throw new Error(`no device ${index}`);
    }
    return found;
  };

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    bus1 = await s.submitMany(slotId, UTILITY_A, 'bus-1', BUS1);
    bus2 = await s.submitMany(slotId, UTILITY_A, 'bus-2', [[1, 3]]);
    await s.submitMany(slotId, UTILITY_B, 'bus-1', BUS1);
    s.ledger.advance(15 * MINUTE);
  });

  describe('RecordMeterReadings', () => {
    it('stores each reading privately under the home reference, one write and no read per item, answering only counts', async () => {
      await s.dispatch(slotId, '0.5');
      const readings = bus1.map((home, index) => ({ homeId: home.homeId, energyWh: 250 * (index + 1) }));
      const receipt = await record(readings);
      expect(receipt).to.include({ slotId, accepted: 5 });
      expect(receipt.refused).to.deep.equal([]);
      const tx = s.ledger.committed.at(-1);
      expect(tx?.publicWrites).to.deep.equal([]);
      expect(tx?.events).to.deep.equal([]);
      expect(tx?.endorsement).to.equal('single');
      expect(tx?.privateKeys).to.have.length(5);
      // One private read per batch (the home-reference secret), none per reading.
      expect(tx?.privateReadHashes).to.have.length(1);
      const ref = await s.homeRef(UTILITY_A, device(bus1, 0), slotId);
      const key = tx?.privateKeys.find((entry) => entry.key.includes(ref))?.key ?? '';
      expect(key).to.include('hems.meterreading').and.not.include(device(bus1, 0).homeId);
      const stored = JSON.parse(s.ledger.collection(COLLECTION_A).get(key)?.toString() ?? '{}') as {
        salt?: string;
      };
      expect(stored).to.include({ slotId, energyWh: 250 });
      // The value's hash is on every peer: a salt only the utility can derive keeps the few
      // thousand possible readings from being tried against it.
      expect(stored.salt).to.match(/^[0-9a-f]{64}$/);
      expect(tx?.privateWriteHashes.map((write) => write.valueHash)).to.have.length(5);
      // A later reading of a home replaces the earlier (a head-end's correction).
      await record([{ homeId: device(bus1, 0).homeId, energyWh: 300 }]);
      expect(JSON.parse(s.ledger.collection(COLLECTION_A).get(key)?.toString() ?? '{}')).to.include({
        energyWh: 300,
      });
    });

    it('refuses a bad reading alone, by position, without echoing it', async () => {
      await s.dispatch(slotId, '0.5');
      const home = device(bus1, 0).homeId;
      const receipt = await record([
        { homeId: home, energyWh: 1000 },
        { homeId: 'bad id with spaces', energyWh: 1 },
        { homeId: device(bus1, 1).homeId, energyWh: 12.5 },
        { homeId: device(bus1, 2).homeId, energyWh: -1 },
        { homeId: device(bus1, 3).homeId, energyWh: 10_000 * 250 + 1 },
        { homeId: home, energyWh: 7 },
        { homeId: device(bus1, 4).homeId, energyWh: 9, extra: true },
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal([
        [1, 'INVALID_ARGUMENT'],
        [2, 'INVALID_ARGUMENT'],
        [3, 'INVALID_ARGUMENT'],
        [4, 'INVALID_ARGUMENT'],
        [5, 'CONFLICT'],
        [6, 'INVALID_ARGUMENT'],
      ]);
      const texts = JSON.stringify(receipt.refused);
      expect(texts).not.to.include('bad id with spaces').and.not.include('12.5').and.not.include(home);
    });

    it('refuses the whole batch before the dispatch, when empty or malformed, and from any caller but its own meter head-end', async () => {
      const readings = [{ homeId: device(bus1, 0).homeId, energyWh: 100 }];
      await expectRefusal(record(readings), 'FAILED_PRECONDITION', /no dispatch yet/);
      await s.dispatch(slotId, '0.5');
      await expectRefusal(record([]), 'INVALID_ARGUMENT', /at least one reading/);
      await expectRefusal(record({ homeId: 'x' }), 'INVALID_ARGUMENT');
      await expectRefusal(record(readings, { slot: 'slot-unknown' }), 'NOT_FOUND');
      for (const who of [
        identities.relay(UTILITY_A),
        identities.admin(UTILITY_A),
        identities.meter(UTILITY_B),
        identities.dso(),
        identities.auditor(),
      ]) {
        await expectRefusal(record(readings, { who, peer: UTILITY_A }), 'FORBIDDEN');
      }
      await expectRefusal(record(readings, { peer: UTILITY_B }), 'FORBIDDEN');
    });
  });

  describe('PublishConsumption with meter readings', () => {
    it("sums and judges the meter's values, and counts the homes whose own report disagrees", async () => {
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await s.dispatch(slotId, '0.5');
      // Allowed: 4, 2.5, 0.5, 2.625, 0.5 kW. Reports and meters (Wh; 250 Wh = 1 kW over the slot):
      //   home 0 reports 3.5, meter 875 Wh = 3.5 kW: agree, compliant
      //   home 1 reports 2.5, meter 630 Wh = 2.52 kW: 5 Wh apart, within max(10 Wh, 2 %), but 20 W over
      //   home 2 reports 0.5 (compliant on its own word), meter 1000 Wh = 4 kW: under-reports
      //   home 3 reports 2.625, no meter reading: its report counts
      //   home 4 reports 0.25, meter 50 Wh = 0.2 kW: 12.5 Wh apart, beyond 10 Wh
      const reports = [3.5, 2.5, 0.5, 2.625, 0.25];
      for (const [index, drawn] of reports.entries()) {
        await report(device(bus1, index), drawn);
      }
      await record([
        { homeId: device(bus1, 0).homeId, energyWh: 875 },
        { homeId: device(bus1, 1).homeId, energyWh: 630 },
        { homeId: device(bus1, 2).homeId, energyWh: 1000 },
        { homeId: device(bus1, 4).homeId, energyWh: 50 },
      ]);
      const published = await publish('bus-1');
      expect(published.consumption).to.deep.include({
        homes: 5,
        withheld: false,
        drawnKw: 12.845, // 3.5 + 2.52 + 4 + 2.625 + 0.2, summed in watts
        nonCompliant: 2,
        metered: 4,
        mismatched: 2,
      });
      const tx = s.ledger.committed.at(-1);
      const text = JSON.stringify([tx?.publicWrites, tx?.events]);
      for (const value of ['875', '630', '2.52', '"4"', '0.2,']) {
        expect(text).not.to.include(value);
      }
      const slot = await s.getSlot(slotId);
      const totals = slot.busTotals as { bus: string; consumption: Record<string, unknown> }[];
      expect(totals.find((total) => total.bus === 'bus-1')?.consumption).to.include({
        metered: 4,
        mismatched: 2,
      });
    });

    it('takes a reading above the forecast cap, and judges the under-reporting device by it', async () => {
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await s.dispatch(slotId, '0.5');
      for (const [index, drawn] of [3.5, 2.5, 0.5, 2.625, 0.5].entries()) {
        await report(device(bus1, index), drawn);
      }
      // 60 kW over the slot: above the channel's 50 kW per-home cap, which bounds forecasts only.
      expect((await record([{ homeId: device(bus1, 2).homeId, energyWh: 15_000 }])).accepted).to.equal(1);
      expect((await publish('bus-1')).consumption).to.deep.include({
        nonCompliant: 1,
        metered: 1,
        mismatched: 1,
      });
    });

    it('refuses to re-publish changed sums without k more homes (a reading recorded since), but not an unchanged one', async () => {
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      await s.dispatch(slotId, '0.5');
      for (const [index, drawn] of [3.5, 2.5, 0.5, 2.625, 0.5].entries()) {
        await report(device(bus1, index), drawn);
      }
      expect((await publish('bus-1')).consumption).to.deep.include({ homes: 5, metered: 0 });
      expect((await publish('bus-1')).consumption).to.deep.include({ homes: 5, metered: 0 });
      await record([{ homeId: device(bus1, 0).homeId, energyWh: 1000 }]);
      await expectRefusal(
        publish('bus-1'),
        'FAILED_PRECONDITION',
        /at least 5 more homes have reported, or unchanged/,
      );
    });

    it('publishes neither the metered nor the mismatch count below k', async () => {
      await s.publishAggregate(slotId, UTILITY_A, 'bus-2');
      await s.dispatch(slotId, '0.5');
      await report(device(bus2, 0), 1);
      await record([{ homeId: device(bus2, 0).homeId, energyWh: 900 }]);
      const published = await publish('bus-2');
      expect(published.consumption).to.include({ homes: 1, withheld: true });
      expect(published.consumption).not.to.have.any.keys('drawnKw', 'metered', 'mismatched', 'nonCompliant');
    });
  });
});

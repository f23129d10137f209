import { expect } from 'chai';
import { emergencyAllowanceKw } from '@hems/protocol';
import { identities, type TestIdentity } from './support/fake-ledger';
import { freshNonce, signPayload, type TestDevice } from './support/pki';
import { expectRefusal, MINUTE, Scenario, UTILITY_A, UTILITY_B } from './support/scenario';

const COLLECTION_A = `${UTILITY_A}PrivateCollection`;
const slotId = 'slot-1';

/**
 * Forecast ranges of UtilityA's five bus-1 homes; with λ = 0.5 they are allowed 4, 2.5, 0.5,
 * 2.625, 0.5 kW. Under an emergency each keeps Lmin plus a share of the rest (1/2, 1/4, 0).
 */
const BUS1: readonly (readonly [number, number])[] = [
  [2, 6],
  [2, 3],
  [0.5, 0.5],
  [1.25, 4],
  [0, 1],
];
const NORMAL = [4, 2.5, 0.5, 2.625, 0.5];
const BY_LEVEL: Record<1 | 2 | 3, readonly number[]> = {
  // 1.25 + ⌊1375 W / 2⌋ = 1.937 kW (rounded down to the watt)
  1: [3, 2.25, 0.5, 1.937, 0.25],
  2: [2.5, 2.125, 0.5, 1.593, 0.125],
  3: [2, 2, 0.5, 1.25, 0],
};

interface AllowedPowerAnswer {
  readonly slotId: string;
  readonly lambda: number;
  readonly allowedKw: number;
  readonly revision: number;
  readonly emergencyLevel?: number;
}

describe('DeclareEmergency (grid emergency: allowances shrink towards each home’s Lmin)', () => {
  let s: Scenario;
  let bus1: TestDevice[];

  const declare = async (
    level: string,
    options: { who?: TestIdentity; slot?: string } = {},
  ): Promise<Record<string, unknown>> =>
    s.ledger.invokeJson<Record<string, unknown>>(options.who ?? identities.dso(), (ctx) =>
      s.timeslot.DeclareEmergency(ctx, options.slot ?? slotId, level),
    );

  const device = (index: number): TestDevice => {
    const found = bus1[index];
    if (found === undefined) {
      throw new Error(`no device ${index}`);
    }
    return found;
  };

  const allowedOf = async (home: TestDevice): Promise<AllowedPowerAnswer> => {
    const ref = await s.homeRef(UTILITY_A, home, slotId);
    return s.ledger.evaluateJson<AllowedPowerAnswer>(
      identities.relay(UTILITY_A),
      (ctx) => s.timeslot.GetAllowedPower(ctx, slotId, ref),
      { peer: UTILITY_A },
    );
  };

  const report = async (home: TestDevice, drawnKw: number): Promise<void> => {
    const payload = Buffer.from(JSON.stringify({ slotId, drawnKw, nonce: freshNonce() }));
    const forecastBatch = await s.forecastBatchOf(UTILITY_A, home, slotId);
    await s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.ReportConsumption(ctx, slotId), {
      transient: { ...signPayload(home, payload), forecastBatch: Buffer.from(forecastBatch) },
      peer: UTILITY_A,
    });
  };

  const storedReport = async (home: TestDevice): Promise<Record<string, unknown>> => {
    const ref = await s.homeRef(UTILITY_A, home, slotId);
    const key = [...s.ledger.collection(COLLECTION_A).keys()].find(
      (entry) => entry.includes('hems.consumption') && entry.includes(ref),
    );
    return JSON.parse(
      s.ledger
        .collection(COLLECTION_A)
        .get(key ?? '')
        ?.toString() ?? '{}',
    ) as Record<string, unknown>;
  };

  const publishConsumption = async (): Promise<Record<string, unknown>> => {
    const { refs } = await s.ledger.evaluateJson<{ refs: string[] }>(
      identities.relay(UTILITY_A),
      (ctx) => s.timeslot.ListConsumptionRefs(ctx, slotId),
      { peer: UTILITY_A },
    );
    return s.ledger.invokeJson<Record<string, unknown>>(
      identities.relay(UTILITY_A),
      (ctx) => s.timeslot.PublishConsumption(ctx, slotId, 'bus-1'),
      { peer: UTILITY_A, transient: { refs: JSON.stringify(refs) } },
    );
  };

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    bus1 = await s.submitMany(slotId, UTILITY_A, 'bus-1', BUS1);
    await s.submitMany(slotId, UTILITY_B, 'bus-1', BUS1);
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
  });

  describe('the allowance rule (protocol)', () => {
    it('keeps Lmin and a share of the rest: 1/2, 1/4, 0; the normal allowance without an emergency', () => {
      expect(emergencyAllowanceKw(undefined, 2, 6)).to.equal(6);
      expect(emergencyAllowanceKw(1, 2, 6)).to.equal(4);
      expect(emergencyAllowanceKw(2, 2, 6)).to.equal(3);
      expect(emergencyAllowanceKw(3, 2, 6)).to.equal(2);
      for (const [index, [lower, upper]] of BUS1.entries()) {
        const allowed = NORMAL[index] ?? 0;
        expect((upper + lower) / 2).to.equal(allowed);
        for (const level of [1, 2, 3] as const) {
          expect(emergencyAllowanceKw(level, lower, allowed), `home ${index} level ${level}`).to.equal(
            BY_LEVEL[level][index],
          );
        }
      }
    });

    it('computes in whole watts, rounded down, never below Lmin nor above the normal allowance', () => {
      expect(emergencyAllowanceKw(1, 0, 0.003)).to.equal(0.001);
      expect(emergencyAllowanceKw(2, 0, 0.003)).to.equal(0);
      expect(emergencyAllowanceKw(2, 0.1, 0.1)).to.equal(0.1);
      // 0.1 + 0.2 is not 0.3 in floating point; in watts it is.
      expect(emergencyAllowanceKw(1, 0.1, 0.1 + 0.2)).to.equal(0.2);
      expect(emergencyAllowanceKw(3, 1.5, 1.4999999)).to.equal(1.5);
    });
  });

  describe('success', () => {
    it('stores the level in the public slot record, majority-endorsed, with an EmergencyDeclared event', async () => {
      const view = await declare('2');
      const tx = s.ledger.lastCommitted();
      expect(view.emergency).to.deep.equal({
        level: 2,
        declaredAt: s.ledger.now.toISOString(),
        txId: tx.txId,
      });
      expect(view.status).to.equal('CLOSED');
      expect(tx.endorsement).to.equal('majority');
      expect(tx.events).to.deep.equal([
        { name: 'EmergencyDeclared', payload: '{"level":2,"slotId":"' + slotId + '"}' },
      ]);
      expect(tx.publicWrites.map((write) => write.key.split('\u0000')[1])).to.deep.equal(['hems.slot']);
      expect((await s.getSlot(slotId)).emergency).to.deep.include({ level: 2 });
    });

    it('may be raised before the dispatch, every level kept in the slot key’s history', async () => {
      await declare('1');
      s.ledger.advance(MINUTE);
      const raised = await declare('3');
      expect(raised.emergency).to.include({ level: 3, declaredAt: '2026-11-21T10:16:00.000Z' });
      const history = await s.ledger.evaluateJson<{
        entries: { record: string; value: { emergency?: { level: number } } }[];
      }>(identities.auditor(), (ctx) => s.timeslot.GetSlotHistory(ctx, slotId));
      const levels = history.entries.filter((e) => e.record === 'slot').map((e) => e.value.emergency?.level);
      expect(levels).to.deep.equal([undefined, 1, 3]);
    });

    for (const level of [1, 2, 3] as const) {
      it(`answers every home's level-${level} allowance (GetAllowedPower, GetAllowedPowers) with the level`, async () => {
        await declare(String(level));
        await s.dispatch(slotId, '0.5');
        for (const [index, home] of bus1.entries()) {
          expect(await allowedOf(home)).to.deep.equal({
            slotId,
            lambda: 0.5,
            allowedKw: BY_LEVEL[level][index],
            revision: 0,
            emergencyLevel: level,
          });
        }
        const table = await s.ledger.evaluateJson<{
          emergencyLevel?: number;
          homes: [string, number, number, number][];
        }>(identities.relay(UTILITY_A), (ctx) => s.timeslot.GetAllowedPowers(ctx, slotId), {
          peer: UTILITY_A,
        });
        expect(table.emergencyLevel).to.equal(level);
        const byRef = new Map(table.homes.map(([ref, allowed]) => [ref, allowed]));
        for (const [index, home] of bus1.entries()) {
          expect(byRef.get(await s.homeRef(UTILITY_A, home, slotId))).to.equal(BY_LEVEL[level][index]);
        }
      });
    }

    it('leaves the allowances and the answers as they were without an emergency', async () => {
      await s.dispatch(slotId, '0.5');
      for (const [index, home] of bus1.entries()) {
        const answer = await allowedOf(home);
        expect(answer.allowedKw).to.equal(NORMAL[index]);
        expect(answer).not.to.have.property('emergencyLevel');
      }
      const table = await s.ledger.evaluateJson<Record<string, unknown>>(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.GetAllowedPowers(ctx, slotId),
        { peer: UTILITY_A },
      );
      expect(table).not.to.have.property('emergencyLevel');
    });
  });

  describe('compliance under level 2', () => {
    it('judges a home drawing between its emergency and its normal allowance non-compliant, by report and by meter', async () => {
      await declare('2');
      await s.dispatch(slotId, '0.5');
      // Home 0: allowed 4 kW normally, 2.5 kW under level 2; it draws 3.5 kW.
      await report(device(0), 3.5);
      expect(await storedReport(device(0))).to.include({ allowedKw: 2.5, drawnKw: 3.5, compliant: false });
      // Home 1: allowed 2.125 kW; it reports 2.1 kW (compliant on its word), its meter reads 600 Wh = 2.4 kW.
      await report(device(1), 2.1);
      expect(await storedReport(device(1))).to.include({ allowedKw: 2.125, compliant: true });
      // Homes 2-4 draw exactly their emergency allowance.
      await report(device(2), 0.5);
      await report(device(3), 1.593);
      await report(device(4), 0.125);
      expect(await storedReport(device(3))).to.include({ allowedKw: 1.593, compliant: true });
      await s.ledger.invoke(
        identities.meter(UTILITY_A),
        (ctx) => s.timeslot.RecordMeterReadings(ctx, slotId),
        {
          peer: UTILITY_A,
          transient: { readings: JSON.stringify([{ homeId: device(1).homeId, energyWh: 600 }]) },
        },
      );
      const published = await publishConsumption();
      expect(published.consumption).to.deep.include({ homes: 5, nonCompliant: 2, metered: 1, mismatched: 1 });
    });

    it('judges the same draw compliant without the emergency', async () => {
      await s.dispatch(slotId, '0.5');
      await report(device(0), 3.5);
      expect(await storedReport(device(0))).to.include({ allowedKw: 4, compliant: true });
    });
  });

  describe('refuses', () => {
    it('callers that are not DSO operators', async () => {
      for (const who of [
        identities.relay(UTILITY_A),
        identities.admin(UTILITY_A),
        identities.meter(UTILITY_A),
        identities.market(),
        identities.admin('DSOMSP'),
        identities.auditor(),
        identities.outsider(),
      ]) {
        await expectRefusal(declare('1', { who }), 'FORBIDDEN', /DeclareEmergency is for DSO operators/);
      }
    });

    it('a level other than "1", "2" or "3", and a malformed slot id', async () => {
      for (const level of ['0', '4', '', ' 1', '01', '1.0', '2.5', '-1', 'one', 'null']) {
        await expectRefusal(declare(level), 'INVALID_ARGUMENT', /level must be "1", "2" or "3"/);
      }
      await expectRefusal(declare('1', { slot: 'bad slot' }), 'INVALID_ARGUMENT', /slotId/);
    });

    it('an unknown slot', async () => {
      await expectRefusal(
        declare('1', { slot: 'slot-unknown' }),
        'NOT_FOUND',
        /slot slot-unknown does not exist/,
      );
    });

    it('a dispatched or settled slot', async () => {
      await s.dispatch(slotId, '0.5');
      await expectRefusal(
        declare('1'),
        'FAILED_PRECONDITION',
        /already dispatched; an emergency is declared before/,
      );
      await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, slotId));
      await expectRefusal(declare('3'), 'FAILED_PRECONDITION', /is settled/);
    });

    it('lowering the level, and declaring the same level again', async () => {
      await declare('2');
      await expectRefusal(
        declare('1'),
        'FAILED_PRECONDITION',
        /level 2; a declaration may raise the level, never lower it/,
      );
      await expectRefusal(declare('2'), 'CONFLICT', /already has an emergency of level 2/);
      expect((await s.getSlot(slotId)).emergency).to.include({ level: 2 });
    });

    it('a dispatch endorsed before the emergency and committed after it (one slot key, MVCC)', async () => {
      const dispatch = await s.ledger.endorse(identities.dso(), (ctx) =>
        s.timeslot.PublishDispatch(ctx, slotId, '0.5', '', ''),
      );
      await declare('3');
      await expectRefusal(dispatch.commit(), 'MVCC_READ_CONFLICT');
    });
  });

  describe('privacy', () => {
    it('puts no forecast value or allowance in the slot record, its events, answers or refusals', async () => {
      const emergencyTxs = [];
      for (const level of ['1', '2']) {
        await declare(level);
        emergencyTxs.push(s.ledger.lastCommitted());
      }
      await expectRefusal(declare('1'), 'FAILED_PRECONDITION');
      await s.dispatch(slotId, '0.5');
      await expectRefusal(declare('3'), 'FAILED_PRECONDITION');
      for (const [index, home] of bus1.entries()) {
        await report(home, BY_LEVEL[2][index] ?? 0);
      }
      for (const tx of emergencyTxs) {
        const slot = JSON.parse(tx.publicWrites[0]?.value ?? '{}') as Record<string, unknown>;
        expect(slot).not.to.have.property('allowedKw');
        expect(slot).not.to.have.property('homes');
        expect(JSON.stringify(slot.emergency)).to.match(
          /^\{"declaredAt":"[^"]+","level":[12],"txId":"[0-9a-f]{64}"\}$/,
        );
        expect(tx.events.map((event) => Object.keys(JSON.parse(event.payload) as object))).to.deep.equal([
          ['level', 'slotId'],
        ]);
      }
      // The emergency allowances (and the forecasts' individual bounds above Lmin) appear nowhere
      // a member outside UtilityA sees: public writes, read sets, events, responses, errors.
      const surface = s.ledger.publicSurface();
      for (const value of ['1.937', '1.593', '2.125', '0.125', '2.625', '"allowedKw"', '"lower":1.25']) {
        expect(surface, value).not.to.include(value);
      }
    });
  });
});

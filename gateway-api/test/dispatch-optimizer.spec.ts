import { expect } from 'chai';
import {
  busAggregatesOf,
  busLambda,
  planDispatch,
  type BusAggregate,
} from '../src/services/dispatch-optimizer';

/** The load a bus really draws at λ: each home gets λ·Lmax + (1−λ)·Lmin. */
function drawnKw(lambda: number, homes: readonly { lower: number; upper: number }[]): number {
  return homes.reduce((sum, home) => sum + lambda * home.upper + (1 - lambda) * home.lower, 0);
}

describe('DSO dispatch optimizer', () => {
  it('clamps λ_b = (C − ΣLmin) / (ΣLmax − ΣLmin) to [0, 1]', () => {
    expect(busLambda(15, 10, 20)).to.equal(0.5);
    expect(busLambda(5, 10, 20)).to.equal(0);
    expect(busLambda(10, 10, 20)).to.equal(0);
    expect(busLambda(25, 10, 20)).to.equal(1);
    expect(busLambda(12, 10, 10)).to.equal(1);
  });

  it('takes the minimum over buses, leaves a bus without homes out, and keeps every bus within capacity', () => {
    const plan = planDispatch(
      [
        { bus: 'bus-1', homes: 12, lower: 10, upper: 30, complete: true },
        { bus: 'bus-2', homes: 6, lower: 4, upper: 8, complete: true },
        { bus: 'bus-3', homes: 0, lower: 0, upper: 0, complete: true },
      ],
      new Map([
        ['bus-1', 17],
        ['bus-2', 7],
        ['bus-3', 1],
      ]),
    );
    expect(plan.lambda).to.equal(0.35);
    for (const bus of plan.buses) {
      if (bus.dispatchedKw !== null) {
        expect(bus.dispatchedKw).to.be.at.most(bus.capacityKw);
      }
    }
    expect(plan.buses.find((bus) => bus.bus === 'bus-3')).to.include({ lambda: null, dispatchedKw: null });
    expect(plan.assumedWorstCase).to.deep.equal([]);
    expect(plan).not.to.have.property('maxHomeKw');
  });

  it('dispatches the full range when nothing constrains it', () => {
    expect(planDispatch([], new Map()).lambda).to.equal(1);
  });

  describe('buses with withheld or missing sums', () => {
    it('constrains λ by a withheld bus (regression: it used to be ignored and λ stayed 0.35)', () => {
      const aggregates: BusAggregate[] = [
        { bus: 'bus-1', homes: 12, lower: 10, upper: 30, complete: true },
        // 4 homes withheld below k: no sums, but the count is public.
        { bus: 'bus-2', homes: 0, lower: 0, upper: 0, complete: false, withheldHomes: 4 },
      ];
      const capacities = new Map([
        ['bus-1', 17],
        ['bus-2', 15],
      ]);
      const plan = planDispatch(aggregates, capacities, { maxHomeKw: 5 });
      // bus-2 may draw up to 4 × 5 = 20 kW > 15 kW whatever λ: the safest λ is 0.
      expect(plan.lambda).to.equal(0);
      expect(plan.assumedWorstCase).to.deep.equal(['bus-2']);
      expect(plan.maxHomeKw).to.equal(5);
      expect(plan.buses.find((bus) => bus.bus === 'bus-2')).to.deep.equal({
        bus: 'bus-2',
        capacityKw: 15,
        lambda: 0,
        dispatchedKw: 20,
        unreportedHomes: 4,
        assumedKw: 20,
      });
      // With room for the worst case the withheld bus does not constrain λ any more.
      expect(
        planDispatch(aggregates, new Map([...capacities, ['bus-2', 20]]), { maxHomeKw: 5 }).lambda,
      ).to.equal(0.35);
    });

    it('reserves the worst case of a partly withheld bus and fits the reported range into the rest', () => {
      const plan = planDispatch(
        [{ bus: 'bus-1', homes: 6, lower: 10, upper: 30, complete: false, withheldHomes: 2 }],
        new Map([['bus-1', 30]]),
        { maxHomeKw: 5 },
      );
      // (30 − 2·5 − 10) / (30 − 10) = 0.5; load bound 0.5·30 + 0.5·10 + 10 = 30.
      expect(plan.lambda).to.equal(0.5);
      expect(plan.buses[0]).to.include({ unreportedHomes: 2, assumedKw: 10, dispatchedKw: 30 });
    });

    it('bounds a missing bus by the homes enrolled in the slot snapshot', () => {
      const plan = planDispatch(
        [
          { bus: 'bus-1', homes: 6, lower: 6, upper: 12, complete: true },
          { bus: 'bus-2', homes: 0, lower: 0, upper: 0, complete: false, pendingHomes: 3 },
        ],
        new Map([
          ['bus-1', 100],
          ['bus-2', 4],
        ]),
        { maxHomeKw: 2 },
      );
      expect(plan.lambda).to.equal(0);
      expect(plan.assumedWorstCase).to.deep.equal(['bus-2']);
      expect(plan.buses[1]).to.include({ unreportedHomes: 3, assumedKw: 6 });
    });

    it('keeps the real load within capacity whatever the unreported homes forecast', () => {
      const maxHomeKw = 5;
      const reported = [
        { lower: 1, upper: 4 },
        { lower: 2, upper: 5 },
        { lower: 0, upper: 3 },
      ];
      const sums = { lower: 3, upper: 12 };
      // Unreported homes at the edges of what the DSO knows: inflexible at the maximum, fully
      // flexible, idle. Spreading [0, H·maxHomeKw] over λ instead would allow 0.45 here and draw
      // 0.45·12 + 0.55·3 + 10 = 17.05 kW on 13 kW with the inflexible pair.
      const hidden = [
        [
          { lower: 5, upper: 5 },
          { lower: 5, upper: 5 },
        ],
        [
          { lower: 0, upper: 5 },
          { lower: 0, upper: 5 },
        ],
        [
          { lower: 0, upper: 0 },
          { lower: 0, upper: 0 },
        ],
      ];
      for (const capacityKw of [13, 15, 18, 22.5, 40]) {
        const plan = planDispatch(
          [{ bus: 'bus-1', homes: 3, ...sums, complete: false, withheldHomes: 2 }],
          new Map([['bus-1', capacityKw]]),
          { maxHomeKw },
        );
        for (const homes of hidden) {
          expect(drawnKw(plan.lambda, [...reported, ...homes]), `C=${capacityKw}`).to.be.at.most(capacityKw);
        }
        expect(plan.buses[0]?.dispatchedKw).to.be.at.most(capacityKw);
      }
    });

    it('refuses to plan without maxHomeKw, or with a bad one, when a bus has unreported homes', () => {
      const withheld: BusAggregate = {
        bus: 'bus-1',
        homes: 0,
        lower: 0,
        upper: 0,
        complete: false,
        withheldHomes: 4,
      };
      expect(() => planDispatch([withheld], new Map())).to.throw(RangeError, /maxHomeKw is needed/);
      for (const maxHomeKw of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => planDispatch([withheld], new Map(), { maxHomeKw })).to.throw(
          RangeError,
          /positive finite/,
        );
      }
      // Incomplete without any count: it cannot be bounded, so it is not silently ignored.
      expect(() =>
        planDispatch([{ bus: 'bus-9', homes: 0, lower: 0, upper: 0, complete: false }], new Map(), {
          maxHomeKw: 5,
        }),
      ).to.throw(RangeError, /bus bus-9 is incomplete/);
      for (const count of [-1, 1.5]) {
        expect(() =>
          planDispatch([{ ...withheld, withheldHomes: count }], new Map(), { maxHomeKw: 5 }),
        ).to.throw(RangeError, /non-negative integer/);
      }
      // Complete buses need no maximum.
      expect(() =>
        planDispatch([{ ...withheld, complete: true, withheldHomes: 0 }], new Map()),
      ).not.to.throw();
    });
  });

  it('reads withheld and missing home counts from a slot’s public record', () => {
    const aggregates = busAggregatesOf({
      aggregates: [
        { bus: 'bus-1', expectedHomes: 6, published: true },
        { bus: 'bus-1', expectedHomes: 4, published: true },
        { bus: 'bus-2', expectedHomes: 7, published: false },
        { bus: 'bus-3', expectedHomes: 5, published: true },
      ],
      busTotals: [
        {
          bus: 'bus-1',
          homes: 6,
          withheldHomes: 3,
          lower: 3,
          upper: 9,
          withheldOrgs: ['UtilityBMSP'],
          pendingOrgs: [],
        },
        {
          bus: 'bus-2',
          homes: 0,
          withheldHomes: 0,
          lower: 0,
          upper: 0,
          withheldOrgs: [],
          pendingOrgs: ['UtilityAMSP'],
        },
        { bus: 'bus-3', homes: 5, withheldHomes: 0, lower: 1, upper: 2, withheldOrgs: [], pendingOrgs: [] },
      ],
    });
    expect(aggregates).to.deep.equal([
      { bus: 'bus-1', homes: 6, lower: 3, upper: 9, complete: false, withheldHomes: 3, pendingHomes: 0 },
      { bus: 'bus-2', homes: 0, lower: 0, upper: 0, complete: false, withheldHomes: 0, pendingHomes: 7 },
      { bus: 'bus-3', homes: 5, lower: 1, upper: 2, complete: true, withheldHomes: 0, pendingHomes: 0 },
    ]);
  });
});

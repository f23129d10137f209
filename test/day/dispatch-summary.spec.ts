import { expect } from 'chai';
import { planDispatch } from '@hems/gateway-api';
import { maxOverload, percentile, summarizeBuses } from '../../scripts/day/dispatch-summary';

const total = (bus: string, homes: number, lower: number, upper: number, withheldHomes = 0) => ({
  bus,
  homes,
  withheldHomes,
  lower,
  upper,
  orgs: ['UtilityAMSP', 'UtilityBMSP'],
  withheldOrgs: withheldHomes > 0 ? ['UtilityBMSP'] : [],
  pendingOrgs: [],
});
const prices = { lower: 20, upper: 80 };

describe('day: dispatch summary (feeder math)', () => {
  it('computes λ_b, the dispatched load and the overload per bus from the published sums', () => {
    const buses = summarizeBuses([total('feeder-1', 10, 10, 50), total('feeder-2', 10, 5, 25)], 0.5, [
      { bus: 'feeder-1', capacityKw: 30, prices, drawnKw: 31.25 },
      { bus: 'feeder-2', capacityKw: 40, prices, drawnKw: 12 },
    ]);
    expect(buses[0]).to.deep.equal({
      bus: 'feeder-1',
      capacityKw: 30,
      prices,
      homes: 10,
      withheldHomes: 0,
      lowerKw: 10,
      upperKw: 50,
      busLambda: 0.5, // (30 − 10) / (50 − 10)
      dispatchedKw: 30, // 0.5·50 + 0.5·10
      relayAttested: 0,
      drawnKw: 31.25,
      overloadKw: 1.25,
    });
    expect(buses[1]).to.include({ busLambda: 1, dispatchedKw: 15, overloadKw: 0 });
    expect(maxOverload(buses)).to.equal(1.25);
  });

  it('keeps the dispatched load of every bus within its capacity at the optimizer’s λ when ΣLmin fits', () => {
    const totals = [
      total('feeder-1', 12, 4.781, 50.158),
      total('feeder-2', 10, 4.148, 34.981),
      total('feeder-3', 10, 4.355, 35.1),
    ];
    const capacity = new Map([
      ['feeder-1', 43.2],
      ['feeder-2', 33.1],
      ['feeder-3', 30.2],
    ]);
    const plan = planDispatch(
      totals.map((entry) => ({ ...entry, complete: true })),
      capacity,
    );
    const buses = summarizeBuses(
      totals,
      plan.lambda,
      [...capacity].map(([bus, capacityKw]) => ({ bus, capacityKw, prices, drawnKw: 0 })),
    );
    expect(plan.lambda).to.equal(Math.min(...buses.map((bus) => bus.busLambda ?? 1)));
    for (const bus of buses) {
      expect(bus.dispatchedKw).to.be.at.most(bus.capacityKw);
      expect(bus.dispatchedKw).to.equal(plan.buses.find((entry) => entry.bus === bus.bus)?.dispatchedKw);
    }
  });

  it('shows no sums for a bus whose homes were all withheld (below k) or that is missing', () => {
    const buses = summarizeBuses([total('feeder-1', 4, 0, 0, 4)], 0.7, [
      { bus: 'feeder-1', capacityKw: 20, prices, drawnKw: 8 },
      { bus: 'feeder-2', capacityKw: 20, prices, drawnKw: 0 },
    ]);
    expect(buses[0]).to.include({
      homes: 4,
      withheldHomes: 4,
      lowerKw: null,
      upperKw: null,
      busLambda: null,
      dispatchedKw: null,
    });
    expect(buses[1]).to.include({ homes: 0, lowerKw: null, dispatchedKw: null });
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).to.equal(0);
    expect(percentile([5, 1, 3], 50)).to.equal(3);
    expect(percentile([5, 1, 3, 9], 100)).to.equal(9);
  });
});

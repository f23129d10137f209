import { expect } from 'chai';
import { busLambda, planDispatch } from '../src/services/dispatch-optimizer';

describe('DSO dispatch optimizer', () => {
  it('clamps λ_b = (C − ΣLmin) / (ΣLmax − ΣLmin) to [0, 1]', () => {
    expect(busLambda(15, 10, 20)).to.equal(0.5);
    expect(busLambda(5, 10, 20)).to.equal(0);
    expect(busLambda(10, 10, 20)).to.equal(0);
    expect(busLambda(25, 10, 20)).to.equal(1);
    expect(busLambda(12, 10, 10)).to.equal(1);
  });

  it('takes the minimum over buses, ignores buses without sums, and keeps every bus within capacity', () => {
    const plan = planDispatch(
      [
        { bus: 'bus-1', homes: 12, lower: 10, upper: 30, complete: true },
        { bus: 'bus-2', homes: 6, lower: 4, upper: 8, complete: true },
        { bus: 'bus-3', homes: 0, lower: 0, upper: 0, complete: false },
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
    expect(plan.buses.find((bus) => bus.bus === 'bus-3')?.lambda).to.equal(null);
  });

  it('dispatches the full range when nothing constrains it', () => {
    expect(planDispatch([], new Map()).lambda).to.equal(1);
  });
});

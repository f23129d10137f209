import { expect } from 'chai';
import { capacities, layoutFeeder, UTILITIES } from '../../scripts/day/feeder-model';
import { slotPrices } from '../../scripts/day/tariff';

describe('day: feeder model and tariff', () => {
  it('spreads homes over both utilities and every bus, with capacities that scale with the homes', () => {
    const feeder = layoutFeeder(32, 3);
    expect(feeder.homes).to.have.length(32);
    expect(feeder.buses.map((bus) => bus.bus)).to.deep.equal(['feeder-1', 'feeder-2', 'feeder-3']);
    const counts = feeder.buses.map((bus) => UTILITIES.map((mspId) => bus.homesByUtility[mspId]));
    expect(counts).to.deep.equal([
      [6, 6],
      [5, 5],
      [5, 5],
    ]);
    for (const bus of feeder.buses) {
      const onBus = feeder.homes.filter((home) => home.bus === bus.bus).length;
      expect(onBus).to.equal(bus.homesByUtility.UtilityAMSP + bus.homesByUtility.UtilityBMSP);
      expect(bus.capacityKw).to.be.greaterThan(0);
    }
    // Later buses are weaker per home.
    const perHome = feeder.buses.map(
      (bus) => bus.capacityKw / (bus.homesByUtility.UtilityAMSP + bus.homesByUtility.UtilityBMSP),
    );
    expect(perHome[0]).to.be.greaterThan(perHome[1] ?? Infinity);
    expect(perHome[1]).to.be.greaterThan(perHome[2] ?? Infinity);
    expect(capacities(feeder)).to.deep.equal({ 'feeder-1': 43.2, 'feeder-2': 33.1, 'feeder-3': 30.2 });
  });

  it('refuses a feeder without buses or with fewer homes than utility-bus pairs', () => {
    expect(() => layoutFeeder(10, 0)).to.throw(RangeError, /at least one bus/);
    expect(() => layoutFeeder(5, 3)).to.throw(RangeError, /at least 6 homes/);
    expect(() => layoutFeeder(6.5, 3)).to.throw(RangeError);
  });

  it('prices every slot with lower ≤ upper, an evening peak and a premium on later buses', () => {
    for (let slot = 0; slot < 96; slot += 1) {
      const prices = slotPrices(slot, ['feeder-1', 'feeder-2']);
      expect(prices.default.lower).to.be.at.most(prices.default.upper);
      expect(prices.buses[0]?.upper).to.equal(prices.default.upper);
      expect(prices.buses[1]?.upper).to.be.greaterThan(prices.default.upper);
    }
    expect(slotPrices(76, []).default.upper).to.be.greaterThan(slotPrices(12, []).default.upper);
  });
});

import { expect } from 'chai';
import { busLambda } from '@hems/gateway-api';
import { createHomeProfile, surplusKw } from '../../scripts/day/appliance-model';
import { absoluteDay } from '../../scripts/day/days';
import { planDrEvent } from '../../scripts/day/dr-event';
import {
  busLoads,
  emergencyByBus,
  eventEnergy,
  feederLoad,
  kwOf,
  peakToAverage,
  productionTotals,
  shiftableTotals,
  shiftedEnergyGap,
  withoutDrLambda,
} from '../../scripts/day/dr-metrics';
import { layoutFeeder } from '../../scripts/day/feeder-model';
import { isProsumer } from '../../scripts/day/market-model';
import { productionExports, productionValue, readingsOf } from '../../scripts/day/meter-slot';
import { slotPrices } from '../../scripts/day/tariff';
import { playDays } from './offline-day';

const SEED = 7;
const DAYS = 3;

describe('day: demand-response measures of the simulation', () => {
  it('computes the peak-to-average ratio of a load curve', () => {
    expect(peakToAverage([1, 1, 1, 1])).to.equal(1);
    expect(peakToAverage([0, 2, 0, 2])).to.equal(2);
    expect(peakToAverage([1, 2, 3, 6])).to.equal(2);
    expect(peakToAverage([])).to.equal(0);
    expect(peakToAverage([0, 0])).to.equal(0);
  });

  it('sums homes into buses and the feeder, and the energy over the event intervals', () => {
    const days = [
      { bus: 'b1', withDr: [1, 2, 3], withoutDr: [1, 4, 3] },
      { bus: 'b1', withDr: [10, 20, 30], withoutDr: [10, 25, 30] },
      { bus: 'b2', withDr: [5, 5, 5], withoutDr: [5, 5, 5] },
    ];
    const loads = busLoads(days, ['b1', 'b2', 'b3']);
    expect(loads).to.deep.equal([
      { bus: 'b1', homes: 2, withDr: [11, 22, 33], withoutDr: [11, 29, 33] },
      { bus: 'b2', homes: 1, withDr: [5, 5, 5], withoutDr: [5, 5, 5] },
      { bus: 'b3', homes: 0, withDr: [], withoutDr: [] },
    ]);
    expect(feederLoad(loads)).to.deep.equal({ withDr: [16, 27, 38], withoutDr: [16, 34, 38] });
    expect(eventEnergy(loads[0]!, 1, 2)).to.deep.equal({ meteredWh: 22, withoutDrWh: 29, reductionWh: 7 });
    expect(kwOf([250, 1000, 1])).to.deep.equal([1, 4, 0.004]);
  });

  it('sums what an emergency shed per bus, by class', () => {
    const shed = (shedWh: number, curtailedWh: number, deferredWh: number) => ({
      shedWh,
      curtailedWh,
      deferredWh,
      essentialWh: 100,
    });
    const draws = [
      { org: 'A', bus: 'b1', drawnKw: 1, overAllowance: false, shed: shed(250, 200, 50) },
      { org: 'B', bus: 'b1', drawnKw: 1, overAllowance: false, shed: shed(0, 0, 0) },
      { org: 'A', bus: 'b2', drawnKw: 1, overAllowance: false },
    ];
    expect(emergencyByBus(draws, ['b1', 'b2'])).to.deep.equal([
      { bus: 'b1', homesShedding: 1, shedKw: 1, curtailedKw: 0.8, deferredKw: 0.2, essentialKw: 0.8 },
      { bus: 'b2', homesShedding: 0, shedKw: 0, curtailedKw: 0, deferredKw: 0, essentialKw: 0 },
    ]);
  });

  it("dispatches the twins without DR with the DSO's optimizer: the smallest bus λ", () => {
    const capacities = { b1: 10, b2: 6 };
    const forecasts = [
      { bus: 'b1', lower: 2, upper: 8 },
      { bus: 'b1', lower: 1, upper: 4 },
      { bus: 'b2', lower: 3, upper: 9 },
    ];
    expect(withoutDrLambda(forecasts, capacities)).to.equal(
      Math.floor(Math.min(busLambda(10, 3, 12), busLambda(6, 3, 9)) * 10000) / 10000,
    );
    expect(withoutDrLambda([], capacities)).to.equal(1);
  });

  describe(`${DAYS} days with an event on the last`, () => {
    const plan = planDrEvent({ startSlot: 0, slots: 96, homes: 24 }, 'test', '2026-12-08');
    let played: Awaited<ReturnType<typeof playDays>>;
    before(async function () {
      this.timeout(60_000);
      played = await playDays(24, 3, DAYS, SEED, plan);
    });

    it('conserves shifted load: served (or pending before its deadline) within 2 % of without DR over the days', () => {
      const totals = shiftableTotals(played.homes.map((home) => home.state.books()));
      expect(totals.withDr.demandedWh).to.equal(totals.withoutDr.demandedWh);
      expect(totals.withDr.unservedWh).to.equal(0);
      expect(totals.withoutDr.unservedWh).to.equal(0);
      expect(shiftedEnergyGap(totals)).to.be.below(0.02);
      // Deferred, not dropped: the event moved shiftable energy to later slots.
      expect(totals.withDr.pendingWh).to.be.at.least(totals.withoutDr.pendingWh);
    });

    it('draws less in the event than the same homes without DR, and never above an allowance', () => {
      expect(played.draws.flat().some((draw) => draw.overAllowance)).to.be.false;
      const days = played.homes.map((home) => ({
        bus: home.spec.bus,
        ...home.state.meteredDay(absoluteDay(DAYS - 1))!,
      }));
      const loads = busLoads(
        days,
        played.feeder.buses.map((bus) => bus.bus),
      );
      const feeder = feederLoad(loads);
      const event = eventEnergy(feeder, 68, 84);
      expect(event.reductionWh).to.be.greaterThan(0.1 * event.withoutDrWh);
      for (const load of loads) {
        expect(eventEnergy(load, 68, 84).reductionWh).to.be.greaterThan(0);
      }
      // Before the event the twins are the same homes: the days before the last are identical.
      for (let day = 0; day < DAYS - 1; day += 1) {
        for (const home of played.homes) {
          const metered = home.state.meteredDay(absoluteDay(day))!;
          expect(metered.withDr).to.deep.equal(metered.withoutDr);
        }
      }
      // The PAR of each curve, with and without DR, over the event day.
      const par = { withDr: peakToAverage(feeder.withDr), withoutDr: peakToAverage(feeder.withoutDr) };
      expect(par.withDr).to.be.greaterThan(1);
      expect(par.withoutDr).to.be.greaterThan(1);
      const peak = (values: readonly number[]): number => Math.max(...values.slice(68, 84));
      expect(peak(feeder.withDr)).to.be.lessThan(peak(feeder.withoutDr));
      // The feeder's capacity bounds the rebound after the event as it bounds the twins.
      const capacityWh = played.feeder.buses.reduce((sum, bus) => sum + bus.capacityKw, 0) * 250;
      expect(Math.max(...feeder.withDr.slice(84))).to.be.at.most(capacityWh * 1.02);
    });

    it('sheds in the emergency slot by priority: essential load kept, comfort load dropped', () => {
      const emergency = played.draws[(DAYS - 1) * 96 + 76]!;
      const byBus = emergencyByBus(
        emergency.map((draw, index) => ({
          org: played.homes[index]!.spec.mspId,
          bus: played.homes[index]!.spec.bus,
          drawnKw: draw.drawnKw,
          overAllowance: draw.overAllowance,
          ...(draw.shed === undefined ? {} : { shed: draw.shed }),
        })),
        played.feeder.buses.map((bus) => bus.bus),
      );
      expect(emergency.every((draw) => draw.shed !== undefined)).to.be.true;
      expect(emergency.every((draw) => draw.drawnWh >= (draw.shed?.essentialWh ?? Infinity))).to.be.true;
      expect(byBus.reduce((sum, bus) => sum + bus.shedKw, 0)).to.be.greaterThan(0);
      expect(byBus.reduce((sum, bus) => sum + bus.curtailedKw, 0)).to.be.greaterThan(0);
    });
  });

  describe('the meter head-end', () => {
    const feeder = layoutFeeder(20, 2);
    const homes = feeder.homes.map((spec) => ({
      homeId: `h-${spec.index}`,
      spec,
      profile: createHomeProfile(SEED, spec.index),
    }));

    it("reads its own homes' meters: the Wh each drew", () => {
      const draws = [
        {
          org: 'A',
          bus: 'b',
          homeId: 'h1',
          drawnKw: 1.004,
          drawnWh: 251,
          withoutDrWh: 251,
          overAllowance: false,
        },
        {
          org: 'B',
          bus: 'b',
          homeId: 'h2',
          drawnKw: 2,
          drawnWh: 500,
          withoutDrWh: 500,
          overAllowance: false,
        },
      ];
      expect(readingsOf(draws, 'A')).to.deep.equal([{ homeId: 'h1', energyWh: 251 }]);
      expect(readingsOf(draws, 'C')).to.deep.equal([]);
    });

    it("posts only prosumers' exports above zero, in whole Wh, from the PV model", () => {
      const slot = 52;
      const prices = slotPrices(
        slot,
        feeder.buses.map((bus) => bus.bus),
      );
      const exports = productionExports(homes, SEED, slot, prices);
      expect(exports.length).to.be.greaterThan(0);
      for (const entry of exports) {
        const home = homes.find((candidate) => candidate.homeId === entry.homeId)!;
        expect(isProsumer(home.profile)).to.be.true;
        expect(Number.isInteger(entry.exportWh) && entry.exportWh > 0).to.be.true;
        const kw = surplusKw(
          home.profile,
          SEED,
          home.spec.index,
          slot,
          prices.buses.find((bus) => bus.bus === home.spec.bus)!,
        );
        expect(entry.exportWh).to.equal(Math.floor(kw * 250 + 1e-9));
      }
      // At night no PV: nothing to post.
      expect(productionExports(homes, SEED, 8, slotPrices(8, ['feeder-1', 'feeder-2']))).to.deep.equal([]);
      // 0.05 currency per kWh: 1 kWh mints 500,000,000 value units.
      expect(productionValue(1000, 50)).to.equal(500_000_000n);
    });

    it('sums the production tokens of the played slots per utility', () => {
      const slots = [
        { production: [{ org: 'A', exports: 2, exportWh: 300, minted: '15000000' }] },
        {
          production: [
            { org: 'A', exports: 0, exportWh: 0, minted: '0' },
            { org: 'B', exports: 1, exportWh: 100, minted: '5000000' },
          ],
        },
        {},
      ];
      expect(productionTotals(slots, ['A', 'B'], 50)).to.deep.equal({
        rate: 50,
        utilities: [
          { org: 'A', slots: 1, exports: 2, exportWh: 300, minted: '15000000' },
          { org: 'B', slots: 1, exports: 1, exportWh: 100, minted: '5000000' },
        ],
      });
    });
  });
});

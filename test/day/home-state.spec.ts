import { expect } from 'chai';
import { absoluteDay, absoluteSlot } from '../../scripts/day/days';
import { planDrEvent } from '../../scripts/day/dr-event';
import { createApplianceSet, WH_PER_KW_SLOT } from '../../scripts/day/home-appliances';
import { HomeState, respondedPrices } from '../../scripts/day/home-state';
import { playDays, playSlot, offlineHomes } from './offline-day';
import { layoutFeeder } from '../../scripts/day/feeder-model';

const SEED = 3;
const PRICES = { lower: 40, upper: 90 };
const tariff = (): typeof PRICES => PRICES;
const PLAN = planDrEvent({ startSlot: 0, slots: 96, homes: 12 }, 'test', '2026-12-08');

/** A home with comfort cooling and shiftable appliances. */
function coolingHome(): number {
  for (let index = 0; index < 50; index += 1) {
    const set = createApplianceSet(SEED, index);
    if (set.curtailable.some((appliance) => appliance.name === 'hvac-comfort') && set.shiftable.length >= 2) {
      return index;
    }
  }
  throw new Error('no home with comfort cooling');
}

describe('day: a home keeping its appliance state across slots and days', () => {
  it('is its own twin (the load without DR) until a demand-response signal reaches it', async () => {
    const { draws } = await playDays(12, 2, 1, SEED, null);
    expect(draws).to.have.length(96);
    for (const slot of draws) {
      for (const draw of slot) {
        expect(draw.withoutDrWh).to.equal(draw.drawnWh);
        expect(draw.overAllowance).to.be.false;
        expect(draw.drawnWh).to.equal(Math.round(draw.drawnKw * WH_PER_KW_SLOT));
      }
    }
  });

  it('weighs the event’s reward in its prices: in event slots it wants less, never below its Lmin', () => {
    expect(respondedPrices(PRICES, {})).to.equal(PRICES);
    expect(respondedPrices(PRICES, { drRate: 0.5 })).to.deep.equal({ lower: 540, upper: 590 });
    expect(respondedPrices(null, { drRate: 0.5 })).to.deep.equal({ lower: 500, upper: 500 });
    const feeder = layoutFeeder(24, 2);
    const homes = offlineHomes(feeder, SEED);
    const slot = absoluteSlot(0, 74);
    let lower = 0;
    homes.forEach((home) => {
      home.state.playUnsteered(slot);
      const own = home.state.forecast(slot, PRICES, { drRate: 0.5 });
      const without = home.state.withoutDrForecast(slot);
      expect(own.lower).to.equal(without?.lower);
      expect(own.upper).to.be.at.most(without?.upper ?? 0);
      lower += without === undefined ? 0 : without.upper - own.upper;
      home.state.release(slot);
    });
    expect(lower, 'the homes give up flexible load in the event').to.be.greaterThan(5);
  });

  it('sheds by priority under an emergency: comfort load first, then shiftable load, never essential load', async () => {
    let [curtailed, deferred] = [0, 0];
    for (const index of [coolingHome(), 1, 4, 7, 9]) {
      for (const hour of [8, 12, 16, 19, 22]) {
        const slot = absoluteSlot(0, hour * 4);
        const played = (level: 1 | 2 | 3) => {
          const home = new HomeState(SEED, index, absoluteSlot(0, 0), tariff);
          home.playUnsteered(slot);
          const forecast = home.forecast(slot, PRICES, { emergencyLevel: level });
          return home.draw(slot, { allowedKw: forecast.upper, lambda: 1 });
        };
        const [one, two, three] = await Promise.all([played(1), played(2), played(3)]);
        // Level 1 drops comfort (curtailable) load only; level 3 runs the essential load only.
        expect(one.shed?.deferredWh).to.equal(0);
        expect(three.drawnWh).to.equal(three.shed?.essentialWh);
        expect(one.drawnWh).to.be.at.least(two.drawnWh);
        expect(two.drawnWh).to.be.at.least(three.drawnWh);
        for (const draw of [one, two, three]) {
          expect(draw.shed?.essentialWh).to.equal(one.shed?.essentialWh);
          expect(draw.drawnWh).to.be.at.least(draw.shed?.essentialWh ?? Infinity);
          // Without the emergency it would have drawn what its twin drew: that is what it shed.
          expect(draw.shed?.shedWh).to.equal(draw.withoutDrWh - draw.drawnWh);
        }
        curtailed += one.shed?.curtailedWh ?? 0;
        deferred += two.shed?.deferredWh ?? 0;
      }
    }
    expect(curtailed, 'comfort load shed at level 1').to.be.greaterThan(0);
    expect(deferred, 'shiftable load deferred at level 2').to.be.greaterThan(0);
  });

  it("draws slots in order: a slot's draw waits for the slot forecast before it, or for its release", async () => {
    const home = new HomeState(SEED, 1, absoluteSlot(0, 0), tariff);
    const [first, second, third] = [0, 1, 2].map((offset) => absoluteSlot(0, 40 + offset));
    home.playUnsteered(first!);
    for (const slot of [first!, second!, third!]) {
      home.forecast(slot, PRICES);
    }
    const order: number[] = [];
    const later = home.draw(third!, { allowedKw: 50 }).then((draw) => order.push(draw.slot));
    const next = home.draw(second!, { allowedKw: 50 }).then((draw) => order.push(draw.slot));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order, 'nothing drawn before the first slot').to.deep.equal([]);
    expect(() => home.playUnsteered(absoluteSlot(1, 0))).to.throw(/no slot is in flight/);
    // The first slot's forecast was refused: releasing it lets the others go, in order.
    home.release(first!);
    await Promise.all([later, next]);
    expect(order).to.deep.equal([second, third]);
    expect(home.nextSlot).to.equal(third! + 1);
    await home.draw(third!, { allowedKw: 1 }).then(
      () => expect.fail('a slot is drawn once'),
      (error: unknown) => expect(error).to.be.instanceOf(RangeError),
    );
  });

  it('meters whole days only: 96 whole Wh once the day is played, its twin’s beside', () => {
    const home = new HomeState(SEED, 2, absoluteSlot(0, 0), tariff);
    home.playUnsteered(absoluteSlot(0, 50));
    expect(home.meteredDay(absoluteDay(0))).to.equal(undefined);
    home.playUnsteered(absoluteSlot(1, 0));
    const day = home.meteredDay(absoluteDay(0));
    expect(day?.withDr).to.have.length(96);
    expect(day?.withDr.every((wh) => Number.isInteger(wh) && wh >= 0)).to.be.true;
    expect(day?.withoutDr).to.deep.equal(day?.withDr);
  });

  it('keeps state from day to day: deferred load is served on the next day, before its deadline', async () => {
    const { homes } = await playDays(12, 2, 2, SEED, PLAN);
    for (const home of homes) {
      const { withDr, withoutDr } = home.state.books();
      expect(withDr.shiftable.unservedWh).to.equal(0);
      expect(withDr.shiftable.servedWh + withDr.shiftable.pendingWh).to.equal(withDr.shiftable.demandedWh);
      expect(withoutDr.shiftable.demandedWh).to.equal(withDr.shiftable.demandedWh);
    }
  });

  it('plays one slot of the feeder through the harness like the day does', async () => {
    const feeder = layoutFeeder(12, 2);
    const homes = offlineHomes(feeder, SEED);
    homes.forEach((home) => home.state.playUnsteered(absoluteSlot(0, 70)));
    const draws = await playSlot(feeder, homes, 0, 70, PLAN);
    expect(draws).to.have.length(12);
    expect(draws.every((draw) => !draw.overAllowance)).to.be.true;
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import { SLOTS_PER_DAY } from '../../scripts/day/appliance-model';
import {
  createApplianceSet,
  HISTORY_DAYS,
  HomeAppliances,
  jobsOfDay,
  WH_PER_KW_SLOT,
  type EmergencyLevel,
  type SlotDraw,
  type SlotForecast,
} from '../../scripts/day/home-appliances';
import { createRandom } from '../../scripts/day/prng';

const TWO_DAYS = 2 * SLOTS_PER_DAY;
const decimals = (value: number): number => (String(value).split('.')[1] ?? '').length;
const whOf = (kw: number): number => Math.round(kw * WH_PER_KW_SLOT);
const between = (forecast: SlotForecast, lambda: number): number =>
  lambda * forecast.upper + (1 - lambda) * forecast.lower;

/** Plays `slots` slots of a home, each with the allowance `allowance` picks from its forecast. */
function play(
  home: HomeAppliances,
  slots: number,
  allowance: (forecast: SlotForecast, slot: number) => number | null,
  each: (forecast: SlotForecast, draw: SlotDraw, allowed: number | null) => void = () => undefined,
): void {
  const end = home.nextSlot + slots;
  for (let slot = home.nextSlot; slot < end; slot += 1) {
    const forecast = home.forecast(slot);
    const allowed = allowance(forecast, slot);
    each(forecast, home.draw(slot, allowed), allowed);
  }
}

/** The shiftable books of a home balance exactly. */
function expectBalanced(home: HomeAppliances): void {
  const { demandedWh, servedWh, pendingWh, unservedWh } = home.ledger().shiftable;
  expect(servedWh + pendingWh + unservedWh).to.equal(demandedWh);
}

describe('day: stateful home appliances', () => {
  describe('the appliance set', () => {
    it('gives every home a seeded set with realistic residential magnitudes', () => {
      const sets = Array.from({ length: 400 }, (_, home) => createApplianceSet(11, home));
      expect(createApplianceSet(11, 3)).to.deep.equal(sets[3]);
      const all = sets.flatMap((set) => [...set.shiftable, ...set.curtailable]);
      const rated = (name: string): number[] =>
        all.filter((appliance) => appliance.name === name).map((appliance) => appliance.ratedKw);
      expect(new Set(rated('ev'))).to.deep.equal(new Set([7.2, 3.6]));
      expect(new Set(rated('water-heater'))).to.deep.equal(new Set([4.5]));
      for (const kw of rated('hvac-precool')) {
        expect(kw).to.be.within(2, 4);
      }
      // About 40 % with an EV, 80 % with an electric water heater, 70 % with central AC.
      expect(rated('ev').length / sets.length).to.be.within(0.3, 0.5);
      expect(rated('water-heater').length / sets.length).to.be.within(0.7, 0.9);
      expect(rated('hvac-comfort').length / sets.length).to.be.within(0.6, 0.8);
      for (const set of sets) {
        expect(set.essential.fridgeKw).to.be.within(0.04, 0.07);
      }
    });

    it('needs ~10 kWh a day for an EV, charged between the evening and the next morning', () => {
      const evJobs = Array.from({ length: 400 }, (_, home) =>
        jobsOfDay(createApplianceSet(5, home), 5, home, 3).filter((job) => job.appliance === 'ev'),
      ).flat();
      expect(evJobs.length).to.be.greaterThan(100);
      const mean = evJobs.reduce((total, job) => total + job.energyWh, 0) / evJobs.length;
      expect(mean).to.be.within(9000, 11000);
      for (const job of evJobs) {
        expect(Number.isInteger(job.energyWh)).to.be.true;
        expect(job.releaseSlot - 3 * SLOTS_PER_DAY).to.be.within(17 * 4, 20 * 4);
        // Due the next morning: the deadline crosses midnight.
        expect(job.dueSlot - 4 * SLOTS_PER_DAY).to.be.within(6.5 * 4, 8 * 4);
      }
    });

    it('uses ~30 kWh on a warm day on average when nothing limits it (US homes: ~29 kWh/day a year round, EIA)', () => {
      const daily = Array.from({ length: 60 }, (_, index) => {
        const home = new HomeAppliances(2, index);
        play(home, TWO_DAYS, () => null);
        const day = home.meteredHistory()[1]!;
        return day.intervalsWh.reduce<number>((total, wh) => total + (wh ?? 0), 0) / 1000;
      });
      for (const kwh of daily) {
        expect(kwh).to.be.within(3, 80);
      }
      const mean = daily.reduce((total, kwh) => total + kwh, 0) / daily.length;
      expect(mean).to.be.within(22, 38);
    });
  });

  describe('shiftable energy', () => {
    it('conserves shiftable energy exactly over two days with a random allowance per slot', () => {
      let carried = 0;
      let missed = 0;
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 999 }),
          (seed, index) => {
            const home = new HomeAppliances(seed, index);
            const random = createRandom(seed ^ index);
            // Often below Lmin, and scarce overnight: load is carried and some deadlines pass.
            play(
              home,
              TWO_DAYS,
              (forecast, slot) => random() * (slot % SLOTS_PER_DAY < 30 ? 0.2 : 1.2) * forecast.upper,
              (_, draw) => {
                carried += draw.deferredWh;
                missed += draw.missedDeadlineWh;
                expectBalanced(home);
              },
            );
            const ledger = home.ledger().shiftable;
            expect(ledger.unservedWh).to.be.at.least(0);
            expect(ledger.pendingWh).to.equal(
              home.pending().reduce((total, job) => total + job.remainingWh, 0),
            );
          },
        ),
        { numRuns: 40 },
      );
      expect(carried).to.be.greaterThan(0);
      expect(missed).to.be.greaterThan(0);
    });

    it('meets every deadline when each allowance is at least Lmin, across midnight', () => {
      for (let index = 0; index < 40; index += 1) {
        for (const startSlot of [0, 70]) {
          const home = new HomeAppliances(9, index, startSlot);
          const random = createRandom(index);
          play(
            home,
            TWO_DAYS,
            (forecast) => between(forecast, random() < 0.3 ? 0 : random()),
            (_, draw) => expect(draw.missedDeadlineWh).to.equal(0),
          );
          expect(home.ledger().shiftable.unservedWh, `home ${index}`).to.equal(0);
          // What is still pending is due after the last slot played.
          for (const job of home.pending()) {
            expect(job.dueSlot).to.be.greaterThan(home.nextSlot - 1);
          }
          expectBalanced(home);
        }
      }
    });

    it('carries load an allowance caps to later slots instead of losing it', () => {
      const home = new HomeAppliances(4, 1);
      let deferred = 0;
      // Lmin until 03:00 of day 1, then no limit: the deferred EV and water heater energy catches up.
      play(
        home,
        SLOTS_PER_DAY + 12,
        (forecast) => forecast.lower,
        (_, draw) => (deferred += draw.deferredWh),
      );
      const before = home.ledger().shiftable;
      play(home, 8, () => null);
      const after = home.ledger().shiftable;
      expect(deferred).to.be.greaterThan(0);
      expect(after.servedWh).to.be.greaterThan(before.servedWh);
      expect(after.unservedWh).to.equal(0);
      expectBalanced(home);
    });
  });

  describe('priorities', () => {
    it('never sheds essential load, sheds curtailable load before deferring shiftable load', () => {
      for (let index = 0; index < 30; index += 1) {
        const home = new HomeAppliances(21, index);
        const random = createRandom(1000 + index);
        play(
          home,
          TWO_DAYS,
          (forecast) => random() * 1.2 * forecast.upper,
          (forecast, draw, allowed) => {
            expect(draw.servedWh.essential).to.equal(forecast.essentialWh);
            if (draw.servedWh.curtailable > 0) {
              expect(draw.deferredWh).to.equal(0);
            }
            if (whOf(allowed!) >= whOf(forecast.lower)) {
              // The deadlines' share comes before any other shiftable energy.
              expect(draw.servedWh.shiftable).to.be.at.least(forecast.mandatoryWh);
            }
            expect(draw.servedWh.shiftable + draw.deferredWh).to.equal(forecast.shiftableWh);
            expect(draw.servedWh.curtailable + draw.curtailedWh).to.equal(forecast.curtailableWh);
          },
        );
      }
    });

    it('draws its essential load when the allowance is below it, and reports the violation', () => {
      const home = new HomeAppliances(3, 2);
      const forecast = home.forecast(0);
      const draw = home.draw(0, 0);
      expect(draw.drawnKw).to.equal(forecast.essentialWh / WH_PER_KW_SLOT);
      expect(draw.overAllowance).to.be.true;
      expect(draw.servedWh.shiftable + draw.servedWh.curtailable).to.equal(0);
      expect(home.draw(1, home.forecast(1).lower).overAllowance).to.be.false;
      expect(home.ledger().overAllowanceSlots).to.equal(1);
    });
  });

  describe('forecast range', () => {
    it('draws within [Lmin, Lmax] and never above an allowance of at least Lmin', () => {
      for (let index = 0; index < 30; index += 1) {
        const home = new HomeAppliances(8, index);
        const random = createRandom(index);
        play(
          home,
          TWO_DAYS,
          (forecast) => forecast.lower + random() * 1.5 * (forecast.upper - forecast.lower + 1),
          (forecast, draw, allowed) => {
            expect(forecast.lower).to.be.at.least(0);
            expect(forecast.upper).to.be.at.least(forecast.lower);
            for (const value of [forecast.lower, forecast.upper, draw.drawnKw]) {
              expect(decimals(value)).to.be.at.most(3);
            }
            expect(draw.drawnKw).to.be.within(forecast.lower, forecast.upper);
            expect(draw.drawnKw).to.be.at.most(allowed!);
            expect(draw.overAllowance).to.be.false;
            // It takes all of the allowance it wants.
            expect(whOf(draw.drawnKw)).to.equal(
              Math.min(whOf(forecast.upper), Math.floor(allowed! * 250 + 1e-7)),
            );
          },
        );
      }
    });

    it('forecasts a slot ahead of the one being played with a range at least the one it will have', () => {
      for (let index = 0; index < 20; index += 1) {
        const home = new HomeAppliances(13, index);
        const random = createRandom(index);
        let ahead = home.forecast(0);
        for (let slot = 0; slot < TWO_DAYS; slot += 1) {
          const current = ahead;
          // The day pipelines slots: the next forecast is submitted before this slot draws.
          ahead = home.forecast(slot + 1);
          const draw = home.draw(slot, between(current, random()));
          expect(draw.missedDeadlineWh).to.equal(0);
          const actual = home.forecast(slot + 1);
          expect(actual.lower).to.be.at.most(ahead.lower);
          expect(actual.upper).to.be.at.most(ahead.upper);
        }
        expect(home.ledger().shiftable.unservedWh).to.equal(0);
      }
    });

    it('responds to prices: dear slots want less, never below Lmin', () => {
      const home = new HomeAppliances(4, 0);
      play(home, 19 * 4, (forecast) => forecast.lower);
      const cheap = home.forecast(home.nextSlot, { lower: 10, upper: 30 });
      const dear = home.forecast(home.nextSlot, { lower: 100, upper: 400 });
      expect(dear.lower).to.equal(cheap.lower);
      expect(dear.upper).to.be.lessThan(cheap.upper);
      expect(dear.shiftableWh).to.equal(dear.mandatoryWh);
    });

    it('leaves the home unchanged when it forecasts', () => {
      const home = new HomeAppliances(6, 6);
      play(home, 80, (forecast) => forecast.lower);
      const ledger = home.ledger();
      expect(home.forecast(120)).to.deep.equal(home.forecast(120));
      expect(home.ledger()).to.deep.equal(ledger);
      expect(home.nextSlot).to.equal(80);
    });
  });

  describe('emergency curtailment', () => {
    it('sheds curtailable load at level 1, defers deferrable shiftable load at 2, keeps only essential at 3', () => {
      // A home and slot that want all three classes.
      const home = new HomeAppliances(4, 0);
      play(home, 14 * 4, (forecast) => forecast.lower);
      const forecast = home.forecast(home.nextSlot);
      expect(forecast.curtailableWh).to.be.greaterThan(0);
      expect(forecast.shiftableWh).to.be.greaterThan(forecast.mandatoryWh);
      const levels = ([0, 1, 2, 3] as const).map((level) => home.emergency(home.nextSlot, level));
      const { essentialWh, mandatoryWh, shiftableWh, curtailableWh } = forecast;
      expect(levels.map((level) => whOf(level.allowedKw))).to.deep.equal([
        essentialWh + shiftableWh + curtailableWh,
        essentialWh + shiftableWh,
        essentialWh + mandatoryWh,
        essentialWh,
      ]);
      expect(levels.map((level) => level.shedWh)).to.deep.equal([
        { essential: 0, shiftable: 0, curtailable: 0 },
        { essential: 0, shiftable: 0, curtailable: curtailableWh },
        { essential: 0, shiftable: shiftableWh - mandatoryWh, curtailable: curtailableWh },
        { essential: 0, shiftable: shiftableWh, curtailable: curtailableWh },
      ]);
      expect(levels[0]!.allowedKw).to.equal(forecast.upper);
      expect(levels[2]!.allowedKw).to.equal(forecast.lower);
      // Drawing at the emergency allowance sheds exactly that.
      const draw = home.draw(home.nextSlot, levels[2]!.allowedKw);
      expect(draw.servedWh).to.deep.equal({ essential: essentialWh, shiftable: mandatoryWh, curtailable: 0 });
      expect(() => home.emergency(home.nextSlot, 4 as EmergencyLevel)).to.throw(RangeError);
    });

    it('misses exactly the announced shortfall when level 3 defers deadline-critical load', () => {
      let checked = 0;
      for (let index = 0; index < 40 && checked < 5; index += 1) {
        const home = new HomeAppliances(17, index);
        // The lowest allowance that meets deadlines, until some shiftable load is due now.
        while (home.nextSlot < TWO_DAYS && home.forecast(home.nextSlot).mandatoryWh === 0) {
          home.draw(home.nextSlot, home.forecast(home.nextSlot).lower);
        }
        if (home.nextSlot >= TWO_DAYS) {
          continue;
        }
        const emergency = home.emergency(home.nextSlot, 3);
        expect(emergency.deadlineShortfallWh).to.be.greaterThan(0);
        home.draw(home.nextSlot, emergency.allowedKw);
        // Full power afterwards cannot catch up what level 3 deferred.
        play(home, SLOTS_PER_DAY, () => null);
        expect(home.ledger().shiftable.unservedWh).to.equal(emergency.deadlineShortfallWh);
        expectBalanced(home);
        checked += 1;
      }
      expect(checked).to.equal(5);
    });
  });

  describe('days and history', () => {
    it('plays across midnight and keeps a metered history of integer Wh per interval', () => {
      const home = new HomeAppliances(12, 4, 70);
      let drawnWh = 0;
      play(
        home,
        TWO_DAYS,
        (forecast) => between(forecast, 0.5),
        (_, draw) => (drawnWh += whOf(draw.drawnKw)),
      );
      const history = home.meteredHistory();
      expect(history.map((day) => day.day)).to.deep.equal([0, 1, 2]);
      for (const day of history) {
        expect(day.intervalsWh).to.have.length(SLOTS_PER_DAY);
      }
      expect(history[0]!.intervalsWh.slice(0, 70).every((wh) => wh === null)).to.be.true;
      expect(history[2]!.intervalsWh.slice(70).every((wh) => wh === null)).to.be.true;
      const metered = history.flatMap((day) => day.intervalsWh.filter((wh) => wh !== null));
      expect(metered).to.have.length(TWO_DAYS);
      expect(metered.every((wh) => Number.isInteger(wh))).to.be.true;
      expect(metered.reduce((total, wh) => total + wh, 0)).to.equal(drawnWh);
      const { essential, shiftable, curtailable } = home.ledger();
      expect(essential.servedWh + shiftable.servedWh + curtailable.servedWh).to.equal(drawnWh);
    });

    it(`keeps the last ${HISTORY_DAYS} days and plays skipped slots without a limit`, () => {
      const home = new HomeAppliances(1, 1);
      home.draw(0, 0);
      const draw = home.draw((HISTORY_DAYS + 5) * SLOTS_PER_DAY, null);
      expect(draw.slot).to.equal((HISTORY_DAYS + 5) * SLOTS_PER_DAY);
      const history = home.meteredHistory();
      expect(history).to.have.length(HISTORY_DAYS);
      expect(history[0]!.day).to.equal(6);
      expect(home.ledger().shiftable.unservedWh).to.equal(0);
      expectBalanced(home);
    });

    it('refuses slots already played, negative or fractional slots and invalid allowances', () => {
      const home = new HomeAppliances(1, 1);
      home.draw(3, null);
      expect(() => home.draw(3, null)).to.throw(RangeError);
      expect(() => home.forecast(2)).to.throw(RangeError);
      expect(() => home.forecast(4.5)).to.throw(RangeError);
      expect(() => home.draw(4, Number.NaN)).to.throw(RangeError);
      expect(() => home.draw(4, -1)).to.throw(RangeError);
      expect(() => new HomeAppliances(1, 1, -1)).to.throw(RangeError);
    });
  });

  it('is deterministic for a seed and home, and differs for another seed', () => {
    const run = (seed: number) => {
      const home = new HomeAppliances(seed, 7);
      const random = createRandom(99);
      const trace: unknown[] = [];
      play(
        home,
        TWO_DAYS,
        (forecast) => random() * forecast.upper,
        (forecast, draw) => trace.push(forecast, draw),
      );
      return { trace, ledger: home.ledger(), history: home.meteredHistory() };
    };
    expect(run(31)).to.deep.equal(run(31));
    expect(run(32).trace).to.not.deep.equal(run(31).trace);
  });
});

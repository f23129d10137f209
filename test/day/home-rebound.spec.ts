import { expect } from 'chai';
import fc from 'fast-check';
import { absoluteDay, absoluteSlot } from '../../scripts/day/days';
import { planDrEvent } from '../../scripts/day/dr-event';
import {
  busLoads,
  eventEnergy,
  feederLoad,
  peakToAverage,
  shiftableTotals,
  shiftedEnergyGap,
} from '../../scripts/day/dr-metrics';
import { createApplianceSet, HomeAppliances, type PendingJob } from '../../scripts/day/home-appliances';
import {
  heldWantedWh,
  MAX_RESTART_DELAY_SLOTS,
  pacedWh,
  RECOVERY_SLOTS,
  restartDelaySlots,
  type JobLeft,
} from '../../scripts/day/home-rebound';
import { respondedPrices } from '../../scripts/day/home-state';
import { defaultPrices } from '../../scripts/day/tariff';
import { playDays } from './offline-day';

const SEED = 3;
/** The event of the simulated day: the peak period 17:00-21:00, slots 68-83. */
const [EVENT_START, EVENT_END] = [68, 84];
const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
const heldWh = (jobs: readonly Readonly<PendingJob>[]): number =>
  sum(jobs.filter((job) => job.held).map((job) => job.remainingWh));

/** Serves `rate` Wh in every slot from t on, earliest deadline first; answers whether every job met its due slot. */
function meetsDeadlines(jobs: readonly JobLeft[], t: number, rate: number): boolean {
  // A job with nothing left needs no slot (at rate 0 the loop below would never drop it).
  const left = [...jobs]
    .filter((job) => job.remainingWh > 0)
    .sort((a, b) => a.dueSlot - b.dueSlot)
    .map((job) => ({ ...job }));
  for (let slot = t; left.length > 0; slot += 1) {
    if (left[0]!.dueSlot <= slot) {
      return false;
    }
    let budget = rate;
    while (budget > 0 && left.length > 0) {
      const served = Math.min(budget, left[0]!.remainingWh);
      left[0]!.remainingWh -= served;
      budget -= served;
      if (left[0]!.remainingWh === 0) {
        left.shift();
      }
    }
  }
  return true;
}

/**
 * Plays day 0 of a home to the end of the event, unlimited: in the event's slots it hears of the
 * event and weighs the tariff plus the reward, as home-state.ts has it.
 */
function playToEventEnd(home: HomeAppliances): { shiftableWh: number } {
  let shiftableWh = 0;
  for (let index = 0; index < EVENT_END; index += 1) {
    const [slot, tariff] = [absoluteSlot(0, index), defaultPrices(index)];
    const inEvent = index >= EVENT_START;
    if (inEvent) {
      home.hearEvent(slot, tariff);
    }
    const drawn = home.draw(slot, null, inEvent ? respondedPrices(tariff, { drRate: 0.5 }) : tariff);
    shiftableWh += inEvent ? drawn.servedWh.shiftable : 0;
  }
  return { shiftableWh };
}

describe('day: rebound mitigation after a demand-response event', () => {
  it('paces jobs at the least constant rate that meets every deadline, or an earlier horizon', () => {
    expect(pacedWh([], 10)).to.equal(0);
    expect(pacedWh([{ remainingWh: 1000, dueSlot: 14 }], 10)).to.equal(250);
    // The earlier deadline needs 100 Wh now; both together 1100 Wh over 10 slots.
    const jobs = [
      { remainingWh: 1000, dueSlot: 20 },
      { remainingWh: 100, dueSlot: 11 },
    ];
    expect(pacedWh(jobs, 10)).to.equal(110);
    expect(pacedWh([{ remainingWh: 1600, dueSlot: 50 }], 10, 26)).to.equal(100);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            remainingWh: fc.integer({ min: 0, max: 20_000 }),
            due: fc.integer({ min: 1, max: 60 }),
          }),
          {
            maxLength: 4,
          },
        ),
        (specs) => {
          const left = specs.map((spec) => ({ remainingWh: spec.remainingWh, dueSlot: 100 + spec.due }));
          const rate = pacedWh(left, 100);
          expect(meetsDeadlines(left, 100, rate)).to.be.true;
          // The least such rate: one Wh less per slot misses a deadline.
          expect(rate === 0 || !meetsDeadlines(left, 100, rate - 1)).to.be.true;
        },
      ),
    );
  });

  it('staggers the restarts: a seeded delay of 0-90 minutes per home', () => {
    const lastSlot = absoluteSlot(1, EVENT_END - 1);
    const delays = Array.from({ length: 64 }, (_, home) => restartDelaySlots(SEED, home, lastSlot));
    expect(delays).to.deep.equal(
      Array.from({ length: 64 }, (_, home) => restartDelaySlots(SEED, home, lastSlot)),
    );
    expect(MAX_RESTART_DELAY_SLOTS * 15).to.equal(90);
    delays.forEach((delay) => expect(delay).to.be.oneOf([0, 1, 2, 3, 4, 5, 6]));
    // Spread over the window, not one slot for everybody.
    expect(new Set(delays).size).to.equal(MAX_RESTART_DELAY_SLOTS + 1);
    expect(
      Math.max(...[0, 1, 2, 3, 4, 5, 6].map((delay) => delays.filter((d) => d === delay).length)),
    ).to.be.below(64 / 3);
  });

  it('holds to the minimum rate until the restart, pays back over the recovery period, then runs its wish', () => {
    const jobs = [{ remainingWh: 4000, dueSlot: 140 }];
    const wish = { mandatoryWh: 0, wantedWh: 1800 };
    // Before the restart (in the event or the delay after it): 4000 Wh over the 40 slots left.
    expect(heldWantedWh(wish, jobs, 100, 103)).to.equal(100);
    // From the restart: what is left over the 16 slots of the recovery period.
    expect(heldWantedWh(wish, jobs, 100, 100)).to.equal(4000 / RECOVERY_SLOTS);
    expect(heldWantedWh(wish, jobs, 108, 100)).to.equal(500);
    expect(heldWantedWh(wish, jobs, 100 + RECOVERY_SLOTS, 100)).to.equal(1800);
    // Never above its wish (a dear slot waits), never below its mandatory energy (deadlines).
    expect(heldWantedWh({ mandatoryWh: 0, wantedWh: 60 }, jobs, 100, 100)).to.equal(60);
    expect(heldWantedWh({ mandatoryWh: 900, wantedWh: 1800 }, jobs, 100, 103)).to.equal(900);
  });

  it('releases the energy an event held spread: no slot after the event runs more than a tenth of it', () => {
    const index = 2;
    expect(createApplianceSet(SEED, index).shiftable.map((appliance) => appliance.name)).to.include.members([
      'ev',
      'water-heater',
    ]);
    const home = new HomeAppliances(SEED, index, absoluteSlot(0, 0));
    const twin = new HomeAppliances(SEED, index, absoluteSlot(0, 0));
    const during = playToEventEnd(home);
    let twinShiftableWh = 0;
    for (let index = 0; index < EVENT_END; index += 1) {
      const drawn = twin.draw(absoluteSlot(0, index), null, defaultPrices(index));
      twinShiftableWh += index >= EVENT_START ? drawn.servedWh.shiftable : 0;
    }
    // The event held load back, but not all of it: its minimum rate ran on.
    expect(during.shiftableWh).to.be.greaterThan(0).and.lessThan(twinShiftableWh);
    const held = heldWh(home.pending());
    expect(held).to.be.greaterThan(5000);
    // Rated power right after the event would be the snapback: far above a tenth of it.
    expect(7200 / 4).to.be.greaterThan(held / 10);
    // Played on to the next morning, past every deadline of the held jobs.
    const released: number[] = [];
    for (let slot = absoluteSlot(0, EVENT_END); slot < absoluteSlot(1, 32); slot += 1) {
      const before = heldWh(home.pending());
      home.draw(slot, null, defaultPrices(slot % 96));
      released.push(before - heldWh(home.pending()));
    }
    expect(Math.max(...released)).to.be.at.most(held / 10);
    // Nearly all of it within the recovery period after the latest restart (a dear slot may wait
    // a little longer), and all of it before its deadlines.
    const recovery = released.slice(0, MAX_RESTART_DELAY_SLOTS + RECOVERY_SLOTS);
    expect(sum(recovery)).to.be.at.least(0.95 * held);
    expect(sum(released)).to.equal(held);
    expect(home.ledger().shiftable.unservedWh).to.equal(0);
  });

  describe('the offline day: 32 homes on 3 buses, 2 days, the event on the last', () => {
    const plan = planDrEvent({ startSlot: 0, slots: 96, homes: 32 }, 'test', '2026-12-08');
    const seeds = [1, 2, 3, 4, 5];
    let days: { seed: number; played: Awaited<ReturnType<typeof playDays>> }[];
    before(async function () {
      this.timeout(60_000);
      days = [];
      for (const seed of seeds) {
        days.push({ seed, played: await playDays(32, 3, 2, seed, plan) });
      }
    });

    it('lowers the load in the event and the feeder PAR is not worse than without DR', () => {
      for (const { seed, played } of days) {
        const metered = played.homes.map((home) => ({
          bus: home.spec.bus,
          ...home.state.meteredDay(absoluteDay(1))!,
        }));
        const feeder = feederLoad(
          busLoads(
            metered,
            played.feeder.buses.map((bus) => bus.bus),
          ),
        );
        const event = eventEnergy(feeder, EVENT_START, EVENT_END);
        expect(event.reductionWh, `seed ${seed}: reduction`).to.be.greaterThan(0.15 * event.withoutDrWh);
        expect(peakToAverage(feeder.withDr), `seed ${seed}: PAR`).to.be.at.most(
          peakToAverage(feeder.withoutDr),
        );
        // No snapback: the hour after the event and the rest of the evening stay below without DR.
        const peak = (values: readonly number[], from: number): number => Math.max(...values.slice(from));
        expect(peak(feeder.withDr, EVENT_END), `seed ${seed}: evening peak`).to.be.lessThan(
          peak(feeder.withoutDr, EVENT_END),
        );
        for (let index = EVENT_END; index < EVENT_END + 4; index += 1) {
          expect(feeder.withDr[index], `seed ${seed}: slot ${index}`).to.be.lessThan(
            feeder.withoutDr[index]!,
          );
        }
      }
    });

    it('keeps the shifted energy and every deadline', () => {
      for (const { seed, played } of days) {
        const totals = shiftableTotals(played.homes.map((home) => home.state.books()));
        expect(totals.withDr.unservedWh, `seed ${seed}`).to.equal(0);
        expect(shiftedEnergyGap(totals), `seed ${seed}`).to.be.below(0.02);
        expect(played.draws.flat().some((draw) => draw.overAllowance)).to.be.false;
      }
    });
  });
});

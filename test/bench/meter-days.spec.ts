import { expect } from 'chai';
import { BASELINE_DEFAULTS, computeBaseline, requireReadings, rewardOf } from '@hems/protocol';
import {
  addDays,
  eventBudget,
  historyDates,
  isWeekday,
  latestWeekdayBefore,
  reductionBoundWh,
  SYNTHETIC_MAX_WH,
  syntheticDay,
} from '../../scripts/bench/lib/meter-days';

/** The benchmark's event day (a Wednesday) and window (17:00-17:30 UTC). */
const EVENT_DATE = '2027-03-10';
const EVENT = { start: 68, end: 70 };
/** 0.5 currency per kWh in price units per Wh. */
const RATE_UNITS = 5_000_000;

describe('bench synthetic meter days', () => {
  it('counts calendar days across months and leap days, and knows weekdays', () => {
    expect(addDays('2027-03-10', -45)).to.equal('2027-01-24');
    expect(addDays('2028-03-01', -1)).to.equal('2028-02-29');
    expect(addDays('2027-12-31', 1)).to.equal('2028-01-01');
    expect(isWeekday(EVENT_DATE)).to.equal(true);
    expect(isWeekday('2027-03-13')).to.equal(false);
    expect(isWeekday('2027-03-14')).to.equal(false);
    expect(isWeekday('2027-03-15')).to.equal(true);
  });

  it('takes the latest weekday before today (UTC) as the event day', () => {
    // 2027-03-10 is a Wednesday.
    expect(latestWeekdayBefore(new Date('2027-03-10T00:00:00Z'))).to.equal('2027-03-09');
    expect(latestWeekdayBefore(new Date('2027-03-10T23:59:59Z'))).to.equal('2027-03-09');
    // Monday: the Friday before; Sunday and Saturday: Friday; Tuesday: Monday.
    expect(latestWeekdayBefore(new Date('2027-03-15T12:00:00Z'))).to.equal('2027-03-12');
    expect(latestWeekdayBefore(new Date('2027-03-14T12:00:00Z'))).to.equal('2027-03-12');
    expect(latestWeekdayBefore(new Date('2027-03-13T12:00:00Z'))).to.equal('2027-03-12');
    expect(latestWeekdayBefore(new Date('2027-03-16T12:00:00Z'))).to.equal('2027-03-15');
  });

  it('lists the lookback days oldest first, then the event day', () => {
    const dates = historyDates(EVENT_DATE, 45);
    expect(dates).to.have.length(46);
    expect(dates[0]).to.equal('2027-01-24');
    expect(dates[45]).to.equal(EVENT_DATE);
    for (let index = 1; index < dates.length; index += 1) {
      expect(addDays(dates[index - 1] ?? '', 1)).to.equal(dates[index]);
    }
    expect(historyDates(EVENT_DATE, 0)).to.deep.equal([EVENT_DATE]);
    expect(() => historyDates(EVENT_DATE, -1)).to.throw(RangeError);
  });

  it('generates 96 whole readings within bounds, the same for the same home and date', () => {
    for (let home = 0; home < 50; home += 1) {
      for (const date of ['2027-01-24', '2027-02-14', EVENT_DATE]) {
        const day = syntheticDay(46, home, date);
        expect(requireReadings(day, 'day', 96, 96, SYNTHETIC_MAX_WH)).to.deep.equal(day);
        expect(syntheticDay(46, home, date)).to.deep.equal(day);
      }
    }
    expect(syntheticDay(46, 1, EVENT_DATE)).to.not.deep.equal(syntheticDay(46, 2, EVENT_DATE));
    expect(syntheticDay(46, 1, EVENT_DATE)).to.not.deep.equal(syntheticDay(46, 1, '2027-03-09'));
    expect(syntheticDay(46, 1, EVENT_DATE)).to.not.deep.equal(syntheticDay(47, 1, EVENT_DATE));
  });

  it("sheds load only in the event's intervals, and not in every home", () => {
    let shedding = 0;
    for (let home = 0; home < 100; home += 1) {
      const normal = syntheticDay(46, home, EVENT_DATE);
      const event = syntheticDay(46, home, EVENT_DATE, [EVENT]);
      normal.forEach((wh, interval) => {
        const inEvent = interval >= EVENT.start && interval < EVENT.end;
        if (inEvent) {
          expect(event[interval]).to.be.at.most(wh);
        } else {
          expect(event[interval]).to.equal(wh);
        }
      });
      shedding += event[EVENT.start]! < normal[EVENT.start]! ? 1 : 0;
    }
    expect(shedding).to.be.within(60, 95);
  });

  it("sheds in every event's intervals of the day", () => {
    const events = [EVENT, { start: 70, end: 72 }, { start: 40, end: 42 }];
    const home = [...Array(20).keys()].find(
      (index) => syntheticDay(46, index, EVENT_DATE, [EVENT])[68]! < syntheticDay(46, index, EVENT_DATE)[68]!,
    )!;
    const normal = syntheticDay(46, home, EVENT_DATE);
    const shed = syntheticDay(46, home, EVENT_DATE, events);
    normal.forEach((wh, interval) => {
      const inEvent = events.some((event) => interval >= event.start && interval < event.end);
      if (inEvent) {
        expect(shed[interval], `interval ${interval}`).to.be.below(wh);
      } else {
        expect(shed[interval]).to.equal(wh);
      }
    });
  });

  it("yields baselines from the generated history with rewards within the budget's bound", () => {
    const bound = reductionBoundWh(2, BASELINE_DEFAULTS['residential-5-in-10'].adjustmentCapPpm);
    const dates = historyDates(EVENT_DATE, 45);
    let rewarded = 0;
    for (let home = 0; home < 40; home += 1) {
      const history = dates.slice(0, 45).map((date) => ({
        date,
        eventDay: false,
        intervalsWh: syntheticDay(46, home, date),
      }));
      const today = syntheticDay(46, home, EVENT_DATE, [EVENT]);
      const baseline = computeBaseline(
        'residential-5-in-10',
        history,
        { date: EVENT_DATE, intervalsWh: today },
        EVENT,
      );
      expect(baseline.daysUsed).to.have.length(5);
      const reward = rewardOf(baseline.intervalsWh, today.slice(EVENT.start, EVENT.end), RATE_UNITS);
      expect(reward.reductionWh).to.be.at.most(bound);
      rewarded += reward.reductionWh > 0 ? 1 : 0;
    }
    expect(rewarded).to.be.at.least(20);
  });

  it("bounds a home's reduction by the largest reading, the adjustment cap and rounding", () => {
    expect(reductionBoundWh(2, 400_000)).to.equal(2 * (Math.ceil(SYNTHETIC_MAX_WH * 1.4) + 1));
    expect(reductionBoundWh(1, 0)).to.equal(SYNTHETIC_MAX_WH + 1);
  });

  it("sizes a budget whose share for the utility covers every home's largest reward", () => {
    // 2,000 homes × 1,682 Wh × 0.0005 currency per Wh = 1,682 currency, one more for rounding.
    expect(eventBudget({ homes: 2000, boundWh: 1682, rate: 0.5, orgHomes: 8, totalHomes: 8 })).to.equal(
      '1683',
    );
    expect(eventBudget({ homes: 2000, boundWh: 1682, rate: 0.5, orgHomes: 8, totalHomes: 16 })).to.equal(
      '3365',
    );
    for (const [orgHomes, totalHomes] of [
      [1, 3],
      [7, 8],
      [8, 9],
      [5, 17],
    ] as const) {
      const homes = 123;
      const budget = BigInt(eventBudget({ homes, boundWh: 1682, rate: 0.5, orgHomes, totalHomes }));
      // DeclareEvent's split: floor(budget × orgHomes ÷ totalHomes) value units.
      const allotted = (budget * 10_000_000_000n * BigInt(orgHomes)) / BigInt(totalHomes);
      expect(allotted >= BigInt(homes) * 1682n * 5_000_000n, `${orgHomes}/${totalHomes}`).to.equal(true);
    }
    expect(eventBudget({ homes: 0, boundWh: 1682, rate: 0.5, orgHomes: 1, totalHomes: 1 })).to.equal('1');
  });

  it('refuses a utility without enrolled homes and malformed counts', () => {
    expect(() => eventBudget({ homes: 1, boundWh: 1, rate: 0.5, orgHomes: 0, totalHomes: 8 })).to.throw(
      RangeError,
      'enrolled homes',
    );
    expect(() => eventBudget({ homes: 1, boundWh: 1, rate: 0.5, orgHomes: 9, totalHomes: 8 })).to.throw(
      RangeError,
    );
    expect(() => eventBudget({ homes: 1.5, boundWh: 1, rate: 0.5, orgHomes: 1, totalHomes: 1 })).to.throw(
      RangeError,
      'whole numbers',
    );
  });
});

import { expect } from 'chai';
import { deliveryIntervals, parseSlotSchedule, SLOT_ID_PATTERN } from '@hems/protocol';
import {
  absoluteDay,
  absoluteSlot,
  addDays,
  historyDates,
  isWeekday,
  MAX_DAYS,
  playedDays,
  slotIdOf,
  slotSchedule,
} from '../../scripts/day/days';
import { HISTORY_DAYS } from '../../scripts/day/home-appliances';
import { eventSlots, peakSlots, TOU_TABLE, touPeriod } from '../../scripts/day/tariff';

const SLOT_ID = new RegExp(SLOT_ID_PATTERN);
/** Wednesday, 9 December 2026, midday UTC. */
const WEDNESDAY = new Date('2026-12-09T12:00:00Z');

describe('day: time-of-use periods and the simulated calendar', () => {
  describe('the TOU table', () => {
    it('is peak 17:00-21:00, mid-peak 07:00-17:00, off-peak otherwise, covering the day once', () => {
      const periods = Array.from({ length: 96 }, (_, slot) => touPeriod(slot));
      expect(periods.slice(0, 28).every((period) => period === 'off-peak')).to.be.true;
      expect(periods.slice(28, 68).every((period) => period === 'mid-peak')).to.be.true;
      expect(periods.slice(68, 84).every((period) => period === 'peak')).to.be.true;
      expect(periods.slice(84).every((period) => period === 'off-peak')).to.be.true;
      // The table's hours tile the day without a gap or an overlap.
      const hours = TOU_TABLE.flatMap((entry) =>
        Array.from({ length: entry.to - entry.from }, (_, h) => entry.from + h),
      );
      expect(hours).to.deep.equal(Array.from({ length: 24 }, (_, hour) => hour));
    });

    it('wraps later days around and refuses a slot that is not a whole number ≥ 0', () => {
      expect(touPeriod(96 + 70)).to.equal('peak');
      expect(touPeriod(absoluteSlot(2, 30))).to.equal('mid-peak');
      expect(() => touPeriod(-1)).to.throw(RangeError);
      expect(() => touPeriod(3.5)).to.throw(RangeError);
    });

    it('names the peak slots, and the peak slots a day from --start with --slots plays', () => {
      expect(peakSlots()).to.deep.equal(Array.from({ length: 16 }, (_, offset) => 68 + offset));
      expect(eventSlots(0, 96)).to.deep.equal(peakSlots());
      expect(eventSlots(72, 24)).to.deep.equal([72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83]);
      expect(eventSlots(60, 10)).to.deep.equal([68, 69]);
      expect(eventSlots(36, 3)).to.deep.equal([]);
      expect(eventSlots(84, 12)).to.deep.equal([]);
    });
  });

  describe('slot schedules', () => {
    it('gives every slot its 15-minute interval on the simulated date (UTC) and its period', () => {
      const schedules = Array.from({ length: 96 }, (_, index) => slotSchedule('2026-12-08', index));
      expect(schedules[0]).to.deep.equal({
        deliveryStart: '2026-12-08T00:00:00.000Z',
        deliveryEnd: '2026-12-08T00:15:00.000Z',
        period: 'off-peak',
      });
      expect(schedules[68]).to.deep.equal({
        deliveryStart: '2026-12-08T17:00:00.000Z',
        deliveryEnd: '2026-12-08T17:15:00.000Z',
        period: 'peak',
      });
      expect(schedules[95]?.deliveryEnd).to.equal('2026-12-09T00:00:00.000Z');
      schedules.forEach((schedule, index) => {
        // The protocol's own reading: the same date, exactly interval `index`.
        expect(parseSlotSchedule(schedule)).to.deep.equal(schedule);
        expect(deliveryIntervals(schedule)).to.deep.equal({
          date: '2026-12-08',
          start: index,
          end: index + 1,
        });
        expect(schedule.period).to.equal(touPeriod(index));
        if (index > 0) {
          expect(schedule.deliveryStart).to.equal(schedules[index - 1]?.deliveryEnd);
        }
      });
    });

    it('refuses a slot outside the day and a date that is not a calendar date', () => {
      expect(() => slotSchedule('2026-12-08', 96)).to.throw(RangeError);
      expect(() => slotSchedule('2026-12-08', -1)).to.throw(RangeError);
      expect(() => slotSchedule('2026-02-30', 4)).to.throw(RangeError);
      expect(() => slotSchedule('8 Dec 2026', 4)).to.throw(RangeError);
    });
  });

  describe('the played days', () => {
    it('plays consecutive dates, the last the latest weekday before today (UTC)', () => {
      expect(playedDays(1, WEDNESDAY)).to.deep.equal([{ day: 0, date: '2026-12-08', last: true }]);
      const three = playedDays(3, WEDNESDAY);
      expect(three.map((day) => day.date)).to.deep.equal(['2026-12-06', '2026-12-07', '2026-12-08']);
      expect(three.map((day) => day.last)).to.deep.equal([false, false, true]);
      // On a Monday the last day is the Friday before: the event day must be a weekday.
      const monday = new Date('2026-12-07T08:00:00Z');
      expect(playedDays(2, monday).map((day) => day.date)).to.deep.equal(['2026-12-03', '2026-12-04']);
      expect(isWeekday('2026-12-04')).to.be.true;
      expect(isWeekday('2026-12-05')).to.be.false;
    });

    it('gives every day of up to a week its own date, and every slot an id of its date', () => {
      const week = playedDays(MAX_DAYS, WEDNESDAY);
      const dates = week.map((day) => day.date);
      expect(new Set(dates).size).to.equal(MAX_DAYS);
      dates.slice(1).forEach((date, position) => expect(addDays(dates[position] ?? '', 1)).to.equal(date));
      expect(isWeekday(dates.at(-1) ?? '')).to.be.true;
      const ids = dates.flatMap((date) =>
        Array.from({ length: 96 }, (_, index) => slotIdOf('lx9k2a1', date, index)),
      );
      expect(new Set(ids).size).to.equal(ids.length);
      for (const id of ids) {
        expect(id).to.match(SLOT_ID);
        // The trading window delivering in the slot is named after it.
        expect(`${id}-w`).to.match(SLOT_ID);
      }
      expect(slotIdOf('lx9k2a1', '2026-12-08', 7)).to.equal('day-lx9k2a1-20261208-07');
    });

    it('refuses fewer than one day or more than a week', () => {
      expect(() => playedDays(0, WEDNESDAY)).to.throw(RangeError);
      expect(() => playedDays(MAX_DAYS + 1, WEDNESDAY)).to.throw(RangeError);
      expect(() => playedDays(1.5, WEDNESDAY)).to.throw(RangeError);
    });

    it('dates the 45 days of history right before the first played day, oldest first', () => {
      const history = historyDates('2026-12-06');
      expect(history).to.have.length(HISTORY_DAYS);
      expect(history[0]).to.equal('2026-10-22');
      expect(history.at(-1)).to.equal('2026-12-05');
      history
        .slice(1)
        .forEach((date, position) => expect(addDays(history[position] ?? '', 1)).to.equal(date));
      expect(addDays('2026-12-31', 1)).to.equal('2027-01-01');
      expect(addDays('2028-03-01', -1)).to.equal('2028-02-29');
    });

    it("numbers the models' slots after the history: played day 0 is day 45", () => {
      expect(absoluteDay(0)).to.equal(HISTORY_DAYS);
      expect(absoluteSlot(0, 0)).to.equal(HISTORY_DAYS * 96);
      expect(absoluteSlot(2, 68)).to.equal((HISTORY_DAYS + 2) * 96 + 68);
    });
  });
});

import { expect } from 'chai';
import {
  BASELINE_DEFAULTS,
  type BaselineMethod,
  type BaselineParameters,
  computeBaseline,
  ContractError,
  type EventDayMeter,
  formatValue,
  MAX_PRICE_UNITS,
  type MeterDay,
  priceToUnits,
  rewardOf,
} from '../src';

// ---------------------------------------------------------------------------------------------
// The synthetic history. Every expected baseline below is computed by hand in the comments, from
// the numbers in this table, not by running the formula again.
//
// Event: Wednesday 2026-07-15, 17:00-18:00, intervals 68..71 (EVENT below).
// Adjustment window (3 hours ending 1 hour before the event): 13:00-16:00, intervals 52..63.
// The hour 16:00-17:00 (intervals 64..67) is the gap and is never read.
//
// On a baseline candidate day every interval holds 100 Wh, except the window (12 intervals of w)
// and the event intervals (e68..e71). Days that must never be used hold 5000 Wh per event interval
// and 900 Wh per window interval, so using one by mistake changes every result.
//
//   date        day   kind              e68  e69  e70  e71  event total    w
//   2026-06-26  Fri   eligible, 11th    5000 5000 5000 5000     20000     900  (too old: 11th)
//   2026-06-27  Sat   weekend           5000 ...                          900
//   2026-06-28  Sun   weekend           5000 ...                          900
//   2026-06-29  Mon   eligible           400  420  440  460      1720     200
//   2026-06-30  Tue   eligible           500  510  520  530      2060     210
//   2026-07-01  Wed   eligible           300  310  320  330      1260     190
//   2026-07-02  Thu   eligible           600  610  620  630      2460     220
//   2026-07-03  Fri   holiday            5000 ...                          900
//   2026-07-04  Sat   weekend            5000 ...                          900
//   2026-07-05  Sun   weekend            5000 ...                          900
//   2026-07-06  Mon   eligible           450  450  450  450      1800     200
//   2026-07-07  Tue   eligible           350  360  370  380      1460     180
//   2026-07-08  Wed   event day          5000 ...                          900
//   2026-07-09  Thu   eligible           700  690  680  670      2740     230
//   2026-07-10  Fri   eligible           550  560  570  585      2265     205
//   2026-07-11  Sat   weekend            5000 ...                          900
//   2026-07-12  Sun   weekend            5000 ...                          900
//   2026-07-13  Mon   eligible           250  260  265  280      1055     170  (+ 8 x 5000 Wh at 00:00-02:00)
//   2026-07-14  Tue   eligible           480  490  500  510      1980     215
//
// 2026-07-13 has the largest day total (40000 Wh at night) but the smallest event-window total: a
// 5-in-10 that ranked by day total would pick it.
//
// The 15 days 2026-06-30..2026-07-14 (FIFTEEN_DAYS) hold 9 eligible weekdays; the whole table
// (HISTORY, 19 days) holds 11, of which the 10 most recent (2026-06-29..2026-07-14) are used.
// ---------------------------------------------------------------------------------------------

const EVENT = { start: 68, end: 72 };
const WINDOW = { start: 52, end: 64 };
const EVENT_DATE = '2026-07-15';

type Four = [number, number, number, number];
const NEVER: Four = [5000, 5000, 5000, 5000];

function day(date: string, eventWh: Four, windowWh: number, flags: Partial<MeterDay> = {}): MeterDay {
  const intervalsWh = Array.from({ length: 96 }, () => 100);
  intervalsWh.fill(windowWh, WINDOW.start, WINDOW.end);
  eventWh.forEach((wh, index) => (intervalsWh[EVENT.start + index] = wh));
  return { date, eventDay: false, intervalsWh, ...flags };
}

const night = (record: MeterDay): MeterDay => ({
  ...record,
  intervalsWh: record.intervalsWh.map((wh, index) => (index < 8 ? 5000 : wh)),
});

const HISTORY: readonly MeterDay[] = [
  day('2026-06-26', NEVER, 900),
  day('2026-06-27', NEVER, 900),
  day('2026-06-28', NEVER, 900),
  day('2026-06-29', [400, 420, 440, 460], 200),
  day('2026-06-30', [500, 510, 520, 530], 210),
  day('2026-07-01', [300, 310, 320, 330], 190),
  day('2026-07-02', [600, 610, 620, 630], 220),
  day('2026-07-03', NEVER, 900, { holiday: true }),
  day('2026-07-04', NEVER, 900),
  day('2026-07-05', NEVER, 900),
  day('2026-07-06', [450, 450, 450, 450], 200),
  day('2026-07-07', [350, 360, 370, 380], 180),
  day('2026-07-08', NEVER, 900, { eventDay: true }),
  day('2026-07-09', [700, 690, 680, 670], 230),
  day('2026-07-10', [550, 560, 570, 585], 205),
  day('2026-07-11', NEVER, 900),
  day('2026-07-12', NEVER, 900),
  night(day('2026-07-13', [250, 260, 265, 280], 170)),
  day('2026-07-14', [480, 490, 500, 510], 215),
];
const FIFTEEN_DAYS = HISTORY.slice(4);

/**
 * The event day metered up to the event's start: 100 Wh per interval, the 12 window intervals
 * alternating `low` and `high`, and 9999 Wh in the gap hour (never read). The window's energy is
 * 6 x (low + high), i.e. 12 x the mean a = (low + high) / 2.
 */
function eventDay(low: number, high = low): EventDayMeter {
  const intervalsWh = Array.from({ length: 68 }, () => 100);
  for (let index = WINDOW.start; index < WINDOW.end; index += 1) {
    intervalsWh[index] = index % 2 === 0 ? low : high;
  }
  intervalsWh.fill(9999, WINDOW.end, EVENT.start);
  return { date: EVENT_DATE, intervalsWh };
}

const TEN_DAYS = [
  '2026-06-29',
  '2026-06-30',
  '2026-07-01',
  '2026-07-02',
  '2026-07-06',
  '2026-07-07',
  '2026-07-09',
  '2026-07-10',
  '2026-07-13',
  '2026-07-14',
];
// The 5 highest event totals among TEN_DAYS: 2740 (07-09), 2460 (07-02), 2265 (07-10),
// 2060 (06-30), 1980 (07-14); the next is 1800 (07-06).
const FIVE_DAYS = ['2026-06-30', '2026-07-02', '2026-07-09', '2026-07-10', '2026-07-14'];

function baseline(
  method: BaselineMethod,
  today: EventDayMeter,
  history: readonly MeterDay[] = HISTORY,
  options: Partial<BaselineParameters> = {},
) {
  return computeBaseline(method, history, today, EVENT, options);
}

/** Runs `action`, expects a ContractError with `code`, and returns its message. */
function refusal(action: () => unknown, code: ContractError['code']): string {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(ContractError);
    expect((error as ContractError).code).to.equal(code);
    return (error as ContractError).message;
  }
  expect.fail('expected a refusal');
}

describe('demand-response baselines', () => {
  describe('caiso-10-in-10', () => {
    // Sums over TEN_DAYS, interval by interval:
    //   S68 = 400+500+300+600+450+350+700+550+250+480 = 4580
    //   S69 = 420+510+310+610+450+360+690+560+260+490 = 4660
    //   S70 = 440+520+320+620+450+370+680+570+265+500 = 4735
    //   S71 = 460+530+330+630+450+380+670+585+280+510 = 4825
    // Window: sum of w = 200+210+190+220+200+180+230+205+170+215 = 2020, so the unadjusted
    // baseline's window energy is 12 x 2020 / 10 and the ratio for an event-day mean a is
    //   (12 x a) / (12 x 2020 / 10) = a / 202.

    it('averages the 10 most recent weekdays that are neither holidays nor event days', () => {
      // a = 202: ratio 202/202 = 1. Baseline S/10 = 458, 466, 473.5, 482.5; rounded half to even:
      // 473.5 -> 474 (473 is odd), 482.5 -> 482 (482 is even).
      const result = baseline('caiso-10-in-10', eventDay(192, 212));
      expect(result.intervalsWh).to.deep.equal([458, 466, 474, 482]);
      expect(result.daysUsed).to.deep.equal(TEN_DAYS);
      expect(result.adjustment).to.deep.equal({ numerator: 1n, denominator: 1n, capped: false });
      expect(result.parameters).to.deep.equal(BASELINE_DEFAULTS['caiso-10-in-10']);
    });

    it('scales by the same-day adjustment within +-20%', () => {
      // a = 212: ratio 212/202 = 106/101 (1.0495). Baseline = 212 x S / (202 x 10) = 53 x S / 505:
      //   53 x 4580 = 242740, / 505 = 480.67 -> 481
      //   53 x 4660 = 246980, / 505 = 489.07 -> 489
      //   53 x 4735 = 250955, / 505 = 496.94 -> 497
      //   53 x 4825 = 255725, / 505 = 506.39 -> 506
      const result = baseline('caiso-10-in-10', eventDay(200, 224));
      expect(result.intervalsWh).to.deep.equal([481, 489, 497, 506]);
      expect(result.adjustment).to.deep.equal({ numerator: 106n, denominator: 101n, capped: false });
    });

    it('caps the adjustment at +20%', () => {
      // a = 300: ratio 300/202 = 1.485 > 1.2, capped to 6/5. Baseline = 1.2 x S / 10 = 3 x S / 25:
      //   13740/25 = 549.6 -> 550; 13980/25 = 559.2 -> 559; 14205/25 = 568.2 -> 568;
      //   14475/25 = 579
      const result = baseline('caiso-10-in-10', eventDay(300));
      expect(result.intervalsWh).to.deep.equal([550, 559, 568, 579]);
      expect(result.adjustment).to.deep.equal({ numerator: 6n, denominator: 5n, capped: true });
    });

    it('caps the adjustment at -20%', () => {
      // a = 100: ratio 100/202 = 0.495 < 0.8, capped to 4/5. Baseline = 0.8 x S / 10 = 2 x S / 25:
      //   9160/25 = 366.4 -> 366; 9320/25 = 372.8 -> 373; 9470/25 = 378.8 -> 379; 9650/25 = 386
      const result = baseline('caiso-10-in-10', eventDay(100));
      expect(result.intervalsWh).to.deep.equal([366, 373, 379, 386]);
      expect(result.adjustment).to.deep.equal({ numerator: 4n, denominator: 5n, capped: true });
    });

    it('reads the event day only in the adjustment window', () => {
      const today = eventDay(192, 212);
      const noisy = { ...today, intervalsWh: today.intervalsWh.map((wh, index) => (index < 52 ? 7777 : wh)) };
      const whole = { ...noisy, intervalsWh: [...noisy.intervalsWh, ...Array.from({ length: 28 }, () => 1)] };
      expect(baseline('caiso-10-in-10', noisy).intervalsWh).to.deep.equal([458, 466, 474, 482]);
      expect(baseline('caiso-10-in-10', whole).intervalsWh).to.deep.equal([458, 466, 474, 482]);
    });

    it('takes a window without any energy in the candidate days as ratio 1, or the cap', () => {
      // Same event readings, w = 0 on every day: S/10 unchanged; 0/0 gives 1, a/0 (a > 0) the cap.
      const dark = HISTORY.map((record) => ({
        ...record,
        intervalsWh: record.intervalsWh.map((wh, index) => (index >= 52 && index < 64 ? 0 : wh)),
      }));
      const none = baseline('caiso-10-in-10', eventDay(0), dark);
      expect(none.intervalsWh).to.deep.equal([458, 466, 474, 482]);
      expect(none.adjustment).to.deep.equal({ numerator: 1n, denominator: 1n, capped: false });
      const some = baseline('caiso-10-in-10', eventDay(1), dark);
      expect(some.intervalsWh).to.deep.equal([550, 559, 568, 579]);
      expect(some.adjustment).to.deep.equal({ numerator: 6n, denominator: 5n, capped: true });
    });

    it('turns the adjustment off with a zero cap', () => {
      // Ratio forced to exactly 1 (capped): S/10 as in the first case.
      const result = baseline('caiso-10-in-10', eventDay(300), HISTORY, { adjustmentCapPpm: 0 });
      expect(result.intervalsWh).to.deep.equal([458, 466, 474, 482]);
      expect(result.adjustment).to.deep.equal({ numerator: 1n, denominator: 1n, capped: true });
    });
  });

  describe('residential-5-in-10', () => {
    // Sums over FIVE_DAYS:
    //   S68 = 700+600+550+500+480 = 2830;  S69 = 690+610+560+510+490 = 2860
    //   S70 = 680+620+570+520+500 = 2890;  S71 = 670+630+585+530+510 = 2925
    // Window: 230+220+205+210+215 = 1080, mean 216, so the ratio is a / 216.

    it('averages the 5 of the 10 recent days with the most energy in the event window', () => {
      // a = 240: ratio 240/216 = 10/9. Baseline = (10/9) x S / 5 = 2 x S / 9:
      //   5660/9 = 628.89 -> 629; 5720/9 = 635.56 -> 636; 5780/9 = 642.22 -> 642; 5850/9 = 650
      const result = baseline('residential-5-in-10', eventDay(230, 250));
      expect(result.intervalsWh).to.deep.equal([629, 636, 642, 650]);
      expect(result.daysUsed).to.deep.equal(FIVE_DAYS);
      expect(result.adjustment).to.deep.equal({ numerator: 10n, denominator: 9n, capped: false });
    });

    it('allows +-40%, where the 10-in-10 caps at 20%', () => {
      // a = 300: ratio 300/216 = 25/18 (1.389 < 1.4). Baseline = (25/18) x S / 5 = 5 x S / 18:
      //   14150/18 = 786.11 -> 786; 14300/18 = 794.44 -> 794; 14450/18 = 802.78 -> 803;
      //   14625/18 = 812.5 -> 812 (half to even)
      const result = baseline('residential-5-in-10', eventDay(300));
      expect(result.intervalsWh).to.deep.equal([786, 794, 803, 812]);
      expect(result.adjustment).to.deep.equal({ numerator: 25n, denominator: 18n, capped: false });
      expect(baseline('caiso-10-in-10', eventDay(300)).adjustment.capped).to.be.true;
    });

    it('caps the adjustment at +40% and -40%', () => {
      // a = 400: 400/216 = 1.85 -> 7/5. Baseline = 7 x S / 25:
      //   19810/25 = 792.4 -> 792; 20020/25 = 800.8 -> 801; 20230/25 = 809.2 -> 809; 20475/25 = 819
      const up = baseline('residential-5-in-10', eventDay(400));
      expect(up.intervalsWh).to.deep.equal([792, 801, 809, 819]);
      expect(up.adjustment).to.deep.equal({ numerator: 7n, denominator: 5n, capped: true });
      // a = 100: 100/216 = 0.46 -> 3/5. Baseline = 3 x S / 25:
      //   8490/25 = 339.6 -> 340; 8580/25 = 343.2 -> 343; 8670/25 = 346.8 -> 347; 8775/25 = 351
      const down = baseline('residential-5-in-10', eventDay(100));
      expect(down.intervalsWh).to.deep.equal([340, 343, 347, 351]);
      expect(down.adjustment).to.deep.equal({ numerator: 3n, denominator: 5n, capped: true });
    });

    it('breaks a tie for the fifth place in favour of the more recent day', () => {
      // 2026-07-06 raised to 4 x 495 = 1980, the total of 2026-07-14: 07-14 stays; the result is
      // the first case's.
      const tied = HISTORY.map((record) =>
        record.date === '2026-07-06' ? day('2026-07-06', [495, 495, 495, 495], 200) : record,
      );
      const result = baseline('residential-5-in-10', eventDay(230, 250), tied);
      expect(result.daysUsed).to.deep.equal(FIVE_DAYS);
      expect(result.intervalsWh).to.deep.equal([629, 636, 642, 650]);
    });
  });

  describe('too few eligible days', () => {
    it('refuses when the history holds fewer eligible days than the method needs', () => {
      for (const method of ['caiso-10-in-10', 'residential-5-in-10'] as const) {
        const message = refusal(() => baseline(method, eventDay(202), FIFTEEN_DAYS), 'FAILED_PRECONDITION');
        expect(message).to.match(/needs at least 10 eligible days .* holds 9$/);
      }
    });

    it('counts only the days inside the lookback', () => {
      // 10 days back from 2026-07-15: 07-05..07-14, of which 07-06, 07-07, 07-09, 07-10, 07-13,
      // 07-14 are eligible.
      const message = refusal(
        () => baseline('caiso-10-in-10', eventDay(202), HISTORY, { lookbackDays: 10 }),
        'FAILED_PRECONDITION',
      );
      expect(message).to.match(/in the 10 days before the event; the history holds 6$/);
    });

    it('uses fewer days only when minDays is lowered explicitly', () => {
      const result = baseline('caiso-10-in-10', eventDay(202), FIFTEEN_DAYS, { minDays: 9 });
      expect(result.daysUsed).to.deep.equal(TEN_DAYS.slice(1));
    });
  });

  describe('input validation', () => {
    const withDay = (index: number, change: Partial<MeterDay>): MeterDay[] =>
      HISTORY.map((record, at) => (at === index ? { ...record, ...change } : record));
    const readings = (index: number, value: number): number[] => {
      const changed = [...HISTORY[5]!.intervalsWh];
      changed[index] = value;
      return changed;
    };
    const refuses = (history: readonly MeterDay[], pattern: RegExp, today = eventDay(202)) =>
      expect(refusal(() => baseline('caiso-10-in-10', today, history), 'INVALID_ARGUMENT')).to.match(pattern);

    it('refuses a wrong interval count', () => {
      refuses(
        withDay(5, { intervalsWh: HISTORY[5]!.intervalsWh.slice(1) }),
        /history\[5\]\.intervalsWh must hold exactly 96 readings/,
      );
      refuses(
        withDay(5, { intervalsWh: [...HISTORY[5]!.intervalsWh, 1] }),
        /history\[5\]\.intervalsWh must have at most 96 entries/,
      );
      const early = { date: EVENT_DATE, intervalsWh: eventDay(202).intervalsWh.slice(0, 63) };
      refuses(HISTORY, /eventDay\.intervalsWh must hold at least 64 readings/, early);
    });

    it('refuses negative, fractional and non-numeric readings without echoing them', () => {
      for (const bad of [-123456, 12.5, Number.NaN, Number.POSITIVE_INFINITY, 1_000_000_001]) {
        const message = refusal(
          () => baseline('caiso-10-in-10', eventDay(202), withDay(5, { intervalsWh: readings(17, bad) })),
          'INVALID_ARGUMENT',
        );
        expect(message).to.match(/history\[5\]\.intervalsWh\[17\] must be/);
        expect(message).to.not.match(/123456|12\.5/);
      }
      const today = eventDay(202);
      const negative = {
        ...today,
        intervalsWh: today.intervalsWh.map((wh, index) => (index === 60 ? -1 : wh)),
      };
      refuses(HISTORY, /eventDay\.intervalsWh\[60\] must be between 0 and/, negative);
    });

    it('refuses unsorted and repeated dates, dates on or after the event, and malformed dates', () => {
      const swapped = [...HISTORY];
      [swapped[6], swapped[7]] = [swapped[7]!, swapped[6]!];
      refuses(swapped, /history must be sorted by date, oldest first \(history\[7\] is out of order\)/);
      refuses(withDay(7, { date: HISTORY[6]!.date }), /history\[7\]\.date repeats the date of history\[6\]/);
      refuses([...HISTORY, day(EVENT_DATE, NEVER, 900)], /history\[19\]\.date must be before the event day/);
      refuses(withDay(0, { date: '2026-6-26' }), /history\[0\]\.date must be a date written YYYY-MM-DD/);
      refuses(withDay(0, { date: '2026-02-30' }), /history\[0\]\.date is not a calendar date/);
      refuses(
        withDay(0, { eventDay: 'no' as unknown as boolean }),
        /history\[0\]\.eventDay must be true or false/,
      );
    });

    it('refuses weekend and holiday events', () => {
      const saturday = { ...eventDay(202), date: '2026-07-18' };
      refuses(HISTORY, /weekday baseline: eventDay must be a weekday that is no holiday/, saturday);
      refuses(HISTORY, /weekday baseline/, { ...eventDay(202), holiday: true });
    });

    it('refuses an event range out of the day or too early for the adjustment window', () => {
      const today = eventDay(202);
      const at = (event: { start: number; end: number }) =>
        refusal(() => computeBaseline('caiso-10-in-10', HISTORY, today, event), 'INVALID_ARGUMENT');
      expect(at({ start: 70, end: 70 })).to.match(/event\.end must be after event\.start/);
      expect(at({ start: 90, end: 97 })).to.match(/event\.end must be between 1 and 96/);
      expect(at({ start: 1.5, end: 4 })).to.match(/event\.start must be a whole number/);
      expect(at({ start: 15, end: 20 })).to.match(/event\.start must leave 4 hours of the same day/);
    });

    it('refuses unknown methods and bad options', () => {
      const run = (method: string, options: object) =>
        refusal(
          () => computeBaseline(method as BaselineMethod, HISTORY, eventDay(202), EVENT, options),
          'INVALID_ARGUMENT',
        );
      expect(run('pjm-4-of-5', {})).to.match(/method must be one of caiso-10-in-10, residential-5-in-10/);
      expect(run('caiso-10-in-10', { cap: 1 })).to.match(/options has unknown field\(s\): cap/);
      expect(run('caiso-10-in-10', { highestDays: 11 })).to.match(
        /options\.highestDays must be between 1 and 10/,
      );
      expect(run('caiso-10-in-10', { adjustmentCapPpm: -1 })).to.match(/options\.adjustmentCapPpm/);
    });
  });
});

describe('demand-response rewards', () => {
  // 0.50 currency per kWh = 500 currency per MWh = 5_000_000 price units.
  const HALF_PER_KWH = 5_000_000;

  it('pays the event-total reduction times the rate, in value units', () => {
    // The 10-in-10 baseline above, 481+489+497+506 = 1973 Wh; metered 300+310+320+330 = 1260 Wh:
    // 713 Wh. 713 x 5_000_000 = 3_565_000_000 value units = 0.3565 currency (713 Wh at 0.50/kWh).
    expect(priceToUnits(500)).to.equal(HALF_PER_KWH);
    const reward = rewardOf([481, 489, 497, 506], [300, 310, 320, 330], HALF_PER_KWH);
    expect(reward).to.deep.equal({
      baselineWh: 1973,
      meteredWh: 1260,
      reductionWh: 713,
      reward: 3_565_000_000n,
    });
    expect(formatValue(reward.reward.toString())).to.equal('0.3565');
    // What the reward reveals: reward / rate is the reduction, exactly.
    expect(reward.reward / BigInt(HALF_PER_KWH)).to.equal(713n);
  });

  it('nets the intervals: a reduction in one is offset by an increase in another', () => {
    // Per interval the first would pay 50 Wh; the event total is 200 - 230 < 0: nothing.
    expect(rewardOf([100, 100], [50, 180], HALF_PER_KWH).reward).to.equal(0n);
    expect(rewardOf([100, 100], [50, 140], HALF_PER_KWH).reductionWh).to.equal(10);
  });

  it('never pays when the home used as much as its baseline or more', () => {
    for (const metered of [
      [481, 489, 497, 506],
      [482, 489, 497, 506],
      [1_000_000_000, 0, 0, 0],
    ]) {
      const reward = rewardOf([481, 489, 497, 506], metered, MAX_PRICE_UNITS);
      expect(reward.reductionWh).to.equal(0);
      expect(reward.reward).to.equal(0n);
    }
  });

  it('is exact far beyond 2^53', () => {
    // 96 intervals of 999_999_999 Wh baseline and 1 Wh metered: 96 x 999_999_998 = 95_999_999_808 Wh.
    // x 999_999_937 = 95_999_999_808 x 10^9 - 95_999_999_808 x 63
    //               = 95_999_999_808_000_000_000 - 6_047_999_987_904 = 95_999_993_760_000_012_096.
    const baselineWh = Array.from({ length: 96 }, () => 999_999_999);
    const meteredWh = Array.from({ length: 96 }, () => 1);
    const reward = rewardOf(baselineWh, meteredWh, 999_999_937);
    expect(reward.reductionWh).to.equal(95_999_999_808);
    expect(reward.reward).to.equal(95_999_993_760_000_012_096n);
    // The same product in floating point is off by thousands of value units.
    expect(BigInt(95_999_999_808 * 999_999_937)).to.not.equal(reward.reward);
  });

  it('refuses mismatched, empty or malformed readings and rates', () => {
    const refuses = (action: () => unknown, pattern: RegExp) =>
      expect(refusal(action, 'INVALID_ARGUMENT')).to.match(pattern);
    refuses(() => rewardOf([1, 2], [1], 1), /meteredWh must hold one reading per baseline interval/);
    refuses(() => rewardOf([], [], 1), /baselineWh must hold at least 1 readings/);
    refuses(() => rewardOf([1, -2], [1, 1], 1), /baselineWh\[1\] must be between 0 and 2000000000/);
    refuses(() => rewardOf([1, 2], [1, 0.5], 1), /meteredWh\[1\] must be a whole number/);
    refuses(() => rewardOf([1], [1], -1), /ratePriceUnits must be between 0 and 1000000000/);
    refuses(() => rewardOf([1], [1], 2.5), /ratePriceUnits must be a whole number/);
    refuses(() => rewardOf([1], [1], MAX_PRICE_UNITS + 1), /ratePriceUnits must be between/);
  });
});

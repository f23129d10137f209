import path from 'node:path';
import { expect } from 'chai';
import {
  auctionPositions,
  DEFAULT_OPTIONS,
  OptionsError,
  parseDayOptions,
  slotPeriodMs,
  USAGE,
} from '../../scripts/day/options';

describe('day: options', () => {
  it('defaults to 32 homes, 3 buses and a whole day at 180× real time', () => {
    expect(parseDayOptions([])).to.deep.equal(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS).to.include({
      homes: 32,
      buses: 3,
      slots: 96,
      startSlot: 0,
      auctionEvery: 4,
      speed: 180,
      seed: 1,
      days: 1,
      drEvent: false,
      once: false,
    });
    expect(slotPeriodMs(DEFAULT_OPTIONS)).to.equal(5000);
  });

  it('reads every flag, with a separate or an inline value', () => {
    const options = parseDayOptions([
      '--homes',
      '40',
      '--buses=4',
      '--slots',
      '8',
      '--start=09:45',
      '--auction-every',
      '2',
      '--speed',
      'max',
      '--seed',
      '42',
      '--openadr-share',
      '0.5',
      '--days',
      '3',
      '--dr-event=off',
      '--report',
      'out',
      '--once',
    ]);
    expect(options).to.deep.equal({
      homes: 40,
      buses: 4,
      slots: 8,
      startSlot: 39,
      auctionEvery: 2,
      speed: null,
      seed: 42,
      openadrShare: 0.5,
      days: 3,
      drEvent: false,
      reportDir: path.resolve('out'),
      once: true,
    });
    expect(slotPeriodMs(options)).to.equal(null);
    expect(parseDayOptions(['--speed', '90']).speed).to.equal(90);
    expect(parseDayOptions(['--auction-every', '0']).auctionEvery).to.equal(0);
  });

  it('plays the rest of the day from --start unless --slots says otherwise', () => {
    expect(parseDayOptions(['--start', '00:00'])).to.include({ startSlot: 0, slots: 96 });
    expect(parseDayOptions(['--start', '18:00'])).to.include({ startSlot: 72, slots: 24 });
    expect(parseDayOptions(['--start', '23:45'])).to.include({ startSlot: 95, slots: 1 });
    expect(parseDayOptions(['--start', '12:15', '--slots', '4'])).to.include({ startSlot: 49, slots: 4 });
  });

  it('plays 1 to 7 days; a demand-response event on the last one by default from 2 days on', () => {
    expect(parseDayOptions(['--days', '1'])).to.include({ days: 1, drEvent: false });
    expect(parseDayOptions(['--days', '2'])).to.include({ days: 2, drEvent: true });
    expect(parseDayOptions(['--days=7'])).to.include({ days: 7, drEvent: true });
    expect(parseDayOptions(['--days', '3', '--dr-event', 'off'])).to.include({ days: 3, drEvent: false });
    // One day can carry the event too: its baselines come from the backfilled history.
    expect(parseDayOptions(['--dr-event', 'on'])).to.include({ days: 1, drEvent: true });
    // The event needs peak slots (17:00-21:00) in the day: without them it is off by default.
    expect(parseDayOptions(['--days', '2', '--start', '09:00', '--slots', '4'])).to.include({
      days: 2,
      drEvent: false,
    });
    expect(parseDayOptions(['--days', '2', '--start', '20:45', '--slots', '1'])).to.include({
      drEvent: true,
    });
    expect(parseDayOptions(['--days', '2', '--start', '21:00'])).to.include({ drEvent: false });
  });

  it('names --days and --dr-event in the usage text', () => {
    expect(USAGE).to.include('[--days N]').and.include('[--dr-event on|off]');
    expect(USAGE).to.match(
      /--days N +play the day N times on consecutive simulated dates, 1 to 7 \(default 1\)/,
    );
    expect(USAGE).to.include('--dr-event on|off');
  });

  it('opens a window every N-th slot whose delivery slot is still part of the day', () => {
    expect(auctionPositions({ slots: 96, auctionEvery: 4 })).to.deep.equal(
      Array.from({ length: 24 }, (_, window) => window * 4),
    );
    expect(auctionPositions({ slots: 9, auctionEvery: 4 })).to.deep.equal([0, 4]);
    // Slot 8 would deliver in slot 9, which the day does not play.
    expect(auctionPositions({ slots: 8, auctionEvery: 4 })).to.deep.equal([0, 4]);
    expect(auctionPositions({ slots: 3, auctionEvery: 1 })).to.deep.equal([0, 1]);
    expect(auctionPositions({ slots: 1, auctionEvery: 1 })).to.deep.equal([]);
    expect(auctionPositions({ slots: 96, auctionEvery: 0 })).to.deep.equal([]);
    expect(auctionPositions({ slots: 96, auctionEvery: 96 })).to.deep.equal([0]);
  });

  const refusals: [string[], RegExp][] = [
    [['--homes'], /--homes needs a value/],
    [['--homes', '--once'], /--homes needs a value/],
    [['--homes', 'ten'], /--homes must be a whole number, got 'ten'/],
    [['--homes', '12.5'], /--homes must be a whole number/],
    [['--homes', '-3'], /--homes needs a value|whole number/],
    [['--homes', '5000'], /--homes must be between 1 and 1000/],
    [['--homes', '5'], /--homes must be at least 6 for 3 buses/],
    [['--buses', '0'], /--buses must be between 1 and 20/],
    [['--slots', '97'], /--slots must be between 1 and 96/],
    [['--speed', '0'], /--speed must be between 1 and 900/],
    [['--speed', 'fast'], /--speed must be a number or 'max'/],
    [['--seed', '4294967296'], /--seed must be between 0 and 4294967295/],
    [['--openadr-share', '1.5'], /--openadr-share must be a number from 0 to 1, got '1.5'/],
    [['--openadr-share', 'half'], /--openadr-share must be a number from 0 to 1/],
    [['--auction-every'], /--auction-every needs a value/],
    [['--auction-every', '97'], /--auction-every must be between 0 and 96, got 97/],
    [['--auction-every', 'hourly'], /--auction-every must be a whole number, got 'hourly'/],
    [['--auction-every', '1.5'], /--auction-every must be a whole number/],
    [['--auction-every', '-1'], /--auction-every needs a value|whole number/],
    [['--auction-every', '4', '--auction-every=2'], /--auction-every is given twice/],
    [['--start', '9:00'], /--start must be a time of day HH:MM, got '9:00'/],
    [['--start', '24:00'], /--start must be a time of day HH:MM, got '24:00'/],
    [['--start', '12:60'], /--start must be a time of day HH:MM/],
    [['--start', '12:10'], /--start must be on a quarter hour .* got 12:10/],
    [['--start', 'noon'], /--start must be a time of day HH:MM/],
    [['--start', '23:00', '--slots', '5'], /--slots must be at most 4 when the day starts at 23:00/],
    [['--once=yes'], /--once takes no value/],
    [['--homes', '10', '--homes', '12'], /--homes is given twice/],
    [['--days', '0'], /--days must be between 1 and 7, got 0/],
    [['--days', '8'], /--days must be between 1 and 7, got 8/],
    [['--days', 'two'], /--days must be a whole number, got 'two'/],
    [['--days'], /--days needs a value/],
    [['--days', '2', '--days', '3'], /--days is given twice/],
    [['--dr-event', 'yes'], /--dr-event must be on or off, got 'yes'/],
    [['--dr-event'], /--dr-event needs a value/],
    [
      ['--dr-event', 'on', '--start', '09:00', '--slots', '4'],
      /--dr-event on needs the day to play peak slots/,
    ],
    [['--dr-event', 'on', '--start', '21:00'], /--dr-event on needs the day to play peak slots/],
    [['--frobnicate'], /unknown argument '--frobnicate'/],
    [['32'], /unknown argument '32'/],
  ];
  for (const [argv, message] of refusals) {
    it(`refuses ${argv.join(' ')}`, () => {
      expect(() => parseDayOptions(argv)).to.throw(OptionsError, message);
    });
  }
});

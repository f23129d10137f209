import path from 'node:path';
import { expect } from 'chai';
import { DEFAULT_OPTIONS, OptionsError, parseDayOptions, slotPeriodMs } from '../../scripts/day/options';

describe('day: options', () => {
  it('defaults to 32 homes, 3 buses and a whole day at 180× real time', () => {
    expect(parseDayOptions([])).to.deep.equal(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS).to.include({ homes: 32, buses: 3, slots: 96, speed: 180, seed: 1, once: false });
    expect(slotPeriodMs(DEFAULT_OPTIONS)).to.equal(5000);
  });

  it('reads every flag, with a separate or an inline value', () => {
    const options = parseDayOptions([
      '--homes',
      '40',
      '--buses=4',
      '--slots',
      '8',
      '--speed',
      'max',
      '--seed',
      '42',
      '--report',
      'out',
      '--once',
    ]);
    expect(options).to.deep.equal({
      homes: 40,
      buses: 4,
      slots: 8,
      speed: null,
      seed: 42,
      reportDir: path.resolve('out'),
      once: true,
    });
    expect(slotPeriodMs(options)).to.equal(null);
    expect(parseDayOptions(['--speed', '90']).speed).to.equal(90);
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
    [['--once=yes'], /--once takes no value/],
    [['--homes', '10', '--homes', '12'], /--homes is given twice/],
    [['--frobnicate'], /unknown argument '--frobnicate'/],
    [['32'], /unknown argument '32'/],
  ];
  for (const [argv, message] of refusals) {
    it(`refuses ${argv.join(' ')}`, () => {
      expect(() => parseDayOptions(argv)).to.throw(OptionsError, message);
    });
  }
});

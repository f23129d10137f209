import { expect } from 'chai';
import { DEFAULT_OPTIONS, neededRate, parseOptions } from '../../scripts/soak/options';

describe('soak options', () => {
  it('defaults to a 15-minute run with a fault every two minutes', () => {
    const options = parseOptions([]);
    expect(options).to.deep.equal(DEFAULT_OPTIONS);
    expect(options).to.include({
      minutes: 15,
      homes: 40,
      rate: 5,
      faultEverySeconds: 120,
      report: undefined,
    });
  });

  it('reads --flag value and --flag=value, fractions of minutes and rates', () => {
    const options = parseOptions([
      '--minutes=1.5',
      '--homes',
      '20',
      '--rate',
      '2.5',
      '--fault-every',
      '15',
      '--down=5',
      '--slot-seconds',
      '20',
      '--report',
      'reports/x.json',
    ]);
    expect(options).to.include({
      minutes: 1.5,
      homes: 20,
      rate: 2.5,
      faultEverySeconds: 15,
      downSeconds: 5,
      slotSeconds: 20,
      report: 'reports/x.json',
    });
  });

  it('recognizes --help without checking the rest', () => {
    expect(parseOptions(['--help', '--minutes', '1', '--fault-every', '120']).help).to.equal(true);
  });

  it('refuses unknown, repeated, missing and out-of-range values', () => {
    expect(() => parseOptions(['--hours', '1'])).to.throw(/unknown option --hours/);
    expect(() => parseOptions(['--homes', '8', '--homes', '9'])).to.throw(/given twice/);
    expect(() => parseOptions(['--homes'])).to.throw(/needs a value/);
    expect(() => parseOptions(['--homes', '3'])).to.throw(/between 4 and/);
    expect(() => parseOptions(['--homes', '4.5'])).to.throw(/whole number/);
    expect(() => parseOptions(['--rate', '-1'])).to.throw(/number/);
    expect(() => parseOptions(['minutes'])).to.throw(/unexpected argument/);
  });

  it('refuses a down time as long as the fault period, and a period as long as the run', () => {
    expect(() => parseOptions(['--fault-every', '10', '--down', '10'])).to.throw(/--down must be shorter/);
    expect(() => parseOptions(['--minutes', '1', '--fault-every', '60'])).to.throw(/shorter than the run/);
  });

  it('tells the rate the homes need: a forecast and a report per slot, an order every two slots', () => {
    expect(neededRate({ ...DEFAULT_OPTIONS, homes: 40, slotSeconds: 20 })).to.equal(5);
  });
});

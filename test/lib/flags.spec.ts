import { expect } from 'chai';
import { readFlags } from '../../scripts/lib/flags';

describe("scripts' command-line flags", () => {
  const known = new Set(['minutes', 'homes']);

  it('reads --flag value and --flag=value in order, and --help alone', () => {
    expect(readFlags(['--minutes', '2', '--homes=40', '--help'], known)).to.deep.equal({
      help: true,
      values: [
        ['minutes', '2'],
        ['homes', '40'],
      ],
    });
    expect(readFlags([], known)).to.deep.equal({ help: false, values: [] });
  });

  it('refuses a bare argument, an unknown flag, a flag twice and a flag without its value', () => {
    expect(() => readFlags(['2'], known)).to.throw('unexpected argument "2"');
    expect(() => readFlags(['--bogus', '1'], known)).to.throw('unknown option --bogus');
    expect(() => readFlags(['--homes', '1', '--homes=2'], known)).to.throw('--homes is given twice');
    expect(() => readFlags(['--minutes'], known)).to.throw('--minutes needs a value');
    expect(() => readFlags(['--minutes', '--homes', '3'], known)).to.throw('--minutes needs a value');
  });
});

import { expect } from 'chai';
import { formatTable } from '../../scripts/bench/lib/table';

describe('bench tables', () => {
  it('left-aligns text, right-aligns numeric columns and prints missing values as "-"', () => {
    const table = formatTable(
      ['mode', 'tx/s', 'p50'],
      [
        ['gateway', 12.5, null],
        ['raw', 130, 8],
      ],
    );
    expect(table.split('\n')).to.deep.equal([
      'mode     tx/s  p50',
      '-------  ----  ---',
      'gateway  12.5    -',
      'raw       130    8',
    ]);
  });

  it('prints NaN as "-"', () => {
    expect(formatTable(['p99'], [[Number.NaN]]).split('\n')[2]).to.equal('  -');
  });

  it('refuses rows whose cell count differs from the headers', () => {
    expect(() => formatTable(['a', 'b'], [['x']])).to.throw(RangeError, 'row 0 has 1 cells for 2 columns');
  });
});

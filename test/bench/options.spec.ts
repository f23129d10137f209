import { expect } from 'chai';
import { DEFAULT_OPTIONS, parseOptions } from '../../scripts/bench/lib/options';

describe('bench options', () => {
  it('defaults to every benchmark at the sizes of the issue', () => {
    const options = parseOptions([]);
    expect(options).to.deep.equal(DEFAULT_OPTIONS);
    expect(options.only).to.deep.equal(['ingestion', 'aggregate', 'cycle', 'dr', 'clearing']);
    expect(options.devices).to.deep.equal([10000]);
    expect(options.homes).to.deep.equal([1000, 10000, 100000]);
    expect(options).to.include({ seconds: 60, batchItems: 500, cycleHomes: 10000, restConcurrency: 512 });
    expect(options.orders).to.deep.equal([1000, 10000]);
    expect(options.issuer).to.equal('direct');
    expect(options).to.include({ drHomes: 2000, drBatches: 10 });
    expect(options.drSizes).to.deep.equal([1, 100, 500]);
  });

  it('reads the demand-response options, its batch sizes in ascending order', () => {
    const options = parseOptions([
      '--only',
      'dr',
      '--dr-homes',
      '100',
      '--dr-sizes=500,1,100,1',
      '--dr-batches',
      '3',
    ]);
    expect(options.only).to.deep.equal(['dr']);
    expect(options).to.include({ drHomes: 100, drBatches: 3 });
    expect(options.drSizes).to.deep.equal([1, 100, 500]);
    expect(() => parseOptions(['--dr-sizes', '1000'])).to.throw(
      '--dr-sizes must be between 1 and 500, got 1000',
    );
    expect(() => parseOptions(['--dr-homes', '0'])).to.throw('--dr-homes must be between 1 and 100000');
    expect(() => parseOptions(['--dr-batches', '101'])).to.throw('--dr-batches must be between 1 and 100');
  });

  it('reads lists, numbers and choices in both --flag value and --flag=value forms', () => {
    const options = parseOptions([
      '--only',
      'clearing,ingestion',
      '--devices=200,50,200',
      '--concurrency',
      '16',
      '--issuer=ca',
      '--modes',
      'raw',
      '--repeat',
      '2',
    ]);
    // Canonical order, duplicates removed.
    expect(options.only).to.deep.equal(['ingestion', 'clearing']);
    expect(options.devices).to.deep.equal([200, 50]);
    expect(options.concurrency).to.equal(16);
    expect(options.issuer).to.equal('ca');
    expect(options.modes).to.deep.equal(['raw']);
    expect(options.repeat).to.equal(2);
    expect(options.homes).to.deep.equal(DEFAULT_OPTIONS.homes);
  });

  it('recognizes --help', () => {
    expect(parseOptions(['--help']).help).to.equal(true);
  });

  it('refuses unknown flags, benchmarks and malformed or out-of-range numbers precisely', () => {
    expect(() => parseOptions(['--device', '5'])).to.throw('unknown option --device');
    expect(() => parseOptions(['--only', 'ingest'])).to.throw(
      '--only takes ingestion, aggregate, cycle, dr, clearing; unknown "ingest"',
    );
    expect(() => parseOptions(['--devices', '1e3'])).to.throw(
      '--devices takes positive whole numbers, got "1e3"',
    );
    expect(() => parseOptions(['--devices', '0'])).to.throw('--devices must be between 1 and 200000, got 0');
    expect(() => parseOptions(['--concurrency', '5000'])).to.throw(
      '--concurrency must be between 1 and 4096',
    );
    expect(() => parseOptions(['--homes', '10,,20'])).to.throw(
      '--homes takes positive whole numbers, got ""',
    );
    expect(() => parseOptions(['--issuer', 'direct,ca'])).to.throw(
      '--issuer takes exactly one of direct, ca',
    );
  });

  it('refuses missing values, repeated flags and stray arguments', () => {
    expect(() => parseOptions(['--devices'])).to.throw('--devices needs a value');
    expect(() => parseOptions(['--devices', '--only', 'clearing'])).to.throw('--devices needs a value');
    expect(() => parseOptions(['--repeat', '1', '--repeat', '2'])).to.throw('--repeat is given twice');
    expect(() => parseOptions(['ingestion'])).to.throw('unexpected argument "ingestion"');
  });
});

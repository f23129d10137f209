import { expect } from 'chai';
import { describe as describeError, parseArgs, UsageError, USAGE } from '../src/bin/hems-device';
import { GatewayApiError, GatewayConnectionError } from '../src';

const DEVICE = ['--device', '/etc/hems'];

describe('HEMS device client: hems-device argument parsing', () => {
  it('parses enroll with --name value and --name=value forms', () => {
    expect(
      parseArgs([
        'enroll',
        '--gateway',
        'https://gw:8443',
        '--ca=ca.pem',
        '--id',
        'hems-home-7',
        '--secret',
        's=3',
        '--out',
        'dev',
      ]),
    ).to.deep.equal({
      command: 'enroll',
      gateway: 'https://gw:8443',
      ca: 'ca.pem',
      id: 'hems-home-7',
      secret: { value: 's=3' },
      out: 'dev',
      force: false,
    });
    expect(
      parseArgs([
        'enroll',
        '--gateway=g',
        '--ca',
        'c',
        '--id',
        'i',
        '--secret-file',
        'f',
        '--out',
        'o',
        '--force',
      ]),
    ).to.deep.include({ secret: { file: 'f' }, force: true });
  });

  it('parses price, dispatch, forecast and events with a device directory or explicit identity files', () => {
    expect(parseArgs(['price', ...DEVICE, '--slot', 'slot-1'])).to.deep.equal({
      command: 'price',
      identity: { device: '/etc/hems' },
      slot: 'slot-1',
    });
    expect(
      parseArgs([
        'dispatch',
        '--slot=s',
        '--gateway',
        'https://g',
        '--ca',
        'ca',
        '--cert',
        'c',
        '--key',
        'k',
      ]),
    ).to.deep.equal({
      command: 'dispatch',
      identity: { gateway: 'https://g', ca: 'ca', cert: 'c', key: 'k' },
      slot: 's',
    });
    expect(
      parseArgs(['forecast', ...DEVICE, '--slot', 's', '--lower', '0', '--upper', '12.345']),
    ).to.deep.equal({
      command: 'forecast',
      identity: { device: '/etc/hems' },
      slot: 's',
      lower: 0,
      upper: 12.345,
    });
    expect(parseArgs(['events', ...DEVICE, '--gateway', 'https://other'])).to.deep.equal({
      command: 'events',
      identity: { device: '/etc/hems', gateway: 'https://other' },
    });
    expect(parseArgs(['events', ...DEVICE, '--last-event-id', '12-ab'])).to.deep.include({
      lastEventId: '12-ab',
    });
  });

  it('answers help for --help, -h and help anywhere', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['forecast', '--slot', 's', '--help']]) {
      expect(parseArgs(argv)).to.deep.equal({ command: 'help' });
    }
    expect(USAGE).to.include('--last-event-id');
  });

  it('refuses what it cannot run, with a precise message', () => {
    const cases: [string[], RegExp][] = [
      [[], /a command is needed/],
      [['fly'], /unknown command "fly"/],
      [['price', ...DEVICE], /price needs --slot/],
      [['price', ...DEVICE, '--slot'], /--slot needs a value/],
      [['price', ...DEVICE, '--slot', '--lower'], /--slot needs a value/],
      [['price', ...DEVICE, '--slot='], /non-empty value/],
      [['price', ...DEVICE, '--slot', 'a', '--slot', 'b'], /--slot is given more than once/],
      [['price', ...DEVICE, '--slot', 'a', '--lower', '1'], /unknown option --lower for price/],
      [['price', ...DEVICE, '--slot', 'a', 'extra'], /unexpected argument "extra"/],
      [['price', '--slot', 'a', '--gateway', 'g'], /--device DIR, or --ca, --cert, --key/],
      [['enroll', '--gateway', 'g', '--ca', 'c', '--id', 'i', '--out', 'o'], /exactly one of --secret/],
      [
        [
          'enroll',
          '--gateway',
          'g',
          '--ca',
          'c',
          '--id',
          'i',
          '--secret',
          's',
          '--secret-file',
          'f',
          '--out',
          'o',
        ],
        /exactly one/,
      ],
      [
        ['enroll', '--gateway', 'g', '--ca', 'c', '--id', 'i', '--secret', 's', '--out', 'o', '--force=yes'],
        /takes no value/,
      ],
      [['forecast', ...DEVICE, '--slot', 's', '--lower', '1'], /forecast needs --upper/],
      [
        ['forecast', ...DEVICE, '--slot', 's', '--lower', '9.5', '--upper', '3.25'],
        /--lower must not exceed --upper/,
      ],
    ];
    for (const [argv, pattern] of cases) {
      expect(() => parseArgs(argv), argv.join(' ')).to.throw(UsageError, pattern);
    }
  });

  it('refuses kW values that are not plain decimals with at most 3 places, never repeating them', () => {
    for (const value of ['-1', '1.2345', '1e3', '0x10', ' 7', '7.', '.7', 'NaN', 'Infinity', '01']) {
      let message = '';
      try {
        parseArgs(['forecast', ...DEVICE, '--slot', 's', '--lower', value, '--upper', '1000']);
      } catch (error) {
        expect(error).to.be.instanceOf(UsageError);
        message = (error as Error).message;
      }
      expect(message, value).to.match(/--lower must be a number of kW/);
      expect(message).to.not.include(value.trim());
    }
  });

  it('describes API and connection errors in one line', () => {
    expect(describeError(new GatewayApiError(409, 'CONFLICT', 'the slot is closed', 'ab12'))).to.equal(
      'the slot is closed (CONFLICT, HTTP 409, transaction ab12)',
    );
    expect(describeError(new GatewayConnectionError('ECONNREFUSED', 'no answer from the gateway'))).to.equal(
      'no answer from the gateway (ECONNREFUSED)',
    );
    expect(describeError('weird')).to.equal('unknown failure');
  });
});

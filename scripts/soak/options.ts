/** Command-line options of `npm run soak`: how long, how many homes, how fast, how often a fault. */
import { readFlags } from '../lib/flags';

export interface SoakOptions {
  /** Length of the steady load, minutes (fractions allowed: 1.5 is 90 s). */
  readonly minutes: number;
  /** Simulated homes, spread over both utilities and both feeder buses. */
  readonly homes: number;
  /** Submissions (forecasts, consumption reports, orders) started per second, all homes together. */
  readonly rate: number;
  /** Seconds between two faults; the first comes after one such period of undisturbed load. */
  readonly faultEverySeconds: number;
  /** Seconds a killed process stays down before it is started again. */
  readonly downSeconds: number;
  /** A new slot opens every this many seconds; a trading window every two slots. */
  readonly slotSeconds: number;
  /** Where the JSON report goes; default reports/soak-<time>.json. */
  readonly report: string | undefined;
  readonly help: boolean;
}

export const DEFAULT_OPTIONS: SoakOptions = {
  minutes: 15,
  homes: 40,
  rate: 5,
  faultEverySeconds: 120,
  downSeconds: 10,
  slotSeconds: 30,
  report: undefined,
  help: false,
};

export const USAGE = `npm run soak -- [options]       (the network must be up: npm run network:up)
  --minutes <n>        length of the steady load, minutes (default ${DEFAULT_OPTIONS.minutes}; 1.5 = 90 s)
  --homes <n>          simulated homes over both utilities and buses (default ${DEFAULT_OPTIONS.homes}, at least 4)
  --rate <n>           submissions started per second, all homes together (default ${DEFAULT_OPTIONS.rate})
  --fault-every <s>    seconds between faults (default ${DEFAULT_OPTIONS.faultEverySeconds})
  --down <s>           seconds a killed process stays down (default ${DEFAULT_OPTIONS.downSeconds}, < --fault-every)
  --slot-seconds <s>   a slot opens every this many seconds, a window every two (default ${DEFAULT_OPTIONS.slotSeconds})
  --report <file>      the JSON report (default reports/soak-<time>.json)
  --help`;

function positiveNumber(text: string, flag: string, min: number, max: number, whole: boolean): number {
  const pattern = whole ? /^\d+$/ : /^\d+(\.\d+)?$/;
  if (!pattern.test(text)) {
    throw new Error(`--${flag} takes a ${whole ? 'whole ' : ''}number, got "${text}"`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new Error(`--${flag} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

type Mutable = { -readonly [K in keyof SoakOptions]: SoakOptions[K] };

const SETTERS = new Map<string, (options: Mutable, value: string, flag: string) => void>([
  ['minutes', (o, v, f) => (o.minutes = positiveNumber(v, f, 0.5, 24 * 60, false))],
  ['homes', (o, v, f) => (o.homes = positiveNumber(v, f, 4, 10_000, true))],
  ['rate', (o, v, f) => (o.rate = positiveNumber(v, f, 0.1, 1000, false))],
  ['fault-every', (o, v, f) => (o.faultEverySeconds = positiveNumber(v, f, 5, 3600, true))],
  ['down', (o, v, f) => (o.downSeconds = positiveNumber(v, f, 0, 600, true))],
  ['slot-seconds', (o, v, f) => (o.slotSeconds = positiveNumber(v, f, 10, 3600, true))],
  ['report', (o, v) => (o.report = v)],
]);

/** Checks the options against each other; answers them. */
export function checkOptions(options: SoakOptions): SoakOptions {
  if (options.downSeconds >= options.faultEverySeconds) {
    throw new Error('--down must be shorter than --fault-every');
  }
  if (options.faultEverySeconds >= options.minutes * 60) {
    throw new Error('--fault-every must be shorter than the run (--minutes), or no fault happens');
  }
  return options;
}

/** Parses `argv` (without node and script); accepts `--flag value` and `--flag=value`. */
export function parseOptions(argv: readonly string[]): SoakOptions {
  const { help, values } = readFlags(argv, new Set(SETTERS.keys()));
  const options: Mutable = { ...DEFAULT_OPTIONS, ...(help ? { help: true } : {}) };
  for (const [flag, value] of values) {
    SETTERS.get(flag)?.(options, value, flag);
  }
  return options.help ? options : checkOptions(options);
}

/** Submissions per second the homes need: a forecast and a report per slot, an order per window. */
export function neededRate(options: SoakOptions): number {
  return (options.homes * 2) / options.slotSeconds + options.homes / (2 * options.slotSeconds);
}

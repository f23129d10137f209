/** Command-line options of `npm run bench`: which benchmarks to run and at which sizes. */

export const BENCHMARKS = ['ingestion', 'aggregate', 'cycle', 'clearing'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

export const INGESTION_MODES = ['gateway', 'raw'] as const;
export type IngestionMode = (typeof INGESTION_MODES)[number];

/** How benchmark devices get their certificates (see ./pki.ts and ./devices.ts). */
export const ISSUERS = ['direct', 'ca'] as const;
export type Issuer = (typeof ISSUERS)[number];

export interface BenchOptions {
  readonly only: readonly Benchmark[];
  /** Ingestion: device counts, one run per count and mode. */
  readonly devices: readonly number[];
  readonly modes: readonly IngestionMode[];
  /** PublishAggregate: homes on the bench bus, one series per count. */
  readonly homes: readonly number[];
  /** Repetitions per PublishAggregate size (each with a fresh slot). */
  readonly repeat: number;
  /** Homes in the full slot cycle. */
  readonly cycleHomes: number;
  /** Auction clearing: order counts. */
  readonly orders: readonly number[];
  /** Timed runs per clearing size and rule (after one warm-up run). */
  readonly clearingRuns: number;
  /** Requests in flight at once (devices submitting, relays submitting, devices reading). */
  readonly concurrency: number;
  readonly issuer: Issuer;
  readonly help: boolean;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  only: BENCHMARKS,
  devices: [1000, 10000],
  modes: INGESTION_MODES,
  homes: [100, 1000, 10000],
  repeat: 3,
  cycleHomes: 1000,
  orders: [1000, 10000],
  clearingRuns: 7,
  concurrency: 64,
  issuer: 'direct',
  help: false,
};

/** Upper bounds that keep a mistyped size from running for hours or exhausting memory. */
const MAX_DEVICES = 100_000;
const MAX_ORDERS = 100_000;
const MAX_CONCURRENCY = 1024;
const MAX_REPEAT = 100;

export const USAGE = `npm run bench -- [options]
  --only <list>          benchmarks to run: ${BENCHMARKS.join(',')} (default: all)
  --devices <list>       ingestion: device counts (default: ${DEFAULT_OPTIONS.devices.join(',')})
  --modes <list>         ingestion: ${INGESTION_MODES.join(',')} (default: both)
  --homes <list>         PublishAggregate: homes on one bus (default: ${DEFAULT_OPTIONS.homes.join(',')})
  --repeat <n>           PublishAggregate: fresh-slot repetitions per size, median reported (default: ${DEFAULT_OPTIONS.repeat})
  --cycle-homes <n>      full slot cycle: homes (default: ${DEFAULT_OPTIONS.cycleHomes})
  --orders <list>        auction clearing: order counts (default: ${DEFAULT_OPTIONS.orders.join(',')})
  --clearing-runs <n>    auction clearing: timed runs per size and rule (default: ${DEFAULT_OPTIONS.clearingRuns})
  --concurrency <n>      requests in flight (default: ${DEFAULT_OPTIONS.concurrency})
  --issuer direct|ca     bench device certificates: signed with the org CA key (default) or
                         registered and enrolled through the gateways and Fabric CA (slow; small N)
  --help`;

function wholeNumber(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw new Error(`--${flag} takes positive whole numbers, got "${text}"`);
  }
  const value = Number(text);
  if (value < 1 || value > max) {
    throw new Error(`--${flag} must be between 1 and ${max}, got ${value}`);
  }
  return value;
}

function numberList(text: string, flag: string, max: number): number[] {
  const values = text.split(',').map((part) => wholeNumber(part.trim(), flag, max));
  return [...new Set(values)];
}

function choiceList<T extends string>(text: string, flag: string, choices: readonly T[]): T[] {
  const values = text.split(',').map((part) => part.trim());
  for (const value of values) {
    if (!(choices as readonly string[]).includes(value)) {
      throw new Error(`--${flag} takes ${choices.join(', ')}; unknown "${value}"`);
    }
  }
  // Keep the canonical order, so results always appear in the same order.
  return choices.filter((choice) => values.includes(choice));
}

type MutableOptions = { -readonly [K in keyof BenchOptions]: BenchOptions[K] };

/** How each valued flag sets its option. */
const SETTERS = new Map<string, (options: MutableOptions, value: string, flag: string) => void>([
  ['only', (options, value, flag) => (options.only = choiceList(value, flag, BENCHMARKS))],
  ['devices', (options, value, flag) => (options.devices = numberList(value, flag, MAX_DEVICES))],
  ['modes', (options, value, flag) => (options.modes = choiceList(value, flag, INGESTION_MODES))],
  ['homes', (options, value, flag) => (options.homes = numberList(value, flag, MAX_DEVICES))],
  ['repeat', (options, value, flag) => (options.repeat = wholeNumber(value, flag, MAX_REPEAT))],
  ['cycle-homes', (options, value, flag) => (options.cycleHomes = wholeNumber(value, flag, MAX_DEVICES))],
  ['orders', (options, value, flag) => (options.orders = numberList(value, flag, MAX_ORDERS))],
  ['clearing-runs', (options, value, flag) => (options.clearingRuns = wholeNumber(value, flag, MAX_REPEAT))],
  [
    'concurrency',
    (options, value, flag) => (options.concurrency = wholeNumber(value, flag, MAX_CONCURRENCY)),
  ],
  ['issuer', (options, value, flag) => (options.issuer = oneIssuer(value, flag))],
]);

function oneIssuer(value: string, flag: string): Issuer {
  const [issuer] = choiceList(value, flag, ISSUERS);
  if (issuer === undefined || value.includes(',')) {
    throw new Error('--issuer takes exactly one of direct, ca');
  }
  return issuer;
}

/** The value of the flag at `argv[index]`, given inline (`--flag=value`) or as the next argument. */
function flagValue(argv: readonly string[], index: number, flag: string, inline?: string): string {
  if (inline !== undefined) {
    return inline;
  }
  const following = argv[index + 1];
  if (following === undefined || following.startsWith('--')) {
    throw new Error(`--${flag} needs a value`);
  }
  return following;
}

/** Parses `argv` (without node and script); accepts `--flag value` and `--flag=value`. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: MutableOptions = { ...DEFAULT_OPTIONS };
  const seen = new Set<string>();
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] ?? '';
    if (!argument.startsWith('--')) {
      throw new Error(`unexpected argument "${argument}" (options start with --)`);
    }
    const equals = argument.indexOf('=');
    const flag = argument.slice(2, equals >= 0 ? equals : undefined);
    if (flag === 'help') {
      options.help = true;
      continue;
    }
    if (seen.has(flag)) {
      throw new Error(`--${flag} is given twice`);
    }
    seen.add(flag);
    const value = flagValue(argv, index, flag, equals >= 0 ? argument.slice(equals + 1) : undefined);
    if (equals < 0) {
      index += 1;
    }
    const set = SETTERS.get(flag);
    if (set === undefined) {
      throw new Error(`unknown option --${flag} (see --help)`);
    }
    set(options, value, flag);
  }
  return options;
}

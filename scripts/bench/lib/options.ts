/** Command-line options of `npm run bench`: which benchmarks to run and at which sizes. */
import { readFlags } from '../../lib/flags';

export const BENCHMARKS = ['ingestion', 'aggregate', 'cycle', 'dr', 'clearing'] as const;
export type Benchmark = (typeof BENCHMARKS)[number];

export const INGESTION_MODES = ['gateway', 'raw'] as const;
export type IngestionMode = (typeof INGESTION_MODES)[number];

/** How benchmark devices get their certificates (see ./pki.ts and ./devices.ts). */
export const ISSUERS = ['direct', 'ca'] as const;
export type Issuer = (typeof ISSUERS)[number];

export interface BenchOptions {
  readonly only: readonly Benchmark[];
  /** Ingestion: devices holding connections in the sustained batched REST run, one run per count. */
  readonly devices: readonly number[];
  readonly modes: readonly IngestionMode[];
  /** Ingestion: seconds of the sustained batched REST run. */
  readonly seconds: number;
  /** Ingestion: forecasts of the one-transaction-per-forecast runs (raw and REST). */
  readonly singleItems: number;
  /** Ingestion: forecasts of the raw batched run. */
  readonly rawItems: number;
  /** Forecasts per batch (gateways and raw batches) and the gateways' batch wait. */
  readonly batchItems: number;
  readonly batchWaitMs: number;
  /** Raw batched runs (ingestion, the demand-response meter days): batch transactions in flight. */
  readonly batchesInFlight: number;
  /** Requests in flight in the sustained REST run (devices holding connections). */
  readonly restConcurrency: number;
  /** Devices (and fleet size) the raw batched run spreads its forecasts over. */
  readonly restDevices: number;
  /** New-connection run: requests (one device each) and requests in flight, same for bare TLS. */
  readonly newConnectionRequests: number;
  readonly newConnectionConcurrency: number;
  /** PublishAggregate: homes on the bench bus, one series per count. */
  readonly homes: readonly number[];
  /** Repetitions per PublishAggregate size (each with a fresh slot). */
  readonly repeat: number;
  /** Homes in the full slot cycle. */
  readonly cycleHomes: number;
  /** Demand response: homes of UtilityAMSP with meter history, accounts and rewards. */
  readonly drHomes: number;
  /** Demand response: PayRewards batch sizes compared side by side (homes per transaction). */
  readonly drSizes: readonly number[];
  /** Demand response: PayRewards transactions per compared size (at most homes ÷ size). */
  readonly drBatches: number;
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
  devices: [10000],
  modes: INGESTION_MODES,
  seconds: 60,
  singleItems: 2000,
  rawItems: 100_000,
  batchItems: 500,
  batchWaitMs: 50,
  batchesInFlight: 8,
  restConcurrency: 512,
  restDevices: 10_000,
  newConnectionRequests: 3000,
  newConnectionConcurrency: 512,
  homes: [1000, 10000, 100_000],
  repeat: 3,
  cycleHomes: 10_000,
  drHomes: 2000,
  drSizes: [1, 100, 500],
  drBatches: 10,
  orders: [1000, 10000],
  clearingRuns: 7,
  concurrency: 64,
  issuer: 'direct',
  help: false,
};

/** Upper bounds that keep a mistyped size from running for hours or exhausting memory. */
const MAX_DEVICES = 200_000;
const MAX_SECONDS = 3600;
const MAX_ORDERS = 100_000;
const MAX_CONCURRENCY = 4096;
const MAX_REPEAT = 100;
/** PayRewards takes at most 500 homes per transaction. */
const MAX_REWARD_HOMES = 500;
/** Each demand-response home gets 46 meter days, an account and rewards: 100,000 takes hours. */
const MAX_DR_HOMES = 100_000;

export const USAGE = `npm run bench -- [options]
  --only <list>          benchmarks to run: ${BENCHMARKS.join(',')} (default: all)
  --devices <list>       ingestion: devices holding connections in the sustained batched REST run
                         (default: ${DEFAULT_OPTIONS.devices.join(',')})
  --modes <list>         ingestion: ${INGESTION_MODES.join(',')} (default: both)
  --seconds <n>          ingestion: length of the sustained batched REST run (default: ${DEFAULT_OPTIONS.seconds})
  --single-items <n>     ingestion: forecasts of the one-transaction-per-forecast runs (default: ${DEFAULT_OPTIONS.singleItems})
  --raw-items <n>        ingestion: forecasts of the raw batched run (default: ${DEFAULT_OPTIONS.rawItems})
  --batch-items <n>      forecasts per batch, 1-1000 (default: ${DEFAULT_OPTIONS.batchItems})
  --batch-wait-ms <n>    the gateways' batch wait (default: ${DEFAULT_OPTIONS.batchWaitMs})
  --batches-in-flight <n> raw batched runs (ingestion, dr meter days): transactions in flight (default: ${DEFAULT_OPTIONS.batchesInFlight})
  --rest-concurrency <n> sustained REST run: requests in flight (default: ${DEFAULT_OPTIONS.restConcurrency})
  --rest-devices <n>     raw batched run: devices its forecasts come from (default: ${DEFAULT_OPTIONS.restDevices})
  --new-connection-requests <n>     new-connection run and bare TLS: requests (default: ${DEFAULT_OPTIONS.newConnectionRequests})
  --new-connection-concurrency <n>  ... and requests in flight (default: ${DEFAULT_OPTIONS.newConnectionConcurrency})
  --homes <list>         PublishAggregate: homes on one bus (default: ${DEFAULT_OPTIONS.homes.join(',')})
  --repeat <n>           PublishAggregate: fresh-slot repetitions per size, median reported (default: ${DEFAULT_OPTIONS.repeat})
  --cycle-homes <n>      full slot cycle: homes (default: ${DEFAULT_OPTIONS.cycleHomes})
  --dr-homes <n>         demand response: homes with 46 days of meter history and rewards (default: ${DEFAULT_OPTIONS.drHomes})
  --dr-sizes <list>      demand response: PayRewards homes per transaction compared, 1-${MAX_REWARD_HOMES} (default: ${DEFAULT_OPTIONS.drSizes.join(',')})
  --dr-batches <n>       demand response: PayRewards transactions per compared size, at most homes ÷ size (default: ${DEFAULT_OPTIONS.drBatches})
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
  ['seconds', (options, value, flag) => (options.seconds = wholeNumber(value, flag, MAX_SECONDS))],
  ['single-items', (options, value, flag) => (options.singleItems = wholeNumber(value, flag, MAX_DEVICES))],
  ['raw-items', (options, value, flag) => (options.rawItems = wholeNumber(value, flag, 10 * MAX_DEVICES))],
  ['batch-items', (options, value, flag) => (options.batchItems = wholeNumber(value, flag, 1000))],
  ['batch-wait-ms', (options, value, flag) => (options.batchWaitMs = wholeNumber(value, flag, 5000))],
  ['batches-in-flight', (options, value, flag) => (options.batchesInFlight = wholeNumber(value, flag, 64))],
  [
    'rest-concurrency',
    (options, value, flag) => (options.restConcurrency = wholeNumber(value, flag, 20_000)),
  ],
  ['rest-devices', (options, value, flag) => (options.restDevices = wholeNumber(value, flag, MAX_DEVICES))],
  [
    'new-connection-requests',
    (options, value, flag) => (options.newConnectionRequests = wholeNumber(value, flag, MAX_DEVICES)),
  ],
  [
    'new-connection-concurrency',
    (options, value, flag) => (options.newConnectionConcurrency = wholeNumber(value, flag, MAX_CONCURRENCY)),
  ],
  ['homes', (options, value, flag) => (options.homes = numberList(value, flag, MAX_DEVICES))],
  ['repeat', (options, value, flag) => (options.repeat = wholeNumber(value, flag, MAX_REPEAT))],
  ['cycle-homes', (options, value, flag) => (options.cycleHomes = wholeNumber(value, flag, MAX_DEVICES))],
  ['dr-homes', (options, value, flag) => (options.drHomes = wholeNumber(value, flag, MAX_DR_HOMES))],
  [
    'dr-sizes',
    (options, value, flag) =>
      (options.drSizes = numberList(value, flag, MAX_REWARD_HOMES).sort((a, b) => a - b)),
  ],
  ['dr-batches', (options, value, flag) => (options.drBatches = wholeNumber(value, flag, MAX_REPEAT))],
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

/** Parses `argv` (without node and script); accepts `--flag value` and `--flag=value`. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { help, values } = readFlags(argv, new Set(SETTERS.keys()));
  const options: MutableOptions = { ...DEFAULT_OPTIONS, ...(help ? { help: true } : {}) };
  for (const [flag, value] of values) {
    SETTERS.get(flag)?.(options, value, flag);
  }
  return options;
}

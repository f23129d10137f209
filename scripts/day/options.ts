/**
 * The simulated day's command-line flags, validated before anything touches the network.
 *
 *   --homes N     simulated homes (HEMS devices), default 32
 *   --buses N     feeder buses, default 3
 *   --slots N     15-minute slots from midnight, default 96 (a whole day)
 *   --speed X     simulated seconds per wall-clock second, default 180 (a slot every 5 s);
 *                 `max` opens each slot as soon as the previous one has its forecasts
 *   --seed N      seed of the home profiles, default 1
 *   --report DIR  folder of the HTML report, default reports/
 *   --once        stop the network at the end
 */
import path from 'node:path';
import { SLOTS_PER_DAY, SLOT_MINUTES } from './appliance-model';
import { UTILITIES } from './feeder-model';

export interface DayOptions {
  readonly homes: number;
  readonly buses: number;
  readonly slots: number;
  /** Simulated seconds per wall-clock second; null: as fast as the network allows. */
  readonly speed: number | null;
  readonly seed: number;
  readonly reportDir: string;
  readonly once: boolean;
}

export const MAX_HOMES = 1000;
export const MAX_BUSES = 20;
/** Speeds at which a 15-minute slot still lasts at least one wall-clock second. */
export const MAX_SPEED = SLOT_MINUTES * 60;

export const DEFAULT_OPTIONS: DayOptions = {
  homes: 32,
  buses: 3,
  slots: SLOTS_PER_DAY,
  speed: 180,
  seed: 1,
  reportDir: path.resolve(__dirname, '..', '..', 'reports'),
  once: false,
};

export const USAGE = `usage: npm start -- [--homes N] [--buses N] [--slots N] [--speed X|max] [--seed N] [--report DIR] [--once]
  --homes N     simulated homes, ${UTILITIES.length}×buses to ${MAX_HOMES} (default ${DEFAULT_OPTIONS.homes})
  --buses N     feeder buses, 1 to ${MAX_BUSES} (default ${DEFAULT_OPTIONS.buses})
  --slots N     15-minute slots from midnight, 1 to ${SLOTS_PER_DAY} (default ${DEFAULT_OPTIONS.slots})
  --speed X     simulated seconds per second, 1 to ${MAX_SPEED}, or max (default ${DEFAULT_OPTIONS.speed})
  --seed N      seed of the home profiles, 0 to 4294967295 (default ${DEFAULT_OPTIONS.seed})
  --report DIR  folder for the HTML report (default reports/)
  --once        stop the network at the end`;

export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw new OptionsError(`${flag} must be a whole number, got '${text}'`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new OptionsError(`${flag} must be between ${min} and ${max}, got ${text}`);
  }
  return value;
}

function speed(text: string): number | null {
  if (text === 'max') {
    return null;
  }
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new OptionsError(`--speed must be a number or 'max', got '${text}'`);
  }
  const value = Number(text);
  if (value < 1 || value > MAX_SPEED) {
    throw new OptionsError(`--speed must be between 1 and ${MAX_SPEED} (or max), got ${text}`);
  }
  return value;
}

const VALUED = new Set(['--homes', '--buses', '--slots', '--speed', '--seed', '--report']);

/** Parses the flags after `npm start --`; throws OptionsError with the reason on any mistake. */
export function parseDayOptions(argv: readonly string[]): DayOptions {
  const values = new Map<string, string>();
  let once = false;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    const [flag = '', inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag === '--once') {
      if (inline !== undefined) {
        throw new OptionsError('--once takes no value');
      }
      once = true;
      continue;
    }
    if (!VALUED.has(flag)) {
      throw new OptionsError(`unknown argument '${arg}'`);
    }
    if (values.has(flag)) {
      throw new OptionsError(`${flag} is given twice`);
    }
    const value = inline ?? argv[index + 1];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
      throw new OptionsError(`${flag} needs a value`);
    }
    if (inline === undefined) {
      index += 1;
    }
    values.set(flag, value);
  }

  const buses = values.has('--buses')
    ? wholeNumber('--buses', values.get('--buses') ?? '', 1, MAX_BUSES)
    : DEFAULT_OPTIONS.buses;
  const minHomes = UTILITIES.length * buses;
  const homesText = values.get('--homes');
  const homes =
    homesText === undefined ? DEFAULT_OPTIONS.homes : wholeNumber('--homes', homesText, 1, MAX_HOMES);
  if (homes < minHomes) {
    throw new OptionsError(
      `--homes must be at least ${minHomes} for ${buses} buses (each of the ${UTILITIES.length} utilities needs a home on every bus), got ${homes}`,
    );
  }
  const reportText = values.get('--report');
  return {
    homes,
    buses,
    slots: values.has('--slots')
      ? wholeNumber('--slots', values.get('--slots') ?? '', 1, SLOTS_PER_DAY)
      : DEFAULT_OPTIONS.slots,
    speed: values.has('--speed') ? speed(values.get('--speed') ?? '') : DEFAULT_OPTIONS.speed,
    seed: values.has('--seed')
      ? wholeNumber('--seed', values.get('--seed') ?? '', 0, 0xffffffff)
      : DEFAULT_OPTIONS.seed,
    reportDir: reportText === undefined ? DEFAULT_OPTIONS.reportDir : path.resolve(reportText),
    once,
  };
}

/** Wall-clock length of one slot at the given speed, ms; null when running as fast as possible. */
export function slotPeriodMs(options: Pick<DayOptions, 'speed'>): number | null {
  return options.speed === null ? null : Math.round((SLOT_MINUTES * 60 * 1000) / options.speed);
}

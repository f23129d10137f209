/**
 * The simulated day's command-line flags, validated before anything touches the network.
 *
 *   --homes N     simulated homes (HEMS devices), default 32
 *   --buses N     feeder buses, default 3
 *   --slots N     15-minute slots, default 96 (a whole day; the rest of the day after --start)
 *   --start HH:MM simulated time of the first slot, on a quarter hour, default 00:00
 *   --auction-every N
 *                 a trading window of the energy auction every N slots (delivery in the next
 *                 slot), default 4 (one per hour); 0: no auction
 *   --speed X     simulated seconds per wall-clock second, default 180 (a slot every 5 s);
 *                 `max` opens each slot as soon as the previous one has its forecasts
 *   --seed N      seed of the home profiles, default 1
 *   --openadr-share X
 *                 share of the homes run by an OpenADR 3 VEN instead of the HEMS client, 0 to 1,
 *                 default 0 (docs/openadr.md)
 *   --days N      play the day N times on consecutive simulated dates, 1 to 7, default 1
 *   --dr-event on|off
 *                 a demand-response event over the last day's peak slots (17:00-21:00), with a
 *                 grid emergency at 19:00; default on when --days is 2 or more and the day plays
 *                 peak slots
 *   --report DIR  folder of the HTML report, default reports/
 *   --once        stop the network at the end
 */
import path from 'node:path';
import { SLOTS_PER_DAY, SLOT_MINUTES } from './appliance-model';
import { MAX_DAYS } from './days';
import { UTILITIES } from './feeder-model';
import { eventSlots } from './tariff';

export interface DayOptions {
  readonly homes: number;
  readonly buses: number;
  readonly slots: number;
  /** Slot of the day the simulation starts at (0: midnight, 4: 01:00, ...). */
  readonly startSlot: number;
  /** A trading window every this many slots, delivering in the next slot; 0: no auction. */
  readonly auctionEvery: number;
  /** Simulated seconds per wall-clock second; null: as fast as the network allows. */
  readonly speed: number | null;
  readonly seed: number;
  /** Share of the homes run by an OpenADR VEN (relay-attested reports), 0 to 1. */
  readonly openadrShare: number;
  /** Days played, on consecutive simulated dates. */
  readonly days: number;
  /** A demand-response event (and an emergency) on the last day. */
  readonly drEvent: boolean;
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
  startSlot: 0,
  auctionEvery: 4,
  speed: 180,
  seed: 1,
  openadrShare: 0,
  days: 1,
  drEvent: false,
  reportDir: path.resolve(__dirname, '..', '..', 'reports'),
  once: false,
};

export const USAGE = `usage: npm start -- [--homes N] [--buses N] [--slots N] [--start HH:MM] [--auction-every N]
                    [--speed X|max] [--seed N] [--openadr-share X] [--days N] [--dr-event on|off]
                    [--report DIR] [--once]
  --homes N     simulated homes, ${UTILITIES.length}×buses to ${MAX_HOMES} (default ${DEFAULT_OPTIONS.homes})
  --buses N     feeder buses, 1 to ${MAX_BUSES} (default ${DEFAULT_OPTIONS.buses})
  --slots N     15-minute slots, 1 to ${SLOTS_PER_DAY} (default: the rest of the day from --start)
  --start HH:MM simulated time of the first slot, on a quarter hour (default 00:00)
  --auction-every N
                a trading window every N slots, 0 to ${SLOTS_PER_DAY}; 0: no auction (default ${DEFAULT_OPTIONS.auctionEvery})
  --speed X     simulated seconds per second, 1 to ${MAX_SPEED}, or max (default ${DEFAULT_OPTIONS.speed})
  --seed N      seed of the home profiles, 0 to 4294967295 (default ${DEFAULT_OPTIONS.seed})
  --openadr-share X
                share of the homes run by an OpenADR 3 VEN, 0 to 1 (default 0)
  --days N      play the day N times on consecutive simulated dates, 1 to ${MAX_DAYS} (default 1)
  --dr-event on|off
                a demand-response event over the last day's peak slots (17:00-21:00) and a grid
                emergency at 19:00 (default: on with --days 2 or more when the day plays peak slots)
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

/** A share from 0 to 1 (e.g. 0.5). */
function share(text: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(text)) {
    throw new OptionsError(`--openadr-share must be a number from 0 to 1, got '${text}'`);
  }
  return Number(text);
}

function onOff(text: string): boolean {
  if (text !== 'on' && text !== 'off') {
    throw new OptionsError(`--dr-event must be on or off, got '${text}'`);
  }
  return text === 'on';
}

/** `HH:MM` on a quarter hour as the day's slot number. */
function startSlot(text: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(text);
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (match === null || hours > 23 || minutes > 59) {
    throw new OptionsError(`--start must be a time of day HH:MM, got '${text}'`);
  }
  if (minutes % SLOT_MINUTES !== 0) {
    throw new OptionsError(
      `--start must be on a quarter hour (a slot starts every ${SLOT_MINUTES} minutes), got ${text}`,
    );
  }
  return (hours * 60 + minutes) / SLOT_MINUTES;
}

const VALUED = new Set([
  '--homes',
  '--buses',
  '--slots',
  '--start',
  '--auction-every',
  '--speed',
  '--seed',
  '--openadr-share',
  '--days',
  '--dr-event',
  '--report',
]);

/** The flags given, each with its text; --once (valueless) apart. */
interface GivenFlags {
  readonly values: ReadonlyMap<string, string>;
  readonly once: boolean;
}

/** The value of `flag`: given inline (`--flag=value`) or as the argument that follows. */
function flagValue(flag: string, inline: string | undefined, following: string | undefined): string {
  const value = inline ?? following;
  if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
    throw new OptionsError(`${flag} needs a value`);
  }
  return value;
}

function readFlags(argv: readonly string[]): GivenFlags {
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
    values.set(flag, flagValue(flag, inline, argv[index + 1]));
    if (inline === undefined) {
      index += 1;
    }
  }
  return { values, once };
}

/** The parsed value of `flag` if it was given, else `fallback`. */
function given<T>(
  values: ReadonlyMap<string, string>,
  flag: string,
  parse: (text: string) => T,
  fallback: T,
): T {
  const text = values.get(flag);
  return text === undefined ? fallback : parse(text);
}

/** Parses the flags after `npm start --`; throws OptionsError with the reason on any mistake. */
export function parseDayOptions(argv: readonly string[]): DayOptions {
  const { values, once } = readFlags(argv);
  const whole = (flag: string, min: number, max: number) => (text: string) =>
    wholeNumber(flag, text, min, max);

  const buses = given(values, '--buses', whole('--buses', 1, MAX_BUSES), DEFAULT_OPTIONS.buses);
  const minHomes = UTILITIES.length * buses;
  const homes = given(values, '--homes', whole('--homes', 1, MAX_HOMES), DEFAULT_OPTIONS.homes);
  if (homes < minHomes) {
    throw new OptionsError(
      `--homes must be at least ${minHomes} for ${buses} buses (each of the ${UTILITIES.length} utilities needs a home on every bus), got ${homes}`,
    );
  }
  const start = given(values, '--start', startSlot, DEFAULT_OPTIONS.startSlot);
  // The simulation plays one day: the slots run from --start to midnight at the latest.
  const slotsLeft = SLOTS_PER_DAY - start;
  const slots = given(values, '--slots', whole('--slots', 1, SLOTS_PER_DAY), slotsLeft);
  if (slots > slotsLeft) {
    throw new OptionsError(
      `--slots must be at most ${slotsLeft} when the day starts at ${values.get('--start') ?? '00:00'} (the day ends at midnight), got ${slots}`,
    );
  }
  const days = given(values, '--days', whole('--days', 1, MAX_DAYS), DEFAULT_OPTIONS.days);
  const peak = eventSlots(start, slots).length > 0;
  const drEvent = given(values, '--dr-event', onOff, days >= 2 && peak);
  if (drEvent && !peak) {
    throw new OptionsError(
      '--dr-event on needs the day to play peak slots (17:00-21:00): start earlier or play more slots',
    );
  }
  return {
    homes,
    buses,
    slots,
    startSlot: start,
    auctionEvery: given(
      values,
      '--auction-every',
      whole('--auction-every', 0, SLOTS_PER_DAY),
      DEFAULT_OPTIONS.auctionEvery,
    ),
    speed: given(values, '--speed', speed, DEFAULT_OPTIONS.speed),
    seed: given(values, '--seed', whole('--seed', 0, 0xffffffff), DEFAULT_OPTIONS.seed),
    openadrShare: given(values, '--openadr-share', share, DEFAULT_OPTIONS.openadrShare),
    days,
    drEvent,
    reportDir: given(values, '--report', (text) => path.resolve(text), DEFAULT_OPTIONS.reportDir),
    once,
  };
}

/**
 * Positions (0-based, within the day's slots) of the slots in which a trading window opens: every
 * `auctionEvery`-th slot from the first, as long as its delivery slot (the next one) is still part
 * of the day.
 */
export function auctionPositions(options: Pick<DayOptions, 'slots' | 'auctionEvery'>): number[] {
  if (options.auctionEvery === 0) {
    return [];
  }
  const positions: number[] = [];
  for (let position = 0; position + 1 < options.slots; position += options.auctionEvery) {
    positions.push(position);
  }
  return positions;
}

/** Wall-clock length of one slot at the given speed, ms; null when running as fast as possible. */
export function slotPeriodMs(options: Pick<DayOptions, 'speed'>): number | null {
  return options.speed === null ? null : Math.round((SLOT_MINUTES * 60 * 1000) / options.speed);
}

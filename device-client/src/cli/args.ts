/*
 * The hems-device command line as data: its usage text and the parsing of its arguments into a
 * Command (pure: reads no file).
 */

export const USAGE = `Usage: hems-device <command> [options]

Commands:
  enroll   --gateway URL --ca FILE --id ID (--secret S | --secret-file FILE) --out DIR [--force]
           Generate the device key pair here, enrol with the one-time secret, and write
           DIR/cert.pem, DIR/key.pem (mode 600), DIR/gateway-ca.pem and DIR/gateway.url.
  price    --slot ID                      The slot's state, this bus's price range and λ.
  forecast --slot ID --lower KW --upper KW
           Sign and submit this home's forecast range (kW, at most 3 decimals).
  dispatch --slot ID                      This home's allowed power once λ is published.
  events   [--last-event-id ID]           Follow slot events (one JSON line each) until Ctrl-C.

Device identity (price, forecast, dispatch, events):
  --device DIR     directory written by enroll (cert.pem, key.pem, gateway-ca.pem, gateway.url)
  --gateway URL    gateway base URL          (default: DIR/gateway.url)
  --ca FILE        gateway TLS trust root    (default: DIR/gateway-ca.pem)
  --cert FILE      device certificate        (default: DIR/cert.pem)
  --key FILE       device private key        (default: DIR/key.pem)

Options take a value as "--name value" or "--name=value". Results are printed as JSON on
stdout. Exit status: 0 success, 1 failure (the gateway's error message on stderr), 2 usage error.
  -h, --help       show this help
`;

/** A command line that cannot be run as given. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where the device identity comes from: a directory and/or explicit files. */
export interface IdentityArgs {
  readonly device?: string;
  readonly gateway?: string;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export type Command =
  | { readonly command: 'help' }
  | {
      readonly command: 'enroll';
      readonly gateway: string;
      readonly ca: string;
      readonly id: string;
      readonly secret: { readonly value: string } | { readonly file: string };
      readonly out: string;
      readonly force: boolean;
    }
  | { readonly command: 'price' | 'dispatch'; readonly identity: IdentityArgs; readonly slot: string }
  | {
      readonly command: 'forecast';
      readonly identity: IdentityArgs;
      readonly slot: string;
      readonly lower: number;
      readonly upper: number;
    }
  | { readonly command: 'events'; readonly identity: IdentityArgs; readonly lastEventId?: string };

type CommandName = Exclude<Command['command'], 'help'>;

const IDENTITY_OPTIONS = ['device', 'gateway', 'ca', 'cert', 'key'];

/** Options each command takes: value options, and flags without a value. */
const OPTIONS: Record<CommandName, { values: readonly string[]; flags: readonly string[] }> = {
  enroll: { values: ['gateway', 'ca', 'id', 'secret', 'secret-file', 'out'], flags: ['force'] },
  price: { values: [...IDENTITY_OPTIONS, 'slot'], flags: [] },
  forecast: { values: [...IDENTITY_OPTIONS, 'slot', 'lower', 'upper'], flags: [] },
  dispatch: { values: [...IDENTITY_OPTIONS, 'slot'], flags: [] },
  events: { values: [...IDENTITY_OPTIONS, 'last-event-id'], flags: [] },
};

const KW = /^(0|[1-9]\d{0,8})(\.\d{1,3})?$/;

function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(OPTIONS, name);
}

function required(options: Map<string, string>, name: string, command: string): string {
  const value = options.get(name);
  if (value === undefined) {
    throw new UsageError(`${command} needs --${name}`);
  }
  return value;
}

/** A kW value; the message never repeats the value (it is private to the home). */
function kw(options: Map<string, string>, name: string): number {
  const text = required(options, name, 'forecast');
  if (!KW.test(text)) {
    throw new UsageError(`--${name} must be a number of kW, at least 0, with at most 3 decimals (e.g. 2.5)`);
  }
  return Number(text);
}

function identity(options: Map<string, string>, command: string): IdentityArgs {
  const args: Record<string, string> = {};
  for (const name of IDENTITY_OPTIONS) {
    const value = options.get(name);
    if (value !== undefined) {
      args[name] = value;
    }
  }
  if (args.device === undefined) {
    const missing = IDENTITY_OPTIONS.filter((name) => name !== 'device' && args[name] === undefined);
    if (missing.length > 0) {
      throw new UsageError(
        `${command} needs --device DIR, or ${missing.map((name) => `--${name}`).join(', ')} explicitly`,
      );
    }
  }
  return args;
}

/** Options each command was given: values, and flags. */
interface GivenOptions {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
}

/** The command name, checked. */
function commandName(name: string | undefined): CommandName {
  if (name === undefined) {
    throw new UsageError('a command is needed: enroll, price, forecast, dispatch or events');
  }
  if (!isCommandName(name)) {
    throw new UsageError(`unknown command "${name}": use enroll, price, forecast, dispatch or events`);
  }
  return name;
}

/** The value of an option given as `--name=value` (inline) or `--name value` (next). */
function optionValue(option: string, inline: string | undefined, next: string | undefined): string {
  const value = inline ?? next;
  if (value === undefined || (inline === undefined && value.startsWith('--'))) {
    throw new UsageError(`--${option} needs a value`);
  }
  if (value === '') {
    throw new UsageError(`--${option} needs a non-empty value`);
  }
  return value;
}

/** Reads `--name value`, `--name=value` and flags, as far as `name` allows them. */
function readOptions(name: CommandName, rest: readonly string[]): GivenOptions {
  const allowed = OPTIONS[name];
  const options = new Map<string, string>();
  const flags = new Set<string>();
  for (let index = 0; index < rest.length; index += 1) {
    const token = rest[index] ?? '';
    const match = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(token);
    if (match?.[1] === undefined) {
      throw new UsageError(`unexpected argument "${token}" (options start with --)`);
    }
    const option = match[1];
    if (options.has(option) || flags.has(option)) {
      throw new UsageError(`--${option} is given more than once`);
    }
    if (allowed.flags.includes(option)) {
      if (match[2] !== undefined) {
        throw new UsageError(`--${option} takes no value`);
      }
      flags.add(option);
      continue;
    }
    if (!allowed.values.includes(option)) {
      throw new UsageError(`unknown option --${option} for ${name}`);
    }
    options.set(option, optionValue(option, match[2], rest[index + 1]));
    if (match[2] === undefined) {
      index += 1;
    }
  }
  return { values: options, flags };
}

function enrollCommand({ values: options, flags }: GivenOptions): Command {
  const name = 'enroll';
  const secret = options.get('secret');
  const secretFile = options.get('secret-file');
  if ((secret === undefined) === (secretFile === undefined)) {
    throw new UsageError('enroll needs exactly one of --secret and --secret-file');
  }
  return {
    command: 'enroll',
    gateway: required(options, 'gateway', name),
    ca: required(options, 'ca', name),
    id: required(options, 'id', name),
    secret: secret === undefined ? { file: secretFile ?? '' } : { value: secret },
    out: required(options, 'out', name),
    force: flags.has('force'),
  };
}

function forecastCommand(options: Map<string, string>): Command {
  const name = 'forecast';
  const slot = required(options, 'slot', name);
  const lower = kw(options, 'lower');
  const upper = kw(options, 'upper');
  if (lower > upper) {
    throw new UsageError('--lower must not exceed --upper');
  }
  return { command: 'forecast', identity: identity(options, name), slot, lower, upper };
}

function eventsCommand(options: Map<string, string>): Command {
  const lastEventId = options.get('last-event-id');
  return {
    command: 'events',
    identity: identity(options, 'events'),
    ...(lastEventId === undefined ? {} : { lastEventId }),
  };
}

/** Parses the arguments after the program name; throws UsageError. Pure: reads no file. */
export function parseArgs(argv: readonly string[]): Command {
  if (argv.some((arg) => arg === '--help' || arg === '-h') || argv[0] === 'help') {
    return { command: 'help' };
  }
  const [first, ...rest] = argv;
  const name = commandName(first);
  const given = readOptions(name, rest);
  switch (name) {
    case 'enroll':
      return enrollCommand(given);
    case 'price':
    case 'dispatch':
      return {
        command: name,
        identity: identity(given.values, name),
        slot: required(given.values, 'slot', name),
      };
    case 'forecast':
      return forecastCommand(given.values);
    case 'events':
      return eventsCommand(given.values);
  }
}

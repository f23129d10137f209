#!/usr/bin/env node
/*
 * hems-device: a HEMS device's command line for its utility's gateway (enrol, read prices and
 * dispatch, submit a signed forecast, follow events). `hems-device --help` for usage.
 */
import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GatewayApiError, GatewayConnectionError, HemsClient, type HemsClientOptions } from '../client';

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

/** Parses the arguments after the program name; throws UsageError. Pure: reads no file. */
export function parseArgs(argv: readonly string[]): Command {
  if (argv.some((arg) => arg === '--help' || arg === '-h') || argv[0] === 'help') {
    return { command: 'help' };
  }
  const [name, ...rest] = argv;
  if (name === undefined) {
    throw new UsageError('a command is needed: enroll, price, forecast, dispatch or events');
  }
  if (!isCommandName(name)) {
    throw new UsageError(`unknown command "${name}": use enroll, price, forecast, dispatch or events`);
  }
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
    let value = match[2];
    if (value === undefined) {
      const next = rest[index + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`--${option} needs a value`);
      }
      value = next;
      index += 1;
    }
    if (value === '') {
      throw new UsageError(`--${option} needs a non-empty value`);
    }
    options.set(option, value);
  }

  switch (name) {
    case 'enroll': {
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
    case 'price':
    case 'dispatch':
      return { command: name, identity: identity(options, name), slot: required(options, 'slot', name) };
    case 'forecast': {
      const slot = required(options, 'slot', name);
      const lower = kw(options, 'lower');
      const upper = kw(options, 'upper');
      if (lower > upper) {
        throw new UsageError('--lower must not exceed --upper');
      }
      return { command: 'forecast', identity: identity(options, name), slot, lower, upper };
    }
    case 'events': {
      const lastEventId = options.get('last-event-id');
      return {
        command: 'events',
        identity: identity(options, name),
        ...(lastEventId === undefined ? {} : { lastEventId }),
      };
    }
  }
}

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM by default; tests pass their own. */
  readonly signal?: AbortSignal;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(`cannot read ${what} ${file}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/** The client options for a device identity: explicit files first, then the device directory. */
export async function loadIdentity(args: IdentityArgs): Promise<HemsClientOptions> {
  const inDevice = (file: string): string => path.join(args.device ?? '.', file);
  const gatewayUrl = args.gateway ?? (await readText(inDevice('gateway.url'), 'gateway URL')).trim();
  return {
    gatewayUrl,
    gatewayCaPem: await readText(args.ca ?? inDevice('gateway-ca.pem'), 'gateway CA certificate'),
    certificatePem: await readText(args.cert ?? inDevice('cert.pem'), 'device certificate'),
    privateKeyPem: await readText(args.key ?? inDevice('key.pem'), 'device key'),
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      return false;
    }
    throw new Error(`cannot inspect ${file}`);
  }
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

async function enroll(command: Extract<Command, { command: 'enroll' }>, io: CliIo): Promise<void> {
  const gatewayCaPem = await readText(command.ca, 'gateway CA certificate');
  const secret =
    'value' in command.secret
      ? command.secret.value
      : (await readText(command.secret.file, 'secret file')).replace(/\r?\n$/, '');
  const out = path.resolve(command.out);
  const keyPath = path.join(out, 'key.pem');
  await mkdir(out, { recursive: true, mode: 0o700 });
  // Checked before enrolling: the secret works once, so the new key must not fail to be stored.
  if (!command.force && (await exists(keyPath))) {
    throw new Error(`${keyPath} exists already (another device identity?); use --force to replace it`);
  }
  await access(out, constants.W_OK).catch(() => {
    throw new Error(`cannot write to ${out}`);
  });
  const credentials = await HemsClient.enroll({
    gatewayUrl: command.gateway,
    gatewayCaPem,
    enrollmentId: command.id,
    secret,
  });
  await writeFile(keyPath, credentials.privateKeyPem, { flag: command.force ? 'w' : 'wx', mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(path.join(out, 'cert.pem'), credentials.certificatePem);
  await writeFile(path.join(out, 'gateway-ca.pem'), gatewayCaPem);
  await writeFile(path.join(out, 'gateway.url'), `${command.gateway}\n`);
  const certificate = new X509Certificate(credentials.certificatePem);
  printJson(io, {
    enrollmentId: command.id,
    device: out,
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notAfter: new Date(certificate.validTo).toISOString(),
  });
}

async function withClient<T>(args: IdentityArgs, run: (client: HemsClient) => Promise<T>): Promise<T> {
  const client = new HemsClient(await loadIdentity(args));
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

/** The signal the CLI stops on: the caller's, or SIGINT/SIGTERM. */
function stopSignal(io: CliIo): { signal: AbortSignal; dispose: () => void } {
  if (io.signal !== undefined) {
    return { signal: io.signal, dispose: () => undefined };
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

async function run(command: Exclude<Command, { command: 'help' }>, io: CliIo): Promise<void> {
  switch (command.command) {
    case 'enroll':
      return enroll(command, io);
    case 'price':
      return withClient(command.identity, async (client) =>
        printJson(io, await client.getSlot(command.slot)),
      );
    case 'dispatch':
      return withClient(command.identity, async (client) =>
        printJson(io, await client.getDispatch(command.slot)),
      );
    case 'forecast': {
      const { signal, dispose } = stopSignal(io);
      const identity = await loadIdentity(command.identity);
      const client = new HemsClient({
        ...identity,
        retry: {
          onRetry: ({ attempt, delayMs, error }) =>
            io.stderr(
              `hems-device: attempt ${attempt} failed (${describe(error)}); retrying in ${delayMs} ms\n`,
            ),
        },
      });
      try {
        printJson(
          io,
          await client.submitForecast(
            command.slot,
            { lower: command.lower, upper: command.upper },
            { signal },
          ),
        );
      } finally {
        client.close();
        dispose();
      }
      return;
    }
    case 'events': {
      const { signal, dispose } = stopSignal(io);
      try {
        await withClient(command.identity, async (client) => {
          const { lastEventId } = await client.followEvents(
            (event) => io.stdout(`${JSON.stringify(event)}\n`),
            {
              ...(command.lastEventId === undefined ? {} : { lastEventId: command.lastEventId }),
              signal,
              onStatus: (status) => {
                if (status.state === 'reconnecting') {
                  io.stderr(
                    `hems-device: event stream interrupted (${describe(status.error)}); reconnecting in ${status.delayMs} ms\n`,
                  );
                } else if (status.state === 'skipped') {
                  io.stderr(`hems-device: skipped a "${status.eventType}" event: ${status.reason}\n`);
                }
              },
            },
          );
          if (lastEventId !== undefined) {
            io.stderr(`hems-device: stopped; resume with --last-event-id ${lastEventId}\n`);
          }
        });
      } finally {
        dispose();
      }
      return;
    }
  }
}

/** One line about a failure: the API's message, code, status and transaction id. */
export function describe(error: unknown): string {
  if (error instanceof GatewayApiError) {
    const details = [error.code, `HTTP ${error.statusCode}`];
    if (error.transactionId !== undefined) {
      details.push(`transaction ${error.transactionId}`);
    }
    return `${error.message} (${details.join(', ')})`;
  }
  if (error instanceof GatewayConnectionError) {
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : 'unknown failure';
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`hems-device: ${error.message}\nRun "hems-device --help" for usage.\n`);
      return 2;
    }
    throw error;
  }
  if (command.command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  try {
    await run(command, io);
    return 0;
  } catch (error) {
    io.stderr(`hems-device: ${describe(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}

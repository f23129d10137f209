/*
 * What each hems-device command does: read the device identity, call the gateway through the
 * client library, print JSON.
 */
import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GatewayApiError, GatewayConnectionError, HemsClient, type HemsClientOptions } from '../index';
import type { Command, IdentityArgs } from './args';

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

/** Runs a parsed command. */
export async function run(command: Exclude<Command, { command: 'help' }>, io: CliIo): Promise<void> {
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

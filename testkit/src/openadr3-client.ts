/**
 * ElaadNL's openadr3-client from PyPI, the independent OpenADR 3 client the e2e suites drive the
 * gateways' VTN with, as a new user of the library would: its own virtual environment, cached
 * under the home folder like the Fabric binaries, and test/e2e/openadr/ven_client.py run once per
 * operation, a JSON request on its standard input and a JSON result on its standard output.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { ensureVirtualEnv } from './python';

/** The OpenADR 3 versions the gateways serve, at /openadr/<version>. */
export type OpenAdrVersion = '3.0.1' | '3.1.0';

/**
 * The pinned library for each OpenADR version. Since 2.0.0 one release speaks both (its
 * openadr3_client.oadr301 and .oadr310 packages, chosen per client); 1.x spoke only 3.0.1.
 */
export const OPENADR3_CLIENT_VERSIONS: Readonly<Record<OpenAdrVersion, string>> = {
  '3.0.1': '2.4.2',
  '3.1.0': '2.4.2',
};

const DRIVER = path.join(__dirname, '..', '..', 'test', 'e2e', 'openadr', 'ven_client.py');
const TIMEOUT_MS = 60_000;

/**
 * The `python` of a virtual environment with the openadr3-client that speaks `version`, made on
 * first use under ~/.cache/hems-openadr3-client/<library version> and reused after.
 */
export function ensureOpenAdr3Client(version: OpenAdrVersion): string {
  const library = OPENADR3_CLIENT_VERSIONS[version];
  const root = path.join(homedir(), '.cache', 'hems-openadr3-client', library);
  return ensureVirtualEnv(root, [`openadr3-client==${library}`], 'openadr3-client', 'python');
}

/**
 * One operation of the driver (see ven_client.py for every op and its fields). Its connection
 * fields: the gateway's base URL (https://localhost:<port>/openadr/<version>), the token URL
 * (optional for 3.1.0, which discovers it at <base>/auth/server), the OAuth2 client's id and
 * secret, and the PEM file of the CA of the gateway's TLS certificate.
 */
export interface VenClientRequest {
  readonly version: OpenAdrVersion;
  readonly op: string;
  readonly baseUrl: string;
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly caFile: string;
  readonly [field: string]: unknown;
}

/** A refusal as the driver prints it: the HTTP status when there was one. */
export interface VenClientError {
  readonly error: {
    readonly type: string;
    readonly status: number | null;
    readonly message: string;
    readonly [detail: string]: unknown;
  };
}

/** Whether a driver result is a refusal (the driver exits 0 on those, so a test can assert them). */
export function isVenClientError(result: unknown): result is VenClientError {
  return typeof result === 'object' && result !== null && 'error' in result;
}

/**
 * Runs one operation through the library and returns its JSON result: the VTN's objects as the
 * library parsed them, or a refusal ({ error }). Throws when the driver fails (a malformed request,
 * a bug, no JSON on its output) or takes more than 60 s, with its standard error in the message.
 */
export async function runVenClient(request: VenClientRequest): Promise<unknown> {
  const python = ensureOpenAdr3Client(request.version);
  const { code, signal, stdout, stderr } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(python, [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode, exitSignal) =>
      resolve({
        code: exitCode,
        signal: exitSignal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(JSON.stringify(request));
  });
  const what = `ven_client.py ${request.version} ${request.op}`;
  if (signal !== null) {
    throw new Error(`${what} was stopped by ${signal} (timeout ${TIMEOUT_MS / 1000} s)\n${stderr}`);
  }
  if (code !== 0) {
    throw new Error(`${what} exited with ${String(code)}\n${stderr}`);
  }
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new Error(`${what} printed no JSON: ${stdout}\n${stderr}`);
  }
}

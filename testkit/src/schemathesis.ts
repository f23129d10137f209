/**
 * Schemathesis, the OpenAPI fuzzer from PyPI, as the e2e suites run it against a gateway: its
 * own virtual environment, cached under the home folder like the Fabric binaries, and one run per
 * gateway and identity over mutual TLS, read back from its JUnit report.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { ensureVirtualEnv } from './python';

/** The pinned version: its checks' names and report format are what the suites read. */
export const SCHEMATHESIS_VERSION = '4.32.5';

/**
 * The `st` program of a virtual environment with Schemathesis, made on first use under
 * ~/.cache/hems-schemathesis/<version> (about 15 s and 85 MB) and reused after.
 */
export function ensureSchemathesis(): string {
  const root = path.join(homedir(), '.cache', 'hems-schemathesis', SCHEMATHESIS_VERSION);
  return ensureVirtualEnv(root, [`schemathesis==${SCHEMATHESIS_VERSION}`], 'Schemathesis', 'st');
}

/** One fuzzing run: a gateway, the identity it is called as, and its bounds. */
export interface FuzzRun {
  readonly label: string;
  readonly baseUrl: string;
  /** The OpenAPI document; default `<baseUrl>/docs/json` (the REST gateway's). */
  readonly openapiUrl?: string;
  /**
   * PEM files of the caller's certificate and key (mutual TLS; absent for a client that has none,
   * e.g. an OpenADR VEN), and of the CA of the gateway's TLS certificate.
   */
  readonly certificateFile?: string;
  readonly keyFile?: string;
  readonly caFile: string;
  /** Headers sent with every request, e.g. an OAuth2 bearer token. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxExamples: number;
  /** Path patterns left out (a regular expression over the OpenAPI path). */
  readonly excludePathRegex?: string;
  readonly requestTimeoutSeconds?: number;
  /** Seconds the whole run may take. */
  readonly maxTimeSeconds?: number;
}

/** A failed check of one operation, as the JUnit report states it. */
export interface FuzzFailure {
  readonly operation: string;
  readonly message: string;
}

export interface FuzzResult {
  readonly label: string;
  readonly exitCode: number;
  /** Operations tested (JUnit test cases). */
  readonly operations: number;
  /** Test cases generated and sent, as the run's summary counts them. */
  readonly generated: number;
  readonly failures: readonly FuzzFailure[];
  readonly seconds: number;
  /** The run's output, for a failing test's message. */
  readonly output: string;
}

/** The checks that make a run fail: the gateway's contract, not its business rules. */
export const FUZZ_CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'unsupported_method',
] as const;

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#10;/g, '\n')
    .replace(/&amp;/g, '&');
}

/** The test cases and failures of a Schemathesis JUnit report. */
export function parseJunitReport(xml: string): { operations: number; failures: FuzzFailure[] } {
  const failures: FuzzFailure[] = [];
  let operations = 0;
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    operations += 1;
    const name = decodeXml(/\bname="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '?');
    for (const failure of (match[3] ?? '').matchAll(/<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
      const message = /\bmessage="([^"]*)"/.exec(failure[2] ?? '')?.[1];
      failures.push({ operation: name, message: decodeXml(failure[3] ?? message ?? failure[1] ?? '') });
    }
  }
  return { operations, failures };
}

/** Runs Schemathesis once against the gateway's own OpenAPI document, leaving nothing in the repository. */
export async function runSchemathesis(st: string, run: FuzzRun): Promise<FuzzResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'hems-fuzz-'));
  const report = path.join(work, 'junit.xml');
  const config = path.join(work, 'schemathesis.toml');
  // No example database or crash cache in the working directory. The coverage phase keeps to
  // valid inputs: its negative half (every boundary of every parameter, and the undeclared
  // methods) is some 1,200 cases per operation, about 10 minutes per identity on 2 cores; the
  // fuzzing phase still sends invalid inputs, and 405 with Allow is checked route by route by
  // the gateway's unit tests.
  writeFileSync(config, '[cache]\nenabled = false\n\n[phases.coverage.generation]\nmode = "positive"\n');
  const args = [
    '--config-file',
    config,
    'run',
    run.openapiUrl ?? `${run.baseUrl}/docs/json`,
    '--url',
    run.baseUrl,
    ...(run.certificateFile === undefined || run.keyFile === undefined
      ? []
      : ['--request-cert', run.certificateFile, '--request-cert-key', run.keyFile]),
    ...Object.entries(run.headers ?? {}).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    '--tls-verify',
    run.caFile,
    '--checks',
    FUZZ_CHECKS.join(','),
    '--phases',
    'examples,coverage,fuzzing',
    '--mode',
    'all',
    '--max-examples',
    String(run.maxExamples),
    '--generation-deterministic',
    '--request-timeout',
    String(run.requestTimeoutSeconds ?? 20),
    '--suppress-health-check',
    'all',
    '--continue-on-failure',
    '--workers',
    '1',
    '--no-color',
    '--report',
    'junit',
    '--report-junit-path',
    report,
    ...(run.maxTimeSeconds === undefined ? [] : ['--max-time', String(run.maxTimeSeconds)]),
    ...(run.excludePathRegex === undefined ? [] : ['--exclude-path-regex', run.excludePathRegex]),
  ];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(st, args, {
      cwd: work,
      env: { ...process.env, HYPOTHESIS_STORAGE_DIRECTORY: path.join(work, 'hypothesis'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode) =>
      resolve({ code: exitCode ?? 1, output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
  const parsed = existsSync(report)
    ? parseJunitReport(readFileSync(report, 'utf8'))
    : { operations: 0, failures: [] };
  rmSync(work, { recursive: true, force: true });
  const generated = /(\d+) generated/.exec(output)?.[1];
  return {
    label: run.label,
    exitCode: code,
    operations: parsed.operations,
    generated: generated === undefined ? 0 : Number(generated),
    failures: parsed.failures,
    seconds: (Date.now() - started) / 1000,
    output,
  };
}

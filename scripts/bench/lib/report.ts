/** The machine a run happened on, and the JSON report file of a run. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** Fabric builds found in the local Fabric cache (~/.cache/hems-fabric/<version>). */
  readonly fabricBuilds: readonly string[];
  readonly fabricGatewayClient: string | null;
}

function packageVersion(name: string): string | null {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  const cache = path.join(os.homedir(), '.cache', 'hems-fabric');
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    fabricBuilds: existsSync(cache) ? readdirSync(cache).sort() : [],
    fabricGatewayClient: packageVersion('@hyperledger/fabric-gateway'),
  };
}

/** Writes `reports/bench-<ISO time>.json` at the repository root; returns its path. */
export function writeReport(
  report: unknown,
  startedAt: Date,
  root = path.join(__dirname, '..', '..', '..'),
): string {
  const folder = path.join(root, 'reports');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

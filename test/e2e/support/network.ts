import { spawn } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** The end-to-end tests run their own network in their own state folder, fresh every run. */
export const E2E_STATE_DIR = path.join(REPO_ROOT, 'network', '.state-e2e');

/** Runs a repository script with the e2e state folder; its output goes to this process's stderr. */
export function runScript(script: string, args: readonly string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, script), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, HEMS_NETWORK_STATE: E2E_STATE_DIR },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${script} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

export function network(
  command: 'up' | 'down' | 'reset' | 'status' | 'stop-node' | 'start-node',
  node?: string,
): Promise<void> {
  return runScript('scripts/network/network.sh', node === undefined ? [command] : [command, node]);
}

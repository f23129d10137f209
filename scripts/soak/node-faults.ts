/**
 * Killing one network process the hard way and starting it again. The network's processes are
 * started by scripts/network/*.sh with a PID file (`<state>/pids/<name>.pid`), the binary it runs
 * (`<name>.exe`) and its recorded command line (`<name>.cmd`); `network.sh start-node <name>`
 * replays that command and waits until the node is healthy (an orderer: until the channel has a
 * Raft leader again). The soak sends SIGKILL itself (network.sh stop-node stops gracefully) and
 * uses start-node to bring the process back.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const REPO_ROOT = path.join(__dirname, '..', '..');
const NETWORK_SCRIPT = path.join(REPO_ROOT, 'scripts', 'network', 'network.sh');

/** Node names as network.sh writes them; anything else never reaches a shell or a kill. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(name: string): void {
  if (!NODE_NAME.test(name)) {
    throw new Error(`bad node name "${name}"`);
  }
}

/** A process that exists and is not a zombie (as lib.sh's proc_live). */
export function processLive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== undefined && state !== '' && state !== 'Z';
}

/**
 * The PID of a running network node, trusted only when that process still runs the binary
 * network.sh recorded (as lib.sh's pid_alive); undefined when it is not running.
 */
export function nodePid(stateDir: string, name: string): number | undefined {
  checkName(name);
  const pidFile = path.join(stateDir, 'pids', `${name}.pid`);
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !processLive(pid)) {
    return undefined;
  }
  const exeFile = path.join(stateDir, 'pids', `${name}.exe`);
  const exe = existsSync(exeFile) ? readFileSync(exeFile, 'utf8').trim() : '';
  if (exe !== '') {
    let commandLine = '';
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return undefined;
    }
    if (!commandLine.includes(exe)) {
      return undefined;
    }
  }
  return pid;
}

/** SIGKILLs the node and waits until its process is gone; answers its PID. */
export async function killNode(stateDir: string, name: string): Promise<number> {
  const pid = nodePid(stateDir, name);
  if (pid === undefined) {
    throw new Error(`${name} is not running (no live process in ${stateDir}/pids/${name}.pid)`);
  }
  process.kill(pid, 'SIGKILL');
  for (let waited = 0; processLive(pid); waited += 50) {
    if (waited > 10_000) {
      throw new Error(`${name} (pid ${pid}) did not die on SIGKILL within 10 s`);
    }
    await delay(50);
  }
  return pid;
}

/**
 * `network.sh start-node <name>` against the state folder: starts the node as up / deploy did and
 * resolves once it is healthy; its output goes to this process's stderr.
 */
export function startNode(stateDir: string, name: string): Promise<void> {
  checkName(name);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [NETWORK_SCRIPT, 'start-node', name], {
      cwd: REPO_ROOT,
      env: { ...process.env, HEMS_NETWORK_STATE: stateDir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`network.sh start-node ${name} exited with ${code}`)),
    );
  });
}

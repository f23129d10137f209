/**
 * CPU-seconds accounting across the processes of the local network, for figures such as "CPU
 * seconds per forecast" that count everything a forecast costs, not only the gateway's latency:
 *
 *   const processes = findNetworkProcesses({ loadgenPid: process.pid });
 *   const before = sampleCpu(processes);
 *   ... the work ...
 *   const usage = cpuSecondsBetween(before, sampleCpu(processes));
 *
 * Find the processes once the bench's gateways run: a gateway the load generator spawned and that
 * was not found as one counts as the load generator's descendant, hence as loadgen.
 *
 * The network runs as native processes (scripts/network/*.sh start them with `setsid`), so the
 * kernel's per-process accounting in /proc/<pid>/stat is the whole story: utime + stime of a
 * thread-group leader cover all its threads. The load generator is reported apart from the
 * platform: it runs in the same machine and takes CPU from it, but it is not the platform's cost.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export const PROCESS_KINDS = ['peer', 'orderer', 'chaincode', 'gateway', 'ca', 'loadgen'] as const;
export type ProcessKind = (typeof PROCESS_KINDS)[number];
/** The kinds that make up the platform: every kind but the load generator. */
export type PlatformKind = Exclude<ProcessKind, 'loadgen'>;

/** The fields of /proc/<pid>/stat the accounting needs (times in clock ticks). */
export interface ProcStat {
  readonly pid: number;
  /** The executable's name, at most 15 characters; may hold spaces and parentheses. */
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly utimeTicks: number;
  readonly stimeTicks: number;
  /** Start time after boot: with the pid, it names a process even after its pid is reused. */
  readonly startTicks: number;
}

/** A process whose CPU is counted, with the live descendants it has at each sample. */
export interface TrackedProcess {
  readonly pid: number;
  readonly kind: ProcessKind;
  /** When known, a process with this pid but another start time is not this one (pid reused). */
  readonly startTicks?: number;
}

export interface ProcOptions {
  /** The proc file system; tests point it at a fixture folder. */
  readonly procRoot?: string;
}

/**
 * Parses one /proc/<pid>/stat line. The comm field is the only one that may contain spaces or
 * parentheses (`123 (node main.js) S 1 ...`, or `(a) b)`), so fields are counted from its last `)`.
 */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 1 || close < open) {
    throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  }
  // After the comm: state(3) ppid(4) ... utime(14) stime(15) ... starttime(22), 1-based as in proc(5).
  const rest = line
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (index: number): number => {
    const value = Number(rest[index]);
    if (rest[index] === undefined || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`bad field ${index + 3} in /proc stat line: ${line.slice(0, 80)}`);
    }
    return value;
  };
  const pid = Number(line.slice(0, open).trim());
  if (!Number.isSafeInteger(pid) || pid < 1) {
    throw new Error(`bad pid in /proc stat line: ${line.slice(0, 80)}`);
  }
  return {
    pid,
    comm: line.slice(open + 1, close),
    state: rest[0] ?? '',
    ppid: field(1),
    utimeTicks: field(11),
    stimeTicks: field(12),
    startTicks: field(19),
  };
}

/** The arguments of /proc/<pid>/cmdline: NUL-separated, with a trailing NUL. */
export function parseCmdline(raw: string): string[] {
  const args = raw.split('\0');
  if (args.at(-1) === '') {
    args.pop();
  }
  return args;
}

const NODE_NAMES = new Set(['node', 'nodejs', path.basename(process.execPath)]);

/** Scripts that are a network process when node runs them (`/` separated, compared as suffixes). */
const CHAINCODE_SERVERS = ['/.bin/fabric-chaincode-node', 'fabric-shim/cli.js'];
const GATEWAY_MAIN = 'gateway-api/dist/main.js';

function endsWithPath(arg: string, suffix: string): boolean {
  return arg === suffix || arg.endsWith(suffix.startsWith('/') ? suffix : `/${suffix}`);
}

/**
 * The kind of network process a command line is, as the network scripts and the bench start them:
 * `peer node start` and `orderer` (network.sh), `fabric-ca-server start ...` (identities.sh),
 * `node <repo>/node_modules/.bin/fabric-chaincode-node server` (deploy-chaincode.sh runs the
 * fabric-shim bin script; its `#!/usr/bin/env node` makes node argv[0]) and
 * `node <repo>/gateway-api/dist/main.js` (testkit's GatewayProcesses, `npm run gateway`).
 * Anything else, such as the short-lived `peer lifecycle ...` CLI or a shell running one of these
 * commands, is not one.
 */
export function classifyCommandLine(argv: readonly string[]): PlatformKind | undefined {
  const [first, ...args] = argv;
  if (first === undefined) {
    return undefined; // kernel threads and zombies have no command line
  }
  const program = path.basename(first);
  if (program === 'peer') {
    return args[0] === 'node' && args[1] === 'start' ? 'peer' : undefined;
  }
  if (program === 'orderer') {
    return args.length === 0 || args[0] === 'start' ? 'orderer' : undefined;
  }
  if (program === 'fabric-ca-server') {
    return args[0] === 'start' ? 'ca' : undefined;
  }
  if (!NODE_NAMES.has(program)) {
    return undefined;
  }
  if (args.includes('server') && args.some((arg) => CHAINCODE_SERVERS.some((s) => endsWithPath(arg, s)))) {
    return 'chaincode';
  }
  return args.some((arg) => endsWithPath(arg, GATEWAY_MAIN)) ? 'gateway' : undefined;
}

function procPids(procRoot: string): number[] {
  return readdirSync(procRoot)
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

/** A /proc file's text, or undefined when the process is gone (or not ours to read). */
function readProcFile(procRoot: string, pid: number, file: string): string | undefined {
  try {
    return readFileSync(path.join(procRoot, String(pid), file), 'utf8');
  } catch {
    return undefined;
  }
}

function readStat(procRoot: string, pid: number): ProcStat | undefined {
  const line = readProcFile(procRoot, pid, 'stat');
  if (line === undefined) {
    return undefined;
  }
  try {
    return parseProcStat(line);
  } catch {
    return undefined; // a half-written line of a process exiting as it was read
  }
}

function isWithin(folder: string, roots: readonly string[]): boolean {
  return roots.some((root) => {
    const relative = path.relative(path.resolve(root), folder);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  });
}

export interface FindOptions extends ProcOptions {
  /** The load generator's pid (normally process.pid), tracked as kind `loadgen`. */
  readonly loadgenPid?: number;
  /**
   * Keep only processes whose working directory is in one of these folders, such as the
   * repository and the network state folder, to leave out another checkout's network on the
   * same machine. The scripts start peers, orderers and CAs in their state folders, chaincode
   * servers in the chaincode folder and gateways in the bench's own working directory.
   */
  readonly cwdWithin?: readonly string[];
}

/**
 * The network's processes on this machine, found by command line. Processes that exit while
 * /proc is read are skipped. Command lines are only classified, never kept: the CA's holds its
 * bootstrap secret.
 */
export function findNetworkProcesses(options: FindOptions = {}): TrackedProcess[] {
  const procRoot = options.procRoot ?? '/proc';
  const found: TrackedProcess[] = [];
  for (const pid of procPids(procRoot)) {
    if (pid === options.loadgenPid) {
      continue;
    }
    const cmdline = readProcFile(procRoot, pid, 'cmdline');
    const kind = cmdline === undefined ? undefined : classifyCommandLine(parseCmdline(cmdline));
    if (kind === undefined) {
      continue;
    }
    if (options.cwdWithin !== undefined) {
      let cwd: string;
      try {
        cwd = readlinkSync(path.join(procRoot, String(pid), 'cwd'));
      } catch {
        continue;
      }
      if (!isWithin(cwd, options.cwdWithin)) {
        continue;
      }
    }
    const stat = readStat(procRoot, pid);
    if (stat !== undefined) {
      found.push({ pid, kind, startTicks: stat.startTicks });
    }
  }
  if (options.loadgenPid !== undefined) {
    const stat = readStat(procRoot, options.loadgenPid);
    found.push({
      pid: options.loadgenPid,
      kind: 'loadgen',
      ...(stat ? { startTicks: stat.startTicks } : {}),
    });
  }
  return found;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of /proc times: `getconf CLK_TCK` once, 100 (Linux's value) if that fails. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isSafeInteger(value) && value > 0 ? value : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * The kind of every process in `stats` that is a tracked process or a live descendant of one: the
 * kind of its nearest tracked ancestor (itself included), so a gateway the load generator spawned
 * counts as gateway, and a peer's builder script as peer.
 */
export function attributeProcesses(
  stats: readonly ProcStat[],
  tracked: readonly TrackedProcess[],
): Map<number, ProcessKind> {
  const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
  const roots = new Map<number, ProcessKind>();
  for (const root of tracked) {
    const stat = byPid.get(root.pid);
    if (stat !== undefined && (root.startTicks === undefined || root.startTicks === stat.startTicks)) {
      roots.set(root.pid, root.kind);
    }
  }
  const kinds = new Map<number, ProcessKind>();
  for (const stat of stats) {
    // Walk up to the nearest root; the visited set guards against a ppid cycle of a torn read.
    const chain: number[] = [];
    const visited = new Set<number>();
    let current: ProcStat | undefined = stat;
    let kind: ProcessKind | undefined;
    while (current !== undefined && !visited.has(current.pid)) {
      visited.add(current.pid);
      chain.push(current.pid);
      kind = roots.get(current.pid) ?? kinds.get(current.pid);
      if (kind !== undefined) {
        break;
      }
      current = byPid.get(current.ppid);
    }
    if (kind !== undefined) {
      chain.forEach((pid) => kinds.set(pid, kind));
    }
  }
  return kinds;
}

export interface SampledProcess {
  readonly pid: number;
  readonly startTicks: number;
  readonly ticks: number;
  /** Undefined for processes outside the tracked trees (kept so later roots can be diffed). */
  readonly kind: ProcessKind | undefined;
}

export interface CpuSample {
  /** performance.now() when the sample was taken. */
  readonly atMs: number;
  readonly ticksPerSecond: number;
  /** Every process of the machine, by `<pid>:<start ticks>`. */
  readonly processes: ReadonlyMap<string, SampledProcess>;
}

function processKey(pid: number, startTicks: number): string {
  return `${pid}:${startTicks}`;
}

/**
 * utime + stime of the tracked processes and their live descendants. All processes are recorded,
 * so a process tracked only in a later sample is still diffed against its earlier time.
 */
export function sampleCpu(tracked: readonly TrackedProcess[], options: ProcOptions = {}): CpuSample {
  const procRoot = options.procRoot ?? '/proc';
  const stats = procPids(procRoot)
    .map((pid) => readStat(procRoot, pid))
    .filter((stat): stat is ProcStat => stat !== undefined);
  const kinds = attributeProcesses(stats, tracked);
  const processes = new Map<string, SampledProcess>();
  for (const stat of stats) {
    processes.set(processKey(stat.pid, stat.startTicks), {
      pid: stat.pid,
      startTicks: stat.startTicks,
      ticks: stat.utimeTicks + stat.stimeTicks,
      kind: kinds.get(stat.pid),
    });
  }
  return { atMs: performance.now(), ticksPerSecond: clockTicksPerSecond(), processes };
}

export interface CpuUsage {
  /** Wall time between the samples. */
  readonly wallSeconds: number;
  /** CPU seconds of everything tracked: platform + loadgen. */
  readonly totalSeconds: number;
  /** CPU seconds of the network's processes (every kind but loadgen). */
  readonly platformSeconds: number;
  readonly loadgenSeconds: number;
  readonly byKind: Readonly<Record<ProcessKind, number>>;
  /** Tracked processes (with descendants) that ran in the interval. */
  readonly processes: number;
  /**
   * Tracked processes of the first sample gone by the second: their CPU after the first sample is
   * not counted (a parent's cutime would hold it only once reaped, and the load generator's would
   * hold the gateways it stops, counted as its own).
   */
  readonly vanished: number;
}

/** CPU seconds per kind between two samples of the same machine. */
export function cpuSecondsBetween(before: CpuSample, after: CpuSample): CpuUsage {
  if (before.ticksPerSecond !== after.ticksPerSecond) {
    throw new Error('samples with different clock ticks');
  }
  const ticks = Object.fromEntries(PROCESS_KINDS.map((kind) => [kind, 0])) as Record<ProcessKind, number>;
  let processes = 0;
  for (const [key, now] of after.processes) {
    const then = before.processes.get(key);
    const kind = now.kind ?? then?.kind;
    if (kind === undefined) {
      continue;
    }
    // A process not in the first sample started after it: all its time is in the interval.
    const delta = now.ticks - (then?.ticks ?? 0);
    ticks[kind] += Math.max(0, delta);
    processes += 1;
  }
  let vanished = 0;
  for (const [key, then] of before.processes) {
    if (then.kind !== undefined && !after.processes.has(key)) {
      vanished += 1;
    }
  }
  // Sums in whole ticks, divided once, so total = platform + loadgen exactly.
  const seconds = (value: number): number => value / after.ticksPerSecond;
  const platformTicks = PROCESS_KINDS.reduce(
    (sum, kind) => (kind === 'loadgen' ? sum : sum + ticks[kind]),
    0,
  );
  return {
    wallSeconds: (after.atMs - before.atMs) / 1000,
    totalSeconds: seconds(platformTicks + ticks.loadgen),
    platformSeconds: seconds(platformTicks),
    loadgenSeconds: seconds(ticks.loadgen),
    byKind: Object.fromEntries(PROCESS_KINDS.map((kind) => [kind, seconds(ticks[kind])])) as Record<
      ProcessKind,
      number
    >,
    processes,
    vanished,
  };
}

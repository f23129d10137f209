import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  attributeProcesses,
  classifyCommandLine,
  clockTicksPerSecond,
  cpuSecondsBetween,
  findNetworkProcesses,
  parseCmdline,
  parseProcStat,
  sampleCpu,
  type ProcStat,
} from '../../scripts/bench/lib/cpu';

interface FakeProcess {
  readonly pid: number;
  readonly comm?: string;
  readonly ppid?: number;
  readonly utime?: number;
  readonly stime?: number;
  readonly start?: number;
  /** argv; undefined for no cmdline file. */
  readonly argv?: readonly string[];
  readonly cwd?: string;
  /** No stat file: the process exited between listing /proc and reading it. */
  readonly noStat?: boolean;
}

/** A /proc/<pid>/stat line as Linux writes it (fields 1-24). */
function statLine(p: FakeProcess): string {
  const [utime, stime, start] = [p.utime ?? 0, p.stime ?? 0, p.start ?? 1000];
  return `${p.pid} (${p.comm ?? 'x'}) S ${p.ppid ?? 1} ${p.pid} ${p.pid} 0 -1 4194304 98 0 0 0 ${utime} ${stime} 7 9 20 0 1 0 ${start} 3133440 360 18446744073709551615\n`;
}

/** Writes a fake proc folder: a subfolder per pid with stat, cmdline and a cwd link. */
function writeProc(root: string, processes: readonly FakeProcess[]): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'uptime'), '1.0 1.0\n'); // not a pid: ignored
  for (const p of processes) {
    const dir = path.join(root, String(p.pid));
    mkdirSync(dir);
    if (p.noStat !== true) {
      writeFileSync(path.join(dir, 'stat'), statLine(p));
    }
    if (p.argv !== undefined) {
      writeFileSync(path.join(dir, 'cmdline'), p.argv.map((arg) => `${arg}\0`).join(''));
    }
    if (p.cwd !== undefined) {
      symlinkSync(p.cwd, path.join(dir, 'cwd'));
    }
  }
}

const stat = (pid: number, ppid: number, start = 1000): ProcStat => ({
  pid,
  comm: 'x',
  state: 'S',
  ppid,
  utimeTicks: 0,
  stimeTicks: 0,
  startTicks: start,
});

describe('bench CPU accounting', () => {
  describe('/proc parsing', () => {
    it('reads pid, comm, ppid, utime, stime and start time from a stat line', () => {
      const line =
        '25895 (cat) R 25889 25889 24457 0 -1 4194304 98 0 0 0 12 34 0 0 20 0 1 0 1800599 3133440 360 18446744073709551615 0 0';
      expect(parseProcStat(line)).to.deep.equal({
        pid: 25895,
        comm: 'cat',
        state: 'R',
        ppid: 25889,
        utimeTicks: 12,
        stimeTicks: 34,
        startTicks: 1800599,
      });
    });

    it('counts fields from the last parenthesis, whatever the comm holds', () => {
      const spaced = parseProcStat(statLine({ pid: 123, comm: 'node main.js', ppid: 1, utime: 5, stime: 6 }));
      expect(spaced).to.include({ pid: 123, comm: 'node main.js', ppid: 1, utimeTicks: 5, stimeTicks: 6 });
      const nasty = parseProcStat(
        statLine({ pid: 7, comm: 'a) S 99 (b', ppid: 3, utime: 1, stime: 2, start: 42 }),
      );
      expect(nasty).to.include({ comm: 'a) S 99 (b', ppid: 3, utimeTicks: 1, stimeTicks: 2, startTicks: 42 });
      expect(parseProcStat(statLine({ pid: 8, comm: '(sd-pam)' })).comm).to.equal('(sd-pam)');
      expect(parseProcStat(statLine({ pid: 9, comm: '' })).comm).to.equal('');
    });

    it('refuses lines that are not stat lines or are cut short', () => {
      expect(() => parseProcStat('')).to.throw('not a /proc stat line');
      expect(() => parseProcStat('123 cat S 1')).to.throw('not a /proc stat line');
      expect(() => parseProcStat('123 (cat) S 1 2 3')).to.throw('bad field');
      expect(() => parseProcStat('abc (cat) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9')).to.throw('bad pid');
      expect(() => parseProcStat('5 (cat) S x 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9')).to.throw(
        'bad field 4',
      );
    });

    it('splits NUL-separated command lines', () => {
      expect(parseCmdline('peer\0node\0start\0')).to.deep.equal(['peer', 'node', 'start']);
      expect(parseCmdline('node\0a b\0')).to.deep.equal(['node', 'a b']);
      expect(parseCmdline('')).to.deep.equal([]);
    });
  });

  describe('classifying command lines', () => {
    const cases: [string[], string | undefined][] = [
      [['peer', 'node', 'start'], 'peer'],
      [['/opt/fabric/bin/peer', 'node', 'start'], 'peer'],
      [['peer', 'lifecycle', 'chaincode', 'queryinstalled'], undefined],
      [['orderer'], 'orderer'],
      [['/opt/fabric/bin/orderer', 'start'], 'orderer'],
      [['fabric-ca-server', 'start', '-b', 'admin:secret', '--port', '7054', '--tls.enabled'], 'ca'],
      [['fabric-ca-client', 'enroll'], undefined],
      [['node', '/work/main/node_modules/.bin/fabric-chaincode-node', 'server'], 'chaincode'],
      [['/usr/bin/node', '/repo/node_modules/fabric-shim/cli.js', 'server'], 'chaincode'],
      [['node', '/repo/node_modules/.bin/fabric-chaincode-node', 'start'], undefined],
      [['node', 'gateway-api/dist/main.js'], 'gateway'],
      [['/usr/local/bin/node', '/work/main/gateway-api/dist/main.js'], 'gateway'],
      [['node', '/x/other-gateway-api/dist/main.js'], undefined],
      [['sh', '-c', 'node gateway-api/dist/main.js'], undefined],
      [['tail', '-f', 'gateway-api/dist/main.js'], undefined],
      [['node', '-r', 'ts-node/register', 'scripts/bench/main.ts'], undefined],
      [[], undefined],
    ];
    for (const [argv, kind] of cases) {
      it(`${JSON.stringify(argv)} is ${kind ?? 'not a network process'}`, () => {
        expect(classifyCommandLine(argv)).to.equal(kind);
      });
    }
  });

  describe('attributing descendants', () => {
    it('gives each process the kind of its nearest tracked ancestor', () => {
      // 1 init; 10 loadgen -> 11 gateway (tracked) -> 12; 10 -> 13 helper; 20 peer -> 21 -> 22; 30 other
      const stats = [
        stat(1, 0),
        stat(10, 1),
        stat(11, 10),
        stat(12, 11),
        stat(13, 10),
        stat(20, 1),
        stat(21, 20),
        stat(22, 21),
        stat(30, 1),
      ];
      const kinds = attributeProcesses(stats, [
        { pid: 10, kind: 'loadgen' },
        { pid: 11, kind: 'gateway' },
        { pid: 20, kind: 'peer', startTicks: 1000 },
      ]);
      expect(Object.fromEntries(kinds)).to.deep.equal({
        10: 'loadgen',
        11: 'gateway',
        12: 'gateway',
        13: 'loadgen',
        20: 'peer',
        21: 'peer',
        22: 'peer',
      });
    });

    it('ignores a tracked pid now used by another process, and survives a ppid cycle', () => {
      const kinds = attributeProcesses(
        [stat(5, 1, 999), stat(6, 5), stat(7, 8), stat(8, 7)],
        [{ pid: 5, kind: 'orderer', startTicks: 1000 }],
      );
      expect(kinds.size).to.equal(0);
    });
  });

  describe('on a fixture /proc', () => {
    let root: string;
    let procRoot: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(os.tmpdir(), 'bench-cpu-'));
      procRoot = path.join(root, 'proc');
      mkdirSync(path.join(root, 'repo', 'chaincode'), { recursive: true });
      mkdirSync(path.join(root, 'elsewhere'), { recursive: true });
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    const repo = (): string => path.join(root, 'repo');
    const network = (ticks: number): FakeProcess[] => [
      { pid: 1, ppid: 0, argv: ['/sbin/init'], cwd: '/' },
      { pid: 100, argv: ['peer', 'node', 'start'], cwd: repo(), utime: ticks, stime: ticks },
      { pid: 101, ppid: 100, argv: ['/bin/sh', 'builder/run'], cwd: repo(), utime: ticks },
      { pid: 200, argv: ['orderer'], cwd: repo(), utime: 2 * ticks },
      { pid: 300, argv: ['fabric-ca-server', 'start', '-b', 'admin:pw'], cwd: repo(), stime: ticks },
      {
        pid: 400,
        argv: ['node', `${repo()}/node_modules/.bin/fabric-chaincode-node`, 'server'],
        cwd: path.join(repo(), 'chaincode'),
        utime: 3 * ticks,
      },
      {
        pid: 500,
        ppid: 600,
        argv: ['node', `${repo()}/gateway-api/dist/main.js`],
        cwd: repo(),
        utime: ticks,
      },
      { pid: 600, argv: ['node', 'bench'], cwd: repo(), utime: 5 * ticks },
      // Another checkout's peer, and a peer that exits while /proc is read.
      { pid: 700, argv: ['peer', 'node', 'start'], cwd: path.join(root, 'elsewhere'), utime: 50 },
      { pid: 800, argv: ['peer', 'node', 'start'], cwd: repo(), noStat: true },
      // A process without a command line (kernel thread).
      { pid: 900, comm: 'kworker/0:1', ppid: 2, argv: [] },
    ];

    it('finds the network processes by command line, within the given folders', () => {
      writeProc(procRoot, network(10));
      const found = findNetworkProcesses({ procRoot, loadgenPid: 600, cwdWithin: [repo()] });
      expect(found).to.deep.equal([
        { pid: 100, kind: 'peer', startTicks: 1000 },
        { pid: 200, kind: 'orderer', startTicks: 1000 },
        { pid: 300, kind: 'ca', startTicks: 1000 },
        { pid: 400, kind: 'chaincode', startTicks: 1000 },
        { pid: 500, kind: 'gateway', startTicks: 1000 },
        { pid: 600, kind: 'loadgen', startTicks: 1000 },
      ]);
      const everywhere = findNetworkProcesses({ procRoot });
      expect(everywhere.map((p) => p.pid)).to.deep.equal([100, 200, 300, 400, 500, 700]);
    });

    it('sums CPU seconds per kind between samples, the load generator apart', () => {
      writeProc(procRoot, network(10));
      const tracked = findNetworkProcesses({ procRoot, loadgenPid: 600, cwdWithin: [repo()] });
      const before = sampleCpu(tracked, { procRoot });
      writeProc(procRoot, network(30));
      const usage = cpuSecondsBetween(before, sampleCpu(tracked, { procRoot }));
      const hz = clockTicksPerSecond();
      // Deltas in ticks: peer 20+20 and its builder 20; orderer 40; CA 20; chaincode 60; gateway 20; loadgen 100.
      expect(usage.byKind).to.deep.equal({
        peer: 60 / hz,
        orderer: 40 / hz,
        chaincode: 60 / hz,
        gateway: 20 / hz,
        ca: 20 / hz,
        loadgen: 100 / hz,
      });
      expect(usage.platformSeconds).to.equal(200 / hz);
      expect(usage.loadgenSeconds).to.equal(100 / hz);
      expect(usage.totalSeconds).to.equal(300 / hz);
      expect(usage.processes).to.equal(7);
      expect(usage.vanished).to.equal(0);
      expect(usage.wallSeconds).to.be.at.least(0);
    });

    it('counts new processes whole, and neither vanished ones nor a reused pid against the old one', () => {
      writeProc(procRoot, network(10));
      const tracked = findNetworkProcesses({ procRoot, loadgenPid: 600, cwdWithin: [repo()] });
      const before = sampleCpu(tracked, { procRoot });
      const later = network(10)
        // the builder script exited; the CA's pid now belongs to an unrelated process
        .filter((p) => p.pid !== 101 && p.pid !== 300)
        .concat([
          { pid: 300, argv: ['sleep', '1'], start: 5000, utime: 99 },
          // a helper the chaincode server started after the first sample
          { pid: 401, ppid: 400, argv: ['node', 'helper'], start: 4000, utime: 7 },
        ]);
      writeProc(procRoot, later);
      const usage = cpuSecondsBetween(before, sampleCpu(tracked, { procRoot }));
      const hz = clockTicksPerSecond();
      expect(usage.byKind.chaincode).to.equal(7 / hz);
      expect(usage.byKind.ca).to.equal(0);
      expect(usage.totalSeconds).to.equal(7 / hz);
      expect(usage.vanished).to.equal(2);
    });

    it('diffs a process tracked only in the later sample against its earlier time', () => {
      writeProc(procRoot, network(10));
      const before = sampleCpu([], { procRoot });
      writeProc(procRoot, network(12));
      const tracked = findNetworkProcesses({ procRoot, cwdWithin: [repo()] });
      const usage = cpuSecondsBetween(before, sampleCpu(tracked, { procRoot }));
      expect(usage.byKind.orderer).to.equal(4 / clockTicksPerSecond());
    });
  });

  describe('on this machine', () => {
    let dir: string;
    let child: ChildProcess | undefined;
    before(function () {
      if (process.platform !== 'linux') {
        this.skip();
      }
      dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cpu-live-'));
    });
    after(() => {
      child?.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads CLK_TCK once', () => {
      const hz = clockTicksPerSecond();
      expect(Number.isSafeInteger(hz) && hz > 0).to.equal(true);
      expect(clockTicksPerSecond()).to.equal(hz);
    });

    it('counts a busy gateway child as gateway and this process as loadgen', async () => {
      // A stand-in gateway: its path ends in gateway-api/dist/main.js; it spins, then idles.
      const main = path.join(dir, 'gateway-api', 'dist', 'main.js');
      mkdirSync(path.dirname(main), { recursive: true });
      writeFileSync(
        main,
        "process.stdin.once('data', () => { const end = Date.now() + 300; while (Date.now() < end); console.log('done'); });\nsetInterval(() => {}, 1000);\n",
      );
      const gateway = spawn(process.execPath, [main], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
      child = gateway;
      await new Promise((resolve) => setTimeout(resolve, 300)); // node start-up, before the first sample
      const tracked = findNetworkProcesses({ loadgenPid: process.pid, cwdWithin: [dir] });
      expect(tracked.map((p) => p.kind)).to.deep.equal(['gateway', 'loadgen']);
      const before = sampleCpu(tracked);
      gateway.stdin?.write('go\n');
      const end = Date.now() + 200;
      while (Date.now() < end); // the load generator's own work
      if (gateway.stdout === null) {
        throw new Error('no stdout pipe');
      }
      await once(gateway.stdout, 'data');
      const usage = cpuSecondsBetween(before, sampleCpu(tracked));
      expect(usage.byKind.gateway).to.be.greaterThan(0);
      expect(usage.loadgenSeconds).to.be.greaterThan(0);
      expect(usage.platformSeconds).to.equal(usage.byKind.gateway);
      expect(usage.vanished).to.equal(0);
    });
  });
});

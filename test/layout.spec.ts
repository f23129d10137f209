import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

/**
 * The layout's rules, checked on the tracked files: each package depends only on what its job
 * needs, nothing reaches into the chaincode's internals, and no source file grows into a second
 * concept. ESLint's max-lines covers TypeScript; this covers every source kind, shell included.
 */

const ROOT = path.join(__dirname, '..');
const MAX_SOURCE_LINES = 400;

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && existsSync(path.join(ROOT, file)));
}

function isTest(file: string): boolean {
  return /(^|\/)test\//.test(file) || /\.(spec|e2e)\.ts$/.test(file);
}

interface PackageJson {
  readonly name: string;
  readonly dependencies?: Readonly<Record<string, string>>;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Where Node would find `name` from `fromDir`: the nearest node_modules folder holding it. */
function packageDirOf(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) {
      return realpathSync(candidate);
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`${name} is not installed where ${fromDir} would find it`);
    }
  }
}

/** Every package a workspace package needs at run time: its production dependency closure. */
function productionClosure(packageDir: string): Set<string> {
  const seen = new Set<string>();
  const pending = [packageDir];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const name of Object.keys(readPackage(dir).dependencies ?? {})) {
      if (!seen.has(name)) {
        seen.add(name);
        pending.push(packageDirOf(name, dir));
      }
    }
  }
  return seen;
}

describe('repository layout', () => {
  const files = trackedFiles();

  it(`keeps every source file (TypeScript, JavaScript, shell; tests aside) within ${MAX_SOURCE_LINES} lines`, () => {
    const long = files
      .filter((file) => /\.(ts|js|mjs|cjs|sh)$/.test(file) && !isTest(file))
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_SOURCE_LINES);
    expect(long).to.deep.equal([]);
  });

  it("lets nothing outside chaincode/ import the chaincode's sources", () => {
    const reaching = files
      .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.startsWith('chaincode/'))
      .filter((file) =>
        /from '[^']*(chaincode\/src|@hems\/chaincode)[^']*'|require\('[^']*(chaincode\/src|@hems\/chaincode)/.test(
          readFileSync(path.join(ROOT, file), 'utf8'),
        ),
      );
    expect(reaching).to.deep.equal([]);
  });

  for (const workspace of ['protocol', 'gateway-api', 'device-client']) {
    it(`ships ${workspace} without the Fabric chaincode runtime (fabric-shim, fabric-contract-api)`, () => {
      const closure = productionClosure(path.join(ROOT, workspace));
      expect([...closure].filter((name) => /^fabric-(shim|contract-api)/.test(name))).to.deep.equal([]);
      expect(closure.has('@hems/chaincode')).to.equal(false);
      expect(closure.has('@hems/testkit')).to.equal(false);
    });
  }

  it('keeps the protocol free of Fabric and of every other workspace package', () => {
    const closure = productionClosure(path.join(ROOT, 'protocol'));
    expect([...closure].filter((name) => name.startsWith('@hems/') || name.includes('fabric'))).to.deep.equal(
      [],
    );
  });

  it('lets a device maker install the device client alone: packed with the protocol, no Fabric, a working CLI', function () {
    this.timeout(180_000);
    // Needs the built workspaces (npm test builds before the repository tests).
    const dir = mkdtempSync(path.join(tmpdir(), 'hems-device-maker-'));
    try {
      for (const workspace of ['protocol', 'device-client']) {
        execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
          cwd: path.join(ROOT, workspace),
          stdio: 'ignore',
        });
      }
      const tarballs = readdirSync(dir).filter((file) => file.endsWith('.tgz'));
      expect(tarballs).to.have.length(2);
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'device-maker', private: true }));
      execFileSync(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.map((file) => `./${file}`)],
        { cwd: dir, stdio: 'ignore' },
      );
      const installed = readdirSync(path.join(dir, 'node_modules'));
      expect(installed.filter((name) => name.includes('fabric'))).to.deep.equal([]);
      expect(readdirSync(path.join(dir, 'node_modules', '@hems')).sort()).to.deep.equal([
        'device-client',
        'protocol',
      ]);
      const usage = execFileSync(path.join(dir, 'node_modules', '.bin', 'hems-device'), ['--help'], {
        encoding: 'utf8',
      });
      expect(usage).to.match(/^Usage: hems-device <command>/);
      const exported = execFileSync(
        'node',
        ['-e', "console.log(typeof require('@hems/device-client').HemsClient)"],
        { cwd: dir, encoding: 'utf8' },
      );
      expect(exported.trim()).to.equal('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

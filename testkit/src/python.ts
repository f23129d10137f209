/**
 * The Python tools from PyPI that the e2e suites run (Schemathesis, openadr3-client): a Python
 * 3.12 or later to run them, and one virtual environment per pinned tool, cached under the home
 * folder like the Fabric binaries.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Python 3.12 or later: HEMS_PYTHON, on PATH, or one pyenv installed; `tool` names who needs it. */
export function findPython(tool: string): string {
  const candidates = [process.env.HEMS_PYTHON, 'python3.13', 'python3.12'];
  const pyenvRoot = process.env.PYENV_ROOT ?? path.join(homedir(), '.pyenv');
  const versions = path.join(pyenvRoot, 'versions');
  if (existsSync(versions)) {
    for (const version of readdirSync(versions).sort().reverse()) {
      if (/^3\.(1[2-9])\./.test(version)) {
        candidates.push(path.join(versions, version, 'bin', 'python3'));
      }
    }
  }
  for (const candidate of candidates) {
    if (candidate === undefined) {
      continue;
    }
    try {
      const version = execFileSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 12))'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (version.trim() === 'True') {
        return candidate;
      }
    } catch {
      // not this one
    }
  }
  throw new Error(`${tool} needs Python >= 3.12: install it (e.g. with pyenv) or set HEMS_PYTHON`);
}

/**
 * A program of the virtual environment at `root` with `requirements` installed: made on first
 * use (with a marker file written once pip has finished) and reused after.
 */
export function ensureVirtualEnv(
  root: string,
  requirements: readonly string[],
  tool: string,
  program: string,
): string {
  const executable = path.join(root, 'bin', program);
  const marker = path.join(root, '.installed');
  if (existsSync(marker) && existsSync(executable)) {
    return executable;
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.dirname(root), { recursive: true });
  execFileSync(findPython(tool), ['-m', 'venv', root], { stdio: 'inherit' });
  execFileSync(
    path.join(root, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', ...requirements],
    { stdio: 'inherit' },
  );
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return executable;
}

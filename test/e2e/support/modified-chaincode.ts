import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, openSync } from 'node:fs';
import path from 'node:path';
import { network } from './network';
import { E2E_STATE_DIR } from './network';

/**
 * A utility that runs modified chaincode on its own peer, as Fabric allows: each org's peer dials
 * its own chaincode server (chaincode as a service), and nothing checks the code a server runs.
 * The modified server is the genuine build plus an `adversary` contract that writes and deletes
 * any key, public or in the org's collection. What it writes commits only where the org's own
 * endorsement satisfies the key's policy: keys under a key-level policy naming that org's peer.
 */

/** The adversary contract, in plain JavaScript next to the genuine build (no decorators: every method is a transaction). */
const ADVERSARY_INDEX = `'use strict';
const path = require('path');
const genuineDir = process.env.GENUINE_CC_DIR;
const genuine = require(path.join(genuineDir, require(path.join(genuineDir, 'package.json')).main));
const { Contract } = require(require.resolve('fabric-contract-api', { paths: [genuineDir] }));

class Adversary extends Contract {
  constructor() {
    super('adversary');
  }
  async PutComposite(ctx, objectType, attributes, value) {
    await ctx.stub.putState(ctx.stub.createCompositeKey(objectType, JSON.parse(attributes)), Buffer.from(value));
    return '{}';
  }
  async DeleteComposite(ctx, objectType, attributes) {
    await ctx.stub.deleteState(ctx.stub.createCompositeKey(objectType, JSON.parse(attributes)));
    return '{}';
  }
  async GetComposite(ctx, objectType, attributes) {
    const bytes = await ctx.stub.getState(ctx.stub.createCompositeKey(objectType, JSON.parse(attributes)));
    return Buffer.from(bytes).toString('utf8');
  }
}

module.exports.contracts = [...genuine.contracts, Adversary];
`;

interface ServerEnv {
  readonly CC_DIR: string;
  readonly CC_SHIM: string;
  readonly CORE_CHAINCODE_ID: string;
  readonly CORE_CHAINCODE_ADDRESS: string;
  readonly CORE_PEER_LOCALMSPID: string;
}

function readServerEnv(name: string): ServerEnv {
  const text = readFileSync(path.join(E2E_STATE_DIR, 'chaincode', 'servers', `${name}.env`), 'utf8');
  const entries = text
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries) as unknown as ServerEnv;
}

/** The org key of deploy-chaincode.sh (utilitya for UtilityAMSP). */
function orgKey(mspId: string): string {
  return mspId.replace(/MSP$/, '').toLowerCase();
}

export interface ModifiedServer {
  /** Stops the modified server and starts the org's genuine one again. */
  restore(): Promise<void>;
}

/** Replaces the chaincode server of `mspId`'s peer with the modified one (same package id and address). */
export async function runModifiedChaincode(mspId: string): Promise<ModifiedServer> {
  const name = `cc-hems-${orgKey(mspId)}`;
  const env = readServerEnv(name);
  const dir = path.join(E2E_STATE_DIR, 'adversary-chaincode');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'adversary', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), ADVERSARY_INDEX);
  await network('stop-node', name);
  const log = openSync(path.join(E2E_STATE_DIR, 'logs', `${name}-modified.log`), 'a');
  const child: ChildProcess = spawn(process.execPath, [env.CC_SHIM, 'server'], {
    cwd: dir,
    env: { ...process.env, ...env, GENUINE_CC_DIR: env.CC_DIR },
    stdio: ['ignore', log, log],
  });
  await waitForPort(env.CORE_CHAINCODE_ADDRESS, child);
  return {
    async restore(): Promise<void> {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(undefined);
        } else {
          child.once('exit', resolve);
        }
      });
      await network('start-node', name);
    },
  };
}

async function waitForPort(address: string, child: ChildProcess): Promise<void> {
  const [host, port] = address.split(':');
  const { connect } = await import('node:net');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the modified chaincode server exited with ${child.exitCode}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), host ?? '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`the modified chaincode server does not listen on ${address}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

#!/usr/bin/env node
// Generates the chaincode's contract metadata with fabric-chaincode-node (from the built
// chaincode/dist) and checks it against the protocol's transaction names both ways: every
// transaction of the public interface is listed, and the chaincode exposes nothing the protocol
// does not name. The protocol package is built before this runs.
'use strict';

const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { TRANSACTIONS } = require('../protocol/dist/names.js');

// fabric-contract-api adds this system contract (GetMetadata) to every chaincode.
const SYSTEM_CONTRACT = 'org.hyperledger.fabric';

/** Prints the problems of one contract's listed transactions; returns how many there are. */
function checkContract(contract, expected, listed) {
  let problems = 0;
  for (const name of expected) {
    if (!listed.includes(name)) {
      console.error(`missing transaction ${contract}:${name}`);
      problems += 1;
    }
  }
  for (const name of listed) {
    if (!expected.includes(name)) {
      console.error(`unexpected transaction ${contract}:${name} (not named in @hems/protocol)`);
      problems += 1;
    }
  }
  return problems;
}

const chaincodeDir = path.join(__dirname, '..', 'chaincode');
const dir = mkdtempSync(path.join(tmpdir(), 'hems-metadata-'));
const file = path.join(dir, 'metadata.json');
try {
  execFileSync(
    path.join(__dirname, '..', 'node_modules', '.bin', 'fabric-chaincode-node'),
    ['metadata', 'generate', '--file', file, '--module-path', chaincodeDir],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, CORE_CHAINCODE_LOGGING_LEVEL: 'error' },
    },
  );
  const metadata = JSON.parse(readFileSync(file, 'utf8'));
  let problems = 0;
  for (const [contract, names] of Object.entries(TRANSACTIONS)) {
    const listed = (metadata.contracts[contract]?.transactions ?? []).map((tx) => tx.name);
    problems += checkContract(contract, names, listed);
    console.log(`${contract}: ${listed.length} transactions: ${listed.join(', ')}`);
  }
  for (const contract of Object.keys(metadata.contracts)) {
    if (contract !== SYSTEM_CONTRACT && !Object.hasOwn(TRANSACTIONS, contract)) {
      console.error(`unexpected contract ${contract} (not named in @hems/protocol)`);
      problems += 1;
    }
  }
  if (problems > 0) {
    process.exitCode = 1;
  } else {
    console.log('metadata: every transaction of the public interface is listed');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

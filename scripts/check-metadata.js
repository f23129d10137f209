#!/usr/bin/env node
// Generates the chaincode's contract metadata with fabric-chaincode-node (from the built
// chaincode/dist) and checks that every transaction of the public interface is listed.
'use strict';

const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const EXPECTED = {
  timeslot: [
    'OpenSlot',
    'GetSlot',
    'ListSlots',
    'SubmitForecast',
    'ListForecastRefs',
    'PublishAggregate',
    'PublishDispatch',
    'GetAllowedPower',
    'ReportConsumption',
    'ListConsumptionRefs',
    'PublishConsumption',
    'GetHomeRef',
    'SettleSlot',
    'PurgeForecasts',
    'GetSlotHistory',
    'VerifyForecastProof',
  ],
  governance: [
    'RegisterOrgCAs',
    'GetOrgCAs',
    'RevokeDeviceCertificate',
    'GetRevocations',
    'SetEnrolledHomes',
    'GetEnrolment',
    'SetHomeRefSecret',
    'GetSettings',
    'ProposeSettings',
    'ApproveSettings',
    'GetSettingsProposal',
  ],
  auction: [
    'OpenTradingWindow',
    'GetWindow',
    'ListWindows',
    'PostAvailableEnergy',
    'SubmitOrder',
    'CancelOrder',
    'ListOrderRefs',
    'RevealOrders',
    'ClearWindow',
    'GetClearing',
    'AuditClearing',
    'ReleaseEscrow',
    'ReportDelivery',
    'SettleWindow',
    'ClaimGridShare',
  ],
  token: ['Deposit', 'GetAccount', 'GetAccountHistory', 'GetMyAccount', 'GetAccountId'],
};

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
  let missing = 0;
  for (const [contract, names] of Object.entries(EXPECTED)) {
    const listed = (metadata.contracts[contract]?.transactions ?? []).map((tx) => tx.name);
    for (const name of names) {
      if (!listed.includes(name)) {
        console.error(`missing transaction ${contract}:${name}`);
        missing += 1;
      }
    }
    console.log(`${contract}: ${listed.length} transactions: ${listed.join(', ')}`);
  }
  if (missing > 0) {
    process.exitCode = 1;
  } else {
    console.log('metadata: every transaction of the public interface is listed');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

#!/usr/bin/env node
// Prints what a developer needs after `npm run network:up`: endpoints, identities, logs.
import path from 'node:path';
import { loadNetworkDescription } from '../network-description';

const description = loadNetworkDescription();
const lines: string[] = [];
lines.push(
  `\nchannel ${description.channel}, chaincode ${description.chaincode}, state ${description.stateDir}`,
);
lines.push('\npeers:');
for (const peer of description.peers) {
  lines.push(
    `  ${peer.mspId.padEnd(14)} ${peer.endpoint.padEnd(16)} operations http://${peer.operationsEndpoint}/healthz`,
  );
}
lines.push('orderers (Raft):');
for (const orderer of description.orderers) {
  lines.push(
    `  ${orderer.name.padEnd(14)} ${orderer.endpoint.padEnd(16)} operations http://${orderer.operationsEndpoint}/healthz`,
  );
}
lines.push('certificate authorities:');
for (const ca of description.certificateAuthorities) {
  lines.push(`  ${ca.mspId.padEnd(14)} ${ca.url} (${ca.caName})`);
}
lines.push('identities (MSP folders under orgs/):');
for (const mspId of [...new Set(description.identities.map((identity) => identity.mspId))]) {
  const names = description.identities
    .filter((identity) => identity.mspId === mspId && identity.type !== 'peer' && identity.type !== 'orderer')
    .map(
      (identity) =>
        `${identity.name}${identity.attributes['hems.role'] ? `(${identity.attributes['hems.role']})` : ''}`,
    );
  lines.push(`  ${mspId.padEnd(14)} ${names.join(' ')}`);
}
lines.push(`logs: ${path.join(description.stateDir, 'logs')}`);
lines.push('stop: npm run network:down    delete everything: npm run network:reset');
console.log(lines.join('\n'));

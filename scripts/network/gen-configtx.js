#!/usr/bin/env node
'use strict';
const USAGE = `Write the configtx.yaml for channel \`hems\` from Fabric's sampleconfig configtx.yaml.

    gen-configtx.js SAMPLE_CONFIGTX.yaml OUT_DIR < spec.yaml

Why generated: the sample file's Capabilities, Application defaults (ACLs,
lifecycle/endorsement policies), Orderer defaults (batching, Raft options) and
Channel policies are kept as Fabric ships them; only the project's organizations,
the three Raft consenters and one profile (HemsChannel, no system channel) are
added. Paths in the spec are absolute, so OUT_DIR can be anywhere.

spec.yaml (written by scripts/network/network.sh):
  batchTimeout: 500ms
  consenters: [{host, port, cert}]         # cert = TLS cert of the orderer
  orderers: {name, mspdir, endpoints: [host:port]}
  peerOrgs: [{name, mspdir, anchor: {host, port}}]`;

const fs = require('fs');
const path = require('path');

// The repository's own copy of the npm package "yaml" (devDependency).
const repoRoot = path.resolve(__dirname, '..', '..');
const YAML = require(require.resolve('yaml', { paths: [repoRoot] }));

// Like PyYAML's safe_load: merge keys (<<: *anchor) resolved, aliases expanded.
const loadYaml = (text) => YAML.parse(text, { merge: true });
// Plain YAML: no anchors/aliases for shared objects, no line folding.
const dumpYaml = (obj) => YAML.stringify(obj, { aliasDuplicateObjects: false, lineWidth: 0 });

function orgPolicies(msp, withOrderer = false) {
  const readers = [`'${msp}.admin'`, `'${msp}.peer'`, `'${msp}.client'`];
  if (withOrderer) readers.push(`'${msp}.orderer'`);

  const sig = (rule) => ({ Type: 'Signature', Rule: rule });

  const writers = [`'${msp}.admin'`, `'${msp}.client'`];
  if (withOrderer) {
    // Orderer nodes sign the blocks they cut; peers check blocks against the
    // orderer group's BlockValidation policy (ANY Writers), so they must count.
    writers.push(`'${msp}.orderer'`);
  }
  return {
    Readers: sig(`OR(${readers.join(', ')})`),
    Writers: sig(`OR(${writers.join(', ')})`),
    Admins: sig(`OR('${msp}.admin')`),
    // Peers of the org endorse; used by the channel-wide MAJORITY Endorsement.
    Endorsement: sig(`OR('${msp}.peer')`),
  };
}

function main(argv) {
  if (argv.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(1);
  }
  const [samplePath, outDir] = argv;
  const sample = loadYaml(fs.readFileSync(samplePath, 'utf8')); // resolves the sample's anchors and merge keys
  const spec = loadYaml(fs.readFileSync(0, 'utf8'));

  const ordSpec = spec.orderers;
  const ordererOrg = {
    Name: ordSpec.name,
    ID: ordSpec.name,
    MSPDir: ordSpec.mspdir,
    Policies: orgPolicies(ordSpec.name, true),
    // Per-org orderer endpoints (the global Orderer.Addresses form is deprecated).
    OrdererEndpoints: ordSpec.endpoints,
  };
  const peerOrgs = spec.peerOrgs.map((o) => ({
    Name: o.name,
    ID: o.name,
    MSPDir: o.mspdir,
    Policies: orgPolicies(o.name),
    // Anchor peers go straight into the genesis block: cross-org gossip
    // (private data dissemination, discovery) works from block 0.
    AnchorPeers: [{ Host: o.anchor.host, Port: o.anchor.port }],
  }));

  const caps = sample.Capabilities;
  const application = { ...sample.Application };
  application.Capabilities = caps.Application; // V2_5 (purge of private data)
  application.Organizations = peerOrgs;

  const orderer = { ...sample.Orderer };
  delete orderer.Kafka;
  orderer.OrdererType = 'etcdraft';
  orderer.Addresses = [];
  orderer.BatchTimeout = 'batchTimeout' in spec ? spec.batchTimeout : orderer.BatchTimeout;
  orderer.EtcdRaft = {
    Consenters: spec.consenters.map((c) => ({
      Host: c.host,
      Port: c.port,
      ClientTLSCert: c.cert,
      ServerTLSCert: c.cert,
    })),
    Options: sample.Orderer.EtcdRaft.Options,
  };
  orderer.Organizations = [ordererOrg];
  orderer.Capabilities = caps.Orderer;

  const channel = { ...sample.Channel };
  channel.Capabilities = caps.Channel;

  const profile = { ...channel };
  profile.Orderer = orderer;
  profile.Application = application;

  const out = {
    Organizations: [ordererOrg, ...peerOrgs],
    Capabilities: caps,
    Application: application,
    Orderer: orderer,
    Channel: channel,
    Profiles: { HemsChannel: profile },
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'configtx.yaml'), dumpYaml(out));
}

main(process.argv.slice(2));

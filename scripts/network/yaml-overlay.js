#!/usr/bin/env node
'use strict';
const USAGE = `Apply a YAML overlay to a Fabric config file (core.yaml / orderer.yaml).

    yaml-overlay.js BASE.yaml OUT.yaml < overlay.yaml

Why: the network scripts start from Fabric's own sampleconfig (shipped with the
pinned release) and only state what differs for this project (ports, paths, TLS,
builders, ...). Mappings are merged key by key, recursively; every other value in
the overlay (scalars and lists) replaces the base value. Comments and anchors of
the base file are not preserved in OUT (Fabric does not need them).
Needs Node.js and the npm package "yaml" (a devDependency of the repository).`;

const fs = require('fs');
const path = require('path');

// The repository's own copy of the npm package "yaml" (devDependency).
const repoRoot = path.resolve(__dirname, '..', '..');
const YAML = require(require.resolve('yaml', { paths: [repoRoot] }));

// Like PyYAML's safe_load: merge keys (<<: *anchor) resolved, aliases expanded.
const loadYaml = (text) => YAML.parse(text, { merge: true });
// Plain YAML: no anchors/aliases for shared objects, no line folding.
const dumpYaml = (obj) => YAML.stringify(obj, { aliasDuplicateObjects: false, lineWidth: 0 });
const isMapping = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function merge(base, over) {
  if (isMapping(base) && isMapping(over)) {
    const out = { ...base };
    for (const [key, value] of Object.entries(over)) {
      out[key] = Object.prototype.hasOwnProperty.call(base, key) ? merge(base[key], value) : value;
    }
    return out;
  }
  return over;
}

function main(argv) {
  if (argv.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(1);
  }
  const [basePath, outPath] = argv;
  const base = loadYaml(fs.readFileSync(basePath, 'utf8'));
  const overlay = loadYaml(fs.readFileSync(0, 'utf8')) || {};
  fs.writeFileSync(path.resolve(outPath), dumpYaml(merge(base, overlay)));
}

main(process.argv.slice(2));

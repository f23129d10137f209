#!/usr/bin/env bash
# npm run network:up — from a fresh machine to a running network with the HEMS chaincode:
# installs Fabric if missing (Go module proxy, cached under ~/.cache/hems-fabric), builds the
# TypeScript packages, starts CAs/orderers/peers, deploys the chaincode as a service with the
# repo's collections config, registers each utility's trust anchors in it, and prints a summary.
# Safe to run again on a running network.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."
t0=$(date +%s)

bash "$here/install-fabric.sh"
echo "== building chaincode and network client"
npm run --silent build
bash "$here/network.sh" up
echo "== deploying chaincode 'hems' (MAJORITY endorsement, network/collections_config.json)"
bash "$here/deploy-chaincode.sh"
echo "== registering the utilities' CA certificates, secrets and enrolment in the chaincode"
node network/client/dist/bin/bootstrap.js
node network/client/dist/bin/summary.js
echo "network:up finished in $(( $(date +%s) - t0 ))s"

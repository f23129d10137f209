#!/usr/bin/env bash
# Native Hyperledger Fabric network on loopback (no Docker): one Fabric CA per org,
# 3 Raft orderers (OrdererMSP), one LevelDB peer for each of DSOMSP, UtilityAMSP,
# UtilityBMSP, RegulatorMSP, application channel `hems` (no system channel).
#
#   scripts/network/network.sh up       # create what is missing, start what is stopped (idempotent)
#   scripts/network/network.sh down     # stop the processes this script started (PID files)
#   scripts/network/network.sh reset    # down + delete network/.state
#   scripts/network/network.sh status   # processes, ports and health
#   scripts/network/network.sh stop-node <name>    # stop one process (fault tests), e.g.
#                                                  # orderer2, peer0.utilitya, cc-hems-utilitya
#   scripts/network/network.sh start-node <name>   # start it again as up/deploy did; waits for health
#
# `up` also writes network/.state/network.json (endpoints, TLS roots, CAs and
# identities with their MSP folders) for TypeScript clients.
#
# Chaincode: scripts/network/deploy-chaincode.sh. End-to-end check:
# scripts/network/smoke-test.sh. CLI as an org admin: source scripts/network/peer-env.sh <org>.
#
# The work is split by concern into files sourced below: identities.sh (Fabric CAs, enrolment,
# TLS), config.sh (network.json, core.yaml/orderer.yaml), channel.sh (genesis block, joins, Raft
# leader), nodes.sh (node environment, chaincode servers, single nodes); this file holds the
# commands.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=identities.sh
source "$NET_SCRIPTS/identities.sh"
# shellcheck source=config.sh
source "$NET_SCRIPTS/config.sh"
# shellcheck source=channel.sh
source "$NET_SCRIPTS/channel.sh"
# shellcheck source=nodes.sh
source "$NET_SCRIPTS/nodes.sh"

preflight() {
  "$NET_SCRIPTS/install-fabric.sh"   # no-op when the binaries are installed
  command -v curl >/dev/null || die "curl is required (health checks)"
  command -v node >/dev/null || die "node is required (config generation, network.json, chaincode servers)"
  # yaml-overlay.js / gen-configtx.js use the repository's own npm package "yaml".
  node -e 'require.resolve("yaml", { paths: [process.argv[1]] })' "$REPO_ROOT" 2>/dev/null \
    || die "npm package 'yaml' not found under $REPO_ROOT/node_modules: run npm install in $REPO_ROOT"
  command -v setsid >/dev/null || die "setsid (util-linux) is required"
  local p
  for p in "${CA_PORT[@]}" "${CA_OPS_PORT[@]}" "${PEER_PORT[@]}" "${ORD_PORT[@]}" "${ORD_ADMIN_PORT[@]}" "${ORD_OPS_PORT[@]}"; do
    [[ "$p" =~ ^[0-9]+$ ]] || die "bad port $p"
  done
}

cmd_up() {
  local t0; t0=$(date +%s)
  preflight
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  log "state: $STATE"

  local k o
  log "starting Fabric CAs"
  for k in "${ORG_KEYS[@]}"; do start_ca "$k"; done
  for k in "${ORG_KEYS[@]}"; do
    wait_healthz "ca.$k" "http://127.0.0.1:${CA_OPS_PORT[$k]}/healthz" 60
    # The operations server comes up before the CA API; also wait for the API
    # itself over TLS (this also proves the CA's TLS certificate chain).
    wait_healthz "ca.$k" "https://$HOST:${CA_PORT[$k]}/cainfo" 60 --cacert "$STATE/ca/$k/ca-cert.pem"
  done
  log "registering and enrolling identities"
  setup_all_identities
  write_network_json

  # Orderers and peers start together (peers retry until the orderers serve the
  # channel); the slow parts (Raft election after a restart, peer start-up) overlap.
  log "starting orderers and peers"
  for o in "${ORDERERS[@]}"; do
    write_orderer_config "$o"
    node_env "$o" > "$(node_cfg "$o")/env"
    start_bg "$o" "$(node_cfg "$o")" "$(node_cfg "$o")/env" orderer
  done
  for k in "${PEER_ORG_KEYS[@]}"; do
    write_peer_config "$k"
    node_env "peer0.$k" > "$(node_cfg "peer0.$k")/env"
    start_bg "peer0.$k" "$(node_cfg "peer0.$k")" "$(node_cfg "peer0.$k")/env" peer node start
  done
  for o in "${ORDERERS[@]}"; do wait_healthz "$o" "http://127.0.0.1:${ORD_OPS_PORT[$o]}/healthz" 60; done
  genesis_block
  join_orderers
  for k in "${PEER_ORG_KEYS[@]}"; do wait_healthz "peer0.$k" "http://127.0.0.1:$(peer_ops_port "$k")/healthz" 90; done
  join_peers
  start_chaincode_servers
  wait_raft_leader 60
  log "network up in $(( $(date +%s) - t0 ))s"
  cmd_status
}

cmd_down() {
  local f name
  [[ -d "$PIDS" ]] || { log "nothing to stop"; return 0; }
  shopt -s nullglob
  # Reverse dependency order: chaincode servers, peers, orderers, CAs.
  for f in "$PIDS"/cc-*.pid; do stop_bg "$(basename "$f" .pid)"; done
  for f in "$PIDS"/peer0.*.pid; do stop_bg "$(basename "$f" .pid)"; done
  for f in "$PIDS"/orderer*.pid; do stop_bg "$(basename "$f" .pid)"; done
  for f in "$PIDS"/ca.*.pid; do stop_bg "$(basename "$f" .pid)"; done
  for f in "$PIDS"/*.pid; do stop_bg "$(basename "$f" .pid)"; done
  shopt -u nullglob
  log "network down"
}

cmd_reset() {
  cmd_down
  [[ "$STATE" == */network/.state || -n "${HEMS_NETWORK_STATE:-}" ]] || die "refusing to delete unexpected state dir $STATE"
  rm -rf "$STATE"
  log "deleted $STATE"
}

cmd_status() {
  local name pid rss total=0
  [[ -d "$PIDS" ]] || { echo "network not initialised ($STATE)"; return 0; }
  printf '%-26s %-8s %-9s %s\n' PROCESS PID RSS_MB ENDPOINTS
  while read -r name; do
    [[ -n "$name" ]] || continue
    if pid_alive "$name"; then
      pid=$(<"$PIDS/$name.pid")
      rss=$(ps -o rss= -p "$pid" | tr -d ' '); total=$(( total + rss ))
      printf '%-26s %-8s %-9s %s\n' "$name" "$pid" "$(( rss / 1024 ))" \
        "$(ss -Hltnp 2>/dev/null | grep "pid=$pid," | awk '{print $4}' | sort -u | tr '\n' ' ')"
    elif [[ -f "$PIDS/$name.pid" ]]; then
      printf '%-26s %-8s %-9s %s\n' "$name" "-" "-" "NOT RUNNING (exited; see $LOGS/$name.log)"
    else
      printf '%-26s %-8s %-9s %s\n' "$name" "-" "-" "stopped"
    fi
  done < <(known_nodes)
  echo "total RSS: $(( total / 1024 )) MB"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  stop-node|start-node)
    [[ $# -eq 2 ]] || { echo "usage: $0 $1 <name>  (see: $0 status)" >&2; exit 2; }
    [[ -d "$PIDS" ]] || die "network not initialised ($STATE)"
    if [[ "$1" == stop-node ]]; then cmd_stop_node "$2"; else cmd_start_node "$2"; fi ;;
  *) echo "usage: $0 up|down|reset|status|stop-node <name>|start-node <name>" >&2; exit 2 ;;
esac

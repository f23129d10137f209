# shellcheck shell=bash
# Node processes (sourced by network.sh after lib.sh): their environment, the chaincode servers
# restarted by `up`, and stopping or starting a single node (fault tests).

# Chaincode servers recorded by deploy-chaincode.sh are restarted by `up`.
start_chaincode_servers() {
  local f name started=()
  shopt -s nullglob
  for f in "$STATE"/chaincode/servers/*.env; do
    name=$(basename "$f" .env)
    local CC_DIR CC_SHIM
    CC_DIR=$(sed -n 's/^CC_DIR=//p' "$f"); CC_SHIM=$(sed -n 's/^CC_SHIM=//p' "$f")
    [[ -x "$CC_SHIM" ]] || { log "skip $name: $CC_SHIM missing (deploy again)"; continue; }
    start_bg "$name" "$CC_DIR" "$f" "$CC_SHIM" server
    started+=("$f")
  done
  shopt -u nullglob
  # Start all first, then wait: node start-up (~2 s each) overlaps.
  for f in "${started[@]}"; do
    wait_port "$(basename "$f" .env)" "$(sed -n 's/^CORE_CHAINCODE_ADDRESS=.*://p' "$f")" 60
  done
}

# Environment of a Fabric node process: its config folder, and a log format
# without colour codes (the sample format has them; logs here are files).
node_env() { # <node name>
  echo "FABRIC_CFG_PATH=$(node_cfg "$1")"
  echo "FABRIC_LOGGING_FORMAT='%{time:2006-01-02 15:04:05.000 MST} [%{module}] %{shortfunc} -> %{level:.4s} %{id:03x} %{message}'"
  echo "FABRIC_LOGGING_SPEC=\"${FABRIC_LOGGING_SPEC:-INFO}\""
}

# Every process this script or deploy-chaincode.sh started: a PID file while
# running, a .cmd record (start_bg) as long as the state exists.
known_nodes() {
  local f
  shopt -s nullglob
  for f in "$PIDS"/*.pid "$PIDS"/*.cmd; do f=$(basename "$f"); echo "${f%.*}"; done | sort -u
  shopt -u nullglob
}

# ---- single nodes (fault tests) -------------------------------------------------
check_node_name() { # <name>
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad node name '$1'"
  [[ -f "$PIDS/$1.cmd" || -f "$PIDS/$1.pid" ]] \
    || die "unknown node '$1'; known: $(known_nodes | tr '\n' ' ')"
}

cmd_stop_node() { # <name>
  local name="$1"
  check_node_name "$name"
  if pid_alive "$name"; then stop_bg "$name"; else log "$name is not running"; rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"; fi
}

# Start one node again as up / deploy-chaincode.sh started it, then wait until
# it is healthy: /healthz for CAs, orderers and peers, the port for chaincode
# servers; for orderers also until channel hems has a Raft leader with a quorum.
cmd_start_node() { # <name>
  local name="$1" k envf port
  check_node_name "$name"
  start_recorded "$name"
  case "$name" in
    ca.*)
      k="${name#ca.}"
      [[ -n "${CA_OPS_PORT[$k]:-}" ]] || die "no CA for org '$k'"
      wait_healthz "$name" "http://127.0.0.1:${CA_OPS_PORT[$k]}/healthz" 60
      wait_healthz "$name" "https://$HOST:${CA_PORT[$k]}/cainfo" 60 --cacert "$STATE/ca/$k/ca-cert.pem" ;;
    peer0.*)
      k="${name#peer0.}"
      [[ -n "${PEER_PORT[$k]:-}" ]] || die "no peer org '$k'"
      wait_healthz "$name" "http://127.0.0.1:$(peer_ops_port "$k")/healthz" 90 ;;
    cc-*)
      envf=$(recorded_env "$name")
      port=$(sed -n 's/^CORE_CHAINCODE_ADDRESS=.*://p' "$envf" 2>/dev/null)
      [[ "$port" =~ ^[0-9]+$ ]] || die "no CORE_CHAINCODE_ADDRESS in $envf"
      wait_port "$name" "$port" 60 ;;
    *)
      if [[ -n "${ORD_OPS_PORT[$name]:-}" ]]; then
        wait_healthz "$name" "http://127.0.0.1:${ORD_OPS_PORT[$name]}/healthz" 60
        # Restarting the Raft leader leaves the channel without a leader for a few
        # seconds; transactions sent then can get lost. Return once there is one again.
        wait_raft_leader 60
      else
        sleep 1; pid_alive "$name" || die "$name exited; see $LOGS/$name.log"
      fi ;;
  esac
  log "$name is up (pid $(<"$PIDS/$name.pid"))"
}

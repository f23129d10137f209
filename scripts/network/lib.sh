# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source this file
# Shared definitions for the native (Docker-free) Fabric network on loopback.
# Sourced by network.sh, deploy-chaincode.sh, smoke-test.sh and peer-env.sh.
#
# Everything generated (keys, certificates, ledgers, logs, PID files) lives in
# network/.state/ and nowhere else.

NET_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$NET_SCRIPTS/../.." && pwd)"
NETWORK_DIR="$REPO_ROOT/network"
STATE="${HEMS_NETWORK_STATE:-$NETWORK_DIR/.state}"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"   # absolute: processes run in other dirs
CCAAS_BUILDER="$NETWORK_DIR/builders/ccaas"

# Binaries and Fabric's sampleconfig, installed by install-fabric.sh.
eval "$("$NET_SCRIPTS/install-fabric.sh" --print-env)"
export PATH="$FABRIC_BIN:$PATH"

CHANNEL="hems"
CHAINCODE_NAME="hems"   # default of deploy-chaincode.sh --name; also in network.json
HOST="localhost"   # every endpoint; TLS certs carry SANs localhost + 127.0.0.1

# ---- organizations ---------------------------------------------------------
# key | MSP ID | CA port | CA operations port
# Peer orgs additionally: peer port (+1 chaincode listener, +10000 operations)
# and the port of that org's chaincode-as-a-service server.
ORG_KEYS=(orderer dso utilitya utilityb regulator)
PEER_ORG_KEYS=(dso utilitya utilityb regulator)
declare -A MSP=( [orderer]=OrdererMSP [dso]=DSOMSP [utilitya]=UtilityAMSP [utilityb]=UtilityBMSP [regulator]=RegulatorMSP )
declare -A CA_PORT=( [orderer]=7054 [dso]=7154 [utilitya]=7254 [utilityb]=7354 [regulator]=7454 )
declare -A CA_OPS_PORT=( [orderer]=17054 [dso]=17154 [utilitya]=17254 [utilityb]=17354 [regulator]=17454 )
declare -A PEER_PORT=( [dso]=8051 [utilitya]=8151 [utilityb]=8251 [regulator]=8351 )
declare -A CC_SERVER_PORT=( [dso]=8059 [utilitya]=8159 [utilityb]=8259 [regulator]=8359 )
peer_cc_port()  { echo $(( PEER_PORT[$1] + 1 )); }
peer_ops_port() { echo $(( PEER_PORT[$1] + 10000 )); }

# Raft orderers (OrdererMSP): name | gRPC (clients + Raft cluster) | admin (osnadmin) | operations
ORDERERS=(orderer1 orderer2 orderer3)
declare -A ORD_PORT=( [orderer1]=7050 [orderer2]=7150 [orderer3]=7250 )
declare -A ORD_ADMIN_PORT=( [orderer1]=7053 [orderer2]=7153 [orderer3]=7253 )
declare -A ORD_OPS_PORT=( [orderer1]=17050 [orderer2]=17150 [orderer3]=17250 )

# ---- paths -----------------------------------------------------------------
org_dir()    { echo "$STATE/orgs/$1"; }                  # org MSP, identities, secrets
org_msp()    { echo "$STATE/orgs/$1/msp"; }               # the org's (channel) MSP
org_ca_pem() { echo "$STATE/orgs/$1/msp/cacerts/ca.pem"; } # root CA == TLS CA of the org
admin_msp()  { echo "$STATE/orgs/$1/users/orgadmin/msp"; }
peer_home()  { echo "$STATE/orgs/$1/peers/peer0"; }        # msp/ + tls/
ord_home()   { echo "$STATE/orgs/orderer/orderers/$1"; }
node_cfg()   { echo "$STATE/config/$1"; }                   # FABRIC_CFG_PATH of a node
LOGS="$STATE/logs"
PIDS="$STATE/pids"

# ---- logging -----------------------------------------------------------------
log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# ---- processes -----------------------------------------------------------------
# A process that exists and has not exited. An exited child of PID 1 stays a
# zombie until PID 1 reaps it (some container init processes take ~2 s), and
# kill -0 still succeeds on zombies.
proc_live() { # <pid>
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }                 # fields after "(comm) "; the first is the state
  [[ -n "$st" && "${st%% *}" != Z ]]
}

# A PID file is only trusted when that PID is alive and still runs the binary we
# started (guards against PID reuse after a reboot or crash).
pid_alive() { # <name> -> 0 if running
  local f="$PIDS/$1.pid" pid exe
  [[ -f "$f" ]] || return 1
  pid=$(<"$f")
  [[ -n "$pid" ]] && proc_live "$pid" || return 1
  exe=$(cat "$PIDS/$1.exe" 2>/dev/null || true)
  [[ -z "$exe" ]] || tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$exe"
}

# Start a long-running process in its own session (so it survives the calling
# shell and never receives its terminal's signals), logging to $LOGS/<name>.log.
# How it was started (working dir, env file, command) is recorded in
# $PIDS/<name>.cmd, so `network.sh start-node <name>` can start it again alone.
start_bg() { # <name> <workdir> <env-file or -> <cmd...>
  local name="$1" wd="$2" envf="$3"; shift 3
  mkdir -p "$LOGS" "$PIDS"
  if pid_alive "$name"; then log "$name already running (pid $(<"$PIDS/$name.pid"))"; return 0; fi
  (
    umask 077   # the CA command line carries its bootstrap secret
    {
      printf '# %s, recorded by start_bg (lib.sh); replayed by network.sh start-node\n' "$name"
      printf 'NODE_WD=%q\n' "$wd"
      printf 'NODE_ENV=%q\n' "$envf"
      printf 'NODE_CMD=('; printf ' %q' "$@"; printf ' )\n'
    } > "$PIDS/$name.cmd.tmp"
  )
  mv "$PIDS/$name.cmd.tmp" "$PIDS/$name.cmd"
  (
    cd "$wd" || exit 1
    if [[ "$envf" != "-" ]]; then set -a; # shellcheck disable=SC1090
      source "$envf"; set +a; fi
    exec setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null
  ) &
  echo $! > "$PIDS/$name.pid"
  echo "$1" > "$PIDS/$name.exe"
  log "started $name (pid $!), log $LOGS/$name.log"
}

# Start a process again exactly as start_bg last started it (from $PIDS/<name>.cmd).
start_recorded() { # <name>
  local name="$1" NODE_WD="" NODE_ENV="-" NODE_CMD=()
  [[ -f "$PIDS/$name.cmd" ]] || die "no recorded command for $name ($PIDS/$name.cmd)"
  # shellcheck disable=SC1090  # written by start_bg above
  source "$PIDS/$name.cmd"
  (( ${#NODE_CMD[@]} > 0 )) || die "$PIDS/$name.cmd has no command"
  start_bg "$name" "$NODE_WD" "$NODE_ENV" "${NODE_CMD[@]}"
}

# The env file a process was started with ("-" for none).
recorded_env() { # <name>
  local NODE_WD="" NODE_ENV="-" NODE_CMD=()
  # shellcheck disable=SC1090
  [[ -f "$PIDS/$1.cmd" ]] && source "$PIDS/$1.cmd"
  echo "$NODE_ENV"
}

# Stop a process started by start_bg; its .cmd record stays for start-node.
stop_bg() { # <name>
  local name="$1" f="$PIDS/$1.pid" pid i
  [[ -f "$f" ]] || return 0
  pid=$(<"$f")
  if pid_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do proc_live "$pid" || break; sleep 0.1; done
    if proc_live "$pid"; then log "$name did not stop on TERM, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$f" "$PIDS/$name.exe"
}

# Poll an HTTP health endpoint (Fabric operations /healthz) until it answers 200.
wait_healthz() { # <name> <url> [timeout s] [extra curl args...]
  local name="$1" url="$2" timeout="${3:-60}" deadline=$(( $(date +%s) + ${3:-60} ))
  shift 3 2>/dev/null || shift $#
  until curl -fsS -o /dev/null "$@" "$url" 2>/dev/null; do
    pid_alive "$name" || die "$name exited during start-up; last log lines:
$(tail -n 30 "$LOGS/$name.log" 2>/dev/null)"
    (( $(date +%s) < deadline )) || die "$name not healthy after ${timeout}s ($url); see $LOGS/$name.log"
    sleep 0.2
  done
}

# Wait until something listens on a TCP port (chaincode servers have no /healthz).
wait_port() { # <name> <port> [timeout s]
  local name="$1" port="$2" timeout="${3:-60}" deadline=$(( $(date +%s) + ${3:-60} ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    pid_alive "$name" || die "$name exited during start-up; last log lines:
$(tail -n 30 "$LOGS/$name.log" 2>/dev/null)"
    (( $(date +%s) < deadline )) || die "$name not listening on $port after ${timeout}s; see $LOGS/$name.log"
    sleep 0.2
  done
}

# ---- peer CLI as an org admin --------------------------------------------------
# Exports what `peer` needs to act as <org>'s admin against <org>'s peer, with TLS.
peer_env() { # <org key>
  local k="$1"
  export FABRIC_CFG_PATH; FABRIC_CFG_PATH="$(node_cfg "peer0.$k")"
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_LOCALMSPID="${MSP[$k]}"
  export CORE_PEER_MSPCONFIGPATH; CORE_PEER_MSPCONFIGPATH="$(admin_msp "$k")"
  export CORE_PEER_ADDRESS="$HOST:${PEER_PORT[$k]}"
  export CORE_PEER_TLS_ROOTCERT_FILE; CORE_PEER_TLS_ROOTCERT_FILE="$(org_ca_pem "$k")"
}
ORDERER_ADDR="$HOST:${ORD_PORT[orderer1]}"

# fabric-chaincode-node (from fabric-shim) for a chaincode directory: its own
# node_modules, or a parent's (npm workspaces hoist dependencies to the root).
find_shim() { # <chaincode dir>
  local d="$1"
  while :; do
    [[ -x "$d/node_modules/.bin/fabric-chaincode-node" ]] && { echo "$d/node_modules/.bin/fabric-chaincode-node"; return 0; }
    [[ "$d" == / ]] && return 1
    d=$(dirname "$d")
  done
}
orderer_ca() { org_ca_pem orderer; }

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
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- identities --------------------------------------------------------------
# org | enrolment id | Fabric CA type (-> NodeOU) | attributes (all :ecert, i.e.
# written into the enrolment certificate so chaincode can read them with
# ClientIdentity.getAttributeValue). HEMS devices: hems.role/home/bus as in
# the protocol notes; here they are enrolled centrally as test identities (a
# real device keeps its own key and enrols with its own CSR).
IDENTITIES=(
  "orderer|orderer1|orderer|"
  "orderer|orderer2|orderer|"
  "orderer|orderer3|orderer|"
  "orderer|orgadmin|admin|hems.role=admin:ecert"
  "dso|peer0|peer|"
  "dso|orgadmin|admin|hems.role=admin:ecert"
  "dso|dso-operator|client|hems.role=dso:ecert"
  "dso|market-operator|client|hems.role=market:ecert"
  "utilitya|peer0|peer|"
  "utilitya|orgadmin|admin|hems.role=admin:ecert"
  "utilitya|relay|client|hems.role=relay:ecert"
  "utilitya|meter-headend|client|hems.role=meter:ecert"
  # HEMS devices: 8 per utility, 001-006 on bus-1 and 007-008 on bus-2, so a
  # slot can reach the default minimum group size k=5 on one bus.
  "utilitya|hems-a-001|client|hems.role=hems:ecert,hems.home=home-a-001:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-002|client|hems.role=hems:ecert,hems.home=home-a-002:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-003|client|hems.role=hems:ecert,hems.home=home-a-003:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-004|client|hems.role=hems:ecert,hems.home=home-a-004:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-005|client|hems.role=hems:ecert,hems.home=home-a-005:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-006|client|hems.role=hems:ecert,hems.home=home-a-006:ecert,hems.bus=bus-1:ecert"
  "utilitya|hems-a-007|client|hems.role=hems:ecert,hems.home=home-a-007:ecert,hems.bus=bus-2:ecert"
  "utilitya|hems-a-008|client|hems.role=hems:ecert,hems.home=home-a-008:ecert,hems.bus=bus-2:ecert"
  "utilityb|peer0|peer|"
  "utilityb|orgadmin|admin|hems.role=admin:ecert"
  "utilityb|relay|client|hems.role=relay:ecert"
  "utilityb|meter-headend|client|hems.role=meter:ecert"
  "utilityb|hems-b-001|client|hems.role=hems:ecert,hems.home=home-b-001:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-002|client|hems.role=hems:ecert,hems.home=home-b-002:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-003|client|hems.role=hems:ecert,hems.home=home-b-003:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-004|client|hems.role=hems:ecert,hems.home=home-b-004:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-005|client|hems.role=hems:ecert,hems.home=home-b-005:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-006|client|hems.role=hems:ecert,hems.home=home-b-006:ecert,hems.bus=bus-1:ecert"
  "utilityb|hems-b-007|client|hems.role=hems:ecert,hems.home=home-b-007:ecert,hems.bus=bus-2:ecert"
  "utilityb|hems-b-008|client|hems.role=hems:ecert,hems.home=home-b-008:ecert,hems.bus=bus-2:ecert"
  "regulator|peer0|peer|"
  "regulator|orgadmin|admin|hems.role=admin:ecert"
  "regulator|auditor|client|hems.role=auditor:ecert"
)

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

# A random secret per CA bootstrap admin / identity, kept in network/.state only.
secret_for() { # <file>
  local f="$1"
  if [[ ! -s "$f" ]]; then
    mkdir -p "$(dirname "$f")"
    (umask 077; openssl rand -hex 16 > "$f")
  fi
  cat "$f"
}

# ---- Fabric CAs ----------------------------------------------------------------
start_ca() { # <org key>
  local k="$1" home="$STATE/ca/$1" name="ca.$1"
  mkdir -p "$home"
  local pw; pw=$(secret_for "$home/bootstrap.secret")
  # Operations endpoint and other settings via FABRIC_CA_SERVER_* (viper env
  # binding); flags cover the rest. -b only takes effect on first initialisation.
  cat > "$home/server.env" <<ENV
FABRIC_CA_SERVER_HOME=$home
FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS=127.0.0.1:${CA_OPS_PORT[$k]}
FABRIC_CA_SERVER_METRICS_PROVIDER=prometheus
ENV
  start_bg "$name" "$home" "$home/server.env" fabric-ca-server start \
    -b "admin:$pw" --address 127.0.0.1 --port "${CA_PORT[$k]}" \
    --ca.name "ca-$k" --csr.cn "ca-$k.hems.local" --csr.hosts "localhost,127.0.0.1,ca-$k.hems.local" \
    --tls.enabled
}

# fabric-ca-client against <org>'s CA, as its bootstrap registrar unless CA_URL
# carries another identity's enrolment id and secret (for `enroll`).
ca_client() { # <org key> <args...>
  local k="$1"; shift
  fabric-ca-client "$@" -u "${CA_URL:-https://$HOST:${CA_PORT[$k]}}" --caname "ca-$k" \
    --tls.certfiles "$STATE/ca/$k/ca-cert.pem" -H "$STATE/orgs/$k/registrar"
}

# NodeOUs: the role of an identity (client/peer/admin/orderer) comes from the OU
# the CA writes into its certificate, no admincerts folders needed.
write_nodeous() { # <msp dir>
  cat > "$1/config.yaml" <<'YAML'
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: orderer
YAML
}

# Normalise an enrolled MSP folder: single CA cert named cacerts/ca.pem (what the
# NodeOU config refers to) and the NodeOU config itself.
fix_msp() { # <msp dir>
  local m="$1" f
  for f in "$m"/cacerts/*.pem; do [[ "$f" == "$m/cacerts/ca.pem" ]] || mv "$f" "$m/cacerts/ca.pem"; done
  write_nodeous "$m"
}

# Where an identity's material goes.
id_home() { # <org key> <id> <type>
  case "$3" in
    peer) echo "$STATE/orgs/$1/peers/$2" ;;
    orderer) echo "$STATE/orgs/$1/orderers/$2" ;;
    *) echo "$STATE/orgs/$1/users/$2" ;;
  esac
}

enroll_tls() { # <org key> <id> <secret> <dest dir>
  local k="$1" id="$2" pw="$3" dest="$4" tmp="$4/.tls-enroll"
  rm -rf "$tmp"
  CA_URL="https://$id:$pw@$HOST:${CA_PORT[$k]}" ca_client "$k" enroll --enrollment.profile tls \
    --csr.hosts "localhost,127.0.0.1,$id.$k.hems.local" -M "$tmp" >>"$LOGS/ca-client.log" 2>&1 \
    || die "TLS enrolment of $id ($k) failed (see $LOGS/ca-client.log)"
  mkdir -p "$dest"
  cp "$tmp/signcerts/cert.pem" "$dest/server.crt"
  cp "$tmp"/keystore/*_sk "$dest/server.key"
  cp "$STATE/ca/$k/ca-cert.pem" "$dest/ca.crt"
  chmod 600 "$dest/server.key"
  rm -rf "$tmp"
}

setup_identities() { # <org key>
  local k="$1" entry org id type attrs home pw
  # The registrar (CA bootstrap admin) may register any type and any attribute.
  if [[ ! -f "$STATE/orgs/$k/registrar/msp/signcerts/cert.pem" ]]; then
    CA_URL="https://admin:$(secret_for "$STATE/ca/$k/bootstrap.secret")@$HOST:${CA_PORT[$k]}" ca_client "$k" enroll >>"$LOGS/ca-client.log" 2>&1 \
      || die "enrolling the registrar of $k failed (see $LOGS/ca-client.log)"
  fi
  # Org MSP (what goes into the channel configuration): root CA, which is also
  # the TLS CA of the org (one CA per org, TLS profile for TLS certificates).
  local om; om=$(org_msp "$k")
  mkdir -p "$om/cacerts" "$om/tlscacerts"
  cp "$STATE/ca/$k/ca-cert.pem" "$om/cacerts/ca.pem"
  cp "$STATE/ca/$k/ca-cert.pem" "$om/tlscacerts/ca.pem"
  write_nodeous "$om"

  for entry in "${IDENTITIES[@]}"; do
    IFS='|' read -r org id type attrs <<<"$entry"
    [[ "$org" == "$k" ]] || continue
    home=$(id_home "$k" "$id" "$type")
    [[ -f "$home/.done" ]] && continue
    pw=$(secret_for "$STATE/orgs/$k/secrets/$id")
    # Register; when that fails, the identity may exist from an interrupted
    # earlier run (same secret, kept in secrets/), which is fine.
    local args=(register --id.name "$id" --id.secret "$pw" --id.type "$type")
    [[ -n "$attrs" ]] && args+=(--id.attrs "$attrs")
    if ! ca_client "$k" "${args[@]}" >>"$LOGS/ca-client.log" 2>&1; then
      ca_client "$k" identity list --id "$id" >/dev/null 2>&1 \
        || die "registering $id at ca-$k failed (see $LOGS/ca-client.log)"
    fi
    rm -rf "$home/msp"
    CA_URL="https://$id:$pw@$HOST:${CA_PORT[$k]}" ca_client "$k" enroll \
      --csr.hosts "localhost,127.0.0.1,$id.$k.hems.local" -M "$home/msp" >>"$LOGS/ca-client.log" 2>&1 \
      || die "enrolling $id at ca-$k failed (see $LOGS/ca-client.log)"
    fix_msp "$home/msp"
    case "$type" in
      peer|orderer) enroll_tls "$k" "$id" "$pw" "$home/tls" ;;
    esac
    # The orderer admin also needs a TLS client certificate for osnadmin.
    [[ "$k" == orderer && "$id" == orgadmin ]] && enroll_tls "$k" "$id" "$pw" "$home/tls"
    touch "$home/.done"
    log "  enrolled $id ($type${attrs:+, $attrs}) in ${MSP[$k]}"
  done
}

# TLS server certificate of a peer org's REST gateway (gateway-api) in
# orgs/<org>/gateway/tls/{server.crt,server.key,ca.crt}, enrolled like the peers'
# (TLS profile of the org's CA). Fabric CA type `gateway`: its OU is none of the
# NodeOUs, so the certificate can never act as a Fabric identity of the org.
setup_gateway_tls() { # <org key>
  local k="$1" dir="$STATE/orgs/$1/gateway/tls" pw
  [[ -f "$dir/.done" ]] && return 0
  pw=$(secret_for "$STATE/orgs/$k/secrets/gateway")
  if ! ca_client "$k" register --id.name gateway --id.secret "$pw" --id.type gateway >>"$LOGS/ca-client.log" 2>&1; then
    ca_client "$k" identity list --id gateway >/dev/null 2>&1 \
      || die "registering gateway at ca-$k failed (see $LOGS/ca-client.log)"
  fi
  enroll_tls "$k" gateway "$pw" "$dir"
  touch "$dir/.done"
  log "  enrolled the gateway TLS server certificate of ${MSP[$k]}"
}

# All orgs in parallel (one CA each, so no contention on a CA's database);
# within an org one identity after the other.
setup_all_identities() {
  local k pids=() failed=0 p
  for k in "${ORG_KEYS[@]}"; do
    # A subshell of statements, not an && list: errexit must stay in force inside them.
    (
      setup_identities "$k"
      [[ "$k" == orderer ]] || setup_gateway_tls "$k"
    ) & pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  (( failed == 0 )) || die "identity set-up failed (see above and $LOGS/ca-client.log)"
}

# ---- network.json (for TypeScript clients) ---------------------------------------
# Bash hands node tab-separated records; node builds and validates the JSON.
read -r -d '' NETWORK_JSON_JS <<'JS' || true
const fs = require('fs');
const [out] = process.argv.slice(1);
const net = { stateDir: '', channel: '', chaincode: '', peers: [], orderers: [],
              certificateAuthorities: [], identities: [], gateways: [] };
// "hems.role=hems:ecert,hems.bus=bus-1:ecert" -> { "hems.role": "hems", "hems.bus": "bus-1" }
const attributes = (spec) => Object.fromEntries(spec.split(',').filter(Boolean).map((a) => {
  const i = a.indexOf('=');
  return [a.slice(0, i), a.slice(i + 1).replace(/:ecert$/, '')];
}));
for (const line of fs.readFileSync(0, 'utf8').split('\n')) {
  if (!line) continue;
  const [kind, ...f] = line.split('\t');
  switch (kind) {
    case 'net': [net.stateDir, net.channel, net.chaincode] = f; break;
    case 'peer': net.peers.push({ org: f[0], mspId: f[1], endpoint: f[2], tlsRootCertPath: f[3], operationsEndpoint: f[4] }); break;
    case 'orderer': net.orderers.push({ name: f[0], endpoint: f[1], operationsEndpoint: f[2], tlsRootCertPath: f[3] }); break;
    case 'ca': net.certificateAuthorities.push({ org: f[0], mspId: f[1], url: f[2], caName: f[3], tlsCertPath: f[4], registrarMspPath: f[5] }); break;
    case 'gateway': net.gateways.push({ org: f[0], mspId: f[1], tlsCertPath: f[2], tlsKeyPath: f[3], tlsCaPath: f[4] }); break;
    case 'identity': net.identities.push({ org: f[0], mspId: f[1], name: f[2], type: f[3], attributes: attributes(f[4]), mspPath: f[5] }); break;
    default: throw new Error(`unknown record ${kind}`);
  }
}
fs.writeFileSync(`${out}.tmp`, `${JSON.stringify(net, null, 2)}\n`);
fs.renameSync(`${out}.tmp`, out);
JS

write_network_json() {
  local k o entry org id type attrs
  {
    printf 'net\t%s\t%s\t%s\n' "$STATE" "$CHANNEL" "$CHAINCODE_NAME"
    for k in "${PEER_ORG_KEYS[@]}"; do
      printf 'peer\t%s\t%s\t%s\t%s\t%s\n' "$k" "${MSP[$k]}" "$HOST:${PEER_PORT[$k]}" \
        "$(org_ca_pem "$k")" "127.0.0.1:$(peer_ops_port "$k")"
    done
    for o in "${ORDERERS[@]}"; do
      printf 'orderer\t%s\t%s\t%s\t%s\n' "$o" "$HOST:${ORD_PORT[$o]}" "127.0.0.1:${ORD_OPS_PORT[$o]}" "$(orderer_ca)"
    done
    for k in "${ORG_KEYS[@]}"; do
      printf 'ca\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "${MSP[$k]}" "https://$HOST:${CA_PORT[$k]}" "ca-$k" \
        "$STATE/ca/$k/ca-cert.pem" "$STATE/orgs/$k/registrar/msp"
    done
    for k in "${PEER_ORG_KEYS[@]}"; do
      printf 'gateway\t%s\t%s\t%s\t%s\t%s\n' "$k" "${MSP[$k]}" "$STATE/orgs/$k/gateway/tls/server.crt" \
        "$STATE/orgs/$k/gateway/tls/server.key" "$STATE/orgs/$k/gateway/tls/ca.crt"
    done
    for entry in "${IDENTITIES[@]}"; do
      IFS='|' read -r org id type attrs <<<"$entry"
      printf 'identity\t%s\t%s\t%s\t%s\t%s\t%s\n' "$org" "${MSP[$org]}" "$id" "$type" "$attrs" \
        "$(id_home "$org" "$id" "$type")/msp"
    done
  } | node -e "$NETWORK_JSON_JS" "$STATE/network.json" || die "writing $STATE/network.json failed"
  log "wrote $STATE/network.json"
}

# ---- node configuration ----------------------------------------------------------
# core.yaml / orderer.yaml = Fabric's sampleconfig + the overlay below. Rewritten
# on every `up` (cheap, and keeps them in step with this script).
write_peer_config() { # <org key>
  local k="$1" n="peer0.$1" cfg home data
  cfg=$(node_cfg "$n"); home=$(peer_home "$k"); data="$STATE/data/$n"
  mkdir -p "$cfg" "$data"
  local p="${PEER_PORT[$k]}"
  "$NET_SCRIPTS/yaml-overlay.js" "$FABRIC_CFG_BASE/core.yaml" "$cfg/core.yaml" <<YAML
peer:
  id: $n
  networkId: hems
  listenAddress: 127.0.0.1:$p
  address: $HOST:$p
  chaincodeListenAddress: 127.0.0.1:$(peer_cc_port "$k")
  chaincodeAddress: $HOST:$(peer_cc_port "$k")
  mspConfigPath: $home/msp
  localMspId: ${MSP[$k]}
  fileSystemPath: $data
  gossip:
    # One peer per org: it is its org's leader and bootstraps from itself;
    # peers of other orgs are found through the anchor peers in the channel config.
    bootstrap: $HOST:$p
    endpoint: $HOST:$p
    externalEndpoint: $HOST:$p
    useLeaderElection: false
    orgLeader: true
    # Loopback network, peers start together: the defaults (alive every 5 s, reconnect after
    # 25 s, state info every 4 s) leave discovery without a full view for ~35 s after start-up
    # and notice a stopped peer only after 25 s.
    aliveTimeInterval: 1s
    aliveExpirationTimeout: 5s
    reconnectInterval: 2s
    membershipTrackerInterval: 1s
    publishStateInfoInterval: 1s
  tls:
    enabled: true
    clientAuthRequired: false
    cert: {file: $home/tls/server.crt}
    key: {file: $home/tls/server.key}
    rootcert: {file: $home/tls/ca.crt}
    clientRootCAs: {files: [$home/tls/ca.crt]}
# No Docker: an empty endpoint makes the peer skip the Docker chaincode runtime,
# chaincode is only run through external builders (here: chaincode-as-a-service).
vm:
  endpoint: ""
chaincode:
  externalBuilders:
    - name: ccaas
      path: $CCAAS_BUILDER
      propagateEnvironment: []
ledger:
  state:
    stateDatabase: goleveldb
  snapshots:
    rootDir: $data/snapshots
operations:
  listenAddress: 127.0.0.1:$(peer_ops_port "$k")
metrics:
  provider: prometheus
YAML
}

write_orderer_config() { # <orderer name>
  local o="$1" cfg home data
  cfg=$(node_cfg "$o"); home=$(ord_home "$o"); data="$STATE/data/$o"
  mkdir -p "$cfg" "$data"
  "$NET_SCRIPTS/yaml-overlay.js" "$FABRIC_CFG_BASE/orderer.yaml" "$cfg/orderer.yaml" <<YAML
General:
  ListenAddress: 127.0.0.1
  ListenPort: ${ORD_PORT[$o]}
  TLS:
    Enabled: true
    PrivateKey: $home/tls/server.key
    Certificate: $home/tls/server.crt
    RootCAs: [$home/tls/ca.crt]
    ClientAuthRequired: false
  # Raft traffic shares the client listener; the TLS cert doubles as the
  # cluster client certificate (fabric-ca's tls profile allows client auth).
  Cluster:
    ClientCertificate: $home/tls/server.crt
    ClientPrivateKey: $home/tls/server.key
  # No system channel: channels are created with the channel participation API.
  BootstrapMethod: none
  LocalMSPDir: $home/msp
  LocalMSPID: ${MSP[orderer]}
FileLedger:
  Location: $data/ledger
Consensus:
  WALDir: $data/etcdraft/wal
  SnapDir: $data/etcdraft/snapshot
Operations:
  ListenAddress: 127.0.0.1:${ORD_OPS_PORT[$o]}
Metrics:
  Provider: prometheus
Admin:
  ListenAddress: 127.0.0.1:${ORD_ADMIN_PORT[$o]}
  TLS:
    Enabled: true
    Certificate: $home/tls/server.crt
    PrivateKey: $home/tls/server.key
    ClientAuthRequired: true
    ClientRootCAs: [$home/tls/ca.crt]
ChannelParticipation:
  Enabled: true
YAML
}

# ---- channel -------------------------------------------------------------------------
genesis_block() {
  local dir="$STATE/channel" block="$STATE/channel/$CHANNEL.block"
  [[ -f "$block" ]] && return 0
  mkdir -p "$dir"
  {
    echo "batchTimeout: 500ms"   # sample default is 2s; shorter keeps tests snappy
    echo "orderers:"
    echo "  name: ${MSP[orderer]}"
    echo "  mspdir: $(org_msp orderer)"
    echo "  endpoints:"
    for o in "${ORDERERS[@]}"; do echo "    - $HOST:${ORD_PORT[$o]}"; done
    echo "consenters:"
    for o in "${ORDERERS[@]}"; do
      echo "  - {host: $HOST, port: ${ORD_PORT[$o]}, cert: $(ord_home "$o")/tls/server.crt}"
    done
    echo "peerOrgs:"
    for k in "${PEER_ORG_KEYS[@]}"; do
      echo "  - {name: ${MSP[$k]}, mspdir: $(org_msp "$k"), anchor: {host: $HOST, port: ${PEER_PORT[$k]}}}"
    done
  } | "$NET_SCRIPTS/gen-configtx.js" "$FABRIC_CFG_BASE/configtx.yaml" "$dir"
  configtxgen -configPath "$dir" -profile HemsChannel -channelID "$CHANNEL" \
    -outputBlock "$block.tmp" >"$LOGS/configtxgen.log" 2>&1 \
    || die "configtxgen failed: $(tail -n 20 "$LOGS/configtxgen.log")"
  mv "$block.tmp" "$block"
  log "genesis block of channel $CHANNEL: $block"
}

osn() { # <orderer> <osnadmin channel args...>
  local o="$1"; shift
  local admin="$STATE/orgs/orderer/users/orgadmin/tls"
  osnadmin channel "$@" -o "$HOST:${ORD_ADMIN_PORT[$o]}" --ca-file "$admin/ca.crt" \
    --client-cert "$admin/server.crt" --client-key "$admin/server.key"
}

join_orderers() {
  local o
  for o in "${ORDERERS[@]}"; do
    # osnadmin exits 0 whatever the HTTP status; read the "Status:" line instead.
    if osn "$o" list --channelID "$CHANNEL" 2>&1 | grep -q '^Status: 200'; then
      log "$o already serves channel $CHANNEL"
    else
      local out
      out=$(osn "$o" join --channelID "$CHANNEL" --config-block "$STATE/channel/$CHANNEL.block" 2>&1) || true
      grep -q '^Status: 201' <<<"$out" || die "$o could not join $CHANNEL: $out"
      log "$o joined channel $CHANNEL"
    fi
  done
}

# After a (re)start the Raft nodes need an election (a few ticks of 500 ms)
# before they accept transactions ("no Raft leader"). Wait for it through the
# orderers' Prometheus metrics on their operations endpoints.
wait_raft_leader() { # [timeout s]
  local timeout="${1:-60}" deadline o m leaders active
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    leaders=0; active=0
    for o in "${ORDERERS[@]}"; do
      m=$(curl -fsS "http://127.0.0.1:${ORD_OPS_PORT[$o]}/metrics" 2>/dev/null || true)
      if grep -q "^consensus_etcdraft_is_leader{channel=\"$CHANNEL\"} 1" <<<"$m"; then
        leaders=$(( leaders + 1 ))
        active=$(sed -n "s/^consensus_etcdraft_active_nodes{channel=\"$CHANNEL\"} //p" <<<"$m")
      fi
    done
    # One leader that sees a quorum (2 of 3) of active nodes.
    if (( leaders == 1 && ${active:-0} >= 2 )); then log "Raft leader elected for $CHANNEL ($active/3 nodes active)"; return 0; fi
    (( $(date +%s) < deadline )) || die "no Raft leader for $CHANNEL after ${timeout}s; see $LOGS/orderer*.log"
    sleep 0.2
  done
}

join_peers() {
  local k
  for k in "${PEER_ORG_KEYS[@]}"; do
    (
      peer_env "$k"
      if peer channel list 2>/dev/null | grep -qx "$CHANNEL"; then
        log "peer0.$k already joined $CHANNEL"
      else
        peer channel join -b "$STATE/channel/$CHANNEL.block" >>"$LOGS/cli.log" 2>&1 \
          || die "peer0.$k could not join $CHANNEL (see $LOGS/cli.log)"
        log "peer0.$k joined channel $CHANNEL"
      fi
    )
  done
}

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

# Every process this script or deploy-chaincode.sh started: a PID file while
# running, a .cmd record (start_bg) as long as the state exists.
known_nodes() {
  local f
  shopt -s nullglob
  for f in "$PIDS"/*.pid "$PIDS"/*.cmd; do f=$(basename "$f"); echo "${f%.*}"; done | sort -u
  shopt -u nullglob
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

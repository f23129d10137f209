# shellcheck shell=bash
# Generated configuration (sourced by network.sh after lib.sh): network/.state/network.json for
# the TypeScript clients, and each orderer's and peer's orderer.yaml / core.yaml.

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

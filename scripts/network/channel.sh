# shellcheck shell=bash
# The application channel (sourced by network.sh after lib.sh): its genesis block, the orderers
# and peers joining it, and waiting for a Raft leader.

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

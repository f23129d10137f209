# shellcheck shell=bash
# Crypto material of the network (sourced by network.sh after lib.sh): one Fabric CA per org,
# the identities they register and enrol (MSP folders with NodeOUs, TLS certificates) and the
# gateways' TLS server certificates.

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

#!/usr/bin/env bash
# Deploy a Node.js chaincode as a service (ccaas) on the running network.
#
#   scripts/network/deploy-chaincode.sh [options]
#     --dir DIR            chaincode project (package.json "main" = built JS, with
#                          node_modules/.bin/fabric-chaincode-node)  [default: chaincode/]
#     --name NAME          chaincode name                              [default: hems]
#     --version VER        definition version                          [default: 1.0]
#     --policy POLICY      signature policy, e.g. "OutOf(2,'DSOMSP.peer','UtilityAMSP.peer')"
#                          [default: none = channel's /Channel/Application/Endorsement,
#                          i.e. MAJORITY of the 4 peer orgs]
#     --collections FILE   private data collections config; "none" for no collections
#                          [default: network/collections_config.json]
#     --sequence N         force a sequence number [default: committed + 1 when the
#                          definition changed, nothing to do when it did not]
#
# How ccaas works here: each peer org gets a package whose connection.json points
# at that org's own chaincode server (127.0.0.1:<port>), so every org runs and
# controls the chaincode its peer endorses with. The peer's external builder
# (network/builders/ccaas) turns the package into "dial this address". The
# chaincode servers run `fabric-chaincode-node server` with CORE_CHAINCODE_ID
# (the org's package ID), CORE_CHAINCODE_ADDRESS and CORE_PEER_LOCALMSPID.
# Peer -> chaincode traffic is plain gRPC on loopback (no TLS) for now.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CC_DIR="$REPO_ROOT/chaincode"
CC_NAME="$CHAINCODE_NAME"   # hems (lib.sh; also "chaincode" in network.json)
CC_VERSION="1.0"
CC_POLICY=""
CC_COLLECTIONS="$NETWORK_DIR/collections_config.json"
CC_SEQUENCE=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) CC_DIR="$2"; shift 2 ;;
    --name) CC_NAME="$2"; shift 2 ;;
    --version) CC_VERSION="$2"; shift 2 ;;
    --policy) CC_POLICY="$2"; shift 2 ;;
    --collections) CC_COLLECTIONS="$2"; shift 2 ;;
    --sequence) CC_SEQUENCE="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$CC_NAME" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "chaincode name must be lower-case letters, digits, - and _"
CC_DIR="$(cd "$CC_DIR" 2>/dev/null && pwd)" || die "chaincode directory not found"
[[ -f "$CC_DIR/package.json" ]] || die "$CC_DIR/package.json not found"
SHIM=$(find_shim "$CC_DIR") || die "fabric-chaincode-node not found in $CC_DIR/node_modules or a parent: run npm install (fabric-shim) first"
main=$(node -e 'const p = require(process.argv[1]); console.log(p.main ?? "index.js")' "$CC_DIR/package.json") \
  || die "cannot read $CC_DIR/package.json"
[[ -f "$CC_DIR/$main" ]] || die "$CC_DIR/$main (package.json main) not found: build the chaincode first"
if [[ "$CC_COLLECTIONS" != none ]]; then
  [[ -f "$CC_COLLECTIONS" ]] || die "collections config $CC_COLLECTIONS not found (pass --collections none to deploy without)"
  CC_COLLECTIONS="$(cd "$(dirname "$CC_COLLECTIONS")" && pwd)/$(basename "$CC_COLLECTIONS")"
fi

for k in "${PEER_ORG_KEYS[@]}"; do
  curl -fsS -o /dev/null "http://127.0.0.1:$(peer_ops_port "$k")/healthz" 2>/dev/null \
    || die "peer0.$k is not running/healthy: run scripts/network/network.sh up first"
done

WORK="$STATE/chaincode/$CC_NAME"
mkdir -p "$WORK" "$STATE/chaincode/servers"
# A ccaas package holds only the server address, so the same address would give the same package
# ID after a code change and the running servers would keep the old code. The label therefore
# carries a fingerprint of the built code (the folder of package.json "main", plus package.json,
# and the same of each workspace package it depends on, such as @hems/protocol): new code -> new
# package ID -> servers restarted, new definition sequence approved by every org.
built_code_dirs() { # <package dir>: the package's and its @hems/* dependencies' built code folders
  node -e '
    const path = require("path");
    const dir = process.argv[1];
    const pkg = require(path.join(dir, "package.json"));
    console.log(path.dirname(path.join(dir, pkg.main ?? "index.js")));
    for (const dep of Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@hems/")).sort()) {
      const depDir = path.dirname(require.resolve(`${dep}/package.json`, { paths: [dir] }));
      const depPkg = require(path.join(depDir, "package.json"));
      console.log(path.dirname(path.join(depDir, depPkg.main ?? "index.js")));
    }' "$1"
}
code_dirs=$(built_code_dirs "$CC_DIR") || die "cannot resolve the chaincode's workspace dependencies: run npm install"
CODE_FP=$( (while read -r code_dir; do
              [[ -d "$code_dir" ]] || die "$code_dir not found: build the workspaces first (npm run build)"
              (cd "$code_dir" && find . -type f -not -name '*.map' -print0 | sort -z | xargs -0 sha256sum)
              sha256sum "$(dirname "$code_dir")/package.json"
            done <<<"$code_dirs") | sha256sum | cut -c1-12)
LABEL="${CC_NAME}_${CC_VERSION}_${CODE_FP}"
ORD_ARGS=(-o "$ORDERER_ADDR" --tls --cafile "$(orderer_ca)")

# Each chaincode name gets a fixed slot so several chaincodes can run side by side:
# server port = org base port + 2 * slot.
slot_of() {
  local f="$STATE/chaincode/slots" n
  touch "$f"
  n=$(awk -v n="$CC_NAME" '$1==n {print $2}' "$f")
  if [[ -z "$n" ]]; then n=$(wc -l < "$f"); echo "$CC_NAME $n" >> "$f"; fi
  echo "$n"
}
SLOT=$(slot_of)

# ---- 1. package per org (deterministic bytes -> stable package ID) -----------------
declare -A PKG_ID
for k in "${PEER_ORG_KEYS[@]}"; do
  d="$WORK/$k"; rm -rf "$d/pkg"; mkdir -p "$d/pkg/code"
  port=$(( CC_SERVER_PORT[$k] + 2 * SLOT ))
  printf '{\n  "address": "127.0.0.1:%s",\n  "dial_timeout": "10s",\n  "tls_required": false\n}\n' "$port" > "$d/pkg/code/connection.json"
  printf '{\n  "type": "ccaas",\n  "label": "%s"\n}\n' "$LABEL" > "$d/pkg/metadata.json"
  tarx=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
  tar "${tarx[@]}" -C "$d/pkg/code" -cf - connection.json | gzip -n > "$d/pkg/code.tar.gz"
  tar "${tarx[@]}" -C "$d/pkg" -cf - metadata.json code.tar.gz | gzip -n > "$d/$LABEL.tar.gz"
  # Package ID as the peer computes it: <label>:<sha256 of the package file>.
  PKG_ID[$k]="$LABEL:$(sha256sum "$d/$LABEL.tar.gz" | cut -d' ' -f1)"
done

# ---- 2. install on every peer (skipped when already installed) -------------------
for k in "${PEER_ORG_KEYS[@]}"; do
  (
    peer_env "$k"
    if peer lifecycle chaincode queryinstalled 2>/dev/null | grep -qF "Package ID: ${PKG_ID[$k]},"; then
      log "peer0.$k: ${PKG_ID[$k]} already installed"
    else
      # queryinstalled can fail on a peer that has just restarted: an install the peer then
      # reports as done already is what the check wanted to find.
      status=0
      out=$(peer lifecycle chaincode install "$WORK/$k/$LABEL.tar.gz" 2>&1) || status=$?
      printf '%s\n' "$out" >>"$LOGS/cli.log"
      if (( status == 0 )); then
        log "peer0.$k: installed ${PKG_ID[$k]}"
      elif grep -q "chaincode already successfully installed" <<<"$out"; then
        log "peer0.$k: ${PKG_ID[$k]} already installed"
      else
        die "install on peer0.$k failed (see $LOGS/cli.log)"
      fi
    fi
  )
done

# ---- 3. one chaincode server per org -------------------------------------------
for k in "${PEER_ORG_KEYS[@]}"; do
  name="cc-$CC_NAME-$k"
  port=$(( CC_SERVER_PORT[$k] + 2 * SLOT ))
  envf="$STATE/chaincode/servers/$name.env"
  new_env=$(cat <<ENV
CC_DIR=$CC_DIR
CC_SHIM=$SHIM
CORE_CHAINCODE_ID=${PKG_ID[$k]}
CORE_CHAINCODE_ADDRESS=127.0.0.1:$port
CORE_PEER_LOCALMSPID=${MSP[$k]}
ENV
)
  # Restart when the package (hence CORE_CHAINCODE_ID) or the directory changed.
  if [[ -f "$envf" && "$(cat "$envf")" != "$new_env" ]]; then stop_bg "$name"; fi
  printf '%s\n' "$new_env" > "$envf"
  start_bg "$name" "$CC_DIR" "$envf" "$SHIM" server
done
for k in "${PEER_ORG_KEYS[@]}"; do   # wait after starting all: start-ups overlap
  wait_port "cc-$CC_NAME-$k" "$(( CC_SERVER_PORT[$k] + 2 * SLOT ))" 60
done

# ---- 4. approve by every org, 5. commit ------------------------------------------
def_args=(--channelID "$CHANNEL" --name "$CC_NAME" --version "$CC_VERSION")
[[ -n "$CC_POLICY" ]] && def_args+=(--signature-policy "$CC_POLICY")
[[ "$CC_COLLECTIONS" != none ]] && def_args+=(--collections-config "$CC_COLLECTIONS")

# Fingerprint of what we deploy: when it equals the last committed deployment,
# there is nothing to approve or commit (re-running is safe).
fingerprint=$( { printf '%s\n' "$CC_VERSION" "$CC_POLICY"; [[ "$CC_COLLECTIONS" != none ]] && cat "$CC_COLLECTIONS";
                 for k in "${PEER_ORG_KEYS[@]}"; do echo "${PKG_ID[$k]}"; done; } | sha256sum | cut -d' ' -f1)
committed_seq=$( peer_env dso; peer lifecycle chaincode querycommitted -C "$CHANNEL" -n "$CC_NAME" -O json 2>/dev/null \
                 | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).sequence ?? 0)' 2>/dev/null || echo 0 )
if [[ -z "$CC_SEQUENCE" && -f "$WORK/deployed" && "$(cat "$WORK/deployed")" == "$fingerprint $committed_seq" ]]; then
  log "$CC_NAME: same definition already committed at sequence $committed_seq; nothing to do"
  exit 0
fi
SEQ="${CC_SEQUENCE:-$(( committed_seq + 1 ))}"
log "$CC_NAME: committed sequence $committed_seq, deploying sequence $SEQ"

for k in "${PEER_ORG_KEYS[@]}"; do
  (
    peer_env "$k"
    # Re-running after a partial failure: an approval already present is kept.
    if peer lifecycle chaincode queryapproved "${def_args[@]:0:4}" --sequence "$SEQ" -O json 2>/dev/null \
        | grep -qF "\"package_id\": \"${PKG_ID[$k]}\""; then
      log "${MSP[$k]} already approved sequence $SEQ"
    else
      peer lifecycle chaincode approveformyorg "${ORD_ARGS[@]}" "${def_args[@]}" --sequence "$SEQ" \
        --package-id "${PKG_ID[$k]}" >>"$LOGS/cli.log" 2>&1 \
        || die "approval by ${MSP[$k]} failed (see $LOGS/cli.log)"
      log "${MSP[$k]} approved $CC_NAME sequence $SEQ"
    fi
  )
done

peer_env dso
peer lifecycle chaincode checkcommitreadiness "${def_args[@]}" --sequence "$SEQ" >>"$LOGS/cli.log" 2>&1 || true
targets=()
for k in "${PEER_ORG_KEYS[@]}"; do
  targets+=(--peerAddresses "$HOST:${PEER_PORT[$k]}" --tlsRootCertFiles "$(org_ca_pem "$k")")
done
peer lifecycle chaincode commit "${ORD_ARGS[@]}" "${def_args[@]}" --sequence "$SEQ" "${targets[@]}" >>"$LOGS/cli.log" 2>&1 \
  || die "commit failed (see $LOGS/cli.log)"
peer lifecycle chaincode querycommitted -C "$CHANNEL" -n "$CC_NAME" >>"$LOGS/cli.log" 2>&1
echo "$fingerprint $SEQ" > "$WORK/deployed"
log "$CC_NAME committed at sequence $SEQ on channel $CHANNEL"
for k in "${PEER_ORG_KEYS[@]}"; do log "  ${MSP[$k]}: ${PKG_ID[$k]} served by cc-$CC_NAME-$k on 127.0.0.1:$(( CC_SERVER_PORT[$k] + 2 * SLOT ))"; done

#!/usr/bin/env bash
# End-to-end check of the running network with a trivial fabric-contract-api
# chaincode, deployed as a service:
#   - two-org endorsement (DSOMSP + UtilityAMSP) of a write, read back on RegulatorMSP's peer
#   - the same write endorsed by one org only is invalidated (ENDORSEMENT_POLICY_FAILURE)
#   - enrolment-certificate attributes (hems.role/home/bus) visible to chaincode
#   - private data: a UtilityAMSP-only collection, value passed as transient data,
#     readable on UtilityAMSP's peer, refused on UtilityBMSP's peer
#
#   scripts/network/smoke-test.sh    (after scripts/network/network.sh up)
#
# The contract lives in a temporary directory outside the repository
# (SMOKE_CC_DIR, default /tmp/hems-smoke-cc); npm installs fabric-contract-api
# and fabric-shim 2.5 there on first use.
#
# The checks use `cond && ok ... || bad ...`, which is safe as ok never fails:
# shellcheck disable=SC2015
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CC_DIR="${SMOKE_CC_DIR:-/tmp/hems-smoke-cc}"
CC_NAME=smoke
mkdir -p "$CC_DIR"

# ---- the trivial contract ---------------------------------------------------------
cat > "$CC_DIR/package.json" <<'JSON'
{
  "name": "hems-smoke-cc",
  "version": "1.0.0",
  "private": true,
  "main": "index.js",
  "dependencies": {
    "fabric-contract-api": "~2.5",
    "fabric-shim": "~2.5"
  },
  "overrides": {
    "class-transformer": "0.4.0"
  }
}
JSON
cat > "$CC_DIR/index.js" <<'JS'
'use strict';
const { Contract } = require('fabric-contract-api');

class SmokeContract extends Contract {
  async Put(ctx, key, value) {
    await ctx.stub.putState(key, Buffer.from(value));
    return value;
  }

  async Get(ctx, key) {
    const v = await ctx.stub.getState(key);
    if (!v || v.length === 0) throw new Error(`${key} does not exist`);
    return v.toString();
  }

  // Query only: the answer names the peer's org, so endorsements would differ.
  async WhoAmI(ctx) {
    const id = ctx.clientIdentity;
    return JSON.stringify({
      mspid: id.getMSPID(),
      role: id.getAttributeValue('hems.role'),
      home: id.getAttributeValue('hems.home'),
      bus: id.getAttributeValue('hems.bus'),
      chaincodeServerOrg: process.env.CORE_PEER_LOCALMSPID,
    });
  }

  async PutPrivate(ctx, collection, key) {
    const value = ctx.stub.getTransient().get('value');
    if (!value) throw new Error('transient field "value" missing');
    await ctx.stub.putPrivateData(collection, key, value);
    return 'ok';
  }

  async GetPrivate(ctx, collection, key) {
    const v = await ctx.stub.getPrivateData(collection, key);
    if (!v || v.length === 0) throw new Error(`${key} does not exist in ${collection}`);
    return v.toString();
  }
}

module.exports.contracts = [SmokeContract];
JS
# class-transformer 0.4.1 (allowed by fabric-contract-api's ^0.4.0) lacks
# classToPlain, which breaks GetMetadata and non-string results; hence the override.
if [[ ! -x "$CC_DIR/node_modules/.bin/fabric-chaincode-node" ]] \
   || ! grep -q '"version": "0.4.0"' "$CC_DIR/node_modules/class-transformer/package.json" 2>/dev/null; then
  log "npm install in $CC_DIR"
  (cd "$CC_DIR" && npm install --no-audit --no-fund >/dev/null)
fi

# Own collections file: one member-only collection per utility. Their own
# endorsement policy lets a utility's peer alone endorse writes to its
# collection (other orgs never see the value, not even in transient data).
COLL="$CC_DIR/collections.json"
cat > "$COLL" <<'JSON'
[
  {
    "name": "UtilityAMSPPrivateCollection",
    "policy": "OR('UtilityAMSP.member')",
    "requiredPeerCount": 0,
    "maxPeerCount": 0,
    "blockToLive": 0,
    "memberOnlyRead": true,
    "memberOnlyWrite": true,
    "endorsementPolicy": { "signaturePolicy": "OR('UtilityAMSP.peer')" }
  },
  {
    "name": "UtilityBMSPPrivateCollection",
    "policy": "OR('UtilityBMSP.member')",
    "requiredPeerCount": 0,
    "maxPeerCount": 0,
    "blockToLive": 0,
    "memberOnlyRead": true,
    "memberOnlyWrite": true,
    "endorsementPolicy": { "signaturePolicy": "OR('UtilityBMSP.peer')" }
  }
]
JSON

POLICY="OutOf(2,'DSOMSP.peer','UtilityAMSP.peer','UtilityBMSP.peer','RegulatorMSP.peer')"
"$NET_SCRIPTS/deploy-chaincode.sh" --dir "$CC_DIR" --name "$CC_NAME" --version 1.0 \
  --policy "$POLICY" --collections "$COLL"

# ---- checks ---------------------------------------------------------------------------
pass=0; fail=0
ok()  { log "PASS: $*"; pass=$((pass+1)); }
bad() { log "FAIL: $*"; fail=$((fail+1)); }
target() { echo --peerAddresses "$HOST:${PEER_PORT[$1]}" --tlsRootCertFiles "$(org_ca_pem "$1")"; }
ORD=(-o "$ORDERER_ADDR" --tls --cafile "$(orderer_ca)")
KEY="k-$(date +%s)-$RANDOM"

# 1. write endorsed by two orgs, committed VALID
peer_env dso
# shellcheck disable=SC2046
if out=$(peer chaincode invoke "${ORD[@]}" -C "$CHANNEL" -n "$CC_NAME" $(target dso) $(target utilitya) \
          -c "{\"Args\":[\"Put\",\"$KEY\",\"hello\"]}" --waitForEvent 2>&1) && grep -q 'status:200' <<<"$out"; then
  ok "Put endorsed by DSOMSP + UtilityAMSP committed"
else bad "two-org Put: $out"; fi

# 2. read it on the regulator's peer
peer_env regulator
out=$(peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c "{\"Args\":[\"Get\",\"$KEY\"]}" 2>&1) || true
[[ "$out" == hello ]] && ok "Get on RegulatorMSP peer returns the value" || bad "Get on regulator: $out"

# 3. one endorsement is not enough for OutOf(2, ...): the tx is invalidated
peer_env dso
# shellcheck disable=SC2046
out=$(peer chaincode invoke "${ORD[@]}" -C "$CHANNEL" -n "$CC_NAME" $(target dso) \
       -c "{\"Args\":[\"Put\",\"$KEY-single\",\"x\"]}" --waitForEvent 2>&1) || true
grep -q ENDORSEMENT_POLICY_FAILURE <<<"$out" && ok "single-org endorsement rejected (ENDORSEMENT_POLICY_FAILURE)" || bad "single-org Put: $out"
out=$(peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c "{\"Args\":[\"Get\",\"$KEY-single\"]}" 2>&1) || true
grep -q 'does not exist' <<<"$out" && ok "the invalid write left no state" || bad "invalid write visible: $out"

# 4. attributes from the enrolment certificate (a HEMS device identity of UtilityAMSP)
peer_env utilitya
out=$(CORE_PEER_MSPCONFIGPATH="$STATE/orgs/utilitya/users/hems-a-001/msp" \
      peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c '{"Args":["WhoAmI"]}' 2>&1) || true
grep -q '"role":"hems"' <<<"$out" && grep -q '"home":"home-a-001"' <<<"$out" && grep -q '"bus":"bus-1"' <<<"$out" \
  && ok "device certificate carries hems.role/home/bus: $out" || bad "WhoAmI: $out"

# 5. contract metadata (exercises the JSON serializer of fabric-contract-api)
out=$(peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c '{"Args":["org.hyperledger.fabric:GetMetadata"]}' 2>&1) || true
grep -q '"PutPrivate"' <<<"$out" && ok "GetMetadata lists the contract's transactions" || bad "GetMetadata: ${out:0:300}"

# 6. private data in UtilityAMSP's collection, value only in transient data
peer_env utilitya
VALUE_B64=$(printf '9,10' | base64)
# shellcheck disable=SC2046
if out=$(peer chaincode invoke "${ORD[@]}" -C "$CHANNEL" -n "$CC_NAME" $(target utilitya) \
          -c "{\"Args\":[\"PutPrivate\",\"UtilityAMSPPrivateCollection\",\"$KEY\"]}" \
          --transient "{\"value\":\"$VALUE_B64\"}" --waitForEvent 2>&1) && grep -q 'status:200' <<<"$out"; then
  ok "PutPrivate endorsed by UtilityAMSP alone (collection endorsement policy) committed"
else bad "PutPrivate: $out"; fi
out=$(peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c "{\"Args\":[\"GetPrivate\",\"UtilityAMSPPrivateCollection\",\"$KEY\"]}" 2>&1) || true
[[ "$out" == "9,10" ]] && ok "UtilityAMSP peer reads its private value" || bad "GetPrivate on utilitya: $out"
peer_env utilityb
out=$(peer chaincode query -C "$CHANNEL" -n "$CC_NAME" -c "{\"Args\":[\"GetPrivate\",\"UtilityAMSPPrivateCollection\",\"$KEY\"]}" 2>&1) || true
[[ "$out" != *"9,10"* ]] && grep -qi 'error' <<<"$out" && ok "UtilityBMSP peer cannot read UtilityAMSP's collection" || bad "GetPrivate on utilityb: $out"

log "smoke test: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

# shellcheck shell=bash
# Source this to use the `peer` CLI against the running network, with TLS:
#
#   source scripts/network/peer-env.sh <org> [identity]
#     org:      dso | utilitya | utilityb | regulator
#     identity: orgadmin (default) or any enrolled user of that org, e.g.
#               dso-operator, relay, meter-headend, hems-a-001, auditor
#
# Then e.g.:
#   peer channel getinfo -c hems
#   peer chaincode query -C hems -n smoke -c '{"Args":["WhoAmI"]}'
#   peer chaincode invoke $HEMS_ORDERER_ARGS -C hems -n smoke \
#     $(hems_target dso) $(hems_target utilitya) -c '{"Args":["Put","k","v"]}' --waitForEvent
if [[ $# -lt 1 ]]; then
  echo "usage: source ${BASH_SOURCE[0]} <dso|utilitya|utilityb|regulator> [identity]" >&2
  # shellcheck disable=SC2317  # exit only when executed instead of sourced
  return 2 2>/dev/null || exit 2
fi
_hems_set_opts=$(set +o); _hems_set_euo=$-
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ -z "${PEER_PORT[$1]:-}" ]]; then
  echo "unknown org '$1' (dso, utilitya, utilityb, regulator)" >&2
else
  peer_env "$1"
  if [[ -n "${2:-}" && "$2" != orgadmin ]]; then
    if [[ -d "$STATE/orgs/$1/users/$2/msp" ]]; then
      export CORE_PEER_MSPCONFIGPATH="$STATE/orgs/$1/users/$2/msp"
    else
      echo "no identity '$2' enrolled in $1 (see $STATE/orgs/$1/users)" >&2
    fi
  fi
  HEMS_ORDERER_ARGS="-o $ORDERER_ADDR --tls --cafile $(orderer_ca)"; export HEMS_ORDERER_ARGS
  hems_target() { echo --peerAddresses "$HOST:${PEER_PORT[$1]}" --tlsRootCertFiles "$(org_ca_pem "$1")"; }
  echo "peer CLI: ${MSP[$1]} as ${2:-orgadmin} -> $CORE_PEER_ADDRESS" >&2
fi
# Sourcing must not leave set -e/-u/pipefail from the scripts in the caller's shell.
eval "$_hems_set_opts"; unset _hems_set_opts _hems_set_euo

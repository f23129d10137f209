import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What `scripts/network/network.sh up` knows about the running network, written to
 * `<state>/network.json` so that clients never duplicate ports, paths or names.
 */
export interface PeerDescription {
  /** Short org key used by the scripts (dso, utilitya, ...). */
  readonly org: string;
  readonly mspId: string;
  /** host:port of the peer's gRPC endpoint. */
  readonly endpoint: string;
  /** PEM file of the CA that issued the peer's TLS certificate. */
  readonly tlsRootCertPath: string;
  /** host:port of the peer's operations endpoint (/healthz, /metrics). */
  readonly operationsEndpoint: string;
}

export interface IdentityDescription {
  readonly org: string;
  readonly mspId: string;
  /** Enrolment id at the org's CA (relay, orgadmin, dso-operator, hems-a-001, ...). */
  readonly name: string;
  /** Fabric CA identity type: client, admin, peer, orderer. */
  readonly type: string;
  /** hems.* attributes written into the enrolment certificate. */
  readonly attributes: Readonly<Record<string, string>>;
  /** MSP folder with signcerts/cert.pem and keystore/<key>_sk. */
  readonly mspPath: string;
}

export interface CertificateAuthorityDescription {
  readonly org: string;
  readonly mspId: string;
  readonly url: string;
  readonly caName: string;
  readonly tlsCertPath: string;
  /** MSP folder of the CA's registrar (bootstrap admin), for device onboarding. */
  readonly registrarMspPath: string;
}

/** TLS server material the network scripts enrolled for each org's REST gateway. */
export interface GatewayDescription {
  readonly org: string;
  readonly mspId: string;
  readonly tlsCertPath: string;
  readonly tlsKeyPath: string;
  readonly tlsCaPath: string;
}

export interface OrdererDescription {
  readonly name: string;
  readonly endpoint: string;
  readonly operationsEndpoint: string;
}

export interface NetworkDescription {
  readonly stateDir: string;
  readonly channel: string;
  readonly chaincode: string;
  readonly peers: readonly PeerDescription[];
  readonly orderers: readonly OrdererDescription[];
  readonly certificateAuthorities: readonly CertificateAuthorityDescription[];
  readonly identities: readonly IdentityDescription[];
  readonly gateways?: readonly GatewayDescription[];
}

export const DEFAULT_STATE_DIR = path.resolve(__dirname, '..', '..', '.state');

/** Reads `<state>/network.json`; the state folder defaults to HEMS_NETWORK_STATE or network/.state. */
export function loadNetworkDescription(
  stateDir = process.env.HEMS_NETWORK_STATE ?? DEFAULT_STATE_DIR,
): NetworkDescription {
  const file = path.join(stateDir, 'network.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no network description at ${file}: start the network with npm run network:up`);
  }
  return JSON.parse(text) as NetworkDescription;
}

export function findPeer(description: NetworkDescription, mspId: string): PeerDescription {
  const peer = description.peers.find((candidate) => candidate.mspId === mspId);
  if (peer === undefined) {
    throw new Error(`the network has no peer of ${mspId}`);
  }
  return peer;
}

export function findIdentity(
  description: NetworkDescription,
  mspId: string,
  name: string,
): IdentityDescription {
  const identity = description.identities.find(
    (candidate) => candidate.mspId === mspId && candidate.name === name,
  );
  if (identity === undefined) {
    throw new Error(`the network has no identity ${name} of ${mspId}`);
  }
  return identity;
}

import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  connect,
  hash,
  signers,
  type Contract,
  type Gateway,
  type Network,
} from '@hyperledger/fabric-gateway';
import {
  findIdentity,
  findPeer,
  type IdentityDescription,
  type NetworkDescription,
} from './network-description';

/** A gateway connection of one identity to one peer; close it when done. */
export interface FabricConnection {
  readonly identity: IdentityDescription;
  readonly peerMspId: string;
  readonly gateway: Gateway;
  readonly network: Network;
  /** The HEMS chaincode; `contractName` selects e.g. 'governance'. */
  contract(contractName?: string): Contract;
  close(): void;
}

export interface ConnectOptions {
  /** MSP of the identity, e.g. UtilityAMSP. */
  readonly mspId: string;
  /** Enrolment id of the identity, e.g. relay. */
  readonly identity: string;
  /** MSP whose peer to connect to; defaults to the identity's own org. */
  readonly peerMspId?: string;
  /** Per-call deadlines in milliseconds. */
  readonly timeouts?: {
    readonly evaluate?: number;
    readonly endorse?: number;
    readonly submit?: number;
    readonly commit?: number;
  };
}

export interface Credentials {
  readonly certificate: Buffer;
  readonly privateKeyPem: Buffer;
}

/** Reads an enrolled identity's certificate and private key from its MSP folder. */
export function readCredentials(identity: IdentityDescription): Credentials {
  const certificate = readFileSync(path.join(identity.mspPath, 'signcerts', 'cert.pem'));
  const keystore = path.join(identity.mspPath, 'keystore');
  const keyFile = readdirSync(keystore).find((name) => name.endsWith('_sk'));
  if (keyFile === undefined) {
    throw new Error(`no private key in ${keystore}`);
  }
  return { certificate, privateKeyPem: readFileSync(path.join(keystore, keyFile)) };
}

/** Largest gRPC message exchanged with a peer, bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A gRPC client to a peer with TLS, checking the peer's certificate against its org's TLS CA. */
export function newGrpcClient(endpoint: string, tlsRootCert: Buffer): grpc.Client {
  return new grpc.Client(endpoint, grpc.credentials.createSsl(tlsRootCert), {
    // Long-lived connections across idle periods (event streams, slow demo pacing).
    'grpc.keepalive_time_ms': 120_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // grpc-js stops at 4 MiB by default; a prepared transaction carries the whole write set (a
    // large reveal or clearing), and the peers accept up to 100 MiB.
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
}

export function connectAs(description: NetworkDescription, options: ConnectOptions): FabricConnection {
  const identity = findIdentity(description, options.mspId, options.identity);
  const peer = findPeer(description, options.peerMspId ?? options.mspId);
  const credentials = readCredentials(identity);
  const client = newGrpcClient(peer.endpoint, readFileSync(peer.tlsRootCertPath));
  const timeouts = { evaluate: 10_000, endorse: 30_000, submit: 15_000, commit: 60_000, ...options.timeouts };
  const gateway = connect({
    client,
    identity: { mspId: identity.mspId, credentials: credentials.certificate },
    signer: signers.newPrivateKeySigner(createPrivateKey(credentials.privateKeyPem)),
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + timeouts.evaluate }),
    endorseOptions: () => ({ deadline: Date.now() + timeouts.endorse }),
    submitOptions: () => ({ deadline: Date.now() + timeouts.submit }),
    commitStatusOptions: () => ({ deadline: Date.now() + timeouts.commit }),
  });
  const network = gateway.getNetwork(description.channel);
  return {
    identity,
    peerMspId: peer.mspId,
    gateway,
    network,
    contract: (contractName?: string) =>
      contractName === undefined
        ? network.getContract(description.chaincode)
        : network.getContract(description.chaincode, contractName),
    close: () => {
      gateway.close();
      client.close();
    },
  };
}

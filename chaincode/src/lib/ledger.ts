import { createHash } from 'node:crypto';
import { KeyEndorsementPolicy } from 'fabric-shim';
import type { ChaincodeStub } from 'fabric-shim-api';
import { decodeNonce } from '@hems/protocol';
import { writeState } from './state';

/** Hashing and key-level endorsement, as every feature writes them. */

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Endorsement policy "a peer of `org`" for a key that only that org's peer can compute. */
export function peerOfOrgPolicy(org: string): Uint8Array {
  const policy = new KeyEndorsementPolicy();
  policy.addOrgs('PEER', org);
  return policy.getPolicy();
}

/**
 * Writes a new public record that from now on only a peer of `org` may endorse changes to: the
 * record is changed only from data that org's peer alone holds. The key must exist with that
 * policy before the org's single-peer transactions write it: a new key would be checked against
 * the chaincode's majority policy.
 */
export async function writeOwnedByOrg(
  stub: ChaincodeStub,
  key: string,
  value: unknown,
  org: string,
): Promise<void> {
  await writeState(stub, key, value);
  await stub.setStateValidationParameter(key, peerOfOrgPolicy(org));
}

/** The digest a nonce marker's key holds: the nonce itself never appears in a key. */
export function nonceDigest(nonce: string): string {
  return sha256Hex(decodeNonce(nonce));
}

/** Orders text by code unit, as the keys are ordered (localeCompare would depend on the locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// @peculiar/x509 needs the metadata polyfill before it parses anything.
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Every test certificate is made with Node's Web Crypto.
x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256 with SHA-256: the key and signature algorithm of every test certificate. */
export const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** ECDSA P-384: a key type the chaincode must refuse for devices. */
export const ECDSA_P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;

export type KeyPair = webcrypto.CryptoKeyPair;
export type KeyAlgorithm = webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;

export function generateKeys(algorithm: KeyAlgorithm = ECDSA): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

/** A private key as PKCS#8 PEM. */
export function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

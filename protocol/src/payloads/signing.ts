import { randomBytes, sign, type KeyObject } from 'node:crypto';

/** Random bytes in each nonce a device puts in a signed payload (the chaincode requires 16-64). */
export const NONCE_BYTES = 32;

/** A fresh nonce as base64: `bytes` random bytes (NONCE_BYTES unless given). */
export function freshNonce(bytes: number = NONCE_BYTES): string {
  return randomBytes(bytes).toString('base64');
}

/**
 * A device's signature over a payload: ECDSA-SHA256 with the device key over the payload's bytes
 * (a text's UTF-8 bytes), DER-encoded, as base64 — what verifyDeviceSignature checks.
 */
export function signPayload(privateKey: KeyObject, payload: string | Uint8Array): string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return sign('sha256', bytes, privateKey).toString('base64');
}

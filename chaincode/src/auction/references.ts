import { createHmac } from 'node:crypto';

/**
 * Pseudonyms of the auction, all HMAC-SHA256 under the utility's home-reference secret (kept in
 * its own collection). Without the secret nobody can link one to a home id, nor enumerate home ids
 * against the private-key hashes Fabric writes on the shared ledger. A purpose label keeps the
 * references of one home unlinkable across purposes; the window id keeps them unlinkable across
 * windows, except the account, which is stable by design (it holds the home's tokens).
 */

/** HMAC-SHA256 (hex) of `parts` joined by NUL under the utility's secret: every home reference and salt. */
export function hmacHex(secret: Uint8Array, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('\u0000'), 'utf8').digest('hex');
}

/** `acct-` + 32 hex: the home's pseudonymous token account, the same in every window. */
export function accountIdOf(secret: Uint8Array, homeId: string): string {
  return `acct-${hmacHex(secret, ['hems.account', homeId]).slice(0, 32)}`;
}

/** The home's order reference in one window: the private key of its order and its public id after the close. */
export function orderReference(secret: Uint8Array, windowId: string, homeId: string): string {
  return hmacHex(secret, ['hems.order', windowId, homeId]);
}

/**
 * Private key (and salt of the value) of the energy a prosumer may offer in one window, derived
 * from the home's order reference so that the reveal, which knows an order only by its reference,
 * can find it again. The order reference is public after the close; this one still needs the
 * secret, so the availability's on-chain hashes stay salted.
 */
export function availabilityReferenceOfOrder(secret: Uint8Array, windowId: string, orderRef: string): string {
  return hmacHex(secret, ['hems.availability', windowId, orderRef]);
}

export function availabilityReference(secret: Uint8Array, windowId: string, homeId: string): string {
  return availabilityReferenceOfOrder(secret, windowId, orderReference(secret, windowId, homeId));
}

/** Private key (and salt of the value) of one meter reading of a trade side. */
export function readingReference(
  secret: Uint8Array,
  windowId: string,
  tradeId: string,
  side: string,
): string {
  return hmacHex(secret, ['hems.reading', windowId, tradeId, side]);
}

/**
 * Identifiers of the protocol and their patterns, as JSON-schema pattern strings (for the
 * gateway's schemas and OpenAPI document) and as the RegExps the chaincode checks with.
 */

/** Slots and trading windows: 1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit. */
export const SLOT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
/** Feeder buses: 1-32 of A-Z a-z 0-9 . _ -. */
export const BUS_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$';
/** Settings proposals: 1-64 of A-Z a-z 0-9 . _ -. */
export const PROPOSAL_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
/** Fabric MSP ids. */
export const MSP_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
/** A home as its utility names it (the device certificate's hems.home). */
export const HOME_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$';
/** A per-slot home reference: HMAC-SHA256 hex. */
export const HOME_REF_PATTERN = '^[0-9a-f]{64}$';
/**
 * Pseudonymous token accounts, the DSO's grid account `grid:<msp>` and its demand-response pool
 * `pool:<msp>` (no nested group: the gateway's router takes the pattern as a path parameter).
 */
export const ACCOUNT_ID_PATTERN =
  '^(acct-[0-9a-f]{32}|grid:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|pool:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$';
/** Fabric CA enrolment ids of devices: `hems-<name>` or the gateway's `hems~<32 hex>`. */
export const DEVICE_ENROLLMENT_ID_PATTERN = '^hems(-[A-Za-z0-9][A-Za-z0-9._@-]{0,58}|~[0-9a-f]{32})$';
/** Fabric transaction ids: SHA-256 hex. */
export const TRANSACTION_ID_PATTERN = '^[0-9a-f]{64}$';

export const SLOT_ID = new RegExp(SLOT_ID_PATTERN);
export const BUS_ID = new RegExp(BUS_ID_PATTERN);
export const PROPOSAL_ID = new RegExp(PROPOSAL_ID_PATTERN);
export const MSP_ID = new RegExp(MSP_ID_PATTERN);
export const HOME_ID = new RegExp(HOME_ID_PATTERN);
export const HOME_REF = new RegExp(HOME_REF_PATTERN);
export const TRANSACTION_ID = new RegExp(TRANSACTION_ID_PATTERN);
export const ACCOUNT_ID = new RegExp(ACCOUNT_ID_PATTERN);
export const DEVICE_ENROLLMENT_ID = new RegExp(DEVICE_ENROLLMENT_ID_PATTERN);

export function isAccountId(text: string): boolean {
  return ACCOUNT_ID.test(text);
}

/** The DSO's demand-response pool: what it funded and has not yet allotted to an event. */
export function poolAccountOf(dsoMspId: string): string {
  return `pool:${dsoMspId}`;
}

/** The DSO's grid account, which receives the auction's grid share. */
export function gridAccountOf(dsoMspId: string): string {
  return `grid:${dsoMspId}`;
}

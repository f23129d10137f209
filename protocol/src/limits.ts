/**
 * Bounds that the chaincode enforces and the gateway's schemas and the device client state again
 * at their edges. One copy here, so the edges can never be looser or stricter than the ledger.
 */

/** Prices, currency per MWh (distribution LMPs can be negative down to -MAX_PRICE). */
export const MAX_PRICE = 100_000;
/** Buses listed in one slot's price ranges. */
export const MAX_PRICED_BUSES = 1000;
/** Buses one utility may enrol homes on. */
export const MAX_BUSES_PER_ORG = 1000;
/** Page size of every paged listing (ListSlots, ListWindows). */
export const MAX_PAGE_SIZE = 100;

/** Trades of one clearing. */
export const MAX_TRADES = 200_000;
/** Meter readings one utility may report for one window: both sides of every trade. */
export const MAX_READINGS = 2 * MAX_TRADES;
/** Bytes of ReportDelivery's transient `readings`. */
export const MAX_READINGS_BYTES = MAX_READINGS * 64;
/** Homes per PostAvailableEnergy call. */
export const MAX_AVAILABILITY_ENTRIES = 1000;
/** Bytes of PostAvailableEnergy's transient `availability`. */
export const MAX_AVAILABILITY_BYTES = MAX_AVAILABILITY_ENTRIES * 256;
/** Accounts of orders a utility did not reveal that one ReleaseEscrow call may refund. */
export const MAX_RELEASE_ACCOUNTS = 1000;
/** Bytes of ReleaseEscrow's transient `accounts`: 40 characters, quotes and comma per account. */
export const MAX_RELEASE_ACCOUNTS_BYTES = MAX_RELEASE_ACCOUNTS * 40 + 2;
/** A window's report grace after its delivery end, seconds. */
export const MAX_REPORT_GRACE_SECONDS = 7 * 24 * 3600;
/** Device-signed payloads (forecast, consumption, order, cancel), bytes of JSON. */
export const MAX_SIGNED_PAYLOAD_BYTES = 1024;
/** A device signature: DER ECDSA P-256 is at most 72 bytes; the bound leaves room for other forms. */
export const MAX_SIGNATURE_BYTES = 256;

/** Bounds of one utility's reveal of a trading window. */

/**
 * Orders one utility may reveal for one window. Its revealed orders live in one public record
 * written by one transaction, and Fabric refuses blocks above 10 MB: a typical order takes about
 * 0.5 KB there, so 5,000 stay near 2.5 MB. The cap applies at the reveal because the chaincode
 * cannot count submissions: a counter every order writes would be a shared key (all orders of a
 * window would conflict, and its versions would tell when orders arrive).
 */
export const MAX_REVEALED_ORDERS = 5000;
/**
 * Orders of a whole window, shared equally by its utilities (so 5,000 each for two, 2,500 for
 * four): the clearing record holds at most one trade per order, about 0.4 KB each.
 */
export const MAX_WINDOW_ORDERS = 10000;
/** Bytes of one utility's revealed record, whatever the orders' sizes (padded payloads). */
export const MAX_REVEALED_RECORD_BYTES = 4 * 1024 * 1024;
/** 64 hexadecimal characters, quotes and comma per reference in `refs`. */
export const MAX_REFS_BYTES = MAX_REVEALED_ORDERS * 67 + 2;

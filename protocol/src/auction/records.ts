import type { ClearingRule } from './clearing';

/**
 * The public records of a trading window's clearing, as ClearWindow writes them and GetClearing,
 * AuditClearing and the gateways' window answers return them.
 */

/** The window's pool, derived from the per-org records: charged - paid - toGrid. */
export interface PoolView {
  readonly amount: string;
  readonly charged: string;
  readonly paid: string;
  readonly toGrid: string;
}

/** One trade of a cleared window. Orders are named by their references, parties by account. */
export interface TradeRecord {
  readonly tradeId: string;
  readonly offerRef: string;
  readonly bidRef: string;
  readonly sellerAccount: string;
  readonly buyerAccount: string;
  readonly sellerOrg: string;
  readonly buyerOrg: string;
  readonly energyWh: number;
  /** Price units (1/10000 currency per MWh). */
  readonly price: number;
  /** energyWh x price, value units. */
  readonly value: string;
}

export interface ClearingTotalsRecord {
  readonly offeredWh: number;
  readonly bidWh: number;
  readonly tradedWh: number;
  readonly value: string;
}

/** The public result of ClearWindow. */
export interface ClearingRecord {
  readonly windowId: string;
  readonly pricingRule: ClearingRule;
  readonly clearingPrice: number | null;
  /** Orders that took part in the clearing (revealed, minus those of revoked devices). */
  readonly orders: number;
  readonly trades: readonly TradeRecord[];
  readonly totals: ClearingTotalsRecord;
  /** Utilities that had not revealed by revealBy, cleared without: none of their orders trade. */
  readonly excludedOrgs: readonly string[];
  /** Revealed orders left out because their device's certificate was revoked by the clearing. */
  readonly droppedRevoked: number;
  /** The checks on sealed-order commitments (windows opened with them), and what they left out. */
  readonly checks?: SealedOrderChecks;
  readonly clearedAt: string;
  readonly txId: string;
}

/**
 * What the clearing of a window with sealed-order commitments left out, checked by majority code
 * without identifying a home.
 */
export interface SealedOrderChecks {
  /** Utilities without a commitment made before the close: none of their orders trade. */
  readonly uncommittedOrgs: readonly string[];
  /** Utilities whose reveal does not give their commitment: none of their orders trade. */
  readonly unmatchedOrgs: readonly string[];
  /** Revealed orders (references) without their private-data hash on the ledger at the clearing. */
  readonly unverifiedOrders: readonly string[];
  /** Revealed bids (references) whose escrow was not held, covering them, in an account of their utility. */
  readonly unfundedBids: readonly string[];
}

import type { SlotEmergency } from './emergency';
import type { BusPriceRange, PriceRange } from './prices';
import type { SlotSchedule } from './schedule';

/**
 * What the chaincode's GetSlot answers: the public record of a slot with its derived status and
 * totals; shared by the gateways, the simulated day and the clients.
 */
export interface SlotView {
  slotId: string;
  status: string;
  deadline: string;
  openedAt: string;
  prices: { default?: PriceRange; buses: BusPriceRange[] };
  /** Delivery interval and time-of-use period, when the DSO set them at opening. */
  schedule?: SlotSchedule;
  expected: { org: string; bus: string; homes: number }[];
  aggregates: {
    org: string;
    bus: string;
    expectedHomes: number;
    published: boolean;
    homes?: number;
    withheld?: boolean;
    lower?: number;
    upper?: number;
    /** Forecasts the utility's relay vouched for (OpenADR VENs); absent below k. */
    relayAttested?: number;
    /** The utility's latest consumption summary of the bus (after dispatch); sums absent below k. */
    consumption?: {
      homes: number;
      withheld: boolean;
      drawnKw?: number;
      nonCompliant?: number;
      relayAttested?: number;
      metered?: number;
      mismatched?: number;
      publishedAt: string;
      txId: string;
    };
  }[];
  busTotals: {
    bus: string;
    homes: number;
    withheldHomes: number;
    lower: number;
    upper: number;
    relayAttested?: number;
    orgs: string[];
    withheldOrgs: string[];
    pendingOrgs: string[];
    /** After dispatch: metered consumption over the bus's published, not withheld summaries. */
    consumption?: {
      homes: number;
      withheldHomes: number;
      drawnKw: number;
      nonCompliant: number;
      relayAttested?: number;
      metered?: number;
      mismatched?: number;
      orgs: string[];
      withheldOrgs: string[];
      pendingOrgs: string[];
    };
  }[];
  dispatch?: {
    lambda: number;
    perBus: { bus: string; lambda: number }[];
    revision: number;
    publishedAt: string;
    /** Expected aggregates that were not published (or not readable) when the DSO dispatched. */
    missing?: { org: string; bus: string }[];
    /**
     * The published aggregates the dispatch used, copied into the slot record by the
     * majority-endorsed dispatch: what the DSO decided on, whatever a utility writes later.
     */
    aggregates?: {
      org: string;
      bus: string;
      homes: number;
      withheld: boolean;
      lower?: number;
      upper?: number;
      publishTxId?: string;
    }[];
  };
  settledAt?: string;
  /** A grid emergency the DSO declared before the dispatch: allowances shrink towards Lmin. */
  emergency?: SlotEmergency;
  /** The channel's productionTokenRate when the slot opened (currency per MWh; 0: no minting). */
  productionTokenRate?: number;
}

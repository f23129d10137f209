/**
 * A trading window's public record as the gateways answer it, and the day's result of a window
 * made from it: public values and counts only, no account or home is named.
 */
import type { PoolView, TradeRecord } from '@hems/protocol';
import type { WindowResult } from './day-result';
import type { OrderOutcome } from './devices';
import { AuctionError } from './auction-calls';
import { priceFromUnits } from './market-model';
import type { WindowPlan } from './auction';

interface WindowPart {
  readonly org: string;
  readonly revealed?: { readonly count: number };
  readonly released?: unknown;
  readonly delivery?: { readonly deliveredWh: number; readonly receivedWh: number };
  readonly settlement?: unknown;
}

/** A window's token pool: what buyers were charged, sellers paid and the grid got; value units. */
export type WindowPool = PoolView;

/** GET /v1/windows/:id: GetWindow with GetClearing once cleared (loadWindow in gateway-api/src/resources/windows/service.ts). */
export interface WindowView {
  readonly windowId: string;
  readonly status: string;
  readonly pricingRule: string;
  readonly tradeOrgs?: readonly string[];
  readonly gridShare?: string;
  readonly gridClaimedAt?: string;
  readonly parts: readonly WindowPart[];
  readonly pool: WindowPool;
  readonly clearing?: {
    readonly clearingPrice: number | null;
    readonly trades: readonly TradeRecord[];
    readonly totals: { readonly offeredWh: number; readonly bidWh: number; readonly tradedWh: number };
  };
}

export interface AuditAnswer {
  readonly matches: boolean;
  readonly ordersVerified?: number;
}

/**
 * A window's result from its public record (the auditor's read), its audit, and the devices' and
 * head-ends' own counts. Only public values and counts: no account or home is named.
 */
export function windowResult(
  plan: Pick<WindowPlan, 'windowId' | 'deliverySlotId' | 'deliveryIndex' | 'deliveryStartsAt'>,
  view: WindowView,
  audit: AuditAnswer,
  own: {
    readonly posted: number;
    readonly outcomes: readonly OrderOutcome[];
    readonly readings: number;
    readonly timing: WindowResult['timing'];
  },
): WindowResult {
  const clearing = view.clearing;
  if (clearing === undefined) {
    throw new AuctionError(`window ${view.windowId} has no clearing`);
  }
  const accepted = (side: 'offer' | 'bid'): number =>
    own.outcomes.filter((outcome) => outcome.placed && outcome.accepted && outcome.side === side).length;
  const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
  return {
    windowId: plan.windowId,
    deliverySlotId: plan.deliverySlotId,
    deliveryIndex: plan.deliveryIndex,
    deliveryStartsAt: plan.deliveryStartsAt,
    pricingRule: view.pricingRule,
    availabilityPosted: own.posted,
    offersPlaced: accepted('offer'),
    bidsPlaced: accepted('bid'),
    ordersRefused: own.outcomes.filter((outcome) => outcome.placed && !outcome.accepted).length,
    ordersRevealed: sum(view.parts.map((part) => part.revealed?.count ?? 0)),
    clearingPrice: clearing.clearingPrice === null ? null : priceFromUnits(clearing.clearingPrice),
    trades: clearing.trades.length,
    offeredWh: clearing.totals.offeredWh,
    bidWh: clearing.totals.bidWh,
    tradedWh: clearing.totals.tradedWh,
    deliveredWh: sum(view.parts.map((part) => part.delivery?.deliveredWh ?? 0)),
    receivedWh: sum(view.parts.map((part) => part.delivery?.receivedWh ?? 0)),
    tradeOrgs: view.tradeOrgs?.length ?? 0,
    readings: own.readings,
    buyersCharged: view.pool.charged,
    paidToSellers: view.pool.paid,
    gridShare: view.gridShare ?? view.pool.toGrid,
    status: view.status,
    auditMatches: audit.matches,
    ordersVerified: audit.ordersVerified ?? 0,
    timing: own.timing,
  };
}

import { invalidArgument } from '../errors';
import { parseOrders, type Order, type OrderSide } from './orders';

/**
 * Clearing of one trading window of the peer-to-peer energy auction: a pure, deterministic function
 * of the revealed orders and the window's rule, so that any auditor recomputes the same result from
 * the ledger. No clock, no randomness, no floating point on amounts (see ./orders.ts for the units).
 *
 * Rules, in the order they apply:
 *
 * 1. Priority. Offers are ranked by limit price ascending, bids by limit price descending. Equal
 *    prices are ranked by `submittedSeq` ascending (earlier first), then by `orderId` in ascending
 *    UTF-16 code-unit order (ids are unique, so the ranking is total and independent of the order
 *    of the input array).
 *
 * 2. Matching (the same for both rules). Bids are served one after the other in priority order.
 *    A bid takes the best-ranked offer still holding energy whose limit price is <= the bid's limit
 *    price, for min(bid remaining, offer remaining) Wh (partial fills), and repeats until it is
 *    filled or no such offer is left.
 *    - Self-trade prevention: a bid never takes an offer of its own participant. It skips to the
 *      next eligible offer in priority order; the skipped offer stays available to later bids.
 *    - Uniform-price guard: a bid whose limit price is below the highest limit price of an offer
 *      already matched does not trade, and neither does any bid ranked after it. So every matched
 *      offer's limit is <= every matched bid's limit, and one price fits all trades. Without
 *      self-trades this never cuts anything (the classic merit-order greedy, which leaves no bid and
 *      offer that could still trade); with self-trades it may leave a crossing pair of different
 *      participants untraded when the bid is below the marginal offer.
 *    - The matching stops as soon as the cheapest offer left is above the current bid.
 *
 * 3. Prices. No trade is ever above its bid's limit or below its offer's limit.
 *    - 'pay-as-clear' (the default): every trade is at one uniform price, the midpoint of the
 *      marginal offer price (highest limit among matched offers) and the marginal bid price (lowest
 *      limit among matched bids), rounded down to a whole price unit (the k = 1/2 double-auction
 *      price; a half unit goes to the buyers). With no trade, `clearingPrice` is null.
 *    - 'pay-as-bid': each trade is at its bid's limit price; `clearingPrice` is null.
 *
 * Cost: O(n log n) for n orders (sorting, then a segment tree over the ranked offers that answers
 * "best available offer of another participant" in O(1) and is updated in O(log n) per exhausted
 * offer; there are at most n trades).
 */

export type ClearingRule = 'pay-as-clear' | 'pay-as-bid';

export const CLEARING_RULES: readonly ClearingRule[] = ['pay-as-clear', 'pay-as-bid'];
export const DEFAULT_CLEARING_RULE: ClearingRule = 'pay-as-clear';

export interface Trade {
  readonly offerId: string;
  readonly bidId: string;
  readonly seller: string;
  readonly buyer: string;
  /** Wh, >= 1. */
  readonly quantityWh: number;
  /** Price units (1/10000 currency per MWh). */
  readonly price: number;
}

export interface OrderFill {
  readonly orderId: string;
  readonly side: OrderSide;
  readonly quantityWh: number;
  readonly filledWh: number;
}

export interface ClearingTotals {
  /** Sum of all offers' quantities, Wh. */
  readonly offeredWh: number;
  /** Sum of all bids' quantities, Wh. */
  readonly bidWh: number;
  /** Sum of all trades' quantities, Wh. */
  readonly tradedWh: number;
  /** Sum of quantityWh x price over the trades, in value units (1e-10 currency) as a decimal string. */
  readonly value: string;
}

export interface ClearingResult {
  readonly rule: ClearingRule;
  /** 'pay-as-clear': the uniform price (null when nothing traded); 'pay-as-bid': null. */
  readonly clearingPrice: number | null;
  /** In the order they were matched (bid priority, then offer priority). */
  readonly trades: readonly Trade[];
  /** Every order: offers in priority order, then bids in priority order. */
  readonly filled: readonly OrderFill[];
  readonly totals: ClearingTotals;
}

export function parseClearingRule(value: unknown, name = 'rule'): ClearingRule {
  if (value !== 'pay-as-clear' && value !== 'pay-as-bid') {
    throw invalidArgument(`${name} must be "pay-as-clear" or "pay-as-bid"`);
  }
  return value;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Offer priority: cheapest first, then earliest, then smallest id. */
export function compareOffers(a: Order, b: Order): number {
  return a.limitPrice - b.limitPrice || a.submittedSeq - b.submittedSeq || compareIds(a.orderId, b.orderId);
}

/** Bid priority: highest first, then earliest, then smallest id. */
export function compareBids(a: Order, b: Order): number {
  return b.limitPrice - a.limitPrice || a.submittedSeq - b.submittedSeq || compareIds(a.orderId, b.orderId);
}

/**
 * The ranked offers still holding energy. Each node of the tree keeps the first available offer of
 * its range and the first available offer of its range whose participant differs from that one's,
 * which is all a bid needs: the root's first offer, or the root's second if the first is its own.
 */
/**
 * The element at `index`, which the caller's indexing guarantees to exist: a missing one is a bug
 * in the clearing, never a property of the orders, so it fails loudly instead of trading on it.
 */
function at<T>(items: ArrayLike<T>, index: number): T {
  const item = items[index];
  if (item === undefined) {
    throw new RangeError(`clearing index ${index} is out of range`);
  }
  return item;
}

class AvailableOffers {
  private readonly size: number;
  private readonly first: Int32Array;
  private readonly second: Int32Array;

  constructor(private readonly participants: Int32Array) {
    let size = 1;
    while (size < participants.length) {
      size *= 2;
    }
    this.size = size;
    this.first = new Int32Array(2 * size).fill(-1);
    this.second = new Int32Array(2 * size).fill(-1);
    for (let index = 0; index < participants.length; index += 1) {
      this.first[size + index] = index;
    }
    for (let node = size - 1; node >= 1; node -= 1) {
      this.pull(node);
    }
  }

  /** The best-ranked available offer, or -1. */
  best(): number {
    return at(this.first, 1);
  }

  /** The best-ranked available offer whose participant is not `participant`, or -1. */
  bestExcluding(participant: number): number {
    const first = at(this.first, 1);
    return first === -1 || at(this.participants, first) !== participant ? first : at(this.second, 1);
  }

  remove(index: number): void {
    let node = this.size + index;
    this.first[node] = -1;
    for (node >>= 1; node >= 1; node >>= 1) {
      this.pull(node);
    }
  }

  private pull(node: number): void {
    const left = 2 * node;
    const right = left + 1;
    const leftFirst = at(this.first, left);
    if (leftFirst === -1) {
      this.first[node] = at(this.first, right);
      this.second[node] = at(this.second, right);
      return;
    }
    this.first[node] = leftFirst;
    const leftSecond = at(this.second, left);
    if (leftSecond !== -1) {
      this.second[node] = leftSecond;
      return;
    }
    const rightFirst = at(this.first, right);
    this.second[node] =
      rightFirst === -1 || at(this.participants, rightFirst) !== at(this.participants, leftFirst)
        ? rightFirst
        : at(this.second, right);
  }
}

interface Match {
  readonly offer: number;
  readonly bid: number;
  readonly quantityWh: number;
}

/**
 * Clears one trading window. `orders` are validated as they would be read from the ledger (see
 * `parseOrders`); the result depends only on the set of orders and the rule, never on the order of
 * the array.
 */
export function clearAuction(
  orders: readonly Order[],
  rule: ClearingRule = DEFAULT_CLEARING_RULE,
): ClearingResult {
  const clearingRule = parseClearingRule(rule);
  const book = parseOrders(orders);
  const offers = book.filter((order) => order.side === 'offer').sort(compareOffers);
  const bids = book.filter((order) => order.side === 'bid').sort(compareBids);

  // Participants as small integers, so the tree compares numbers rather than strings.
  const participantIds = new Map<string, number>();
  const participantOf = (order: Order): number => {
    let id = participantIds.get(order.participant);
    if (id === undefined) {
      id = participantIds.size;
      participantIds.set(order.participant, id);
    }
    return id;
  };
  const offerParticipants = Int32Array.from(offers, participantOf);
  const bidParticipants = Int32Array.from(bids, participantOf);

  const offerLeft = offers.map((order) => order.quantityWh);
  const bidLeft = bids.map((order) => order.quantityWh);
  const available = new AvailableOffers(offerParticipants);
  const matches: Match[] = [];
  let marginalOffer = Number.NEGATIVE_INFINITY;
  let marginalBid = Number.POSITIVE_INFINITY;

  for (let bid = 0; bid < bids.length; bid += 1) {
    const limit = at(bids, bid).limitPrice;
    const cheapest = available.best();
    if (limit < marginalOffer || cheapest === -1 || at(offers, cheapest).limitPrice > limit) {
      break;
    }
    let wanted = at(bidLeft, bid);
    while (wanted > 0) {
      const offer = available.bestExcluding(at(bidParticipants, bid));
      if (offer === -1 || at(offers, offer).limitPrice > limit) {
        break;
      }
      const offered = at(offerLeft, offer);
      const quantityWh = Math.min(wanted, offered);
      wanted -= quantityWh;
      bidLeft[bid] = wanted;
      offerLeft[offer] = offered - quantityWh;
      if (offered === quantityWh) {
        available.remove(offer);
      }
      matches.push({ offer, bid, quantityWh });
      marginalOffer = Math.max(marginalOffer, at(offers, offer).limitPrice);
      marginalBid = limit;
    }
  }

  const clearingPrice =
    clearingRule === 'pay-as-clear' && matches.length > 0
      ? Math.floor((marginalOffer + marginalBid) / 2)
      : null;
  let tradedWh = 0;
  let value = 0n;
  const trades = matches.map(({ offer, bid, quantityWh }): Trade => {
    const offerOrder = at(offers, offer);
    const bidOrder = at(bids, bid);
    const price = clearingPrice ?? bidOrder.limitPrice;
    tradedWh += quantityWh;
    value += BigInt(quantityWh) * BigInt(price);
    return {
      offerId: offerOrder.orderId,
      bidId: bidOrder.orderId,
      seller: offerOrder.participant,
      buyer: bidOrder.participant,
      quantityWh,
      price,
    };
  });
  const fills = (ranked: readonly Order[], left: readonly number[]): OrderFill[] =>
    ranked.map((order, index) => ({
      orderId: order.orderId,
      side: order.side,
      quantityWh: order.quantityWh,
      filledWh: order.quantityWh - at(left, index),
    }));
  const sum = (ranked: readonly Order[]): number =>
    ranked.reduce((total, order) => total + order.quantityWh, 0);

  return {
    rule: clearingRule,
    clearingPrice,
    trades,
    filled: [...fills(offers, offerLeft), ...fills(bids, bidLeft)],
    totals: { offeredWh: sum(offers), bidWh: sum(bids), tradedWh, value: value.toString() },
  };
}

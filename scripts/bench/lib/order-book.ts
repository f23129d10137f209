/** Synthetic order books for the auction clearing benchmark, the same for a given size and seed. */
import { type Order } from '@hems/protocol';
import { randomInt, seededRandom } from './random';

/**
 * `count` orders, half offers and half bids (an odd one is a bid), in a crossing market: offers at
 * 30-90 and bids at 40-100 currency/MWh (whole cents), 0.1-10 kWh each. Participants are shared by
 * about one order in ten on both sides, so self-trade prevention is exercised; ids and sequence
 * numbers are unique.
 */
export function syntheticOrderBook(count: number, seed = count): Order[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError('the order count must be a positive whole number');
  }
  const random = seededRandom(seed);
  const participants = Math.max(1, Math.ceil(count * 0.9));
  return Array.from({ length: count }, (_, index) => {
    const side = index % 2 === 0 ? 'bid' : 'offer';
    const basePrice = side === 'offer' ? randomInt(random, 3000, 9000) : randomInt(random, 4000, 10000);
    return {
      orderId: `o${index}`,
      side,
      participant: `p${randomInt(random, 0, participants - 1)}`,
      quantityWh: randomInt(random, 100, 10000),
      // cents per MWh to price units of 1/10000 per MWh
      limitPrice: basePrice * 100,
      submittedSeq: index,
    };
  });
}

/** A small seeded generator, so benchmark inputs are the same in every run. */
import { createRandom } from '../../day/prng';

/** Mulberry32 (the simulated day's generator): uniform floats in [0, 1) from a 32-bit seed. */
export const seededRandom: (seed: number) => () => number = createRandom;

/** A whole number in [min, max]. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

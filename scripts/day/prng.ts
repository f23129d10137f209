/**
 * A small seeded pseudo-random generator (mulberry32): the simulated day must be reproducible
 * from its --seed, so every random choice in the models comes from here, never Math.random.
 */
export type Random = () => number;

/** 32-bit FNV-1a hash of the parts, to derive independent streams (per home, per slot). */
export function seedOf(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join('\u0000')) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in [min, max). */
export function between(random: Random, min: number, max: number): number {
  return min + (max - min) * random();
}

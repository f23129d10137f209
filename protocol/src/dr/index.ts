/*
 * Demand response that pays: customer baselines from a home's private meter history and the
 * reward for a reduction below them. Pure and Fabric-free, like the auction's clearing.
 */
export * from './meter-days';
export * from './baseline';
export * from './reward';

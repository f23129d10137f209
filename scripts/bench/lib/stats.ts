/** Latency statistics of the benchmarks: nearest-rank percentiles, so every figure is a measured value. */

/**
 * The p-th percentile (0 < p <= 100) of ascending `sorted` values by the nearest-rank method: the
 * smallest value with at least p % of the values at or below it. NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!Number.isFinite(p) || p <= 0 || p > 100) {
    throw new RangeError('percentile must be greater than 0 and at most 100');
  }
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(rank, 1)) - 1] ?? Number.NaN;
}

/** The median: the mean of the two middle values for an even count. NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Rounds to `places` decimals for reports (NaN stays NaN, printed as "-"). */
export function round(value: number, places = 1): number {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale;
}

/** Count, mean, p50/p95/p99 and max of latencies in milliseconds. */
export function summarize(latenciesMs: readonly number[]): LatencySummary {
  for (const value of latenciesMs) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError('latencies must be finite, non-negative milliseconds');
    }
  }
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    meanMs: round(sorted.length === 0 ? Number.NaN : total / sorted.length),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN)),
  };
}

/** A cost model `fixed + perItem × items`, fitted by least squares. */
export interface LinearCost {
  readonly fixedMs: number;
  readonly perItemMs: number;
}

/**
 * Fits `ms ≈ fixedMs + perItemMs × items` to the points by ordinary least squares: the cost of a
 * transaction apart from its items, and the cost each item adds. Null for fewer than two distinct
 * item counts.
 */
export function fitLinearCost(
  points: readonly { readonly items: number; readonly ms: number }[],
): LinearCost | null {
  const usable = points.filter((point) => Number.isFinite(point.items) && Number.isFinite(point.ms));
  if (new Set(usable.map((point) => point.items)).size < 2) {
    return null;
  }
  const meanItems = usable.reduce((sum, point) => sum + point.items, 0) / usable.length;
  const meanMs = usable.reduce((sum, point) => sum + point.ms, 0) / usable.length;
  let covariance = 0;
  let variance = 0;
  for (const point of usable) {
    covariance += (point.items - meanItems) * (point.ms - meanMs);
    variance += (point.items - meanItems) ** 2;
  }
  const perItemMs = covariance / variance;
  return { fixedMs: meanMs - perItemMs * meanItems, perItemMs };
}

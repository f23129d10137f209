/** Runs benchmark work items with bounded concurrency, timing each and keeping every failure. */

export interface PoolOutcome {
  /** Items started (all given, unless a time limit stopped the pool). Always succeeded + failures. */
  readonly items: number;
  readonly succeeded: number;
  readonly failures: number;
  /** Latency of each successful item, milliseconds, in completion order. */
  readonly latenciesMs: readonly number[];
  /** Wall time from the first start to the last completion, seconds. */
  readonly seconds: number;
  /** Message of the first failure, if any. */
  readonly firstError: string | undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Calls `work` for every item with at most `concurrency` calls in flight. Every item started is
 * either timed as a success or counted as a failure: nothing is dropped. With `forMs`, no item is
 * started after that long (a sustained run over a long list); the ones in flight finish.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
  options: { readonly forMs?: number } = {},
): Promise<PoolOutcome> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError('concurrency must be a positive whole number');
  }
  const latenciesMs: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const stopAt = options.forMs === undefined ? Number.POSITIVE_INFINITY : started + options.forMs;
  const worker = async (): Promise<void> => {
    while (next < items.length && performance.now() < stopAt) {
      const index = next;
      next += 1;
      const t0 = performance.now();
      try {
        // index < items.length: the item is there (T itself may include undefined).
        await work(items[index] as T, index);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        failures += 1;
        firstError ??= errorMessage(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (latenciesMs.length + failures !== next) {
    throw new Error(`internal: ${next} items started but ${latenciesMs.length + failures} outcomes`);
  }
  return { items: next, succeeded: latenciesMs.length, failures, latenciesMs, seconds, firstError };
}

/**
 * Runs the lanes concurrently and the items of each lane one after another, in order (an item may
 * need the previous one of its lane committed), timing every item. A failure is counted and its
 * lane goes on with its next item.
 */
export async function runLanes<T>(
  lanes: readonly (readonly T[])[],
  work: (item: T) => Promise<void>,
): Promise<PoolOutcome> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const item of lane) {
        started += 1;
        const itemStart = performance.now();
        try {
          await work(item);
          latenciesMs.push(performance.now() - itemStart);
        } catch (error) {
          failures += 1;
          firstError ??= errorMessage(error);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { items: started, succeeded: latenciesMs.length, failures, latenciesMs, seconds, firstError };
}

/** Milliseconds taken by `work`, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await work();
  return { ms: performance.now() - t0, result };
}

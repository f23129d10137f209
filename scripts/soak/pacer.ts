/**
 * A steady pace: jobs start at most `ratePerSecond` a second, in the order they were queued, and
 * run concurrently once started (a job stuck in retries never holds the others back).
 */
import { setTimeout as delay } from 'node:timers/promises';

export class Pacer {
  private readonly queue: (() => void)[] = [];
  private running = false;
  private readonly intervalMs: number;

  constructor(ratePerSecond: number) {
    if (!(ratePerSecond > 0)) {
      throw new RangeError('the rate must be above 0');
    }
    this.intervalMs = 1000 / ratePerSecond;
  }

  /** Queues `job`; resolves with it once it has run (a job's error rejects). */
  run<T>(job: () => Promise<T>): Promise<T> {
    const started = new Promise<void>((resolve) => this.queue.push(resolve));
    void this.release();
    return started.then(job);
  }

  /** Jobs queued and not started yet. */
  get backlog(): number {
    return this.queue.length;
  }

  private async release(): Promise<void> {
    if (this.running) {
      return;
    }
    this.running = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        next();
        await delay(this.intervalMs);
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * Exponential backoff after failures, as controller-runtime's default per-item rate limiter
 * (ItemExponentialFailureRateLimiter): the n-th failure in a row waits base * 2^(n-1), never more
 * than the cap; a success starts again from the base. Each control loop and the watch keep their
 * own, so one failing resource does not slow the others.
 */

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Longest delay, however many failures in a row. */
  capMs: number;
}

/**
 * A failed tick (e.g. the API server unreachable) is retried after 1 s, then 2 s, 4 s, ... up to
 * 5 minutes. controller-runtime starts at 5 ms, which suits reconcilers that only write objects;
 * a tick here also queries Prometheus and the policy, so the first retry waits longer.
 */
export const TICK_RETRY: BackoffOptions = { baseMs: 1_000, capMs: 5 * 60_000 };

/** A failed list or watch of the resources is retried after 500 ms, doubling up to 10 s. */
export const WATCH_RETRY: BackoffOptions = { baseMs: 500, capMs: 10_000 };

/** The delay after `failures` failures in a row (1 for the first). */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  if (failures < 1) return 0;
  // 2^(failures-1) overflows to Infinity long after the cap is reached, which min() handles.
  return Math.min(options.capMs, options.baseMs * 2 ** (failures - 1));
}

/** Counts failures in a row and says how long to wait before the next attempt. */
export class Backoff {
  private failures = 0;

  constructor(readonly options: BackoffOptions) {}

  /** Records a failure and returns the delay before the next attempt. */
  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.options);
  }

  /** Records a success: the next failure waits the base delay again. */
  reset(): void {
    this.failures = 0;
  }

  get failuresInARow(): number {
    return this.failures;
  }
}

/**
 * Arrival rates for the load generator: a constant, a plain function of run time (seconds since
 * the run started) giving sessions per second, or a load profile (profile.ts).
 */
import type { LoadProfile } from './profile';

export type RateFunction = (tSeconds: number) => number;
export type Rate = RateFunction | Pick<LoadProfile, 'rate'> | number;

/**
 * The rate is treated as constant over cells of this width (seconds), evaluated at each cell's
 * midpoint. Arrivals and the expected count use the same cells, so they agree with each other,
 * and a step change on a millisecond boundary is reproduced exactly.
 */
export const RATE_CELL_SECONDS = 0.001;

export function toRateFunction(rate: Rate): RateFunction {
  if (typeof rate === 'number') return () => rate;
  if (typeof rate === 'function') return rate;
  return (t) => rate.rate(t);
}

/** A rate that is negative or not finite counts as zero: it can produce no arrivals. */
export function safeRate(fn: RateFunction, tSeconds: number): number {
  const r = fn(tSeconds);
  return Number.isFinite(r) && r > 0 ? r : 0;
}

/**
 * The expected number of arrivals in [t0, t1) as the scheduler sees the rate: its integral over the
 * same cells. A profile's own `arrivals` (profile.ts) is the exact integral; this one agrees with
 * what the scheduler sends, cell for cell, for any rate function.
 */
export function scheduledArrivals(fn: RateFunction, t0: number, t1: number, cell = RATE_CELL_SECONDS): number {
  let total = 0;
  let t = t0;
  while (t < t1) {
    const cellEnd = Math.min((Math.floor(t / cell + 1e-9) + 1) * cell, t1);
    const mid = (Math.floor(t / cell + 1e-9) + 0.5) * cell;
    total += safeRate(fn, mid) * (cellEnd - t);
    t = cellEnd;
  }
  return total;
}

/**
 * A profile through knots (time, rate): the one representation behind steps, ramps, recorded
 * series and CSV files, so each has an exact integral without its own arithmetic.
 */
import { LoadProfile, ProfileError, checkRate, clipWindow } from './profile';

/**
 * How the rate goes between two knots:
 * - step: it holds the earlier knot's rate until the next knot (what a load generator that
 *   re-targets its rate at each sample does);
 * - linear: it moves in a straight line from one knot's rate to the next.
 * Before the first knot the first rate holds, after the last knot the last rate holds.
 */
export type Interpolation = 'step' | 'linear';
export const INTERPOLATIONS: readonly Interpolation[] = ['step', 'linear'];

export interface PiecewiseOptions {
  name: string;
  description: string;
  /** Knot times in seconds, strictly increasing, the first >= 0. */
  times: readonly number[];
  /** Rate at each knot, requests/s. */
  rates: readonly number[];
  interpolation: Interpolation;
  /** End of the profile in seconds (Infinity: the last rate holds for ever). */
  durationSeconds: number;
}

export function piecewiseProfile(options: PiecewiseOptions): LoadProfile {
  const { name, description, interpolation, durationSeconds } = options;
  const times = Float64Array.from(options.times);
  const rates = Float64Array.from(options.rates);
  const n = times.length;
  if (n === 0) throw new ProfileError(`${name}: a piecewise profile needs at least one knot`);
  if (n !== rates.length) throw new ProfileError(`${name}: ${n} knot times but ${rates.length} rates`);
  if (!(times[0] >= 0)) throw new ProfileError(`${name}: the first knot time ${times[0]} is before 0`);
  for (let i = 0; i < n; i++) {
    checkRate(rates[i], `${name}: knot ${i}`);
    if (!Number.isFinite(times[i])) throw new ProfileError(`${name}: knot time ${times[i]} is not finite`);
    if (i > 0 && !(times[i] > times[i - 1])) throw new ProfileError(`${name}: knot times must increase (${times[i - 1]} then ${times[i]})`);
  }
  if (!(durationSeconds > 0)) throw new ProfileError(`${name}: duration ${durationSeconds} must be positive`);

  // cumulative[i]: the integral of the rate from 0 to times[i].
  const cumulative = new Float64Array(n);
  cumulative[0] = rates[0] * times[0];
  for (let i = 1; i < n; i++) {
    const dt = times[i] - times[i - 1];
    const segment = interpolation === 'step' ? rates[i - 1] * dt : 0.5 * (rates[i - 1] + rates[i]) * dt;
    cumulative[i] = cumulative[i - 1] + segment;
  }

  /** Index of the last knot at or before t (-1 if t is before the first knot). */
  const knotAtOrBefore = (t: number): number => {
    let lo = -1;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const unclippedRate = (t: number): number => {
    const i = knotAtOrBefore(t);
    if (i < 0) return rates[0];
    if (i === n - 1 || interpolation === 'step') return rates[i];
    const u = (t - times[i]) / (times[i + 1] - times[i]);
    return rates[i] + u * (rates[i + 1] - rates[i]);
  };

  /** The integral from 0 to t, for 0 <= t <= durationSeconds. */
  const integralTo = (t: number): number => {
    const i = knotAtOrBefore(t);
    if (i < 0) return rates[0] * t;
    const dt = t - times[i];
    if (i === n - 1 || interpolation === 'step') return cumulative[i] + rates[i] * dt;
    const slope = (rates[i + 1] - rates[i]) / (times[i + 1] - times[i]);
    return cumulative[i] + rates[i] * dt + 0.5 * slope * dt * dt;
  };

  let peakRate = 0;
  for (let i = 0; i < n; i++) if (times[i] < durationSeconds || i === 0) peakRate = Math.max(peakRate, rates[i]);
  // A linear segment cut by the end reaches at most the rate at the end.
  if (interpolation === 'linear' && Number.isFinite(durationSeconds)) peakRate = Math.max(peakRate, unclippedRate(durationSeconds));

  return {
    name,
    description,
    durationSeconds,
    peakRate,
    rate: (t) => (t >= 0 && t < durationSeconds ? unclippedRate(t) : 0),
    arrivals: (t0, t1) => {
      const [a, b] = clipWindow(t0, t1, durationSeconds);
      return b > a ? integralTo(b) - integralTo(a) : 0;
    },
  };
}

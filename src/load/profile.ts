/**
 * A load profile: the arrival rate (requests/s) at each time t (seconds from the start of a run).
 *
 * Profiles are pure values: `rate` and `arrivals` return the same numbers for the same arguments
 * on every call (random shapes take a seed). Outside [0, durationSeconds) the rate is 0, so a
 * profile can be concatenated or cut without special cases; an unbounded profile has
 * durationSeconds = Infinity and runs as long as the load generator runs.
 */
export interface LoadProfile {
  /** Short identifier, e.g. the spec it was parsed from (`ramp:10:200:5m`). */
  readonly name: string;
  /** One line a person can read: what the shape is, with its units. */
  readonly description: string;
  /** Length in seconds; Infinity when the shape goes on for ever. */
  readonly durationSeconds: number;
  /** The largest rate over the duration (requests/s); Infinity when it has no finite bound. */
  readonly peakRate: number;
  /** Arrival rate in requests/s at t seconds; 0 before 0 and from durationSeconds on. */
  rate(t: number): number;
  /** Expected arrivals in [t0, t1): the integral of the rate, exact for every built-in shape. */
  arrivals(t0: number, t1: number): number;
}

/**
 * A profile that cannot be built: a bad spec, file line or argument. `source` is the file or the
 * spec; `line` the 1-based file line; `value` the offending text (a token or a spec part).
 */
export class ProfileError extends Error {
  override name = 'ProfileError';
  constructor(
    message: string,
    readonly source?: string,
    readonly line?: number,
    readonly value?: string,
  ) {
    super(message);
  }
}

/**
 * Expected number of arrivals in the window [t0, t1) (seconds from the start): the integral of
 * the rate. The generator compares what it sent in a window against this.
 */
export function expectedArrivals(profile: LoadProfile, t0: number, t1: number): number {
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) throw new ProfileError(`expectedArrivals: window [${t0}, ${t1}) must be finite`);
  if (t1 < t0) throw new ProfileError(`expectedArrivals: window [${t0}, ${t1}) ends before it starts`);
  return profile.arrivals(t0, t1);
}

/** Throws unless `value` is a usable rate (finite, >= 0); `where` says whose rate it is. */
export function checkRate(value: number, where: string): number {
  if (!Number.isFinite(value)) throw new ProfileError(`${where}: rate ${value} is not finite`);
  if (value < 0) throw new ProfileError(`${where}: rate ${value} is negative`);
  return value;
}

/** Throws unless `value` is a positive finite number (a duration, period, interval or factor). */
export function checkPositive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ProfileError(`${what} must be a positive finite number, got ${value}`);
  return value;
}

/** Throws unless `value` is a positive duration in seconds; Infinity means unbounded. */
export function checkDuration(value: number, what: string): number {
  if (Number.isNaN(value) || value <= 0) throw new ProfileError(`${what} must be positive (seconds, or Infinity for unbounded), got ${value}`);
  return value;
}

/** The part of [t0, t1) that lies inside [0, duration), as [a, b] with a <= b. */
export function clipWindow(t0: number, t1: number, duration: number): [number, number] {
  const a = Math.min(Math.max(t0, 0), duration);
  const b = Math.min(Math.max(t1, 0), duration);
  return b > a ? [a, b] : [a, a];
}

/** Formats seconds the way specs write them (90 -> "90s", 300 -> "5m", 86400 -> "24h"). */
export function formatDuration(seconds: number): string {
  if (seconds === Infinity) return 'unbounded';
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

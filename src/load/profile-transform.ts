/**
 * Reshaping profiles: stretch or compress in time, scale the rate, cut to a duration, and play
 * profiles one after another. Each keeps the exact integral of the profile it wraps.
 */
import { LoadProfile, ProfileError, checkDuration, checkPositive, clipWindow, formatDuration } from './profile';

/**
 * Stretches time by `factor` (2: twice as long and as slow; 0.5: compressed to half). Rates are
 * unchanged; arrivals over the whole profile scale with the factor.
 */
export function stretchProfile(profile: LoadProfile, factor: number): LoadProfile {
  checkPositive(factor, 'stretch factor');
  return {
    name: `${profile.name}:stretch=${factor}`,
    description: `${profile.description}, time stretched x${factor}`,
    durationSeconds: profile.durationSeconds * factor,
    peakRate: profile.peakRate,
    rate: (t) => profile.rate(t / factor),
    arrivals: (t0, t1) => factor * profile.arrivals(t0 / factor, t1 / factor),
  };
}

/** Multiplies every rate by `factor` (>= 0). */
export function scaleProfile(profile: LoadProfile, factor: number): LoadProfile {
  if (!Number.isFinite(factor) || factor < 0) throw new ProfileError(`rate factor must be finite and >= 0, got ${factor}`);
  return {
    name: `${profile.name}:x=${factor}`,
    description: `${profile.description}, rates x${factor}`,
    durationSeconds: profile.durationSeconds,
    peakRate: profile.peakRate * factor,
    rate: (t) => profile.rate(t) * factor,
    arrivals: (t0, t1) => profile.arrivals(t0, t1) * factor,
  };
}

/** Scales the rate so the profile's peak becomes `peak` requests/s. */
export function scaleToPeak(profile: LoadProfile, peak: number): LoadProfile {
  if (!Number.isFinite(peak) || peak < 0) throw new ProfileError(`peak must be finite and >= 0, got ${peak}`);
  if (!Number.isFinite(profile.peakRate)) {
    throw new ProfileError(`${profile.name}: has no finite peak to scale (give it a duration or an upper bound)`);
  }
  if (profile.peakRate === 0) throw new ProfileError(`${profile.name}: its peak is 0, so no factor reaches ${peak}`);
  const scaled = scaleProfile(profile, peak / profile.peakRate);
  return { ...scaled, name: `${profile.name}:peak=${peak}`, description: `${profile.description}, scaled to peak ${peak} requests/s`, peakRate: peak };
}

/** The profile cut (or, for a finite one, padded with rate 0) to `durationSeconds`. */
export function withDuration(profile: LoadProfile, durationSeconds: number): LoadProfile {
  checkDuration(durationSeconds, 'duration');
  const shorter = durationSeconds < profile.durationSeconds;
  return {
    name: `${profile.name}:for=${formatDuration(durationSeconds)}`,
    description: `${profile.description}, run for ${formatDuration(durationSeconds)}`,
    durationSeconds,
    // Cutting can only lower the peak; keeping the uncut peak is a safe upper bound except for
    // an unbounded walk, where the bound is all that is known anyway.
    peakRate: profile.peakRate,
    rate: (t) => (t >= 0 && t < durationSeconds ? profile.rate(t) : 0),
    arrivals: (t0, t1) => {
      const [a, b] = clipWindow(t0, t1, shorter ? durationSeconds : profile.durationSeconds);
      return b > a ? profile.arrivals(a, b) : 0;
    },
  };
}

/** The profiles one after another; every one but the last must have a finite duration. */
export function concatProfiles(profiles: readonly LoadProfile[]): LoadProfile {
  if (profiles.length === 0) throw new ProfileError('concatenation needs at least one profile');
  if (profiles.length === 1) return profiles[0];
  const starts: number[] = [0];
  for (let i = 0; i < profiles.length - 1; i++) {
    const d = profiles[i].durationSeconds;
    if (!Number.isFinite(d)) {
      throw new ProfileError(`${profiles[i].name}: is unbounded, so nothing after it would ever play; give it a duration (for=...)`);
    }
    starts.push(starts[i] + d);
  }
  const last = profiles.length - 1;
  const durationSeconds = starts[last] + profiles[last].durationSeconds;
  /** Index of the part playing at t (t inside [0, duration)). */
  const partAt = (t: number): number => {
    let i = last;
    while (i > 0 && t < starts[i]) i--;
    return i;
  };
  return {
    name: profiles.map((p) => p.name).join('+'),
    description: profiles.map((p) => p.description).join(', then '),
    durationSeconds,
    peakRate: Math.max(...profiles.map((p) => p.peakRate)),
    rate: (t) => {
      if (!(t >= 0 && t < durationSeconds)) return 0;
      const i = partAt(t);
      return profiles[i].rate(t - starts[i]);
    },
    arrivals: (t0, t1) => {
      const [a, b] = clipWindow(t0, t1, durationSeconds);
      let total = 0;
      for (let i = 0; i <= last; i++) {
        const end = i === last ? durationSeconds : starts[i + 1];
        const lo = Math.max(a, starts[i]);
        const hi = Math.min(b, end);
        if (hi > lo) total += profiles[i].arrivals(lo - starts[i], hi - starts[i]);
      }
      return total;
    },
  };
}

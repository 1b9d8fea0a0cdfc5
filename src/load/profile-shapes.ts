/**
 * The built-in shapes: constant, ramp, steps, sine (diurnal) and a seeded random walk.
 * Every rate is in requests/s and every time in seconds from the start.
 */
import { Rng } from '../random';
import { LoadProfile, ProfileError, checkDuration, checkPositive, checkRate, clipWindow, formatDuration } from './profile';
import { piecewiseProfile } from './profile-piecewise';

/** The same rate for `durationSeconds` (default: for ever). */
export function constantProfile(rate: number, durationSeconds = Infinity): LoadProfile {
  checkRate(rate, 'constant');
  return piecewiseProfile({
    name: `constant:${rate}`,
    description: `constant ${rate} requests/s for ${formatDuration(durationSeconds)}`,
    times: [0],
    rates: [rate],
    interpolation: 'step',
    durationSeconds: checkDuration(durationSeconds, 'constant: duration'),
  });
}

/** A straight line from `from` to `to` requests/s over `durationSeconds`; the profile ends there. */
export function rampProfile(from: number, to: number, durationSeconds: number): LoadProfile {
  checkRate(from, 'ramp: from');
  checkRate(to, 'ramp: to');
  if (!Number.isFinite(durationSeconds)) throw new ProfileError(`ramp: duration must be finite, got ${durationSeconds}`);
  checkDuration(durationSeconds, 'ramp: duration');
  return piecewiseProfile({
    name: `ramp:${from}:${to}:${formatDuration(durationSeconds)}`,
    description: `ramp from ${from} to ${to} requests/s over ${formatDuration(durationSeconds)}`,
    times: [0, durationSeconds],
    rates: [from, to],
    interpolation: 'linear',
    durationSeconds,
  });
}

export interface Step {
  /** When the rate changes, seconds from the start. */
  atSeconds: number;
  rate: number;
}

/**
 * A rate that changes at given times and holds in between. The first step must be at 0; the last
 * rate holds until `durationSeconds` (default: for ever).
 */
export function stepsProfile(steps: readonly Step[], durationSeconds = Infinity): LoadProfile {
  if (steps.length === 0) throw new ProfileError('steps: at least one (time, rate) pair is needed');
  if (steps[0].atSeconds !== 0) throw new ProfileError(`steps: the first step must be at time 0, not ${steps[0].atSeconds}`);
  for (let i = 1; i < steps.length; i++) {
    if (!(steps[i].atSeconds > steps[i - 1].atSeconds)) {
      throw new ProfileError(`steps: times must strictly increase (${steps[i - 1].atSeconds} then ${steps[i].atSeconds})`);
    }
  }
  const listed = steps.map((s) => `${s.atSeconds}=${s.rate}`).join(',');
  return piecewiseProfile({
    name: `steps:${listed}`,
    description: `steps (time s = requests/s) ${listed}, the last held for ${formatDuration(durationSeconds)}`,
    times: steps.map((s) => s.atSeconds),
    rates: steps.map((s) => s.rate),
    interpolation: 'step',
    durationSeconds: checkDuration(durationSeconds, 'steps: duration'),
  });
}

export interface SineOptions {
  /** Mean rate, requests/s. */
  mean: number;
  /** Swing above and below the mean, requests/s; at most the mean so the rate never goes negative. */
  amplitude: number;
  /** One full cycle, seconds (86400 for a day). */
  periodSeconds: number;
  /** Shift in seconds: the rate at t is the unshifted wave's rate at t + phase. Default 0 (start at the mean, rising). */
  phaseSeconds?: number;
  durationSeconds?: number;
}

/** A diurnal wave: mean + amplitude * sin(2 pi (t + phase) / period). */
export function sineProfile(options: SineOptions): LoadProfile {
  const { mean, amplitude, periodSeconds } = options;
  const phase = options.phaseSeconds ?? 0;
  const durationSeconds = checkDuration(options.durationSeconds ?? Infinity, 'sine: duration');
  checkRate(mean, 'sine: mean');
  if (!Number.isFinite(amplitude) || amplitude < 0) throw new ProfileError(`sine: amplitude ${amplitude} must be finite and >= 0`);
  if (amplitude > mean) throw new ProfileError(`sine: amplitude ${amplitude} exceeds the mean ${mean}, so the rate would go negative`);
  checkPositive(periodSeconds, 'sine: period');
  if (!Number.isFinite(phase)) throw new ProfileError(`sine: phase ${phase} is not finite`);
  const omega = (2 * Math.PI) / periodSeconds;
  const integralTo = (t: number) => mean * t - (amplitude / omega) * (Math.cos(omega * (t + phase)) - Math.cos(omega * phase));
  const phaseText = phase === 0 ? '' : `, phase ${formatDuration(phase)}`;
  return {
    name: `sine:${mean}:${amplitude}:${formatDuration(periodSeconds)}`,
    description: `sine around ${mean} +- ${amplitude} requests/s, period ${formatDuration(periodSeconds)}${phaseText}, for ${formatDuration(durationSeconds)}`,
    durationSeconds,
    // Exact only when the duration covers a crest; an upper bound otherwise, which is what scaling to a peak needs.
    peakRate: mean + amplitude,
    // max(0, ...) guards against -1e-15 when amplitude === mean.
    rate: (t) => (t >= 0 && t < durationSeconds ? Math.max(0, mean + amplitude * Math.sin(omega * (t + phase))) : 0),
    arrivals: (t0, t1) => {
      const [a, b] = clipWindow(t0, t1, durationSeconds);
      return b > a ? Math.max(0, integralTo(b) - integralTo(a)) : 0;
    },
  };
}

export interface RandomWalkOptions {
  /** Rate during the first interval, requests/s. */
  start: number;
  /** How far the rate moves at each interval boundary, up or down with equal odds, requests/s. */
  stepSize: number;
  /** Lowest and highest rate; a move past a bound stops at the bound. Defaults 0 and Infinity. */
  min?: number;
  max?: number;
  /** How long each rate holds, seconds. Default 60. */
  intervalSeconds?: number;
  seed: number;
  durationSeconds?: number;
}

/**
 * A bounded random walk, held constant within each interval. The walk is drawn lazily from the
 * seed, so rate(t) is the same for a given seed whatever order the times are asked in.
 */
export function randomWalkProfile(options: RandomWalkOptions): LoadProfile {
  const { start, stepSize, seed } = options;
  const min = options.min ?? 0;
  const max = options.max ?? Infinity;
  const interval = checkPositive(options.intervalSeconds ?? 60, 'walk: interval');
  const durationSeconds = checkDuration(options.durationSeconds ?? Infinity, 'walk: duration');
  checkRate(start, 'walk: start');
  checkRate(min, 'walk: min');
  if (!Number.isFinite(stepSize) || stepSize < 0) throw new ProfileError(`walk: step size ${stepSize} must be finite and >= 0`);
  if (!(max >= min)) throw new ProfileError(`walk: max ${max} is below min ${min}`);
  if (start < min || start > max) throw new ProfileError(`walk: start ${start} is outside [${min}, ${max}]`);
  if (!Number.isInteger(seed)) throw new ProfileError(`walk: seed ${seed} must be an integer`);

  const rng = new Rng(seed);
  const values: number[] = [start];
  // prefix[k]: arrivals in the first k intervals.
  const prefix: number[] = [0, start * interval];
  const valueAt = (k: number): number => {
    while (values.length <= k) {
      const last = values[values.length - 1];
      const moved = rng.next() < 0.5 ? last - stepSize : last + stepSize;
      const next = Math.min(max, Math.max(min, moved));
      values.push(next);
      prefix.push(prefix[prefix.length - 1] + next * interval);
    }
    return values[k];
  };
  const integralTo = (t: number): number => {
    const k = Math.floor(t / interval);
    const rateInK = valueAt(k); // also extends prefix to k
    return prefix[k] + rateInK * (t - k * interval);
  };

  let peakRate = max;
  if (Number.isFinite(durationSeconds)) {
    const last = Math.ceil(durationSeconds / interval) - 1;
    peakRate = 0;
    for (let k = 0; k <= last; k++) peakRate = Math.max(peakRate, valueAt(k));
  }

  const bounds = `[${min}, ${max === Infinity ? 'inf' : max}]`;
  return {
    name: `walk:${start}:${stepSize}:seed=${seed}`,
    description: `random walk from ${start} requests/s, +-${stepSize} every ${formatDuration(interval)} within ${bounds}, seed ${seed}, for ${formatDuration(durationSeconds)}`,
    durationSeconds,
    peakRate,
    rate: (t) => (t >= 0 && t < durationSeconds ? valueAt(Math.floor(t / interval)) : 0),
    arrivals: (t0, t1) => {
      const [a, b] = clipWindow(t0, t1, durationSeconds);
      return b > a ? integralTo(b) - integralTo(a) : 0;
    },
  };
}

/**
 * Load that follows a finite Markov chain over load levels: one level per control interval, the
 * next drawn from the current one's row of the transition matrix. Given (a JSON file or literal)
 * or fitted from a trace (a profile cut into windows). With such a load, the optimum over
 * (configuration x level) is exact (agent/load-optimal.ts).
 */
import * as fs from 'node:fs';
import type { Rng } from '../random';
import { ProfileError, type LoadProfile } from './profile';

export interface MarkovLoad {
  readonly name: string;
  /** Arrival rate of each level, requests/s, ascending. */
  readonly levels: readonly number[];
  /** transition[i][j]: probability of level j in the next window, given level i now. */
  readonly transition: readonly (readonly number[])[];
}

/** Checks a chain: ascending non-negative finite levels, a square stochastic matrix. */
export function checkMarkovLoad(chain: MarkovLoad, source = chain.name): MarkovLoad {
  const { levels, transition } = chain;
  if (!Array.isArray(levels) || levels.length < 1) throw new ProfileError(`${source}: a Markov load needs at least one level, got ${JSON.stringify(levels)}`, source);
  levels.forEach((rate, i) => {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) throw new ProfileError(`${source}: levels[${i}] = ${JSON.stringify(rate)} is not a finite rate >= 0`, source);
    if (i > 0 && rate <= levels[i - 1]) throw new ProfileError(`${source}: levels must ascend, but levels[${i}] = ${rate} follows ${levels[i - 1]}`, source);
  });
  if (!Array.isArray(transition) || transition.length !== levels.length) {
    throw new ProfileError(`${source}: transition must have one row per level (${levels.length}), got ${Array.isArray(transition) ? transition.length : JSON.stringify(transition)}`, source);
  }
  transition.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== levels.length) throw new ProfileError(`${source}: transition[${i}] must have ${levels.length} entries`, source);
    let sum = 0;
    row.forEach((p, j) => {
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) throw new ProfileError(`${source}: transition[${i}][${j}] = ${JSON.stringify(p)} is not a probability`, source);
      sum += p;
    });
    if (Math.abs(sum - 1) > 1e-6) throw new ProfileError(`${source}: transition[${i}] sums to ${sum}, not 1`, source);
  });
  return chain;
}

/** The long-run share of windows at each level (power iteration from uniform). */
export function stationaryDistribution(chain: MarkovLoad): Float64Array {
  const k = chain.levels.length;
  let p: Float64Array = new Float64Array(k).fill(1 / k);
  for (let iter = 0; iter < 10000; iter++) {
    const next = new Float64Array(k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) next[j] += p[i] * chain.transition[i][j];
    let change = 0;
    for (let j = 0; j < k; j++) change += Math.abs(next[j] - p[j]);
    p = next;
    if (change < 1e-13) break;
  }
  return p;
}

function drawFrom(probabilities: ArrayLike<number>, rng: Rng): number {
  let u = rng.next();
  for (let j = 0; j < probabilities.length; j++) {
    u -= probabilities[j];
    if (u < 0) return j;
  }
  return probabilities.length - 1;
}

/** The next level after `level`. */
export function nextLevel(chain: MarkovLoad, level: number, rng: Rng): number {
  return drawFrom(chain.transition[level], rng);
}

/** A level drawn from the stationary distribution. */
export function stationaryLevel(chain: MarkovLoad, rng: Rng, stationary = stationaryDistribution(chain)): number {
  return drawFrom(stationary, rng);
}

/** A path of `length` levels, the first from the stationary distribution. */
export function sampleLevels(chain: MarkovLoad, length: number, rng: Rng): Int32Array {
  const path = new Int32Array(length);
  if (length === 0) return path;
  path[0] = stationaryLevel(chain, rng);
  for (let t = 1; t < length; t++) path[t] = nextLevel(chain, path[t - 1], rng);
  return path;
}

/** Mean rate of each window of `intervalSeconds` over the profile's (finite) duration. */
export function windowRates(profile: LoadProfile, intervalSeconds: number, maxSeconds = 7 * 86400): Float64Array {
  if (!(intervalSeconds > 0)) throw new ProfileError(`the control interval must be positive seconds, got ${intervalSeconds}`);
  const duration = Math.min(profile.durationSeconds, maxSeconds);
  const count = Math.floor(duration / intervalSeconds);
  if (count < 2) throw new ProfileError(`${profile.name}: lasts ${profile.durationSeconds} s, fewer than two control intervals of ${intervalSeconds} s`, profile.name);
  const rates = new Float64Array(count);
  for (let k = 0; k < count; k++) rates[k] = profile.arrivals(k * intervalSeconds, (k + 1) * intervalSeconds) / intervalSeconds;
  return rates;
}

export interface FitMarkovOptions {
  /** Number of levels (default 5): equal-width bins between the lowest and highest window rate. */
  levels?: number;
  /** Pseudo-count added to every transition (default 0.01), so no row is empty. */
  smoothing?: number;
  name?: string;
}

/** Fits a chain to a sequence of window rates: levels at the bin means, transitions counted. */
export function fitMarkovLoad(rates: ArrayLike<number>, options: FitMarkovOptions = {}): MarkovLoad {
  const k = options.levels ?? 5;
  const smoothing = options.smoothing ?? 0.01;
  if (!Number.isInteger(k) || k < 1) throw new ProfileError(`levels must be a positive integer, got ${k}`);
  if (rates.length < 2) throw new ProfileError(`fitting a Markov load needs at least two windows, got ${rates.length}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < rates.length; i++) {
    lo = Math.min(lo, rates[i]);
    hi = Math.max(hi, rates[i]);
  }
  const width = (hi - lo) / k || 1;
  const bin = (rate: number) => Math.min(k - 1, Math.floor((rate - lo) / width));
  const sums = new Float64Array(k);
  const counts = new Float64Array(k);
  const transitions = Array.from({ length: k }, () => new Float64Array(k).fill(smoothing));
  for (let i = 0; i < rates.length; i++) {
    const b = bin(rates[i]);
    sums[b] += rates[i];
    counts[b]++;
    if (i + 1 < rates.length) transitions[b][bin(rates[i + 1])]++;
  }
  // Keep the bins that hold windows; an empty bin's level would never be entered.
  const kept = [...Array(k).keys()].filter((b) => counts[b] > 0);
  const levels = kept.map((b) => sums[b] / counts[b]);
  const transition = kept.map((b) => {
    const row = kept.map((c) => transitions[b][c]);
    const total = row.reduce((s, p) => s + p, 0);
    return row.map((p) => p / total);
  });
  return checkMarkovLoad({ name: options.name ?? `markov-fit:${k}`, levels, transition });
}

/** Reads a chain from JSON: {"name"?, "levels": [req/s...], "transition": [[...], ...]}. */
export function loadMarkovFile(file: string): MarkovLoad {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ProfileError(`${file}: cannot read a Markov load (${(err as Error).message})`, file);
  }
  if (typeof value !== 'object' || value === null) throw new ProfileError(`${file}: expected a JSON object with levels and transition`, file);
  const v = value as { name?: unknown; levels?: unknown; transition?: unknown };
  return checkMarkovLoad({ name: typeof v.name === 'string' ? v.name : `markov:${file}`, levels: v.levels as number[], transition: v.transition as number[][] }, file);
}

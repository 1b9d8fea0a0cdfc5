/**
 * Where an episode's load comes from: a replayed trace (any load profile, cut into control
 * intervals) or a Markov chain over load levels. Either way an episode is a sequence of window
 * rates: index 0 is the window before the first decision, index t+1 the window step t runs in.
 */
import { sampleLevels, stationaryDistribution, windowRates, type MarkovLoad } from '../load/markov';
import type { LoadProfile } from '../load/profile';
import type { Rng } from '../random';

export interface TraceSource {
  kind: 'trace';
  name: string;
  /** Mean arrival rate of each control interval, req/s. */
  rates: Float64Array;
}

export interface MarkovSource {
  kind: 'markov';
  name: string;
  chain: MarkovLoad;
  stationary: Float64Array;
}

export type LoadSource = TraceSource | MarkovSource;

export function traceSource(profile: LoadProfile, intervalSeconds: number): TraceSource {
  return { kind: 'trace', name: profile.name, rates: windowRates(profile, intervalSeconds) };
}

export function markovSource(chain: MarkovLoad): MarkovSource {
  return { kind: 'markov', name: chain.name, chain, stationary: stationaryDistribution(chain) };
}

/** Steps a full replay of a trace takes from its first window (one fewer than its windows). */
export function traceSteps(source: TraceSource): number {
  return source.rates.length - 1;
}

export interface EpisodeLoad {
  /** rates[t]: window rate, t = 0..steps. */
  rates: Float64Array;
  /** levels[t] of a Markov source (index into chain.levels), else null. */
  levels: Int32Array | null;
}

/**
 * The load of one episode of `steps` steps. A trace starts at a random window when `randomStart`
 * (wrapping around its end), else at its first; a Markov chain starts from its stationary law.
 */
export function drawEpisodeLoad(source: LoadSource, steps: number, rng: Rng, randomStart: boolean): EpisodeLoad {
  const rates = new Float64Array(steps + 1);
  if (source.kind === 'markov') {
    const levels = sampleLevels(source.chain, steps + 1, rng);
    for (let t = 0; t <= steps; t++) rates[t] = source.chain.levels[levels[t]];
    return { rates, levels };
  }
  const n = source.rates.length;
  if (!randomStart && steps + 1 > n) throw new Error(`${source.name}: ${n} windows hold at most ${n - 1} steps from the start, ${steps} asked`);
  const first = randomStart ? rng.int(n) : 0;
  for (let t = 0; t <= steps; t++) rates[t] = source.rates[(first + t) % n];
  return { rates, levels: null };
}

/**
 * The load task's training set and what the benchmark prepares before its clock starts, shared by
 * `rl-autoscaler train --env load`, bench/load-ppo.ts and bench/load-ppo-probe.ts so they train on
 * the same mix.
 *
 * Episodes draw their source uniformly, so the Markov task's share of training is set by how many
 * copies of it sit among the sources: N copies beside the synthetic profiles run N of N + 5
 * episodes on it. Its sudden level jumps are where the gain lies (docs/benchmarks.md), hence the
 * default of 5.
 */
import { teastoreModel } from '../model';
import type { RequestReward } from '../request-reward';
import { LoadDynamics } from './load-dynamics';
import { HELD_OUT_PROFILE_SPECS, LOAD_TASK_BOUNDS, TRAINING_MARKOV, TRAINING_PROFILE_SPECS, parseLoadSources } from './load-setup';
import { markovSource, type LoadSource, type MarkovSource } from './load-source';

/** Copies of the Markov task among the default training sources. */
export const DEFAULT_MARKOV_COPIES = 5;

/** The Markov task `markovCopies` times (0: not at all), then the synthetic training profiles. */
export function trainingLoadSources(markovCopies: number, intervalSeconds: number): LoadSource[] {
  if (!Number.isInteger(markovCopies) || markovCopies < 0) throw new Error(`the Markov task's copies among the training sources must be an integer >= 0, got ${markovCopies}`);
  const markov = markovSource(TRAINING_MARKOV);
  return [...Array.from({ length: markovCopies }, () => markov), ...parseLoadSources(TRAINING_PROFILE_SPECS, intervalSeconds)];
}

/** The rates a set of sources brings: a trace's windows, a Markov chain's levels. */
export function ratesOf(sources: readonly LoadSource[]): number[] {
  return sources.flatMap((s) => (s.kind === 'markov' ? s.chain.levels : Array.from(s.rates)));
}

export interface PreparedLoadTask {
  dynamics: LoadDynamics;
  /** The Markov task (the same source the training set holds copies of). */
  markov: MarkovSource;
  training: LoadSource[];
  heldOut: LoadSource[];
}

/**
 * Dynamics on the calibrated model within the task's bounds, the training set and the held-out
 * traces, with every table the run reads filled ahead: the training rates with noise pools (the
 * learner observes noisy usage), the held-out rates without (they are replayed without noise).
 */
export function prepareLoadTask(options: { reward: RequestReward; markovCopies: number; intervalSeconds: number }): PreparedLoadTask {
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward: options.reward, bounds: LOAD_TASK_BOUNDS, intervalSeconds: options.intervalSeconds });
  const markov = markovSource(TRAINING_MARKOV);
  const training = trainingLoadSources(options.markovCopies, options.intervalSeconds).map((s) => (s.kind === 'markov' ? markov : s));
  const heldOut = parseLoadSources(HELD_OUT_PROFILE_SPECS, options.intervalSeconds);
  // The Markov levels are warmed even without copies of it: the benchmark's yardstick reads them.
  dynamics.warm([...ratesOf(training), ...markov.chain.levels], { noise: true });
  dynamics.warm(ratesOf(heldOut));
  return { dynamics, markov, training, heldOut };
}

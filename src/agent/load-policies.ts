/**
 * Policies that act on the load observation: the exact optima as policies, the baselines
 * (static-best, an HPA-like and a VPA-like rule, do-nothing, random) and a trained network.
 */
import { Rng } from '../random';
import { ACTION_COUNT, Action, actionTowards, configFromIndex, configIndex, type ScalingConfig } from '../space';
import { encodeLoadObservation, forecastStepsOfSize, LOAD_OBSERVATION_SIZE, type LoadObservation } from '../load-space';
import type { MarkovLoad } from '../load/markov';
import { thresholdPolicy, type ThresholdOptions } from './baselines';
import { greedyFromLogits, type PpoPolicy } from './policy';
import { levelOfRate, type ClairvoyantOptimum, type MarkovOptimum } from './load-optimal';

export interface LoadPolicy {
  readonly name: string;
  /** Picks an action; `step` is the number of steps the episode has taken so far. */
  act(observation: LoadObservation, mask: boolean[], step: number): number;
  /** Called at the start of each episode (policies with memory clear it here). */
  reset?(seed?: number): void;
}

export function doNothingLoadPolicy(): LoadPolicy {
  return { name: 'do-nothing', act: () => Action.DO_NOTHING };
}

export function randomLoadPolicy(seed = 0): LoadPolicy {
  let rng = new Rng(seed);
  return {
    name: 'random',
    act: () => rng.int(ACTION_COUNT),
    reset: (s) => {
      if (s !== undefined) rng = new Rng(s);
    },
  };
}

/** Walks to `target` and stays there. */
export function staticLoadPolicy(target: ScalingConfig | number, name = 'static-best'): LoadPolicy {
  const config = typeof target === 'number' ? configFromIndex(target) : target;
  return { name, act: (obs) => actionTowards(obs, config) };
}

/** HPA-like: replicas follow CPU utilisation against a target, scale-down stabilised (baselines.ts). */
export function hpaLoadPolicy(options: ThresholdOptions = {}): LoadPolicy {
  const rule = thresholdPolicy(options);
  return { name: 'hpa', act: (obs, mask) => rule.act(obs, mask), reset: (seed) => rule.reset?.(seed) };
}

export interface VpaOptions {
  /** Usage percentile the CPU limit follows (the VPA recommender's target uses the 90th). */
  percentile?: number;
  /** Safety margin on the percentile (the recommender's default is 15%). */
  margin?: number;
  /** Windows of usage history the percentile is taken over. */
  windowSteps?: number;
}

export const DEFAULT_VPA: Required<VpaOptions> = { percentile: 0.9, margin: 1.15, windowSteps: 10 };

/** VPA-like: the CPU limit follows a percentile of the per-pod usage (plus margin), rounded up to a level. */
export function vpaLoadPolicy(options: VpaOptions = {}): LoadPolicy {
  const settings = { ...DEFAULT_VPA, ...options };
  let history: number[] = [];
  return {
    name: 'vpa',
    act(obs, mask) {
      history.push(obs.usedCpu);
      if (history.length > settings.windowSteps) history.shift();
      const sorted = [...history].sort((a, b) => a - b);
      const usage = sorted[Math.min(sorted.length - 1, Math.floor(settings.percentile * sorted.length))];
      const target = Math.min(900, Math.max(100, Math.ceil((usage * settings.margin * 1000) / 100) * 100));
      if (target > obs.cpuMillis && mask[Action.INCREASE_CPU]) return Action.INCREASE_CPU;
      if (target < obs.cpuMillis && mask[Action.DECREASE_CPU]) return Action.DECREASE_CPU;
      return Action.DO_NOTHING;
    },
    reset: () => {
      history = [];
    },
  };
}

/** The exact optimum of a Markov load, acting on the level nearest the observed rate. */
export function markovOptimalPolicy(optimum: MarkovOptimum, chain: MarkovLoad): LoadPolicy {
  return {
    name: 'optimum',
    act: (obs, _mask, step) => optimum.actionOf(configIndex(obs), levelOfRate(chain.levels, obs.arrivalRate), Math.max(1, optimum.horizon - step)),
  };
}

/** The clairvoyant optimum of a trace replayed from its start (it knows the step, hence the future). */
export function clairvoyantPolicy(optimum: ClairvoyantOptimum): LoadPolicy {
  return { name: 'optimum', act: (obs, _mask, step) => optimum.actionOf(configIndex(obs), Math.min(step, optimum.steps - 1)) };
}

/** A trained network reading the load observation; greedy unless `stochastic`. */
export function networkLoadPolicy(policy: PpoPolicy, options: { stochastic?: boolean; name?: string } = {}): LoadPolicy {
  if (policy.spec.observationSize < LOAD_OBSERVATION_SIZE) {
    throw new Error(`${policy.name} reads ${policy.spec.observationSize} observation floats, but the load observation has ${LOAD_OBSERVATION_SIZE}: it was not trained with load`);
  }
  const forecastSteps = forecastStepsOfSize(policy.spec.observationSize);
  const input = new Float32Array(policy.spec.observationSize);
  const logits = new Float32Array(ACTION_COUNT);
  let rng = new Rng(0);
  return {
    name: options.name ?? policy.name,
    act(obs, mask) {
      const seen = obs.forecast?.length ?? 0;
      if (seen !== forecastSteps) throw new Error(`${policy.name} reads a forecast of ${forecastSteps} windows, but the observation holds ${seen}; evaluate it with --forecast ${forecastSteps}`);
      policy.logits(encodeLoadObservation(obs, input), 1, logits);
      if (!options.stochastic) return greedyFromLogits(logits, 0, ACTION_COUNT, mask);
      // Inverse-CDF sampling over the masked softmax.
      let max = -Infinity;
      for (let a = 0; a < ACTION_COUNT; a++) if (mask[a]) max = Math.max(max, logits[a]);
      let total = 0;
      const p = new Float64Array(ACTION_COUNT);
      for (let a = 0; a < ACTION_COUNT; a++) total += p[a] = mask[a] ? Math.exp(logits[a] - max) : 0;
      let u = rng.next() * total;
      for (let a = 0; a < ACTION_COUNT; a++) if ((u -= p[a]) < 0) return a;
      return Action.DO_NOTHING;
    },
    reset: (seed) => {
      if (seed !== undefined) rng = new Rng(seed);
    },
  };
}

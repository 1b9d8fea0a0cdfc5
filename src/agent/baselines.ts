/**
 * Baseline policies to set a learned policy against, and their evaluation.
 *
 * - random: one of the seven actions uniformly (as the original's sample.py);
 * - do-nothing: never changes anything;
 * - static-best: walks to the configuration with the highest expected step reward and stays;
 * - threshold: an HPA-like rule, replicas follow CPU utilisation against a target, scaling down
 *   only when every recommendation in the stabilisation window agrees (as the HPA does).
 */
import { Rng } from '../random';
import { ACTION_COUNT, Action, actionTowards, configFromIndex, configIndex, withinBounds, CONFIG_COUNT, type Observation } from '../space';
import { DEFAULT_MAX_STEPS, makeDatasetEnv, type DatasetModel } from '../env/dataset-env';
import type { Start } from '../env/start';
import { evaluatePolicy, type Policy, type ReturnStatistics } from './episode';
import { evaluateConfigPolicy, expectedRewardByConfig, solveOptimum, type ConfigPolicy } from './optimal';

export function randomPolicy(seed = 0): Policy {
  let rng = new Rng(seed);
  return {
    name: 'random',
    act: () => rng.int(ACTION_COUNT),
    reset: (s) => {
      if (s !== undefined) rng = new Rng(s);
    },
  };
}

export function doNothingPolicy(): Policy {
  return { name: 'do-nothing', act: () => Action.DO_NOTHING };
}

/** The configuration (within the model's bounds) with the highest expected step reward. */
export function bestStaticConfig(model: DatasetModel): number {
  const reward = expectedRewardByConfig(model);
  let best = -1;
  for (let c = 0; c < CONFIG_COUNT; c++) {
    if (!withinBounds(configFromIndex(c), model.bounds)) continue;
    if (best < 0 || reward[c] > reward[best]) best = c;
  }
  return best;
}

export function staticBestPolicy(model: DatasetModel): Policy {
  const target = configFromIndex(bestStaticConfig(model));
  return { name: 'static-best', act: (obs) => actionTowards(obs, target) };
}

export interface ThresholdOptions {
  /** Target CPU utilisation of the limit, as the HPA's averageUtilization (0..1). */
  targetUtilisation?: number;
  /** Steps over which a scale-down must be recommended throughout before it happens. */
  stabilisationSteps?: number;
  /** Dead band around the target within which nothing changes (HPA's default tolerance 0.1). */
  tolerance?: number;
}

export const DEFAULT_THRESHOLD: Required<ThresholdOptions> = { targetUtilisation: 0.7, stabilisationSteps: 5, tolerance: 0.1 };

/** The replica count the HPA formula recommends: ceil(replicas * utilisation / target). */
export function thresholdRecommendation(obs: Observation, options: Required<ThresholdOptions>): number {
  const utilisation = obs.usedCpu / (obs.cpuMillis / 1000);
  const ratio = utilisation / options.targetUtilisation;
  if (Math.abs(ratio - 1) <= options.tolerance) return obs.replicas;
  return Math.min(9, Math.max(1, Math.ceil(obs.replicas * ratio)));
}

export function thresholdPolicy(options: ThresholdOptions = {}): Policy {
  const settings = { ...DEFAULT_THRESHOLD, ...options };
  let recent: number[] = [];
  return {
    name: 'threshold',
    act(obs, mask) {
      const desired = thresholdRecommendation(obs, settings);
      recent.push(desired);
      if (recent.length > settings.stabilisationSteps) recent.shift();
      // Scale up at once; scale down only to the highest recommendation of the window.
      const stabilised = desired > obs.replicas ? desired : Math.max(...recent);
      if (stabilised > obs.replicas && mask[Action.INCREASE_REPLICA]) return Action.INCREASE_REPLICA;
      if (stabilised < obs.replicas && mask[Action.DECREASE_REPLICA]) return Action.DECREASE_REPLICA;
      return Action.DO_NOTHING;
    },
    reset: () => {
      recent = [];
    },
  };
}

/** An expected return: exact, or a Monte-Carlo estimate with its spread and 95% interval. */
export interface ReturnEstimate extends Partial<Omit<ReturnStatistics, 'returns'>> {
  mean: number;
  /** False for Monte-Carlo estimates. */
  exact: boolean;
}

/** Monte-Carlo estimate of a policy's expected return on the dataset replay (seeded). */
export function monteCarloReturn(model: DatasetModel, policy: Policy, start: Start, episodes: number, seed = 0, maxSteps = DEFAULT_MAX_STEPS): ReturnEstimate {
  const { returns: _, ...summary } = evaluatePolicy(makeDatasetEnv({ model, start, maxSteps }), policy, { episodes, seed });
  return { ...summary, exact: false };
}

export const BASELINE_NAMES = ['optimum', 'static-best', 'threshold', 'do-nothing', 'random'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/**
 * Expected return of the optimum and every baseline from `start`: exact where the policy depends
 * on the configuration only, Monte Carlo (with a 95% interval) for the threshold rule.
 */
export function baselineReturns(model: DatasetModel, start: Start, options: { episodes?: number; seed?: number } = {}): Record<BaselineName, ReturnEstimate> {
  const uniform = new Float64Array(ACTION_COUNT).fill(1 / ACTION_COUNT);
  const target = configFromIndex(bestStaticConfig(model));
  const staticBest: ConfigPolicy = (c) => actionTowards(configFromIndex(c), target);
  return {
    optimum: { mean: solveOptimum(model).valueOf(start), exact: true },
    'static-best': { mean: evaluateConfigPolicy(model, staticBest, start), exact: true },
    threshold: monteCarloReturn(model, thresholdPolicy(), start, options.episodes ?? 2000, options.seed ?? 0),
    'do-nothing': { mean: evaluateConfigPolicy(model, () => Action.DO_NOTHING, start), exact: true },
    random: { mean: evaluateConfigPolicy(model, () => uniform, start), exact: true },
  };
}

/** The optimal policy as a `Policy` (it needs the steps left, so it counts steps itself). */
export function optimalPolicy(model: DatasetModel, horizon = DEFAULT_MAX_STEPS): Policy {
  const optimum = solveOptimum(model, horizon);
  let stepsLeft = horizon;
  return {
    name: 'optimum',
    act(obs) {
      const action = optimum.actionOf(configIndex(obs), Math.max(1, stepsLeft));
      stepsLeft--;
      return action;
    },
    reset: () => {
      stepsLeft = horizon;
    },
  };
}

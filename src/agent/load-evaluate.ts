/**
 * Evaluation under changing load, as Autothrottle reports it: per profile, SLO attainment (the
 * share of windows with p99 <= SLO, and whether the run's p99 meets it), mean allocated cores and
 * memory, cost, served/expected, the number of changes, the return; and the share of the
 * achievable gain a policy captures, (V_policy - V_static-best) / (V_optimum - V_static-best).
 */
import { Action, configFromIndex } from '../space';
import {
  allocatedCores,
  allocatedCostPerHour,
  allocatedMemoryGiB,
  SLO_DEFAULTS,
  type RequestMeasurement,
  type RequestReward,
} from '../request-reward';
import type { LoadDynamics } from '../env/load-dynamics';
import { LoadEnv, type LoadStart } from '../env/load-env';
import type { LoadObservation } from '../load-space';
import { traceSteps, type LoadSource } from '../env/load-source';
import { returnStatistics } from './episode';
import {
  bestStaticConfigMarkov,
  bestStaticConfigTrace,
  evaluateLevelPolicy,
  solveClairvoyant,
  solveMarkovOptimum,
} from './load-optimal';
import { evaluateForecastLevelPolicy, solveMarkovForecastOptimum } from './load-forecast-optimal';
import { forecastControlPolicy, markovForecastOptimalPolicy } from './load-forecast';
import {
  clairvoyantPolicy,
  doNothingLoadPolicy,
  hpaLoadPolicy,
  markovOptimalPolicy,
  randomLoadPolicy,
  staticLoadPolicy,
  vpaLoadPolicy,
  type LoadPolicy,
} from './load-policies';

export interface LoadEpisode {
  return: number;
  actions: number[];
  rewards: number[];
  /** The expected measurement of each step's window. */
  windows: RequestMeasurement[];
  /** Arrival rate of each step's window. */
  rates: number[];
  invalid: boolean[];
}

/** One episode of `policy` on `env`. */
export function runLoadEpisode(env: LoadEnv, policy: LoadPolicy, seed?: number): LoadEpisode {
  policy.reset?.(seed);
  let { observation } = env.reset({ seed });
  const episode: LoadEpisode = { return: 0, actions: [], rewards: [], windows: [], rates: [], invalid: [] };
  for (let step = 0; ; step++) {
    const action = policy.act(observation, env.actionMask(), step);
    const result = env.step(action);
    observation = result.observation;
    episode.actions.push(action);
    episode.rewards.push(result.reward);
    episode.return += result.reward;
    episode.windows.push(result.info.window!);
    episode.rates.push(observation.arrivalRate);
    episode.invalid.push(result.info.invalidAction);
    if (result.terminated || result.truncated) return episode;
  }
}

export interface LoadEvaluation {
  policy: string;
  episodes: number;
  /** Mean return, with its 95% interval when Monte Carlo over several episodes. */
  return: number;
  ci95: [number, number] | null;
  /** Share of windows whose p99 met the SLO. */
  sloAttainment: number;
  /** Share of episodes whose run p99 (the 99th percentile of window p99s, weighted by requests served) met the SLO. */
  runMeetsSlo: number;
  meanCores: number;
  meanMemoryGiB: number;
  meanCostPerHour: number;
  /** Requests served / requests offered over all windows. */
  servedShare: number;
  /** Configuration changes per episode. */
  changes: number;
  p99TargetMs: number;
}

/** The SLO a reward names (its p99 target), else the slo reward's default. */
export function sloTargetOf(reward: RequestReward): number {
  const target = reward.params.p99TargetMs;
  return typeof target === 'number' ? target : SLO_DEFAULTS.p99TargetMs;
}

/** The p99 of a run from its windows: the served-weighted 99th percentile of the window p99s. */
export function runP99(windows: readonly RequestMeasurement[]): number {
  const sorted = [...windows].sort((a, b) => a.p99Ms - b.p99Ms);
  const total = sorted.reduce((s, w) => s + w.servedRps, 0);
  if (total <= 0) return 0;
  let seen = 0;
  for (const w of sorted) {
    seen += w.servedRps;
    if (seen >= 0.99 * total) return w.p99Ms;
  }
  return sorted[sorted.length - 1].p99Ms;
}

export function summariseLoadEpisodes(policy: string, episodes: LoadEpisode[], p99TargetMs: number): LoadEvaluation {
  const windows = episodes.flatMap((e) => e.windows);
  const n = windows.length;
  const mean = (f: (w: RequestMeasurement) => number) => windows.reduce((s, w) => s + f(w), 0) / n;
  const offered = windows.reduce((s, w) => s + w.offeredRps, 0);
  const served = windows.reduce((s, w) => s + Math.min(w.servedRps, w.offeredRps), 0);
  const stats = returnStatistics(episodes.map((e) => e.return));
  return {
    policy,
    episodes: episodes.length,
    return: stats.mean,
    ci95: episodes.length > 1 ? stats.ci95 : null,
    sloAttainment: windows.filter((w) => w.servedRps <= 0 || w.p99Ms <= p99TargetMs).length / n,
    runMeetsSlo: episodes.filter((e) => runP99(e.windows) <= p99TargetMs).length / episodes.length,
    meanCores: mean((w) => allocatedCores(w.config)),
    meanMemoryGiB: mean((w) => allocatedMemoryGiB(w.config)),
    meanCostPerHour: mean((w) => allocatedCostPerHour(w.config)),
    servedShare: offered > 0 ? served / offered : 1,
    changes: episodes.reduce((s, e) => s + e.actions.filter((a, k) => a !== Action.DO_NOTHING && !e.invalid[k]).length, 0) / episodes.length,
    p99TargetMs,
  };
}

export interface LoadTaskOptions {
  /** Steps per episode: default 60 on a Markov load, the whole trace for a trace. */
  horizon?: number;
  /**
   * Start configuration (default 2 replicas, 800m, 500 MB: pods that meet the SLO at light load,
   * so the HPA-like rule, which changes only the replica count, has a fair start).
   */
  start?: LoadStart;
  /** Monte-Carlo episodes for a Markov load and for policies that read noisy usage. */
  episodes?: number;
  seed?: number;
  observationNoise?: boolean;
  /** Windows of (oracle) load forecast the policies observe (default 0). */
  forecastSteps?: number;
}

export const DEFAULT_EVALUATION_START = { replicas: 2, cpuMillis: 800, heapMB: 500 } as const;
export const DEFAULT_MARKOV_HORIZON = 60;

/**
 * One evaluation task: a load source with its episode length and start. A trace is replayed from
 * its first window over its whole length (every episode sees the same load); a Markov load runs
 * `horizon`-step episodes from its stationary law.
 */
export class LoadTask {
  readonly dynamics: LoadDynamics;
  readonly source: LoadSource;
  readonly horizon: number;
  readonly start: LoadStart;
  readonly episodes: number;
  readonly seed: number;
  readonly observationNoise: boolean;
  readonly forecastSteps: number;

  constructor(dynamics: LoadDynamics, source: LoadSource, options: LoadTaskOptions = {}) {
    this.dynamics = dynamics;
    this.source = source;
    this.horizon = options.horizon ?? (source.kind === 'trace' ? traceSteps(source) : DEFAULT_MARKOV_HORIZON);
    this.start = options.start ?? { ...DEFAULT_EVALUATION_START };
    this.episodes = options.episodes ?? (source.kind === 'trace' ? 3 : 200);
    this.seed = options.seed ?? 0;
    this.observationNoise = options.observationNoise ?? true;
    this.forecastSteps = options.forecastSteps ?? 0;
  }

  env(observationNoise = this.observationNoise): LoadEnv {
    return new LoadEnv({ dynamics: this.dynamics, sources: [this.source], maxSteps: this.horizon, start: this.start, randomStart: false, observationNoise, seed: this.seed, forecastSteps: this.forecastSteps });
  }

  /** The exact optimum (Markov) or the clairvoyant bound (trace), and the policy that attains it. */
  optimum(): { value: number; policy: LoadPolicy } {
    if (this.source.kind === 'markov' && this.forecastSteps > 0) {
      const optimum = solveMarkovForecastOptimum(this.dynamics, this.source, this.horizon, this.forecastSteps);
      return { value: optimum.valueOf(this.start), policy: markovForecastOptimalPolicy(optimum, this.source.chain) };
    }
    if (this.source.kind === 'markov') {
      const optimum = solveMarkovOptimum(this.dynamics, this.source, this.horizon);
      return { value: optimum.valueOf(this.start), policy: markovOptimalPolicy(optimum, this.source.chain) };
    }
    const optimum = solveClairvoyant(this.dynamics, this.source.rates.subarray(0, this.horizon + 1));
    if (this.start === 'random') throw new Error('the clairvoyant bound needs one start configuration');
    return { value: optimum.valueOf(this.start), policy: clairvoyantPolicy(optimum) };
  }

  /** The best fixed configuration for this load, and its exact value (walking there from the start). */
  staticBest(): { config: number; value: number; policy: LoadPolicy } {
    if (this.source.kind === 'markov') {
      const config = bestStaticConfigMarkov(this.dynamics, this.source);
      const policy = staticLoadPolicy(config);
      const value = evaluateLevelPolicy(this.dynamics, this.source, (c) => policy.act({ ...configFromIndex(c), usedCpu: 0, usedRam: 0, arrivalRate: 0, previousArrivalRate: 0 }, [], 0), this.horizon, this.start);
      return { config, value, policy };
    }
    const config = bestStaticConfigTrace(this.dynamics, this.source, this.horizon);
    const policy = staticLoadPolicy(config);
    return { config, value: runLoadEpisode(this.env(false), policy, this.seed).return, policy };
  }

  /**
   * The exact expected return of a memoryless policy on a Markov load, observing the expected
   * usage (no noise): it then acts on (configuration, level, previous level) alone, and the
   * forecast levels when the task gives a forecast.
   */
  exactMarkovValue(policy: LoadPolicy): number {
    if (this.source.kind !== 'markov') throw new Error(`${this.source.name} is a trace: replay it without noise for an exact return`);
    const levels = this.source.chain.levels;
    // What the policy sees in (configuration, level), computed once: the evaluation visits each many times.
    const seen = new Map<number, { base: Omit<LoadObservation, 'previousArrivalRate'>; mask: boolean[] }>();
    const observe = (c: number, l: number, p: number) => {
      const key = c * levels.length + l;
      let entry = seen.get(key);
      if (!entry) {
        const usage = this.dynamics.observeUsage(c, levels[l], null);
        entry = { base: { ...configFromIndex(c), ...usage, arrivalRate: levels[l] }, mask: Array.from(this.dynamics.masks.subarray(c * 7, c * 7 + 7), (m) => m === 1) };
        seen.set(key, entry);
      }
      return { observation: { ...entry.base, previousArrivalRate: levels[p] }, mask: entry.mask };
    };
    if (this.forecastSteps > 0) {
      return evaluateForecastLevelPolicy(
        this.dynamics,
        this.source,
        (c, l, p, forecast) => {
          const { observation, mask } = observe(c, l, p);
          return policy.act({ ...observation, forecast: forecast.map((f) => levels[f]) }, mask, 0);
        },
        this.horizon,
        this.start,
        this.forecastSteps,
      );
    }
    return evaluateLevelPolicy(
      this.dynamics,
      this.source,
      (c, l, p) => {
        const { observation, mask } = observe(c, l, p);
        return policy.act(observation, mask, 0);
      },
      this.horizon,
      this.start,
    );
  }

  /** Runs a policy for the task's episodes (one when nothing random can change its course). */
  evaluate(policy: LoadPolicy, options: { episodes?: number; observationNoise?: boolean } = {}): LoadEvaluation {
    const noise = options.observationNoise ?? this.observationNoise;
    const deterministic = this.source.kind === 'trace' && !noise && policy.name !== 'random';
    const count = deterministic ? 1 : (options.episodes ?? this.episodes);
    const env = this.env(noise);
    const episodes: LoadEpisode[] = [];
    for (let e = 0; e < count; e++) episodes.push(runLoadEpisode(env, policy, this.seed * 100003 + e));
    return summariseLoadEpisodes(policy.name, episodes, sloTargetOf(this.dynamics.reward));
  }
}

/** The share of the achievable gain a value captures: (V - V_static) / (V_optimum - V_static). */
export function gainShare(value: number, staticBest: number, optimum: number): number {
  const span = optimum - staticBest;
  if (Math.abs(span) < 1e-9) return value >= optimum - 1e-9 ? 1 : Number.NEGATIVE_INFINITY;
  return (value - staticBest) / span;
}

export interface LoadBaselineReport {
  profile: string;
  kind: LoadSource['kind'];
  horizon: number;
  /** Expected returns as `baselines` reports them: optimum is exact (Markov) or the clairvoyant bound (trace). */
  returns: Record<string, { mean: number; exact: boolean; ci95?: [number, number] }>;
  evaluations: LoadEvaluation[];
  staticBestConfig: number;
}

/** The optimum and every baseline on one task, with their evaluation tables. */
export function loadBaselines(task: LoadTask): LoadBaselineReport {
  const optimum = task.optimum();
  const staticBest = task.staticBest();
  const policies: LoadPolicy[] = [optimum.policy, staticBest.policy, hpaLoadPolicy(), vpaLoadPolicy(), doNothingLoadPolicy(), randomLoadPolicy(task.seed)];
  if (task.forecastSteps > 0) policies.push(forecastControlPolicy(task.dynamics));
  const evaluations = policies.map((p) => task.evaluate(p));
  const returns: LoadBaselineReport['returns'] = {};
  for (const e of evaluations) {
    const exact = e.policy === 'optimum' ? optimum.value : e.policy === 'static-best' ? staticBest.value : null;
    returns[e.policy] = exact !== null ? { mean: exact, exact: true } : { mean: e.return, exact: e.ci95 === null, ...(e.ci95 ? { ci95: e.ci95 } : {}) };
  }
  return { profile: task.source.name, kind: task.source.kind, horizon: task.horizon, returns, evaluations, staticBestConfig: staticBest.config };
}

/**
 * Policies and episodes: the `Policy` interface every acting thing implements (baselines, the
 * optimum, trained networks), one episode of a policy on any environment, and a policy's return
 * over seeded episodes with its 95% confidence interval.
 *
 * The episode ends when the environment says so: give it a time limit (`makeDatasetEnv`,
 * `makeClusterEnv`), a bare environment never truncates.
 */
import type { Env, StepResult, SyncEnv } from '../env/types';
import type { Observation } from '../space';

/** Anything that picks an action from an observation (baselines, trained networks). */
export interface Policy {
  readonly name: string;
  /** Picks an action; `mask[a]` is false for actions that would be refused. */
  act(observation: Observation, mask: boolean[]): number;
  /** Called at the start of each episode (policies with memory clear it here). */
  reset?(seed?: number): void;
}

export interface EpisodeRecord {
  /** The first observation, then the one after each step (one more than actions). */
  observations: Observation[];
  actions: number[];
  rewards: number[];
  /** Whether each action was refused. */
  invalid: boolean[];
  return: number;
}

export interface EpisodeOptions {
  /** Continue an interrupted episode after this many steps (a resumed live run) instead of starting one. */
  resumeAfterStep?: number;
  /** Called after every step (timings, progress). */
  onStep?: (step: StepResult, action: number) => void;
}

function startRecord(first: Observation): EpisodeRecord {
  return { observations: [first], actions: [], rewards: [], invalid: [], return: 0 };
}

/** Adds a step to the record; true when it ended the episode. */
function recordStep(record: EpisodeRecord, action: number, step: StepResult, options: EpisodeOptions): boolean {
  record.actions.push(action);
  record.rewards.push(step.reward);
  record.invalid.push(step.info.invalidAction);
  record.observations.push(step.observation);
  record.return += step.reward;
  options.onStep?.(step, action);
  return step.terminated || step.truncated;
}

const lastObservation = (record: EpisodeRecord) => record.observations[record.observations.length - 1];

/** Runs one episode of `policy` on any environment (dataset or live); `seed` seeds both. */
export async function runEpisode(env: Env, policy: Policy, seed?: number, options: EpisodeOptions = {}): Promise<EpisodeRecord> {
  policy.reset?.(seed);
  const record = startRecord((await env.reset({ seed, resumeAfterStep: options.resumeAfterStep })).observation);
  for (;;) {
    const action = policy.act(lastObservation(record), env.actionMask());
    if (recordStep(record, action, await env.step(action), options)) return record;
  }
}

/** `runEpisode` without promises, for the dataset replay's many short episodes. */
export function runEpisodeSync(env: SyncEnv, policy: Policy, seed?: number, options: EpisodeOptions = {}): EpisodeRecord {
  policy.reset?.(seed);
  const record = startRecord(env.reset({ seed, resumeAfterStep: options.resumeAfterStep }).observation);
  for (;;) {
    const action = policy.act(lastObservation(record), env.actionMask());
    if (recordStep(record, action, env.step(action), options)) return record;
  }
}

/** Two-sided 95% Student t quantile for `df` degrees of freedom. */
function tQuantile95(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];
  if (df < 1) return Number.NaN;
  if (df <= table.length) return table[df - 1];
  if (df <= 30) return 2.042 + ((30 - df) / 10) * (2.086 - 2.042);
  if (df <= 60) return 2.0 + ((60 - df) / 30) * (2.042 - 2.0);
  if (df <= 120) return 1.98 + ((120 - df) / 60) * (2.0 - 1.98);
  return 1.96;
}

export interface ReturnStatistics {
  episodes: number;
  returns: number[];
  mean: number;
  /** Sample standard deviation of the returns (0 for one episode). */
  std: number;
  /** Standard error of the mean. */
  stderr: number;
  /** 95% confidence interval of the mean (Student t, right for few episodes too; NaN for one). */
  ci95: [number, number];
}

/** Mean, spread and 95% confidence interval of episode returns. */
export function returnStatistics(returns: number[]): ReturnStatistics {
  const episodes = returns.length;
  if (episodes === 0) throw new Error('no episode returns to summarise');
  const mean = returns.reduce((s, r) => s + r, 0) / episodes;
  const std = episodes > 1 ? Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / (episodes - 1)) : 0;
  const stderr = std / Math.sqrt(episodes);
  const half = tQuantile95(episodes - 1) * stderr;
  return { episodes, returns, mean, std, stderr, ci95: [mean - half, mean + half] };
}

/** Seed of episode `e` of an evaluation seeded `seed`: every episode replays on its own. */
const episodeSeed = (seed: number, e: number) => seed * 100003 + e;

/** The return of `policy` over `episodes` seeded episodes on the dataset replay. */
export function evaluatePolicy(env: SyncEnv, policy: Policy, options: { episodes: number; seed?: number }): ReturnStatistics {
  const { episodes } = options;
  if (!Number.isInteger(episodes) || episodes < 1) throw new Error(`episodes must be a positive integer, got ${episodes}`);
  const returns: number[] = [];
  for (let e = 0; e < episodes; e++) returns.push(runEpisodeSync(env, policy, episodeSeed(options.seed ?? 0, e)).return);
  return returnStatistics(returns);
}

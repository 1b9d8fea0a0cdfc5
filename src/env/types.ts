/**
 * The environment API, after Gymnasium: `reset({seed}) -> {observation, info}` and
 * `step(action) -> {observation, reward, terminated, truncated, info}`. A time limit ends an
 * episode with `truncated`, never `terminated`. One interface serves the dataset replay and the
 * live cluster; the live one answers with promises, so callers `await` either.
 *
 * As in Gymnasium, an environment itself knows no time limit and does not check the call order:
 * the wrappers in episode-wrappers.ts add both, and `makeDatasetEnv`/`makeClusterEnv` apply them.
 */
import type { StepMetrics } from '../measurement';
import type { Observation, ScalingConfig } from '../space';

export interface StepInfo {
  /** Configuration the system is in after the step. */
  config: ScalingConfig;
  /** Measurements behind the observation and the reward. */
  metrics: StepMetrics;
  /** True when the action would have left the bounds: it was refused and penalised. */
  invalidAction: boolean;
  /** Steps taken in this episode so far. */
  step: number;
  /** Dataset row behind the measurement (offline environments only). */
  row?: number;
  /** Set on an episode's last step by RecordEpisodeStatistics. */
  episode?: EpisodeStatistics;
}

export interface EpisodeStatistics {
  /** Sum of the episode's rewards. */
  return: number;
  /** Steps in the episode. */
  length: number;
  /** Wall time from the reset to the end of the last step. */
  seconds: number;
}

export interface ResetResult {
  observation: Observation;
  info: StepInfo;
}

export interface StepResult extends ResetResult {
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

export interface ResetOptions {
  seed?: number;
  /**
   * Continue an interrupted episode after this many steps instead of starting a new one: nothing
   * is applied, the running state is observed. Only the live environment supports it.
   */
  resumeAfterStep?: number;
}

type MaybePromise<T> = T | Promise<T>;

export interface Env {
  readonly actionCount: number;
  reset(options?: ResetOptions): MaybePromise<ResetResult>;
  step(action: number): MaybePromise<StepResult>;
  /** Which actions are valid now (true = allowed). */
  actionMask(): boolean[];
  close?(): MaybePromise<void>;
}

/** An environment that answers synchronously (the dataset replay). */
export interface SyncEnv extends Env {
  reset(options?: ResetOptions): ResetResult;
  step(action: number): StepResult;
}

/**
 * The wrappers every episode runs inside, after Gymnasium's `wrappers/common.py`: `TimeLimit`,
 * `OrderEnforcing` and `RecordEpisodeStatistics`. Each works on any `Env`, dataset or live, so
 * the environments themselves hold none of this bookkeeping.
 */
import { afterResult, Wrapper } from './wrappers';
import type { Env, ResetOptions, StepResult } from './types';

/** Ends an episode `truncated` (never `terminated`) after `maxSteps` steps. */
export class TimeLimit<E extends Env = Env> extends Wrapper<E> {
  private elapsed = 0;

  constructor(
    env: E,
    readonly maxSteps: number,
  ) {
    super(env);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new Error(`maxSteps must be a positive integer, got ${maxSteps}`);
  }

  /** Steps taken in the current episode (counting the steps before a resume). */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  override reset(options?: ResetOptions): ReturnType<E['reset']> {
    return afterResult(this.env.reset(options), (result) => {
      this.elapsed = options?.resumeAfterStep ?? 0;
      return result;
    }) as ReturnType<E['reset']>;
  }

  override step(action: number): ReturnType<E['step']> {
    return afterResult(this.env.step(action), this.countStep) as ReturnType<E['step']>;
  }

  // A bound method, not a closure per step: the dataset replay steps millions of times a second.
  private readonly countStep = (result: StepResult): StepResult => {
    this.elapsed++;
    return this.elapsed >= this.maxSteps && !result.truncated ? { ...result, truncated: true } : result;
  };
}

/** Thrown by OrderEnforcing when an episode is stepped without a reset first. */
export class ResetNeeded extends Error {
  override name = 'ResetNeeded';
}

/**
 * Refuses `step()` before the first `reset()` and after an episode has ended, with a clear error
 * instead of whatever the environment would do with no state (or past its time limit).
 */
export class OrderEnforcing<E extends Env = Env> extends Wrapper<E> {
  private hasReset = false;
  /** Steps of the episode that ended, or -1 while an episode is running. */
  private endedAfter = -1;

  override reset(options?: ResetOptions): ReturnType<E['reset']> {
    return afterResult(this.env.reset(options), (result) => {
      this.hasReset = true;
      this.endedAfter = -1;
      return result;
    }) as ReturnType<E['reset']>;
  }

  override step(action: number): ReturnType<E['step']> {
    if (!this.hasReset) throw new ResetNeeded('step() called before reset()');
    if (this.endedAfter >= 0) throw new ResetNeeded(`episode is over after ${this.endedAfter} steps; call reset()`);
    return afterResult(this.env.step(action), this.noteEnd) as ReturnType<E['step']>;
  }

  private readonly noteEnd = (result: StepResult): StepResult => {
    if (result.terminated || result.truncated) this.endedAfter = result.info.step;
    return result;
  };
}

/**
 * Adds `info.episode` (return, length, wall time) to the last step of each episode. A resumed
 * episode (a reset with `resumeAfterStep`) gets none: its earlier steps happened out of sight.
 */
export class RecordEpisodeStatistics<E extends Env = Env> extends Wrapper<E> {
  private episodeReturn = 0;
  private episodeLength = 0;
  private startedAt = 0;
  private recording = false;

  override reset(options?: ResetOptions): ReturnType<E['reset']> {
    const startedAt = performance.now();
    return afterResult(this.env.reset(options), (result) => {
      this.episodeReturn = 0;
      this.episodeLength = 0;
      this.startedAt = startedAt;
      this.recording = options?.resumeAfterStep === undefined;
      return result;
    }) as ReturnType<E['reset']>;
  }

  override step(action: number): ReturnType<E['step']> {
    return afterResult(this.env.step(action), this.record) as ReturnType<E['step']>;
  }

  private readonly record = (result: StepResult): StepResult => {
    this.episodeReturn += result.reward;
    this.episodeLength++;
    if (!(result.terminated || result.truncated) || !this.recording) return result;
    const episode = { return: this.episodeReturn, length: this.episodeLength, seconds: (performance.now() - this.startedAt) / 1000 };
    return { ...result, info: { ...result.info, episode } };
  };
}

/** An environment inside the episode wrappers; `unwrapped` is the environment itself. */
export type EpisodeEnv<E extends Env> = RecordEpisodeStatistics<OrderEnforcing<TimeLimit<E>>> & { readonly unwrapped: E };

/**
 * Wraps `env` as `gymnasium.make` does: the time limit innermost, so the call order check and the
 * statistics see its truncation.
 */
export function withEpisodeWrappers<E extends Env>(env: E, maxSteps: number): EpisodeEnv<E> {
  return new RecordEpisodeStatistics(new OrderEnforcing(new TimeLimit(env, maxSteps))) as EpisodeEnv<E>;
}

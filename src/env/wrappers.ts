/**
 * Gymnasium-style wrappers: cross-cutting concerns that wrap any `Env` (dataset or live) instead of
 * living as flags inside each environment. The episode wrappers (time limit, call order,
 * statistics) are in episode-wrappers.ts; this module holds the base class and the step log.
 */
import { randomUUID } from 'node:crypto';
import { ACTIONS } from '../space';
import type { StepLog } from './step-log';
import type { Env, ResetOptions, ResetResult, StepResult } from './types';

/**
 * Passes everything through; subclasses override what they change. A wrapper answers as its
 * environment does: synchronously over the dataset replay, with promises over the live cluster.
 */
export class Wrapper<E extends Env = Env> implements Env {
  constructor(readonly env: E) {}
  get actionCount(): number {
    return this.env.actionCount;
  }
  /** The environment inside every wrapper. */
  get unwrapped(): Env {
    return this.env instanceof Wrapper ? this.env.unwrapped : this.env;
  }
  reset(options?: ResetOptions): ReturnType<E['reset']> {
    return this.env.reset(options) as ReturnType<E['reset']>;
  }
  step(action: number): ReturnType<E['step']> {
    return this.env.step(action) as ReturnType<E['step']>;
  }
  actionMask(): boolean[] {
    return this.env.actionMask();
  }
  close(): void | Promise<void> {
    return this.env.close?.();
  }
}

/** Applies `f` to a result now, or when it arrives, so a wrapper stays synchronous over a synchronous env. */
export function afterResult<T, R>(result: T | Promise<T>, f: (value: T) => R): R | Promise<R> {
  return result instanceof Promise ? result.then(f) : f(result);
}

/**
 * Appends every reset and step to a step log before returning it: run and episode ids, step index,
 * action, configuration before and after, metrics, reward, and whatever timing the step reports.
 */
export class StepLogger extends Wrapper {
  readonly runId: string;
  episodeId = '';
  private episodeIndex: number;
  private last: ResetResult | null = null;

  /** `context` is added to every record (e.g. which policy acts, the run's mode). */
  context: Record<string, unknown>;

  constructor(env: Env, private readonly log: StepLog, options: { runId?: string; firstEpisode?: number; context?: Record<string, unknown> } = {}) {
    super(env);
    this.runId = options.runId ?? randomUUID();
    this.episodeIndex = (options.firstEpisode ?? 0) - 1;
    this.context = options.context ?? {};
  }

  /** The next reset starts episode `index` (runs that number episodes themselves). */
  startEpisodeAt(index: number): void {
    this.episodeIndex = index - 1;
  }

  /** A reset with `resumeAfterStep` continues an episode of a resumed run and is logged as `resumed`. */
  override async reset(options?: ResetOptions): Promise<ResetResult> {
    const result = await this.env.reset(options);
    this.episodeIndex++;
    this.episodeId = `${this.runId}/${this.episodeIndex}`;
    this.last = result;
    const how = options?.resumeAfterStep === undefined ? { seed: options?.seed } : { resumed: true };
    this.log.append({ type: 'reset', runId: this.runId, ...this.context, episodeId: this.episodeId, episode: this.episodeIndex, ...how, observation: result.observation, info: result.info });
    return result;
  }

  override async step(action: number): Promise<StepResult> {
    const startedAt = new Date().toISOString();
    const mask = this.env.actionMask();
    try {
      const result = await this.env.step(action);
      this.log.append({
        type: 'step',
        runId: this.runId,
        ...this.context,
        episodeId: this.episodeId,
        episode: this.episodeIndex,
        step: result.info.step,
        startedAt,
        action,
        actionName: ACTIONS[action]?.name,
        mask,
        configBefore: this.last?.info.config,
        configAfter: result.info.config,
        observation: result.observation,
        reward: result.reward,
        terminated: result.terminated,
        truncated: result.truncated,
        info: result.info,
      });
      this.last = result;
      return result;
    } catch (err) {
      this.log.append({ type: 'error', runId: this.runId, ...this.context, episodeId: this.episodeId, episode: this.episodeIndex, startedAt, action, error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }
}

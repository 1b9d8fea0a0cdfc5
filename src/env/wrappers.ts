/**
 * Gymnasium-style wrappers: cross-cutting concerns that wrap any `Env` (dataset or live) instead of
 * living as flags inside each environment.
 */
import { randomUUID } from 'node:crypto';
import { ACTIONS } from '../space';
import type { StepLog } from './step-log';
import type { Env, ResetOptions, ResetResult, StepResult } from './types';

/** Passes everything through; subclasses override what they change. */
export class Wrapper implements Env {
  constructor(readonly env: Env) {}
  get actionCount(): number {
    return this.env.actionCount;
  }
  reset(options?: ResetOptions): ResetResult | Promise<ResetResult> {
    return this.env.reset(options);
  }
  step(action: number): StepResult | Promise<StepResult> {
    return this.env.step(action);
  }
  actionMask(): boolean[] {
    return this.env.actionMask();
  }
  close(): void | Promise<void> {
    return this.env.close?.();
  }
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

  /** Continues episode `episode` of this run from `result` (a resumed run), logging that it did. */
  continueEpisode(episode: number, result: ResetResult): void {
    this.episodeIndex = episode;
    this.episodeId = `${this.runId}/${episode}`;
    this.last = result;
    this.log.append({ type: 'reset', runId: this.runId, ...this.context, episodeId: this.episodeId, episode, resumed: true, observation: result.observation, info: result.info });
  }

  override async reset(options?: ResetOptions): Promise<ResetResult> {
    const result = await this.env.reset(options);
    this.episodeIndex++;
    this.episodeId = `${this.runId}/${this.episodeIndex}`;
    this.last = result;
    this.log.append({ type: 'reset', runId: this.runId, ...this.context, episodeId: this.episodeId, episode: this.episodeIndex, seed: options?.seed, observation: result.observation, info: result.info });
    return result;
  }

  override async step(action: number): Promise<StepResult> {
    if (!this.last) throw new Error('step() called before reset()');
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
        configBefore: this.last.info.config,
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

/**
 * Learning from reported experience: transitions of training-enabled episodes collect in a
 * buffer; every `trainBatch` of them become one trajectory, one PPO update and one checkpoint,
 * whose history.jsonl holds the server's updates so far.
 */
import { historyToContinue, updateHistoryRecord, type HistoryRecord } from '../agent/history';
import type { Trajectory } from '../agent/ppo';
import { ACTION_COUNT, encodeObservation, OBSERVATION_SIZE } from '../space';
import type { CheckpointStore, ServerCheckpointMeta } from './checkpoint-store';
import type { Transition } from './episode-store';
import { bitsToMask } from './experience-events';
import type { LearnerBackend } from './learner';

/**
 * Lays out transitions for PPO as one environment, episode after episode. Within an episode the
 * next entry is the next step; where an episode's run in the batch stops (it ended, or its next
 * steps fall in a later batch), the entry is marked done and, unless the state was terminal, the
 * value of the next observation bootstraps the return, exactly as for a time limit.
 */
export function buildTrajectory(transitions: readonly Transition[]): Trajectory {
  const byEpisode = new Map<string, Transition[]>();
  for (const t of transitions) {
    const list = byEpisode.get(t.episode);
    if (list) list.push(t);
    else byEpisode.set(t.episode, [t]);
  }
  const n = transitions.length;
  const traj: Trajectory = {
    numSteps: n,
    numEnvs: 1,
    observations: new Float32Array(n * OBSERVATION_SIZE),
    actions: new Int32Array(n),
    logProbs: new Float32Array(n),
    values: new Float32Array(n),
    rewards: new Float32Array(n),
    dones: new Uint8Array(n),
    truncatedValues: new Float32Array(n),
    nextValues: new Float32Array(1),
    masks: new Uint8Array(n * ACTION_COUNT),
  };
  let k = 0;
  for (const run of byEpisode.values()) {
    run.forEach((t, i) => {
      encodeObservation(t.step.observation, traj.observations, k * OBSERVATION_SIZE);
      bitsToMask(t.step.mask, ACTION_COUNT, traj.masks, k * ACTION_COUNT);
      traj.actions[k] = t.step.action;
      traj.logProbs[k] = t.step.logProb;
      traj.values[k] = t.step.value;
      traj.rewards[k] = t.reward;
      const lastOfRun = i === run.length - 1;
      if (lastOfRun || t.done) {
        traj.dones[k] = 1;
        traj.truncatedValues[k] = t.terminated ? 0 : t.nextValue;
      }
      k++;
    });
  }
  return traj;
}

export interface TrainingEvents {
  /** Awaited before each checkpoint: the log must be on disk through the events it learned from. */
  beforeCheckpoint?(): Promise<void>;
  onUpdate?(info: { version: number; stats: Record<string, number>; seconds: number; checkpoint: string }): void;
  onError?(err: Error): void;
}

/** Policy versions a step may lag behind the learner and still be trained on, unless told. */
export const DEFAULT_MAX_STALENESS = 1;

export class Trainer {
  private buffer: Transition[] = [];
  /** Versions a step may lag behind the current policy; older steps are dropped (PPO is on-policy). */
  maxStaleness = DEFAULT_MAX_STALENESS;
  /** Stale steps inside the newest checkpoint (seq <= trainedThroughSeq): a replay skips them. */
  private droppedThroughCheckpoint: number;
  /** Seqs of stale steps dropped after it: a replay meets them again. */
  private droppedSince: number[] = [];
  /** Wall-clock time (ms since the epoch) of the last finished update, or null. */
  lastUpdateTime: number | null = null;
  private running = false;
  private readonly history: HistoryRecord[];
  /** Rewards so far of each open episode, and the returns of ended ones not yet trained on (by the seq of their last transition). */
  private readonly episodeRewards = new Map<string, number>();
  private readonly endedReturns = new Map<number, number>();
  private readonly started = performance.now();
  private readonly secondsBefore: number;
  private lastUpdateAt = this.started;
  stepsTrained: number;
  trainedThroughSeq: number;
  lastCheckpoint: string | null;

  constructor(
    private readonly backend: LearnerBackend,
    private readonly store: CheckpointStore,
    readonly trainBatch: number,
    resumed: { meta: ServerCheckpointMeta; dir: string } | null,
    readonly parent: string | null,
    /** Path of the experience log, recorded in checkpoints. */
    private readonly experienceLog: string,
    private readonly events: TrainingEvents = {},
  ) {
    this.stepsTrained = resumed?.meta.stepsTrained ?? 0;
    this.trainedThroughSeq = resumed?.meta.trainedThroughSeq ?? 0;
    this.droppedThroughCheckpoint = resumed?.meta.droppedStale ?? 0;
    this.lastCheckpoint = resumed?.dir ?? parent;
    // A restart goes on with its newest checkpoint's history; a starting checkpoint's is its own run's.
    this.history = historyToContinue(resumed?.dir ?? null);
    this.secondsBefore = this.history[this.history.length - 1]?.time_s ?? 0;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Steps dropped as stale in this state dir, over restarts: with the steps trained and those
   * queued, it accounts for every transition of a training-enabled episode in the log.
   */
  get droppedStale(): number {
    return this.droppedThroughCheckpoint + this.droppedSince.length;
  }

  get busy(): boolean {
    return this.running;
  }

  /** Adds a durable transition; training starts in the background once a batch is full. */
  add(transition: Transition): void {
    // Returns count every transition: a restart replays the log from the start, so episodes are whole.
    const sum = (this.episodeRewards.get(transition.episode) ?? 0) + transition.reward;
    if (transition.done) {
      this.episodeRewards.delete(transition.episode);
      if (transition.seq > this.trainedThroughSeq) this.endedReturns.set(transition.seq, sum);
    } else {
      this.episodeRewards.set(transition.episode, sum);
    }
    if (transition.seq <= this.trainedThroughSeq) return; // already inside the loaded checkpoint
    if (this.isStale(transition)) {
      this.droppedSince.push(transition.seq);
      return;
    }
    // Durable order is log order, so this is almost always an append; keep it sorted regardless,
    // because a batch must be a prefix in log order for trainedThroughSeq to mean anything.
    let i = this.buffer.length;
    while (i > 0 && this.buffer[i - 1].seq > transition.seq) i--;
    this.buffer.splice(i, 0, transition);
    if (!this.running && this.buffer.length >= this.trainBatch) void this.trainWhileFull();
  }

  /** Acted by a policy more than maxStaleness versions behind the current one. */
  private isStale(transition: Transition): boolean {
    return this.backend.version - transition.step.policyVersion > this.maxStaleness;
  }

  /** Drops buffered steps that the last update made stale; they never become current again. */
  private dropStale(): void {
    const kept: Transition[] = [];
    for (const t of this.buffer) {
      if (this.isStale(t)) this.droppedSince.push(t.seq);
      else kept.push(t);
    }
    this.buffer = kept;
  }

  /** Resolves when no update is running. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private async trainWhileFull(): Promise<void> {
    this.running = true;
    try {
      while (this.buffer.length >= this.trainBatch) {
        // Let pending responses go out before the (synchronous) update occupies the thread.
        await new Promise<void>((r) => setImmediate(r));
        const batch = this.buffer.slice(0, this.trainBatch);
        const started = performance.now();
        const stats = await this.backend.update(buildTrajectory(batch));
        const finished = performance.now();
        const throughSeq = batch[batch.length - 1].seq;
        const episodeReturns = batch.filter((t) => this.endedReturns.has(t.seq)).map((t) => this.endedReturns.get(t.seq)!);
        const record = updateHistoryRecord(stats, {
          iteration: this.backend.version,
          envSteps: this.stepsTrained + batch.length,
          episodeReturns,
          runSeconds: this.secondsBefore + (finished - this.started) / 1000,
          batchSeconds: (finished - this.lastUpdateAt) / 1000,
          batchSteps: batch.length,
          updateSeconds: (finished - started) / 1000,
        });
        const meta: ServerCheckpointMeta = {
          version: this.backend.version,
          trainedThroughSeq: throughSeq,
          stepsTrained: this.stepsTrained + batch.length,
          droppedStale: this.droppedThroughCheckpoint + this.droppedSince.filter((seq) => seq <= throughSeq).length,
          parent: this.lastCheckpoint,
          stats,
        };
        const metrics: Record<string, number> = {
          policyVersion: meta.version,
          trainedThroughSeq: throughSeq,
          stepsTrained: meta.stepsTrained,
          droppedStaleSteps: meta.droppedStale!,
        };
        for (const [key, value] of Object.entries(stats)) if (Number.isFinite(value)) metrics[key] = value;
        const history = [...this.history, record];
        await this.events.beforeCheckpoint?.();
        const checkpoint = await this.store.save(meta, (dir) =>
          this.backend.save(dir, { metrics, parent: meta.parent, experienceLog: this.experienceLog, experienceEvents: throughSeq, history }),
        );
        this.history.push(record);
        for (const t of batch) this.endedReturns.delete(t.seq);
        this.lastUpdateAt = finished;
        this.buffer = this.buffer.slice(batch.length);
        this.stepsTrained = meta.stepsTrained;
        this.trainedThroughSeq = throughSeq;
        this.droppedThroughCheckpoint = meta.droppedStale!;
        this.droppedSince = this.droppedSince.filter((seq) => seq > throughSeq);
        this.lastCheckpoint = checkpoint;
        this.lastUpdateTime = Date.now();
        this.dropStale();
        this.events.onUpdate?.({ version: meta.version, stats, seconds: (performance.now() - started) / 1000, checkpoint });
      }
    } catch (err) {
      this.events.onError?.(err as Error);
    } finally {
      this.running = false;
    }
  }
}

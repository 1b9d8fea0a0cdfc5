/**
 * N dataset environments stepped at once over flat typed arrays, for fast training.
 *
 * Observations are kept encoded for networks (OBSERVATION_SIZE floats each). An environment whose
 * episode ends is reset in the same call (Gymnasium's same-step autoreset): `finalObservations`
 * then holds the observation the episode ended on, so a learner can bootstrap a truncated episode
 * from it, and `observations` already holds the next episode's first one.
 */
import { Rng } from '../random';
import { ACTION_COUNT, OBSERVATION_SIZE, SpaceError, encodeIndex } from '../space';
import { DatasetModel, DEFAULT_MAX_STEPS, type DatasetEnvOptions } from './dataset-env';
import { checkStart, ORIGINAL_START, type Start } from './start';

export interface VectorStep {
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  invalid: Uint8Array;
  /** Encoded final observation of each environment whose episode ended in this step. */
  finalObservations: Float32Array;
}

export interface CompletedEpisode {
  return: number;
  length: number;
}

export class VectorDatasetEnv {
  readonly numEnvs: number;
  readonly model: DatasetModel;
  readonly maxSteps: number;
  readonly start: Start;
  readonly observations: Float32Array;
  /** masks[i*7 + a] = 1 when action a is valid in environment i. */
  readonly masks: Uint8Array;
  readonly rows: Int32Array;
  private readonly steps: Int32Array;
  private readonly returns: Float64Array;
  private readonly result: VectorStep;
  private readonly rngs: Rng[];
  private completed: CompletedEpisode[] = [];

  constructor(numEnvs: number, options: DatasetEnvOptions & { model?: DatasetModel } = {}) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new Error(`numEnvs must be a positive integer, got ${numEnvs}`);
    this.numEnvs = numEnvs;
    this.model = options.model ?? new DatasetModel(options);
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.start = options.start ?? ORIGINAL_START;
    checkStart(this.start, this.model.table.rowCount);
    const seed = options.seed ?? 0;
    this.rngs = Array.from({ length: numEnvs }, (_, i) => new Rng(seed * 7919 + i));
    this.observations = new Float32Array(numEnvs * OBSERVATION_SIZE);
    this.masks = new Uint8Array(numEnvs * ACTION_COUNT);
    this.rows = new Int32Array(numEnvs).fill(-1);
    this.steps = new Int32Array(numEnvs);
    this.returns = new Float64Array(numEnvs);
    this.result = {
      rewards: new Float32Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      invalid: new Uint8Array(numEnvs),
      finalObservations: new Float32Array(numEnvs * OBSERVATION_SIZE),
    };
  }

  reset(seed?: number): Float32Array {
    for (let i = 0; i < this.numEnvs; i++) {
      if (seed !== undefined) this.rngs[i] = new Rng(seed * 7919 + i);
      this.resetOne(i);
    }
    return this.observations;
  }

  private resetOne(i: number): void {
    this.steps[i] = 0;
    this.returns[i] = 0;
    this.setRow(i, this.model.startRow(this.start, this.rngs[i]));
  }

  private setRow(i: number, row: number): void {
    const t = this.model.table;
    const c = t.config[row];
    const o = i * OBSERVATION_SIZE;
    const previous = this.rows[i];
    if (previous >= 0 && t.config[previous] === c) {
      // Same configuration: only the measured usage changes.
      this.observations[o + OBSERVATION_SIZE - 2] = t.usedCpuCores[row];
      this.observations[o + OBSERVATION_SIZE - 1] = t.usedRamGiB[row];
    } else {
      encodeIndex(c, t.usedCpuCores[row], t.usedRamGiB[row], this.observations, o);
      this.masks.set(this.model.masks.subarray(c * ACTION_COUNT, (c + 1) * ACTION_COUNT), i * ACTION_COUNT);
    }
    this.rows[i] = row;
  }

  /** Steps every environment; the returned arrays are reused by the next call. */
  step(actions: ArrayLike<number>): VectorStep {
    if (actions.length !== this.numEnvs) throw new Error(`expected ${this.numEnvs} actions, got ${actions.length}`);
    const { rewards, terminated, truncated, invalid, finalObservations } = this.result;
    const model = this.model;
    const config = model.table.config;
    for (let i = 0; i < this.numEnvs; i++) {
      const row = this.rows[i];
      if (row < 0) throw new Error('step() called before reset()');
      const action = actions[i];
      if (!(action >= 0 && action < ACTION_COUNT) || action !== (action | 0)) {
        throw new SpaceError(`environment ${i}: action ${action} is not one of 0..${ACTION_COUNT - 1}`);
      }
      const target = model.next[config[row] * ACTION_COUNT + action];
      let reward: number;
      if (target < 0) {
        reward = model.reward.invalidPenalty;
        invalid[i] = 1;
      } else {
        const nextRow = model.sampleRow(target, this.rngs[i]);
        reward = model.rewards[nextRow];
        invalid[i] = 0;
        this.setRow(i, nextRow);
      }
      rewards[i] = reward;
      this.returns[i] += reward;
      this.steps[i]++;
      terminated[i] = 0;
      const ended = this.steps[i] >= this.maxSteps;
      truncated[i] = ended ? 1 : 0;
      if (ended) {
        const o = i * OBSERVATION_SIZE;
        finalObservations.set(this.observations.subarray(o, o + OBSERVATION_SIZE), o);
        this.completed.push({ return: this.returns[i], length: this.steps[i] });
        this.resetOne(i);
      }
    }
    return this.result;
  }

  /** Episodes finished since the last call. */
  drainCompletedEpisodes(): CompletedEpisode[] {
    const done = this.completed;
    this.completed = [];
    return done;
  }
}

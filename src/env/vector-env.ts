/**
 * N dataset environments stepped at once over flat typed arrays, for fast training.
 *
 * Observations are kept encoded for networks (OBSERVATION_SIZE floats each). An environment whose
 * episode ends is reset in the same call (Gymnasium's same-step autoreset): `finalObservations`
 * then holds the observation the episode ended on, so a learner can bootstrap a truncated episode
 * from it, and `observations` already holds the next episode's first one.
 *
 * This is not an `Env`: the time limit, the reset check and the episode statistics are inline in
 * its step loop, where a wrapper's call per environment would cost more than the step itself.
 */
import { Rng } from '../random';
import * as space from '../space';
import { SpaceError, encodeIndex } from '../space';

// Local copies: imported bindings compile to getter calls, which cost more than the step itself.
const ACTION_COUNT = space.ACTION_COUNT;
const OBSERVATION_SIZE = space.OBSERVATION_SIZE;
const CONFIG_COUNT = space.CONFIG_COUNT;
const LEVELS = space.LEVELS;
import { DatasetModel, DEFAULT_MAX_STEPS, type DatasetEnvOptions } from './dataset-env';
import { checkStart, ORIGINAL_START, type Start } from './start';

/** Position of each configuration's one-hot bits in an encoded observation. */
const ONE_HOT_REPLICAS = Uint8Array.from({ length: CONFIG_COUNT }, (_, c) => Math.floor(c / (LEVELS * LEVELS)));
const ONE_HOT_CPU = Uint8Array.from({ length: CONFIG_COUNT }, (_, c) => LEVELS + (Math.floor(c / LEVELS) % LEVELS));
const ONE_HOT_HEAP = Uint8Array.from({ length: CONFIG_COUNT }, (_, c) => 2 * LEVELS + (c % LEVELS));

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

  constructor(numEnvs: number, options: DatasetEnvOptions & { maxSteps?: number } = {}) {
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
    const obs = this.observations;
    if (previous < 0) {
      encodeIndex(c, t.usedCpuCores[row], t.usedRamGiB[row], obs, o);
    } else {
      const before = t.config[previous];
      if (before !== c) {
        // Move the three one-hot bits instead of re-encoding all 29 floats.
        obs[o + ONE_HOT_REPLICAS[before]] = 0;
        obs[o + ONE_HOT_CPU[before]] = 0;
        obs[o + ONE_HOT_HEAP[before]] = 0;
        obs[o + ONE_HOT_REPLICAS[c]] = 1;
        obs[o + ONE_HOT_CPU[c]] = 1;
        obs[o + ONE_HOT_HEAP[c]] = 1;
      }
      obs[o + OBSERVATION_SIZE - 2] = t.usedCpuCores[row];
      obs[o + OBSERVATION_SIZE - 1] = t.usedRamGiB[row];
    }
    const masks = this.model.masks;
    for (let a = 0, m = i * ACTION_COUNT, src = c * ACTION_COUNT; a < ACTION_COUNT; a++) this.masks[m + a] = masks[src + a];
    this.rows[i] = row;
  }

  /** Steps every environment; the returned arrays are reused by the next call. */
  step(actions: ArrayLike<number>): VectorStep {
    if (actions.length !== this.numEnvs) throw new Error(`expected ${this.numEnvs} actions, got ${actions.length}`);
    const { rewards, terminated, truncated, invalid, finalObservations } = this.result;
    // Locals for the hot loop: property and imported-binding reads cost more than the step itself.
    const { next, rewards: rowReward } = this.model;
    const { config, configStart, rowsOfConfig } = this.model.table;
    const penalty = this.model.reward.invalidPenalty;
    const { rows, steps, returns, rngs, maxSteps } = this;
    for (let i = 0; i < this.numEnvs; i++) {
      const row = rows[i];
      if (row < 0) throw new Error('step() called before reset()');
      const action = actions[i];
      if (!(action >= 0 && action < ACTION_COUNT && action === (action | 0))) {
        throw new SpaceError(`environment ${i}: action ${action} is not one of 0..${ACTION_COUNT - 1}`);
      }
      const target = next[config[row] * ACTION_COUNT + action];
      let reward: number;
      if (target < 0) {
        reward = penalty;
        invalid[i] = 1;
      } else {
        // A uniformly drawn logged row of the target configuration.
        const first = configStart[target];
        const nextRow = rowsOfConfig[first + rngs[i].int(configStart[target + 1] - first)];
        reward = rowReward[nextRow];
        invalid[i] = 0;
        this.setRow(i, nextRow);
      }
      rewards[i] = reward;
      returns[i] += reward;
      const ended = ++steps[i] >= maxSteps;
      terminated[i] = 0;
      truncated[i] = ended ? 1 : 0;
      if (ended) {
        const o = i * OBSERVATION_SIZE;
        finalObservations.set(this.observations.subarray(o, o + OBSERVATION_SIZE), o);
        this.completed.push({ return: returns[i], length: steps[i] });
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

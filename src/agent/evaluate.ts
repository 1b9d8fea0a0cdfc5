/**
 * Evaluation of a trained policy on the offline task.
 *
 * - `evaluateGreedy` plays seeded episodes on the dataset replay and reports the mean return with a
 *   95% confidence interval (episode.ts's `evaluatePolicy`).
 * - `evaluateExact` gives the exact expected return of the greedy policy, with no sampling noise:
 *   one batched forward pass picks an action for every dataset row, then backward induction over
 *   the rows (optimal.evaluateRowPolicy). This is the figure used for time-to-target results.
 *
 * Fraction of the optimum: V_policy / V_optimum, both exact expected undiscounted returns over the
 * 50-step horizon from the same start. It is defined only when V_optimum > 0 (true for row:558 and
 * random-row under the classic reward); otherwise it is NaN.
 */
import { DEFAULT_MAX_STEPS, makeDatasetEnv, type DatasetModel } from '../env/dataset-env';
import type { Start } from '../env/start';
import { ACTION_COUNT, OBSERVATION_SIZE, encodeIndex } from '../space';
import { evaluateRowPolicy, solveOptimum, type Optimum } from './optimal';
import { evaluatePolicy, type Policy, type ReturnStatistics } from './episode';
import type { PpoPolicy } from './policy';

export function fractionOfOptimum(value: number, optimum: number): number {
  return optimum > 0 ? value / optimum : Number.NaN;
}

const optima = new WeakMap<DatasetModel, Optimum>();

/** The exact optimum of a model over the 50-step horizon (computed once per model). */
export function optimumOf(model: DatasetModel): Optimum {
  let optimum = optima.get(model);
  if (!optimum) {
    optimum = solveOptimum(model, DEFAULT_MAX_STEPS);
    optima.set(model, optimum);
  }
  return optimum;
}

const rowInputs = new WeakMap<DatasetModel, { observations: Float32Array; masks: Uint8Array }>();

/** Every dataset row encoded as an observation, with its valid-action mask (cached per model). */
export function encodedRows(model: DatasetModel): { observations: Float32Array; masks: Uint8Array } {
  let cached = rowInputs.get(model);
  if (!cached) {
    const t = model.table;
    const observations = new Float32Array(t.rowCount * OBSERVATION_SIZE);
    const masks = new Uint8Array(t.rowCount * ACTION_COUNT);
    for (let row = 0; row < t.rowCount; row++) {
      const c = t.config[row];
      encodeIndex(c, t.usedCpuCores[row], t.usedRamGiB[row], observations, row * OBSERVATION_SIZE);
      masks.set(model.masks.subarray(c * ACTION_COUNT, (c + 1) * ACTION_COUNT), row * ACTION_COUNT);
    }
    cached = { observations, masks };
    rowInputs.set(model, cached);
  }
  return cached;
}

/** The greedy action of `policy` in every dataset row (one batched forward pass). */
export function greedyActionsOfRows(policy: PpoPolicy, model: DatasetModel, masked = true): Int32Array {
  const { observations, masks } = encodedRows(model);
  return policy.actBatch(observations, model.table.rowCount, masked ? masks : undefined);
}

export interface ExactEvaluation {
  start: Start;
  /** Exact expected undiscounted return of the greedy policy. */
  value: number;
  optimum: number;
  /** value / optimum (NaN when optimum <= 0). */
  fraction: number;
}

export interface EvaluationOptions {
  /** Apply the valid-action mask when choosing actions (default true). */
  masked?: boolean;
}

/** Exact expected return of the greedy policy from `start`, and its fraction of the optimum. */
export function evaluateExact(policy: PpoPolicy, model: DatasetModel, start: Start, options: EvaluationOptions = {}): ExactEvaluation {
  const actions = greedyActionsOfRows(policy, model, options.masked ?? true);
  const value = evaluateRowPolicy(model, actions, start, DEFAULT_MAX_STEPS);
  const optimum = optimumOf(model).valueOf(start);
  return { start, value, optimum, fraction: fractionOfOptimum(value, optimum) };
}

export interface EpisodeEvaluation extends ReturnStatistics {
  start: Start;
  optimum: number;
  /** mean / optimum (NaN when optimum <= 0). */
  fraction: number;
}

export interface GreedyEvaluationOptions extends EvaluationOptions {
  start: Start;
  episodes?: number;
  seed?: number;
}

/** Plays seeded episodes with the greedy policy on the dataset replay. */
export function evaluateGreedy(policy: PpoPolicy, model: DatasetModel, options: GreedyEvaluationOptions): EpisodeEvaluation {
  const masked = options.masked ?? true;
  const acting: Policy = masked ? policy : { name: policy.name, act: (observation) => policy.act(observation) };
  const env = makeDatasetEnv({ model, start: options.start });
  const statistics = evaluatePolicy(env, acting, { episodes: options.episodes ?? 100, seed: options.seed ?? 0 });
  const optimum = optimumOf(model).valueOf(options.start);
  return { start: options.start, ...statistics, optimum, fraction: fractionOfOptimum(statistics.mean, optimum) };
}

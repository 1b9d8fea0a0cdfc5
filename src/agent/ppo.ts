/**
 * Proximal Policy Optimization (PPO) for the offline TeaStore task, after CleanRL's ppo.py.
 *
 * Read top to bottom: the hyperparameters and presets, generalised advantage estimation, the loss,
 * the update step (`PpoLearner.update`, usable on its own for batches gathered anywhere, e.g. from
 * the live cluster), the vectorised rollout, and the training loop (`PpoTrainer`, stepped by
 * `train`). The library prints nothing; progress reaches callers as iteration statistics, which
 * history.ts turns into the `history.jsonl` a checkpoint keeps.
 *
 * Rollouts run the networks with a pure-JS forward pass over a plain-array copy of the weights
 * (the batches are tiny; a trip through TensorFlow.js per step costs more than the arithmetic),
 * and sample actions with the seeded `Rng`. Updates run in TensorFlow.js.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';
import { ACTION_COUNT, OBSERVATION_SIZE } from '../space';
import { DatasetModel } from '../env/dataset-env';
import { VectorDatasetEnv, type CompletedEpisode, type VectorStep } from '../env/vector-env';
import { parseStart } from '../env/start';
import type { RewardFunction, RewardName } from '../reward';
import type { ObservationKind } from '../load-space';
import { initBackend, type BackendName } from './backend';
import { forwardMlp, MlpScratch } from './mlp';
import { ActorCritic, PpoPolicy, logProbOfAction, sampleFromLogits, type PolicyWeights } from './policy';
import { networkSpecOf, validateConfig, type PpoConfig } from './ppo-config';

// ---------------------------------------------------------------------------------------------
// 1. Hyperparameters: one typed config and its presets (ppo-config.ts)

export { OFFLINE_PRESET_NAMES, PPO_DEFAULTS, PRESET_NAMES, PRESETS, networkSpecOf, ppoConfig, validateConfig, type PpoConfig, type PresetName } from './ppo-config';

// ---------------------------------------------------------------------------------------------
// 2. Trajectories and generalised advantage estimation

/**
 * Experience from `numEnvs` environments over `numSteps` steps, time-major: entry t*numEnvs + i
 * is environment i at step t. A live single environment is numEnvs = 1.
 */
export interface Trajectory {
  numSteps: number;
  numEnvs: number;
  /** Observation before each step, OBSERVATION_SIZE floats each. */
  observations: Float32Array;
  actions: Int32Array;
  /** Log-probability of each action under the policy that chose it. */
  logProbs: Float32Array;
  /** Critic's value of each observation, from the same policy. */
  values: Float32Array;
  rewards: Float32Array;
  /** 1 when the episode ended with this step (terminated or truncated). */
  dones: Uint8Array;
  /**
   * Value of the final observation where an episode was truncated (a time limit is not a terminal
   * state, so its return continues past the cut), 0 elsewhere.
   */
  truncatedValues: Float32Array;
  /** Value of each environment's observation after the last step (bootstraps the rollout's end). */
  nextValues: Float32Array;
  /** Valid-action masks (ACTION_COUNT per step, 1 = allowed), when actions were masked. */
  masks?: Uint8Array;
}

/**
 * GAE(lambda). At a truncated step the reward gets gamma * V(final observation) added, and the
 * recursion stops there (the next entry belongs to a new episode).
 */
export function computeGae(
  t: Pick<Trajectory, 'numSteps' | 'numEnvs' | 'values' | 'rewards' | 'dones' | 'truncatedValues' | 'nextValues'>,
  gamma: number,
  lambda: number,
): { advantages: Float32Array; returns: Float32Array } {
  const { numSteps: T, numEnvs: N } = t;
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let lastGae = 0;
    for (let s = T - 1; s >= 0; s--) {
      const k = s * N + i;
      const nextValue = s === T - 1 ? t.nextValues[i] : t.values[k + N];
      const notDone = 1 - t.dones[k];
      const reward = t.rewards[k] + gamma * t.truncatedValues[k];
      const delta = reward + gamma * nextValue * notDone - t.values[k];
      lastGae = delta + gamma * lambda * notDone * lastGae;
      advantages[k] = lastGae;
      returns[k] = lastGae + t.values[k];
    }
  }
  return { advantages, returns };
}

// ---------------------------------------------------------------------------------------------
// 3. The loss

/** Mean of max(-A * r, -A * clip(r, 1-eps, 1+eps)) with r = exp(logRatio): PPO's clipped surrogate. */
export function clippedSurrogateLoss(logRatio: tf.Tensor1D, advantages: tf.Tensor1D, clip: number): tf.Scalar {
  return tf.tidy(() => {
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(tf.neg(advantages), ratio);
    const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - clip, 1 + clip));
    return tf.mean(tf.maximum(unclipped, clipped)) as tf.Scalar;
  });
}

/** Logits with disallowed actions pushed to a huge negative value (probability 0 after softmax). */
export function maskLogits(logits: tf.Tensor2D, masks: tf.Tensor2D): tf.Tensor2D {
  return tf.add(logits, tf.mul(tf.sub(masks, 1), 1e9)) as tf.Tensor2D;
}

export interface LossInputs {
  logits: tf.Tensor2D;
  values: tf.Tensor1D;
  actions: tf.Tensor1D;
  oldLogProbs: tf.Tensor1D;
  oldValues: tf.Tensor1D;
  advantages: tf.Tensor1D;
  returns: tf.Tensor1D;
  /** [batch, actions] of 0/1. */
  masks?: tf.Tensor2D;
}

export interface LossTerms {
  loss: tf.Scalar;
  policyLoss: tf.Scalar;
  valueLoss: tf.Scalar;
  entropy: tf.Scalar;
  approxKl: tf.Scalar;
  clipFraction: tf.Scalar;
}

type LossSettings = Pick<PpoConfig, 'clip' | 'valueClip' | 'valueClipMode' | 'valueCoef' | 'entropyCoef' | 'normalizeAdvantages'> & { klCoef: number };

export function ppoLoss(x: LossInputs, c: LossSettings): LossTerms {
  const logits = x.masks ? maskLogits(x.logits, x.masks) : x.logits;
  const logProbsAll = tf.logSoftmax(logits);
  const logProbs = tf.sum(tf.mul(logProbsAll, tf.oneHot(tf.cast(x.actions, 'int32'), logits.shape[1])), 1) as tf.Tensor1D;
  const logRatio = tf.sub(logProbs, x.oldLogProbs) as tf.Tensor1D;
  const ratio = tf.exp(logRatio);
  // Approximate KL(old || new), the unbiased estimator (r - 1) - log r (Schulman), and clip rate.
  const approxKl = tf.mean(tf.sub(tf.sub(ratio, 1), logRatio)) as tf.Scalar;
  const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), c.clip), 'float32')) as tf.Scalar;

  let advantages = x.advantages;
  if (c.normalizeAdvantages === 'minibatch') {
    const { mean, variance } = tf.moments(advantages);
    advantages = tf.div(tf.sub(advantages, mean), tf.add(tf.sqrt(variance), 1e-8)) as tf.Tensor1D;
  }
  const policyLoss = clippedSurrogateLoss(logRatio, advantages, c.clip);

  const squaredError = tf.square(tf.sub(x.values, x.returns));
  let valueLoss: tf.Scalar;
  if (c.valueClip === null) {
    valueLoss = tf.mul(0.5, tf.mean(squaredError)) as tf.Scalar;
  } else if (c.valueClipMode === 'old-value') {
    const clippedValues = tf.add(x.oldValues, tf.clipByValue(tf.sub(x.values, x.oldValues), -c.valueClip, c.valueClip));
    const clippedError = tf.square(tf.sub(clippedValues, x.returns));
    valueLoss = tf.mul(0.5, tf.mean(tf.maximum(squaredError, clippedError))) as tf.Scalar;
  } else {
    valueLoss = tf.mean(tf.clipByValue(squaredError, 0, c.valueClip)) as tf.Scalar;
  }

  // Entropy of the (masked) distribution; masked entries contribute p * log p = 0 * (-1e9) = 0.
  const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logProbsAll), logProbsAll), 1))) as tf.Scalar;

  let loss = tf.add(tf.sub(policyLoss, tf.mul(c.entropyCoef, entropy)), tf.mul(c.valueCoef, valueLoss)) as tf.Scalar;
  if (c.klCoef > 0) loss = tf.add(loss, tf.mul(c.klCoef, approxKl)) as tf.Scalar;
  return { loss, policyLoss, valueLoss, entropy, approxKl, clipFraction };
}

// ---------------------------------------------------------------------------------------------
// 4. The update step

export interface UpdateStats {
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  /** 1 - Var(returns - values) / Var(returns): how much of the return the critic explains. */
  explainedVariance: number;
  learningRate: number;
  /** Coefficient of the adaptive KL penalty after this update (0 when off). */
  klCoef: number;
  minibatches: number;
  /** Mean reward per step of the batch. */
  meanStepReward: number;
}

function standardise(values: Float32Array): void {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / values.length) + 1e-8;
  for (let k = 0; k < values.length; k++) values[k] = (values[k] - mean) / std;
}

function explainedVariance(values: Float32Array, returns: Float32Array): number {
  let meanR = 0;
  let meanD = 0;
  for (let k = 0; k < returns.length; k++) {
    meanR += returns[k];
    meanD += returns[k] - values[k];
  }
  meanR /= returns.length;
  meanD /= returns.length;
  let varR = 0;
  let varD = 0;
  for (let k = 0; k < returns.length; k++) {
    varR += (returns[k] - meanR) ** 2;
    varD += (returns[k] - values[k] - meanD) ** 2;
  }
  return varR === 0 ? Number.NaN : 1 - varD / varR;
}

/** Scales gradients so their global L2 norm is at most maxNorm. */
function clipGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const names = Object.keys(grads);
  const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const out: tf.NamedTensorMap = {};
  for (const n of names) out[n] = tf.mul(grads[n], scale);
  return out;
}

/** Owns the networks and the optimiser; turns trajectories into parameter updates. */
export class PpoLearner {
  readonly networks: ActorCritic;
  readonly config: PpoConfig;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly variables: tf.Variable[];
  private readonly shuffleRng: Rng;
  /** Current coefficient of the adaptive KL penalty. */
  klCoef: number;

  constructor(networks: ActorCritic, config: PpoConfig, shuffleRng: Rng = new Rng(config.seed)) {
    this.networks = networks;
    this.config = config;
    this.optimizer = tf.train.adam(config.learningRate, 0.9, 0.999, config.adamEpsilon);
    this.variables = networks.trainableVariables();
    this.shuffleRng = shuffleRng;
    this.klCoef = config.klCoef;
  }

  /**
   * Several epochs of minibatch updates on one trajectory. Callable on its own: a live fine-tuning
   * loop gathers a small trajectory from an async environment and passes it here.
   */
  update(trajectory: Trajectory, learningRate = this.config.learningRate): UpdateStats {
    const c = this.config;
    const size = trajectory.numSteps * trajectory.numEnvs;
    const { advantages, returns } = computeGae(trajectory, c.gamma, c.gaeLambda);
    if (c.normalizeAdvantages === 'batch') standardise(advantages);
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
    const useMasks = c.maskActions && trajectory.masks !== undefined;

    const width = this.networks.spec.observationSize;
    const batch = {
      observations: tf.tensor2d(trajectory.observations.subarray(0, size * width), [size, width]),
      actions: tf.tensor1d(trajectory.actions.subarray(0, size), 'int32'),
      oldLogProbs: tf.tensor1d(trajectory.logProbs.subarray(0, size)),
      oldValues: tf.tensor1d(trajectory.values.subarray(0, size)),
      advantages: tf.tensor1d(advantages),
      returns: tf.tensor1d(returns),
      masks: useMasks ? tf.tensor2d(Float32Array.from(trajectory.masks!.subarray(0, size * ACTION_COUNT)), [size, ACTION_COUNT]) : undefined,
    };
    const settings: LossSettings = { ...c, klCoef: this.klCoef };
    const statsPerMinibatch: tf.Tensor1D[] = [];
    const order = new Int32Array(size).map((_, k) => k);
    let minibatches = 0;
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      shuffle(order, this.shuffleRng);
      for (let from = 0; from < size; from += c.minibatchSize) {
        const indices = order.subarray(from, Math.min(from + c.minibatchSize, size));
        statsPerMinibatch.push(this.minibatchStep(batch, indices, settings));
        minibatches++;
      }
      if (c.targetKl !== null) {
        const kl = statsPerMinibatch[statsPerMinibatch.length - 1].dataSync()[3];
        if (kl > c.targetKl) break;
      }
    }
    const means = tf.tidy(() => tf.mean(tf.stack(statsPerMinibatch), 0).dataSync());
    tf.dispose([...statsPerMinibatch, ...Object.values(batch).filter((t) => t !== undefined)]);

    const [policyLoss, valueLoss, entropy, approxKl, clipFraction] = Array.from(means);
    if (this.klCoef > 0) {
      // RLlib's adaptive KL penalty.
      if (approxKl > 2 * c.klTarget) this.klCoef *= 1.5;
      else if (approxKl < 0.5 * c.klTarget) this.klCoef *= 0.5;
    }
    return {
      policyLoss,
      valueLoss,
      entropy,
      approxKl,
      clipFraction,
      explainedVariance: explainedVariance(trajectory.values.subarray(0, size), returns),
      learningRate,
      klCoef: this.klCoef,
      minibatches,
      meanStepReward: trajectory.rewards.subarray(0, size).reduce((sum, r) => sum + r, 0) / size,
    };
  }

  /** One gradient step; returns [policyLoss, valueLoss, entropy, approxKl, clipFraction]. */
  private minibatchStep(
    batch: { observations: tf.Tensor2D; actions: tf.Tensor1D; oldLogProbs: tf.Tensor1D; oldValues: tf.Tensor1D; advantages: tf.Tensor1D; returns: tf.Tensor1D; masks?: tf.Tensor2D },
    indices: Int32Array,
    settings: LossSettings,
  ): tf.Tensor1D {
    return tf.tidy(() => {
      const idx = tf.tensor1d(indices, 'int32');
      const pick = <T extends tf.Tensor>(t: T) => tf.gather(t, idx) as T;
      const observations = pick(batch.observations);
      let stats: tf.Tensor1D | undefined;
      const { grads } = tf.variableGrads(() => {
        const terms = ppoLoss(
          {
            logits: this.networks.logits(observations),
            values: this.networks.values(observations),
            actions: pick(batch.actions),
            oldLogProbs: pick(batch.oldLogProbs),
            oldValues: pick(batch.oldValues),
            advantages: pick(batch.advantages),
            returns: pick(batch.returns),
            masks: batch.masks ? pick(batch.masks) : undefined,
          },
          settings,
        );
        // Kept: variableGrads disposes everything else the loss function creates.
        stats = tf.keep(tf.stack([terms.policyLoss, terms.valueLoss, terms.entropy, terms.approxKl, terms.clipFraction]) as tf.Tensor1D);
        return terms.loss;
      }, this.variables);
      this.optimizer.applyGradients((this.config.maxGradNorm === null ? grads : clipGlobalNorm(grads, this.config.maxGradNorm)) as unknown as Record<string, tf.Variable>);
      return stats!;
    });
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

function shuffle(order: Int32Array, rng: Rng): void {
  for (let k = order.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    const tmp = order[k];
    order[k] = order[j];
    order[j] = tmp;
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Rollouts on the vectorised environment

/**
 * What the collector needs of vectorised environments: VectorDatasetEnv, or any other that keeps
 * its encoded observations (`observationSize` floats each, OBSERVATION_SIZE when absent) and masks.
 */
export interface VectorEnvLike {
  readonly numEnvs: number;
  readonly observationSize?: number;
  readonly observations: Float32Array;
  readonly masks: Uint8Array;
  step(actions: ArrayLike<number>): VectorStep;
  drainCompletedEpisodes(): CompletedEpisode[];
}

/** Collects trajectories from vectorised environments, reusing its buffers from one rollout to the next. */
export class RolloutCollector<E extends VectorEnvLike = VectorDatasetEnv> {
  readonly envs: E;
  readonly numSteps: number;
  private readonly rng: Rng;
  private readonly maskActions: boolean;
  private readonly trajectory: Trajectory;
  private readonly logits: Float32Array;
  private readonly values: Float32Array;
  private readonly finalValue = new Float32Array(1);
  private readonly actions: Int32Array;
  private readonly scratch = new MlpScratch();

  private readonly width: number;
  /** Replaces environment i's sampled action before it runs (a shield); the trajectory records what ran. */
  private readonly actionFilter?: (i: number, action: number) => number;

  constructor(envs: E, numSteps: number, rng: Rng, maskActions: boolean, actionFilter?: (i: number, action: number) => number) {
    this.envs = envs;
    this.actionFilter = actionFilter;
    this.width = envs.observationSize ?? OBSERVATION_SIZE;
    this.numSteps = numSteps;
    this.rng = rng;
    this.maskActions = maskActions;
    const n = envs.numEnvs;
    const size = numSteps * n;
    this.trajectory = {
      numSteps,
      numEnvs: n,
      observations: new Float32Array(size * this.width),
      actions: new Int32Array(size),
      logProbs: new Float32Array(size),
      values: new Float32Array(size),
      rewards: new Float32Array(size),
      dones: new Uint8Array(size),
      truncatedValues: new Float32Array(size),
      nextValues: new Float32Array(n),
      masks: new Uint8Array(size * ACTION_COUNT),
    };
    this.logits = new Float32Array(n * ACTION_COUNT);
    this.values = new Float32Array(n);
    this.actions = new Int32Array(n);
  }

  /** Runs numSteps steps in every environment with `weights`; the result is reused next call. */
  collect(weights: PolicyWeights): Trajectory {
    const { envs, trajectory: t } = this;
    const n = envs.numEnvs;
    for (let s = 0; s < this.numSteps; s++) {
      const k0 = s * n;
      t.observations.set(envs.observations, k0 * this.width);
      t.masks!.set(envs.masks, k0 * ACTION_COUNT);
      forwardMlp(weights.actor, envs.observations, n, this.logits, this.scratch);
      forwardMlp(weights.critic, envs.observations, n, this.values, this.scratch);
      const mask = this.maskActions ? envs.masks : undefined;
      for (let i = 0; i < n; i++) {
        const sampled = sampleFromLogits(this.logits, i * ACTION_COUNT, ACTION_COUNT, this.rng, mask, i * ACTION_COUNT);
        let { action, logProb } = sampled;
        const filtered = this.actionFilter ? this.actionFilter(i, action) : action;
        if (filtered !== action) {
          action = filtered;
          logProb = logProbOfAction(this.logits, i * ACTION_COUNT, ACTION_COUNT, action, mask, i * ACTION_COUNT);
        }
        this.actions[i] = action;
        t.actions[k0 + i] = action;
        t.logProbs[k0 + i] = logProb;
        t.values[k0 + i] = this.values[i];
      }
      const step = envs.step(this.actions);
      for (let i = 0; i < n; i++) {
        t.rewards[k0 + i] = step.rewards[i];
        t.dones[k0 + i] = step.terminated[i] | step.truncated[i];
        t.truncatedValues[k0 + i] = 0;
        if (step.truncated[i] && !step.terminated[i]) {
          const final = step.finalObservations.subarray(i * this.width, (i + 1) * this.width);
          t.truncatedValues[k0 + i] = forwardMlp(weights.critic, final, 1, this.finalValue, this.scratch)[0];
        }
      }
    }
    forwardMlp(weights.critic, envs.observations, n, t.nextValues, this.scratch);
    return t;
  }
}

// ---------------------------------------------------------------------------------------------
// 6. The training loop

export interface ReturnSummary {
  mean: number;
  min: number;
  max: number;
}

export interface IterationStats extends UpdateStats {
  iteration: number;
  iterations: number;
  /** Environment steps so far. */
  envSteps: number;
  /** Episodes completed in this iteration, and their undiscounted returns (null when none). */
  episodes: number;
  episodicReturn: ReturnSummary | null;
  /** Environment steps per second of training time in this iteration. */
  stepsPerSecond: number;
  /** Training time so far, in seconds: time the caller spends between iterations is not counted. */
  trainingSeconds: number;
  rolloutSeconds: number;
  updateSeconds: number;
}

export interface TrainOptions {
  /** The reward to train on (default: the model's, else classic). */
  reward?: RewardName;
  /** Reuse a dataset model (its table, reward and transitions); built from `reward` if absent. */
  model?: DatasetModel;
  /** Start from these weights (fine-tuning) instead of a fresh initialisation. */
  initialWeights?: PolicyWeights;
  /** Backend to use; default: the first that works of tensorflow, wasm, cpu. */
  backend?: BackendName;
}

/** What identifies the data a run trained on. */
export interface DataIdentity {
  file: string;
  sha256: string;
  rowCount: number;
}

function summariseReturns(returns: number[]): ReturnSummary | null {
  if (!returns.length) return null;
  return { mean: returns.reduce((s, r) => s + r, 0) / returns.length, min: Math.min(...returns), max: Math.max(...returns) };
}

/** One PPO run: environments, networks, learner. Step it an iteration at a time. */
export class PpoTrainer {
  readonly config: PpoConfig;
  readonly backend: string;
  readonly model: DatasetModel;
  readonly iterations: number;
  readonly history: IterationStats[] = [];
  private readonly networks: ActorCritic;
  private readonly learner: PpoLearner;
  private readonly collector: RolloutCollector;
  private weights: PolicyWeights;
  private envSteps = 0;
  private trainingSeconds = 0;

  private constructor(config: PpoConfig, backend: string, model: DatasetModel, initialWeights: PolicyWeights | undefined) {
    this.config = config;
    this.backend = backend;
    this.model = model;
    const root = new Rng(config.seed);
    const initRng = root.fork();
    const sampleRng = root.fork();
    const shuffleRng = root.fork();
    const spec = networkSpecOf(config);
    this.networks = initialWeights ? ActorCritic.fromWeights(initialWeights) : ActorCritic.create(spec, initRng);
    this.weights = this.networks.getWeights();
    this.learner = new PpoLearner(this.networks, config, shuffleRng);
    const envs = new VectorDatasetEnv(config.numEnvs, { model, start: parseStart(config.start), seed: config.seed });
    envs.reset(config.seed);
    this.collector = new RolloutCollector(envs, config.numSteps, sampleRng, config.maskActions);
    this.iterations = Math.ceil(config.totalSteps / (config.numEnvs * config.numSteps));
  }

  static async create(config: PpoConfig, options: TrainOptions = {}): Promise<PpoTrainer> {
    validateConfig(config);
    const backend = await initBackend(options.backend);
    const model = options.model ?? new DatasetModel({ reward: options.reward });
    if (options.reward !== undefined && model.reward.name !== options.reward) {
      throw new Error(`the dataset model's reward is ${model.reward.name}, but training was asked to use ${options.reward}`);
    }
    return new PpoTrainer(config, backend.name, model, options.initialWeights);
  }

  get done(): boolean {
    return this.history.length >= this.iterations;
  }

  get reward(): RewardFunction {
    return this.model.reward;
  }

  get data(): DataIdentity {
    const t = this.model.table;
    return { file: t.file, sha256: t.sha256, rowCount: t.rowCount };
  }

  /** Collects one batch and updates on it. */
  step(): IterationStats {
    const c = this.config;
    const iteration = this.history.length + 1;
    const t0 = performance.now();
    const trajectory = this.collector.collect(this.weights);
    const t1 = performance.now();
    const learningRate = c.annealLearningRate ? c.learningRate * (1 - (iteration - 1) / this.iterations) : c.learningRate;
    const update = this.learner.update(trajectory, learningRate);
    this.weights = this.networks.getWeights();
    const t2 = performance.now();
    const steps = c.numEnvs * c.numSteps;
    this.envSteps += steps;
    this.trainingSeconds += (t2 - t0) / 1000;
    const returns = this.collector.envs.drainCompletedEpisodes().map((e) => e.return);
    const stats: IterationStats = {
      ...update,
      iteration,
      iterations: this.iterations,
      envSteps: this.envSteps,
      episodes: returns.length,
      episodicReturn: summariseReturns(returns),
      stepsPerSecond: steps / ((t2 - t0) / 1000),
      trainingSeconds: this.trainingSeconds,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
    this.history.push(stats);
    return stats;
  }

  /** The current policy (a snapshot: later training does not change it). */
  policy(): PpoPolicy {
    return new PpoPolicy(this.weights, { seed: this.config.seed });
  }

  /** Current weights as plain arrays (a copy). */
  getWeights(): PolicyWeights {
    return this.networks.getWeights();
  }

  dispose(): void {
    this.learner.dispose();
    this.networks.dispose();
  }
}

/** What a training run produced; `saveTrainResult` (checkpoint.ts) turns it into a checkpoint. */
export interface TrainResult {
  policy: PpoPolicy;
  history: IterationStats[];
  config: PpoConfig;
  /** Preset the config started from, when the caller said. */
  preset: string | null;
  backend: string;
  /** The reward the policy was trained on. */
  reward: RewardFunction;
  data: DataIdentity;
  /** Checkpoint the initial weights came from, if any. */
  parent: string | null;
  /** Which observation the networks read (absent: classic). */
  observation?: ObservationKind;
}

export interface TrainCallbacks {
  /**
   * Called after each iteration (progress, evaluation); return false to stop early. Its time is
   * not counted as training time.
   */
  onIteration?: (stats: IterationStats, trainer: PpoTrainer) => void | boolean | Promise<void | boolean>;
  /** Recorded as the parent checkpoint when starting from initialWeights. */
  parent?: string;
  /** Recorded as the preset the config came from. */
  preset?: string;
}

/**
 * The training loop: trains to the end (or until onIteration returns false) and returns the
 * policy and the history. Every offline run (the CLI, the main job, the benchmark, notebooks) goes
 * through it.
 */
export async function train(config: PpoConfig, options: TrainOptions & TrainCallbacks = {}): Promise<TrainResult> {
  const trainer = await PpoTrainer.create(config, options);
  try {
    while (!trainer.done) {
      const stats = trainer.step();
      const verdict = await options.onIteration?.(stats, trainer);
      if (verdict === false) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return {
      policy: trainer.policy(),
      history: trainer.history,
      config,
      preset: options.preset ?? null,
      backend: trainer.backend,
      reward: trainer.reward,
      data: trainer.data,
      parent: options.parent ?? null,
    };
  } finally {
    trainer.dispose();
  }
}

/**
 * The actor-critic networks and the policy that acts with them.
 *
 * `ActorCritic` is the trainable side: two TensorFlow.js layers models (actor: observation ->
 * action logits, critic: observation -> value), kept as layers models so they save in tfjs's own
 * format. `PpoPolicy` is the acting side: a plain-array copy of the weights and a pure-JS forward
 * pass, fast for single observations and small batches, with greedy or sampled actions and an
 * optional action mask. `getWeights`/`setWeights` move weights between the two, and to clients.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';
import { backendReady } from './backend';
import { ACTION_COUNT, OBSERVATION_SIZE, encodeObservation, type Observation } from '../space';
import { cloneMlp, forwardMlp, initMlp, MlpScratch, type Activation, type MlpWeights } from './mlp';

export interface NetworkSpec {
  observationSize: number;
  actionCount: number;
  /** Hidden layer widths, shared by actor and critic (which do not share layers). */
  hidden: number[];
  activation: Activation;
}

export function defaultNetworkSpec(hidden: number[] = [64, 64], activation: Activation = 'tanh'): NetworkSpec {
  return { observationSize: OBSERVATION_SIZE, actionCount: ACTION_COUNT, hidden: [...hidden], activation };
}

/** Both networks as plain Float32Arrays. */
export interface PolicyWeights {
  spec: NetworkSpec;
  actor: MlpWeights;
  critic: MlpWeights;
}

/** Seeded initial weights, as CleanRL's PPO: orthogonal, actor head gain 0.01, critic head gain 1. */
export function initPolicyWeights(spec: NetworkSpec, rng: Rng): PolicyWeights {
  return {
    spec,
    actor: initMlp([spec.observationSize, ...spec.hidden, spec.actionCount], spec.activation, 0.01, rng),
    critic: initMlp([spec.observationSize, ...spec.hidden, 1], spec.activation, 1, rng),
  };
}

export function clonePolicyWeights(w: PolicyWeights): PolicyWeights {
  return { spec: { ...w.spec, hidden: [...w.spec.hidden] }, actor: cloneMlp(w.actor), critic: cloneMlp(w.critic) };
}

// ---------------------------------------------------------------------------------------------
// Trainable networks (TensorFlow.js)

function buildModel(sizes: number[], activation: Activation, name: string): tf.Sequential {
  const model = tf.sequential({ name });
  for (let l = 0; l + 1 < sizes.length; l++) {
    const last = l + 2 === sizes.length;
    model.add(
      tf.layers.dense({
        name: `${name}_dense_${l}`,
        units: sizes[l + 1],
        activation: last ? 'linear' : activation,
        // Real values are set from seeded plain arrays right after: keep tf's own RNG out of it.
        kernelInitializer: 'zeros',
        ...(l === 0 ? { inputShape: [sizes[0]] } : {}),
      }),
    );
  }
  return model;
}

function setModelWeights(model: tf.LayersModel, weights: MlpWeights): void {
  const tensors = weights.layers.flatMap((l) => [tf.tensor2d(l.kernel, [l.inputs, l.outputs]), tf.tensor1d(l.bias)]);
  model.setWeights(tensors);
  tf.dispose(tensors);
}

function readModelWeights(model: tf.LayersModel, activation: Activation): MlpWeights {
  const values = model.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  const layers = [];
  for (let k = 0; k < values.length; k += 2) {
    const [inputs, outputs] = values[k].shape;
    layers.push({ kernel: Float32Array.from(values[k].data), bias: Float32Array.from(values[k + 1].data), inputs, outputs });
  }
  return { layers, activation };
}

export class ActorCritic {
  readonly spec: NetworkSpec;
  readonly actor: tf.LayersModel;
  readonly critic: tf.LayersModel;

  constructor(spec: NetworkSpec, actor: tf.LayersModel, critic: tf.LayersModel) {
    this.spec = spec;
    this.actor = actor;
    this.critic = critic;
  }

  static fromWeights(weights: PolicyWeights): ActorCritic {
    const { spec } = weights;
    const actor = buildModel([spec.observationSize, ...spec.hidden, spec.actionCount], spec.activation, 'actor');
    const critic = buildModel([spec.observationSize, ...spec.hidden, 1], spec.activation, 'critic');
    const net = new ActorCritic(spec, actor, critic);
    net.setWeights(weights);
    return net;
  }

  static create(spec: NetworkSpec, rng: Rng): ActorCritic {
    return ActorCritic.fromWeights(initPolicyWeights(spec, rng));
  }

  /** The variables the optimiser updates (actor's, then critic's). */
  trainableVariables(): tf.Variable[] {
    return [...this.actor.trainableWeights, ...this.critic.trainableWeights].map((w) => w.read() as tf.Variable);
  }

  /** Action logits [batch, actions], with plain ops (cheaper than layers' apply in a training step). */
  logits(observations: tf.Tensor2D): tf.Tensor2D {
    return this.forward(this.actor, observations);
  }

  /** State values [batch]. */
  values(observations: tf.Tensor2D): tf.Tensor1D {
    return this.forward(this.critic, observations).reshape([-1]) as tf.Tensor1D;
  }

  private forward(model: tf.LayersModel, x: tf.Tensor2D): tf.Tensor2D {
    const vars = model.trainableWeights.map((w) => w.read());
    let h: tf.Tensor2D = x;
    for (let k = 0; k < vars.length; k += 2) {
      h = tf.add(tf.matMul(h, vars[k] as tf.Tensor2D), vars[k + 1]) as tf.Tensor2D;
      if (k + 2 < vars.length) h = this.spec.activation === 'relu' ? tf.relu(h) : tf.tanh(h);
    }
    return h;
  }

  getWeights(): PolicyWeights {
    return {
      spec: { ...this.spec, hidden: [...this.spec.hidden] },
      actor: readModelWeights(this.actor, this.spec.activation),
      critic: readModelWeights(this.critic, this.spec.activation),
    };
  }

  setWeights(weights: PolicyWeights): void {
    checkSameSpec(this.spec, weights.spec);
    setModelWeights(this.actor, weights.actor);
    setModelWeights(this.critic, weights.critic);
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
  }
}

function checkSameSpec(expected: NetworkSpec, got: NetworkSpec): void {
  const a = JSON.stringify(expected);
  const b = JSON.stringify(got);
  if (a !== b) throw new Error(`network shape mismatch: expected ${a}, got ${b}`);
}

// ---------------------------------------------------------------------------------------------
// Acting

/** A mask as booleans or 0/1 numbers; index a is truthy when action a is allowed. */
export type ActionMaskLike = ArrayLike<boolean | number>;

/**
 * Greedy action from logits[offset .. offset+n): the highest allowed logit (lowest id on ties).
 * With a mask that allows nothing, falls back to ignoring it.
 */
export function greedyFromLogits(logits: ArrayLike<number>, offset: number, n: number, mask?: ActionMaskLike, maskOffset = 0): number {
  let best = -1;
  let bestLogit = -Infinity;
  for (let a = 0; a < n; a++) {
    if (mask && !mask[maskOffset + a]) continue;
    if (best < 0 || logits[offset + a] > bestLogit) {
      best = a;
      bestLogit = logits[offset + a];
    }
  }
  return best >= 0 ? best : greedyFromLogits(logits, offset, n);
}

/**
 * Samples an action from softmax(logits) restricted to the allowed actions, and returns it with
 * its log-probability. Masked actions have probability exactly zero, so they are never drawn.
 */
export function sampleFromLogits(
  logits: ArrayLike<number>,
  offset: number,
  n: number,
  rng: Rng,
  mask?: ActionMaskLike,
  maskOffset = 0,
): { action: number; logProb: number } {
  let max = -Infinity;
  for (let a = 0; a < n; a++) if ((!mask || mask[maskOffset + a]) && logits[offset + a] > max) max = logits[offset + a];
  if (max === -Infinity) return sampleFromLogits(logits, offset, n, rng);
  let total = 0;
  for (let a = 0; a < n; a++) if (!mask || mask[maskOffset + a]) total += Math.exp(logits[offset + a] - max);
  const logTotal = Math.log(total);
  let u = rng.next() * total;
  let chosen = -1;
  for (let a = 0; a < n; a++) {
    if (mask && !mask[maskOffset + a]) continue;
    chosen = a; // the last allowed action absorbs rounding at the top end
    u -= Math.exp(logits[offset + a] - max);
    if (u < 0) break;
  }
  return { action: chosen, logProb: logits[offset + chosen] - max - logTotal };
}

/** The log-probability of `action` under the (masked) softmax of the logits, as sampleFromLogits computes it. */
export function logProbOfAction(logits: ArrayLike<number>, offset: number, n: number, action: number, mask?: ActionMaskLike, maskOffset = 0): number {
  let max = -Infinity;
  for (let a = 0; a < n; a++) if ((!mask || mask[maskOffset + a]) && logits[offset + a] > max) max = logits[offset + a];
  if (max === -Infinity) return logProbOfAction(logits, offset, n, action);
  let total = 0;
  for (let a = 0; a < n; a++) if (!mask || mask[maskOffset + a]) total += Math.exp(logits[offset + a] - max);
  return logits[offset + action] - max - Math.log(total);
}

export interface ActOptions {
  /** Sample from the policy's distribution instead of taking the most likely action. */
  stochastic?: boolean;
  /** Generator for sampling; defaults to the policy's own (seeded at construction). */
  rng?: Rng;
}

export interface PpoPolicyOptions {
  name?: string;
  /** Seed of the policy's own generator for stochastic actions. */
  seed?: number;
}

/** Batches at least this large take the TensorFlow.js path for greedy actions. */
const LARGE_BATCH = 512;

/** A trained policy: acts from plain-array weights with a pure-JS forward pass. */
export class PpoPolicy {
  readonly name: string;
  private weights: PolicyWeights;
  private rng: Rng;
  private readonly scratch = new MlpScratch();
  private readonly single = new Float32Array(OBSERVATION_SIZE);
  private readonly singleLogits = new Float32Array(ACTION_COUNT);

  constructor(weights: PolicyWeights, options: PpoPolicyOptions = {}) {
    this.weights = clonePolicyWeights(weights);
    this.name = options.name ?? 'ppo';
    this.rng = new Rng(options.seed ?? 0);
  }

  get spec(): NetworkSpec {
    return this.weights.spec;
  }

  /** A copy of the weights as plain Float32Arrays. */
  getWeights(): PolicyWeights {
    return clonePolicyWeights(this.weights);
  }

  setWeights(weights: PolicyWeights): void {
    checkSameSpec(this.weights.spec, weights.spec);
    this.weights = clonePolicyWeights(weights);
  }

  /** Restarts the generator used for stochastic actions (called at episode start by evaluators). */
  reset(seed?: number): void {
    if (seed !== undefined) this.rng = new Rng(seed);
  }

  /** Action logits of `count` encoded observations ([count * actionCount]). */
  logits(observations: Float32Array, count: number, out?: Float32Array): Float32Array {
    this.checkBatch(observations, count);
    return forwardMlp(this.weights.actor, observations, count, out, this.scratch);
  }

  /** State values of `count` encoded observations. */
  values(observations: Float32Array, count: number, out?: Float32Array): Float32Array {
    this.checkBatch(observations, count);
    return forwardMlp(this.weights.critic, observations, count, out, this.scratch);
  }

  /** Action probabilities of one observation (masked actions get 0). */
  probabilities(observation: Observation, mask?: ActionMaskLike): number[] {
    const logits = this.logits(encodeObservation(observation, this.single), 1, this.singleLogits);
    const allowed = (a: number) => !mask || Boolean(mask[a]);
    const max = Math.max(...Array.from(logits).filter((_, a) => allowed(a)));
    const exps = Array.from(logits, (l, a) => (allowed(a) ? Math.exp(l - max) : 0));
    const total = exps.reduce((s, e) => s + e, 0);
    return exps.map((e) => e / total);
  }

  /** One action for one observation; `mask[a]` false forbids action a. */
  act(observation: Observation, mask?: ActionMaskLike, options: ActOptions = {}): number {
    const logits = this.logits(encodeObservation(observation, this.single), 1, this.singleLogits);
    const n = this.weights.spec.actionCount;
    return options.stochastic ? sampleFromLogits(logits, 0, n, options.rng ?? this.rng, mask).action : greedyFromLogits(logits, 0, n, mask);
  }

  /**
   * Actions for a batch of encoded observations (count * observationSize floats);
   * `masks` holds count * actionCount entries, 1 = allowed.
   */
  actBatch(observations: Float32Array, count: number, masks?: Uint8Array, options: ActOptions = {}): Int32Array {
    const n = this.weights.spec.actionCount;
    if (!options.stochastic && count >= LARGE_BATCH && backendReady()) return this.greedyBatchTf(observations, count, masks);
    const logits = this.logits(observations, count);
    const actions = new Int32Array(count);
    const rng = options.rng ?? this.rng;
    for (let i = 0; i < count; i++) {
      actions[i] = options.stochastic
        ? sampleFromLogits(logits, i * n, n, rng, masks, i * n).action
        : greedyFromLogits(logits, i * n, n, masks, i * n);
    }
    return actions;
  }

  /** Greedy actions of a large batch with TensorFlow.js (its matrix products beat the JS loop). */
  private greedyBatchTf(observations: Float32Array, count: number, masks?: Uint8Array): Int32Array {
    this.checkBatch(observations, count);
    const { spec, actor } = this.weights;
    return tf.tidy(() => {
      let h: tf.Tensor2D = tf.tensor2d(observations.subarray(0, count * spec.observationSize), [count, spec.observationSize]);
      actor.layers.forEach((layer, l) => {
        h = tf.add(tf.matMul(h, tf.tensor2d(layer.kernel, [layer.inputs, layer.outputs])), tf.tensor1d(layer.bias)) as tf.Tensor2D;
        if (l + 1 < actor.layers.length) h = spec.activation === 'relu' ? tf.relu(h) : tf.tanh(h);
      });
      if (masks) {
        const allowed = tf.tensor2d(Float32Array.from(masks.subarray(0, count * spec.actionCount)), [count, spec.actionCount]);
        // Rows that allow nothing fall back to the unmasked choice, as greedyFromLogits does.
        const anyAllowed = tf.greater(tf.sum(allowed, 1, true), 0);
        h = tf.where(anyAllowed, tf.add(h, tf.mul(tf.sub(allowed, 1), 1e9)), h) as tf.Tensor2D;
      }
      return tf.argMax(h, 1).dataSync() as Int32Array;
    });
  }

  private checkBatch(observations: Float32Array, count: number): void {
    const size = this.weights.spec.observationSize;
    if (observations.length < count * size) {
      throw new Error(`expected ${count} observations of ${size} floats, got ${observations.length} floats`);
    }
  }
}

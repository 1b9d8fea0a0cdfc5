/**
 * Multilayer perceptrons as plain Float32Arrays: seeded initialisation and a pure-JS forward pass.
 *
 * The forward pass serves rollouts, tiny batches and policy servers without a round trip through
 * TensorFlow.js. Kernels use tfjs's Dense layout ([inputs, outputs], row-major), so weights move
 * between the two without reshuffling. Inputs that are exactly zero are skipped, which makes the
 * first layer cheap on the one-hot observation encoding (5 of 29 inputs are non-zero).
 */
import { Rng } from '../random';

export type Activation = 'tanh' | 'relu';

export interface DenseWeights {
  /** [inputs * outputs], kernel[i * outputs + j] connects input i to output j. */
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  outputs: number;
}

export interface MlpWeights {
  /** Hidden layers use `activation`; the last layer is linear. */
  layers: DenseWeights[];
  activation: Activation;
}

/**
 * A random matrix with orthonormal rows or columns, scaled by `gain` (orthogonal initialisation,
 * as CleanRL uses for PPO): Gram-Schmidt on Gaussian vectors from a seeded generator.
 */
export function orthogonalMatrix(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  // Orthonormalise the shorter dimension's vectors, which live in the longer dimension.
  const count = Math.min(rows, cols);
  const length = Math.max(rows, cols);
  const vectors: Float64Array[] = [];
  while (vectors.length < count) {
    const v = new Float64Array(length);
    for (let k = 0; k < length; k++) v[k] = rng.normal();
    for (const u of vectors) {
      let dot = 0;
      for (let k = 0; k < length; k++) dot += u[k] * v[k];
      for (let k = 0; k < length; k++) v[k] -= dot * u[k];
    }
    let norm = 0;
    for (let k = 0; k < length; k++) norm += v[k] * v[k];
    norm = Math.sqrt(norm);
    if (norm < 1e-6) continue; // numerically dependent: draw again
    for (let k = 0; k < length; k++) v[k] /= norm;
    vectors.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[i * cols + j] = gain * (rows <= cols ? vectors[i][j] : vectors[j][i]);
    }
  }
  return out;
}

/**
 * A seeded MLP: orthogonal kernels with gain sqrt(2) in the hidden layers and `outputGain` in the
 * last one, zero biases.
 */
export function initMlp(sizes: number[], activation: Activation, outputGain: number, rng: Rng): MlpWeights {
  const layers: DenseWeights[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const last = l + 2 === sizes.length;
    layers.push({
      kernel: orthogonalMatrix(sizes[l], sizes[l + 1], last ? outputGain : Math.SQRT2, rng),
      bias: new Float32Array(sizes[l + 1]),
      inputs: sizes[l],
      outputs: sizes[l + 1],
    });
  }
  return { layers, activation };
}

/** Deep copy (the snapshot a policy server or a rollout keeps while training goes on). */
export function cloneMlp(weights: MlpWeights): MlpWeights {
  return {
    activation: weights.activation,
    layers: weights.layers.map((l) => ({ ...l, kernel: l.kernel.slice(), bias: l.bias.slice() })),
  };
}

/** Scratch buffers for forwardMlp, grown on demand and reused across calls. */
export class MlpScratch {
  a = new Float32Array(0);
  b = new Float32Array(0);
  nonZero = new Int32Array(0);
  ensure(width: number): void {
    if (this.a.length < width) {
      this.a = new Float32Array(width);
      this.b = new Float32Array(width);
      this.nonZero = new Int32Array(width);
    }
  }
}

const sharedScratch = new MlpScratch();

/**
 * Kernels transposed to [outputs, inputs], so each output is one contiguous dot product; held as
 * doubles (exact copies of the floats), which spares a conversion per multiply.
 */
const transposed = new WeakMap<Float32Array, Float64Array>();

function transposedKernel(layer: DenseWeights): Float64Array {
  let t = transposed.get(layer.kernel);
  if (!t) {
    const { kernel, inputs: n, outputs: m } = layer;
    t = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = kernel[i * m + j];
    transposed.set(layer.kernel, t);
  }
  return t;
}

/**
 * y[yOffset + j] = bias[j] + sum_i x[xOffset + i] * kernel[i, j]. Sparse inputs (the one-hot
 * observation) only visit their non-zero entries.
 */
function denseLayer(layer: DenseWeights, x: Float32Array, xOffset: number, y: Float32Array, yOffset: number, nonZero: Int32Array): void {
  const n = layer.inputs;
  const m = layer.outputs;
  const w = transposedKernel(layer);
  const bias = layer.bias;
  let count = 0;
  for (let i = 0; i < n; i++) if (x[xOffset + i] !== 0) nonZero[count++] = i;
  if (count * 2 < n) {
    for (let j = 0; j < m; j++) {
      let acc = bias[j];
      const row = j * n;
      for (let k = 0; k < count; k++) {
        const i = nonZero[k];
        acc += x[xOffset + i] * w[row + i];
      }
      y[yOffset + j] = acc;
    }
  } else {
    // Eight (then four) outputs per pass over the inputs: each input is read once for several dot
    // products. Each sum still adds its terms in input order: results equal one output at a time.
    let j = 0;
    for (; j + 8 <= m; j += 8) {
      let a0 = bias[j];
      let a1 = bias[j + 1];
      let a2 = bias[j + 2];
      let a3 = bias[j + 3];
      let a4 = bias[j + 4];
      let a5 = bias[j + 5];
      let a6 = bias[j + 6];
      let a7 = bias[j + 7];
      const r0 = j * n;
      for (let i = 0; i < n; i++) {
        const xi = x[xOffset + i];
        const k = r0 + i;
        a0 += xi * w[k];
        a1 += xi * w[k + n];
        a2 += xi * w[k + 2 * n];
        a3 += xi * w[k + 3 * n];
        a4 += xi * w[k + 4 * n];
        a5 += xi * w[k + 5 * n];
        a6 += xi * w[k + 6 * n];
        a7 += xi * w[k + 7 * n];
      }
      y[yOffset + j] = a0;
      y[yOffset + j + 1] = a1;
      y[yOffset + j + 2] = a2;
      y[yOffset + j + 3] = a3;
      y[yOffset + j + 4] = a4;
      y[yOffset + j + 5] = a5;
      y[yOffset + j + 6] = a6;
      y[yOffset + j + 7] = a7;
    }
    for (; j + 4 <= m; j += 4) {
      let a0 = bias[j];
      let a1 = bias[j + 1];
      let a2 = bias[j + 2];
      let a3 = bias[j + 3];
      const r0 = j * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (let i = 0; i < n; i++) {
        const xi = x[xOffset + i];
        a0 += xi * w[r0 + i];
        a1 += xi * w[r1 + i];
        a2 += xi * w[r2 + i];
        a3 += xi * w[r3 + i];
      }
      y[yOffset + j] = a0;
      y[yOffset + j + 1] = a1;
      y[yOffset + j + 2] = a2;
      y[yOffset + j + 3] = a3;
    }
    for (; j < m; j++) {
      let acc = bias[j];
      const row = j * n;
      for (let i = 0; i < n; i++) acc += x[xOffset + i] * w[row + i];
      y[yOffset + j] = acc;
    }
  }
}

/**
 * Forward pass of `count` inputs (input r at inputs[r*inputSize ...]) into `out`
 * (count * outputSize floats).
 */
export function forwardMlp(
  weights: MlpWeights,
  inputs: Float32Array,
  count: number,
  out: Float32Array = new Float32Array(count * weights.layers[weights.layers.length - 1].outputs),
  scratch: MlpScratch = sharedScratch,
): Float32Array {
  const layers = weights.layers;
  let widest = layers[0].inputs;
  for (const l of layers) widest = Math.max(widest, l.outputs);
  scratch.ensure(widest);
  const relu = weights.activation === 'relu';
  const last = layers.length - 1;
  const inSize = layers[0].inputs;
  const outSize = layers[last].outputs;
  for (let r = 0; r < count; r++) {
    let x = inputs;
    let xOffset = r * inSize;
    for (let l = 0; l <= last; l++) {
      const layer = layers[l];
      if (l === last) {
        denseLayer(layer, x, xOffset, out, r * outSize, scratch.nonZero);
        break;
      }
      const y = l % 2 === 0 ? scratch.a : scratch.b;
      denseLayer(layer, x, xOffset, y, 0, scratch.nonZero);
      const m = layer.outputs;
      if (relu) for (let j = 0; j < m; j++) y[j] = y[j] > 0 ? y[j] : 0;
      else for (let j = 0; j < m; j++) y[j] = Math.tanh(y[j]);
      x = y;
      xOffset = 0;
    }
  }
  return out;
}

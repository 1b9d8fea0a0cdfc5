/**
 * Policy weights as JSON for `GET /v1/weights` and the state dir: each Float32Array as base64 of
 * its little-endian bytes (exact, and about a third of the size of a list of decimals).
 */
import type { DenseWeights, MlpWeights } from '../agent/mlp';
import type { PolicyWeights } from '../agent/policy';

export interface EncodedDense {
  inputs: number;
  outputs: number;
  kernel: string;
  bias: string;
}

export interface EncodedMlp {
  activation: MlpWeights['activation'];
  layers: EncodedDense[];
}

export interface EncodedWeights {
  format: 'float32-le-base64';
  spec: PolicyWeights['spec'];
  actor: EncodedMlp;
  critic: EncodedMlp;
}

function encodeFloats(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decodeFloats(text: unknown, expected: number, where: string): Float32Array {
  if (typeof text !== 'string') throw new Error(`${where}: expected a base64 string`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== expected * 4) throw new Error(`${where}: expected ${expected} float32 values, got ${bytes.length / 4}`);
  // Copy into a fresh, aligned buffer.
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(bytes);
  for (let k = 0; k < expected; k++) if (!Number.isFinite(out[k])) throw new Error(`${where}[${k}] is not finite`);
  return out;
}

function encodeMlp(mlp: MlpWeights): EncodedMlp {
  return {
    activation: mlp.activation,
    layers: mlp.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, kernel: encodeFloats(l.kernel), bias: encodeFloats(l.bias) })),
  };
}

function decodeMlp(mlp: EncodedMlp, where: string): MlpWeights {
  if (!mlp || !Array.isArray(mlp.layers) || (mlp.activation !== 'tanh' && mlp.activation !== 'relu')) throw new Error(`${where}: malformed network`);
  const layers: DenseWeights[] = mlp.layers.map((l, i) => {
    if (!Number.isInteger(l.inputs) || !Number.isInteger(l.outputs) || l.inputs < 1 || l.outputs < 1) throw new Error(`${where}.layers[${i}]: bad shape`);
    return {
      inputs: l.inputs,
      outputs: l.outputs,
      kernel: decodeFloats(l.kernel, l.inputs * l.outputs, `${where}.layers[${i}].kernel`),
      bias: decodeFloats(l.bias, l.outputs, `${where}.layers[${i}].bias`),
    };
  });
  return { activation: mlp.activation, layers };
}

export function encodeWeights(weights: PolicyWeights): EncodedWeights {
  return { format: 'float32-le-base64', spec: weights.spec, actor: encodeMlp(weights.actor), critic: encodeMlp(weights.critic) };
}

export function decodeWeights(encoded: EncodedWeights): PolicyWeights {
  if (!encoded || encoded.format !== 'float32-le-base64') throw new Error(`weights: unknown format ${JSON.stringify(encoded?.format)}`);
  const spec = encoded.spec;
  const actor = decodeMlp(encoded.actor, 'weights.actor');
  const critic = decodeMlp(encoded.critic, 'weights.critic');
  const sizes = (m: MlpWeights) => [m.layers[0].inputs, ...m.layers.map((l) => l.outputs)].join(',');
  const expected = [spec.observationSize, ...spec.hidden].join(',');
  if (sizes(actor) !== `${expected},${spec.actionCount}` || sizes(critic) !== `${expected},1`) {
    throw new Error(`weights: layer sizes do not match the spec ${JSON.stringify(spec)}`);
  }
  return { spec: { ...spec, hidden: [...spec.hidden] }, actor, critic };
}

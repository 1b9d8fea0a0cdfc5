/**
 * Policy checkpoints: one folder per run.
 *
 *   <dir>/meta.json            what the run was (config, reward, data, schema, seed, backend,
 *                              package versions, git commit, final metrics, parent checkpoint)
 *   <dir>/history.jsonl        one line per PPO update of the run (history.ts)
 *   <dir>/actor/model.json     actor network, TensorFlow.js layers format
 *   <dir>/actor/weights.bin
 *   <dir>/critic/model.json    critic network, same format
 *   <dir>/critic/weights.bin
 *
 * The networks go through a small file IOHandler, so saving works without tfjs-node, and the
 * folders load with `tf.loadLayersModel` (tfjs-node's file://) too. Writes are atomic: everything
 * goes to a temporary folder beside the target, which is then renamed, so a crash leaves either
 * the whole checkpoint or none. Loading reads the weights with no TensorFlow.js at all and checks
 * every file, naming the file and what is wrong.
 *
 * The reward is recorded once, as meta.json's `reward` ({name, version, params}): the reward the
 * rewards of the run's own updates were computed with, i.e. the one the policy was trained on.
 * Checkpoints written before that also hold `config.reward`. There the top-level `reward` wins and
 * `config.reward` is dropped on reading: fine-tuning and the policy server copied `config` from the
 * parent checkpoint or took a default, while `reward` came from the environment (or the server)
 * that computed the rewards of the updates behind the weights.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SPACE_SCHEMA } from '../space';
import { LOAD_SPACE_SCHEMA, forecastStepsOfSchema, forecastStepsOfSize, observationKindOfSchema, schemaOf, type AnySpaceSchema, type ObservationKind } from '../load-space';
import { describeReward, REWARD_NAMES, type RewardFunction, type RewardName } from '../reward';
import { initBackend } from './backend';
import { formatHistory, historyRecordOf, HISTORY_FILE, type HistoryRecord } from './history';
import type { DenseWeights, MlpWeights } from './mlp';
import { ActorCritic, PpoPolicy, type NetworkSpec, type PolicyWeights } from './policy';
import type { DataIdentity, PpoConfig, TrainResult } from './ppo';

export const CHECKPOINT_FORMAT = 'rl-autoscaler-ppo-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const META_FILE = 'meta.json';
const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';
const NETWORKS = ['actor', 'critic'] as const;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  runId: string;
  createdAt: string;
  algorithm: 'ppo';
  /** The full training configuration (hyperparameters, seed, start, masking); the reward is beside it. */
  config: PpoConfig;
  /** Preset the configuration started from, when known. */
  preset: string | null;
  network: NetworkSpec;
  /** The reward the policy was trained on (the one place it is recorded). */
  reward: ReturnType<typeof describeReward>;
  data: DataIdentity;
  /**
   * Observation and action schema the networks were trained on: space.SPACE_SCHEMA (version 1,
   * classic) or load-space.LOAD_SPACE_SCHEMA (version 2, with the load, and a forecast when it
   * names one).
   */
  schema: AnySpaceSchema;
  seed: number;
  /** TensorFlow.js backend that trained the networks. */
  backend: string;
  packages: Record<string, string | null>;
  gitCommit: string | null;
  /** Final figures of the run (e.g. exact fraction of the optimum, environment steps). */
  metrics: Record<string, number | string | null>;
  /** Checkpoint the run started from (fine-tuning), or null. */
  parent: string | null;
  /** The networks, and the run's history when it has one (older checkpoints do not). */
  files: Record<(typeof NETWORKS)[number], string> & { history?: string };
}

/** What every producer of a checkpoint (offline training, live fine-tuning, the policy server) hands over. */
export interface CheckpointContents {
  policy: PpoPolicy | PolicyWeights;
  config: PpoConfig;
  preset?: string | null;
  backend: string;
  /** The reward the policy was trained on. */
  reward: Pick<RewardFunction, 'name' | 'version' | 'params'>;
  data: DataIdentity;
  /** Which observation the networks read (default classic). */
  observation?: ObservationKind;
  /** The run's per-update history, written as history.jsonl. */
  history?: readonly HistoryRecord[];
  metrics?: Record<string, number | string | null>;
  parent?: string | null;
  runId?: string;
}

export interface SaveOptions {
  /** Replace an existing checkpoint at the same path (default: refuse). */
  overwrite?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Files

/** A tf.io.IOHandler over one folder: model.json + weights.bin. */
export class FolderIOHandler implements tf.io.IOHandler {
  constructor(readonly dir: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson = {
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
    };
    await fs.promises.mkdir(this.dir, { recursive: true });
    await fs.promises.writeFile(path.join(this.dir, MODEL_FILE), JSON.stringify(modelJson));
    await fs.promises.writeFile(path.join(this.dir, WEIGHTS_FILE), Buffer.from(weights));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const { modelJson, weightSpecs, weightData } = readModelFolder(this.dir);
    return {
      modelTopology: modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: modelJson.format as string | undefined,
      generatedBy: modelJson.generatedBy as string | undefined,
      weightSpecs,
      weightData,
    };
  }
}

function readJson(file: string, what: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new CheckpointError(file, `missing (${what})`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CheckpointError(file, `cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(file, `corrupt, not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CheckpointError(file, 'corrupt, expected a JSON object');
  return value as Record<string, unknown>;
}

/** Reads and checks model.json + weights.bin of one network folder. */
function readModelFolder(dir: string): { modelJson: Record<string, unknown>; weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer } {
  const modelFile = path.join(dir, MODEL_FILE);
  const modelJson = readJson(modelFile, 'the network in TensorFlow.js format');
  const manifest = modelJson.weightsManifest as tf.io.WeightsManifestConfig | undefined;
  if (!Array.isArray(manifest) || manifest.length !== 1 || !Array.isArray(manifest[0].weights) || !Array.isArray(manifest[0].paths)) {
    throw new CheckpointError(modelFile, 'corrupt, expected one weightsManifest group with paths and weights');
  }
  const weightSpecs = manifest[0].weights;
  const weightsFile = path.join(dir, manifest[0].paths[0] ?? WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) throw new CheckpointError(weightsFile, 'missing (the network weights)');
  const bytes = fs.readFileSync(weightsFile);
  let expected = 0;
  for (const spec of weightSpecs) {
    if (spec.dtype !== undefined && spec.dtype !== 'float32') throw new CheckpointError(modelFile, `weight ${spec.name} has dtype ${spec.dtype}, expected float32`);
    expected += spec.shape.reduce((a, b) => a * b, 1) * 4;
  }
  if (bytes.length !== expected) {
    throw new CheckpointError(weightsFile, `corrupt, holds ${bytes.length} bytes but ${MODEL_FILE} describes ${expected}`);
  }
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
  return { modelJson, weightSpecs, weightData };
}

/** Plain-array MLP weights of one network folder, checked against the expected layer sizes. */
function readMlp(dir: string, sizes: number[], activation: MlpWeights['activation']): MlpWeights {
  const { weightSpecs, weightData } = readModelFolder(dir);
  const modelFile = path.join(dir, MODEL_FILE);
  const layerCount = sizes.length - 1;
  if (weightSpecs.length !== 2 * layerCount) {
    throw new CheckpointError(modelFile, `has ${weightSpecs.length} weight tensors, expected ${2 * layerCount} (kernel and bias of ${layerCount} dense layers, sizes ${sizes.join('-')})`);
  }
  const layers: DenseWeights[] = [];
  let offset = 0;
  for (let l = 0; l < layerCount; l++) {
    const [kernelSpec, biasSpec] = [weightSpecs[2 * l], weightSpecs[2 * l + 1]];
    const inputs = sizes[l];
    const outputs = sizes[l + 1];
    if (kernelSpec.shape.join(',') !== `${inputs},${outputs}` || biasSpec.shape.join(',') !== `${outputs}`) {
      throw new CheckpointError(
        modelFile,
        `layer ${l} has kernel [${kernelSpec.shape}] and bias [${biasSpec.shape}], expected [${inputs},${outputs}] and [${outputs}] (network ${sizes.join('-')} in meta.json)`,
      );
    }
    const kernel = new Float32Array(weightData, offset, inputs * outputs).slice();
    offset += inputs * outputs * 4;
    const bias = new Float32Array(weightData, offset, outputs).slice();
    offset += outputs * 4;
    for (const v of kernel) if (!Number.isFinite(v)) throw new CheckpointError(path.join(dir, WEIGHTS_FILE), `corrupt, layer ${l} holds a non-finite weight`);
    layers.push({ kernel, bias, inputs, outputs });
  }
  return { layers, activation };
}

// ---------------------------------------------------------------------------------------------
// Provenance

function packageVersion(name: string): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

export function packageVersions(): Record<string, string | null> {
  return {
    node: process.versions.node,
    'rl-autoscaler': packageVersion(path.resolve(__dirname, '..', '..')),
    '@tensorflow/tfjs': tf.version.tfjs,
    '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    '@tensorflow/tfjs-node': packageVersion('@tensorflow/tfjs-node'),
  };
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** A run id from the preset-independent facts: UTC time and seed, e.g. ppo-20251128-183500-seed1. */
export function newRunId(seed: number, date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `ppo-${stamp}-seed${seed}`;
}

// ---------------------------------------------------------------------------------------------
// Save and load

function fsyncPath(p: string): void {
  try {
    const fd = fs.openSync(p, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  }
}

function fsyncTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

/** Saves a checkpoint into `dir` atomically; resolves to its absolute path. */
export async function saveCheckpoint(dir: string, contents: CheckpointContents, options: SaveOptions = {}): Promise<string> {
  const final = path.resolve(dir);
  const parentDir = path.dirname(final);
  if (fs.existsSync(final) && !options.overwrite) throw new CheckpointError(final, 'already exists (pass overwrite to replace it)');
  const weights = contents.policy instanceof PpoPolicy ? contents.policy.getWeights() : contents.policy;
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    runId: contents.runId ?? path.basename(final),
    createdAt: new Date().toISOString(),
    algorithm: 'ppo',
    config: withoutReward(contents.config),
    preset: contents.preset ?? null,
    network: weights.spec,
    reward: { name: contents.reward.name, version: contents.reward.version, params: contents.reward.params },
    data: contents.data,
    schema: contents.observation === 'load' ? schemaOf('load', forecastStepsOfSize(weights.spec.observationSize)) : schemaOf(contents.observation ?? 'classic'),
    seed: contents.config.seed,
    backend: contents.backend,
    packages: packageVersions(),
    gitCommit: gitCommit(),
    metrics: contents.metrics ?? {},
    parent: contents.parent ?? null,
    files: { actor: `actor/${MODEL_FILE}`, critic: `critic/${MODEL_FILE}`, ...(contents.history ? { history: HISTORY_FILE } : {}) },
  };

  await fs.promises.mkdir(parentDir, { recursive: true });
  const tmp = path.join(parentDir, `.${path.basename(final)}.tmp-${process.pid}-${Date.now()}`);
  await fs.promises.mkdir(tmp);
  try {
    await initBackend();
    const networks = ActorCritic.fromWeights(weights);
    try {
      await networks.actor.save(new FolderIOHandler(path.join(tmp, 'actor')));
      await networks.critic.save(new FolderIOHandler(path.join(tmp, 'critic')));
    } finally {
      networks.dispose();
    }
    await fs.promises.writeFile(path.join(tmp, META_FILE), JSON.stringify(meta, null, 2) + '\n');
    if (contents.history) await fs.promises.writeFile(path.join(tmp, HISTORY_FILE), formatHistory(contents.history));
    fsyncTree(tmp);
    if (fs.existsSync(final)) {
      const old = path.join(parentDir, `.${path.basename(final)}.old-${process.pid}-${Date.now()}`);
      await fs.promises.rename(final, old);
      await fs.promises.rename(tmp, final);
      await fs.promises.rm(old, { recursive: true, force: true });
    } else {
      await fs.promises.rename(tmp, final);
    }
    fsyncPath(parentDir);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return final;
}

/** A config as meta.json records it: without a reward (older configs had one; the reward is recorded beside it). */
function withoutReward(config: PpoConfig): PpoConfig {
  const { reward: _, ...rest } = config as PpoConfig & { reward?: unknown };
  return { ...rest, hidden: [...rest.hidden] };
}

/**
 * The one way a training result becomes a checkpoint: the policy, its config and preset, the
 * reward it was trained on, the data, the parent and the history (history.jsonl), plus the run's
 * final figures (`envSteps` and `trainingSeconds` are filled in; `metrics` adds to them).
 */
export async function saveTrainResult(
  dir: string,
  result: TrainResult,
  extras: { runId?: string; metrics?: Record<string, number | string | null> } & SaveOptions = {},
): Promise<string> {
  const last = result.history[result.history.length - 1];
  return saveCheckpoint(
    dir,
    {
      policy: result.policy,
      config: result.config,
      preset: result.preset,
      backend: result.backend,
      reward: result.reward,
      data: result.data,
      parent: result.parent,
      observation: result.observation,
      history: result.history.map((s) => historyRecordOf(s)),
      runId: extras.runId,
      metrics: { envSteps: last?.envSteps ?? 0, trainingSeconds: last?.trainingSeconds ?? 0, ...extras.metrics },
    },
    { overwrite: extras.overwrite },
  );
}

/** The first path at which two JSON values differ, or null when equal. */
function firstDifference(a: unknown, b: unknown, at = ''): string | null {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return at || '(root)';
  if (typeof a !== 'object' || a === null) return a === b ? null : at || '(root)';
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
    if (d) return d;
  }
  return null;
}

function valueAt(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

export interface LoadedCheckpoint {
  dir: string;
  meta: CheckpointMeta;
  weights: PolicyWeights;
  policy: PpoPolicy;
}

/** Reads and checks meta.json alone. */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new CheckpointError(root, 'no such checkpoint folder');
  if (!fs.statSync(root).isDirectory()) throw new CheckpointError(root, 'not a folder (a checkpoint is a folder with meta.json, actor/ and critic/)');
  const metaFile = path.join(root, META_FILE);
  const meta = readJson(metaFile, 'checkpoint metadata') as unknown as CheckpointMeta;
  if (!meta.reward || typeof meta.reward.name !== 'string') throw new CheckpointError(metaFile, `reward is missing or malformed: ${JSON.stringify(meta.reward)}`);
  if (meta.config && typeof meta.config === 'object') meta.config = withoutReward(meta.config);
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(metaFile, `format is ${JSON.stringify(meta.format)}, expected ${JSON.stringify(CHECKPOINT_FORMAT)}`);
  if (meta.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(metaFile, `formatVersion ${JSON.stringify(meta.formatVersion)} is not supported (this code reads ${CHECKPOINT_FORMAT_VERSION})`);
  }
  const kind = observationKindOfSchema(meta.schema);
  if (kind === null) {
    throw new CheckpointError(metaFile, `schema.version ${JSON.stringify((meta.schema as { version?: unknown } | undefined)?.version)} is not supported (this code reads ${SPACE_SCHEMA.version}, classic, and ${LOAD_SPACE_SCHEMA.version}, with load)`);
  }
  let expected: AnySpaceSchema;
  try {
    expected = schemaOf(kind, kind === 'load' ? forecastStepsOfSchema(meta.schema) : 0);
  } catch (err) {
    throw new CheckpointError(metaFile, `schema.observation: ${(err as Error).message}`);
  }
  const diff = firstDifference(meta.schema, expected);
  if (diff) {
    throw new CheckpointError(
      metaFile,
      `observation/action schema mismatch at schema.${diff}: checkpoint has ${JSON.stringify(valueAt(meta.schema, diff))}, this code expects ${JSON.stringify(valueAt(expected, diff))}`,
    );
  }
  const net = meta.network;
  if (!net || !Array.isArray(net.hidden) || (net.activation !== 'tanh' && net.activation !== 'relu')) {
    throw new CheckpointError(metaFile, `network is missing or malformed: ${JSON.stringify(net)}`);
  }
  if (net.observationSize !== expected.observation.size || net.actionCount !== expected.action.n) {
    throw new CheckpointError(metaFile, `network maps ${net.observationSize} -> ${net.actionCount}, but the schema has ${expected.observation.size} observation floats and ${expected.action.n} actions`);
  }
  return meta;
}

/**
 * The built-in reward a checkpoint's policy was trained on, which is what every consumer (live
 * runs, evaluation, the policy server) uses unless told otherwise. A reward this code cannot
 * compute (older policy-server checkpoints say `client-reported`) is an error asking for one.
 */
export function trainedRewardName(meta: CheckpointMeta, dir = meta.runId): RewardName {
  const name = meta.reward.name as RewardName;
  if (!REWARD_NAMES.includes(name)) {
    throw new CheckpointError(path.join(dir, META_FILE), `the policy was trained on reward ${JSON.stringify(meta.reward.name)}, which this code cannot compute; name one of ${REWARD_NAMES.join(', ')} (--reward)`);
  }
  return name;
}

/** The observation a checkpoint's networks read: classic (schema 1) or with load (schema 2). */
export function observationKindOf(meta: CheckpointMeta): ObservationKind {
  return observationKindOfSchema(meta.schema) ?? 'classic';
}

/**
 * Refuses a checkpoint whose networks read another observation than the environment produces:
 * a policy trained with the load cannot act without it, and a classic one cannot read it.
 */
export function checkObservationKind(meta: CheckpointMeta, environment: ObservationKind, dir = meta.runId): void {
  const trained = observationKindOf(meta);
  if (trained === environment) return;
  const file = path.join(dir, META_FILE);
  if (trained === 'load') {
    throw new CheckpointError(
      file,
      `the policy expects observations with load (schema version ${LOAD_SPACE_SCHEMA.version}: ${LOAD_SPACE_SCHEMA.observation.fields.join(', ')}), but the environment has no load in its observation (schema version ${SPACE_SCHEMA.version}); act with it in the load environment (--env load)`,
    );
  }
  throw new CheckpointError(
    file,
    `the policy was trained on the classic observation (schema version ${SPACE_SCHEMA.version}), but the environment observes the load too (schema version ${LOAD_SPACE_SCHEMA.version}); train a policy with --env load`,
  );
}

export interface LoadCheckpointOptions {
  /** The observation the caller's environment produces (default classic); another one is refused. */
  observation?: ObservationKind;
}

/** Loads a checkpoint: its metadata, its weights and a policy ready to act. */
export function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): LoadedCheckpoint {
  const root = path.resolve(dir);
  const meta = readCheckpointMeta(root);
  checkObservationKind(meta, options.observation ?? 'classic', root);
  const spec = meta.network;
  const weights: PolicyWeights = {
    spec,
    actor: readMlp(path.join(root, 'actor'), [spec.observationSize, ...spec.hidden, spec.actionCount], spec.activation),
    critic: readMlp(path.join(root, 'critic'), [spec.observationSize, ...spec.hidden, 1], spec.activation),
  };
  return { dir: root, meta, weights, policy: new PpoPolicy(weights, { name: `ppo:${meta.runId}`, seed: meta.seed }) };
}

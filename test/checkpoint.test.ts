import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/agent/backend';
import { CheckpointError, FolderIOHandler, loadCheckpoint, readCheckpointMeta, saveCheckpoint, trainedRewardName, type CheckpointContents } from '../src/agent/checkpoint';
import { HistoryError, readHistory } from '../src/agent/history';
import { encodedRows, greedyActionsOfRows } from '../src/agent/evaluate';
import { defaultNetworkSpec, initPolicyWeights, PpoPolicy } from '../src/agent/policy';
import { ppoConfig } from '../src/agent/ppo';
import { run as runTrainCommand } from '../src/commands/train';
import { DatasetModel } from '../src/env/dataset-env';
import { Rng } from '../src/random';
import { OBSERVATION_SIZE, SPACE_SCHEMA } from '../src/space';

const model = new DatasetModel();

function contents(seed = 4): CheckpointContents {
  const config = ppoConfig({ seed, hidden: [32, 32] });
  return {
    policy: new PpoPolicy(initPolicyWeights(defaultNetworkSpec(config.hidden), new Rng(seed))),
    config,
    backend: 'wasm',
    reward: model.reward,
    data: { file: path.basename(model.table.file), sha256: model.table.sha256, rowCount: model.table.rowCount },
    metrics: { fractionOfOptimum: 0.5 },
  };
}

const roots: string[] = [];
after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-test-'));
  roots.push(root);
  return root;
}

test('save then load gives identical greedy actions and weights', async () => {
  const root = tempRoot();
  const saved = contents();
  const dir = await saveCheckpoint(path.join(root, 'run-a'), saved);
  const loaded = loadCheckpoint(dir);
  const original = saved.policy as PpoPolicy;
  assert.deepEqual(loaded.weights, original.getWeights());
  assert.deepEqual(greedyActionsOfRows(loaded.policy, model), greedyActionsOfRows(original, model));
  const obs = model.observation(558);
  assert.equal(loaded.policy.act(obs), original.act(obs));
  assert.equal(loaded.meta.data.sha256, model.table.sha256);
  assert.equal(loaded.meta.reward.name, 'classic');
  assert.deepEqual(loaded.meta.schema, SPACE_SCHEMA);
  assert.equal(loaded.meta.seed, 4);
  // Nothing but the checkpoint is left in the parent folder (the temporary folder was renamed).
  assert.deepEqual(fs.readdirSync(root), ['run-a']);
});

test('the saved networks are genuine TensorFlow.js layers models', async () => {
  await initBackend();
  const root = tempRoot();
  const saved = contents(5);
  const dir = await saveCheckpoint(path.join(root, 'run'), saved);
  const actor = await tf.loadLayersModel(new FolderIOHandler(path.join(dir, 'actor')));
  const { observations } = encodedRows(model);
  const batch = observations.subarray(0, 100 * OBSERVATION_SIZE);
  const fromTf = tf.tidy(() => (actor.predict(tf.tensor2d(batch, [100, OBSERVATION_SIZE])) as tf.Tensor).dataSync());
  const fromJs = (saved.policy as PpoPolicy).logits(batch, 100);
  for (let k = 0; k < fromJs.length; k++) assert.ok(Math.abs(fromTf[k] - fromJs[k]) < 1e-4, `logit ${k}: ${fromTf[k]} vs ${fromJs[k]}`);
  actor.dispose();
});

test('an existing checkpoint is not overwritten unless asked', async () => {
  const root = tempRoot();
  const dir = await saveCheckpoint(path.join(root, 'run'), contents(1));
  await assert.rejects(saveCheckpoint(dir, contents(2)), /already exists/);
  assert.equal(loadCheckpoint(dir).meta.seed, 1);
  await saveCheckpoint(dir, contents(2), { overwrite: true });
  assert.equal(loadCheckpoint(dir).meta.seed, 2);
  assert.deepEqual(fs.readdirSync(root), ['run']);
});

async function savedCopy(): Promise<string> {
  return saveCheckpoint(path.join(tempRoot(), 'run'), contents());
}

function refuses(dir: string, file: RegExp, problem: RegExp): void {
  assert.throws(
    () => loadCheckpoint(dir),
    (err: unknown) => {
      assert.ok(err instanceof CheckpointError, `not a CheckpointError: ${err}`);
      assert.match(err.file, file);
      assert.match(err.message, problem);
      return true;
    },
  );
}

test('a missing checkpoint is refused with a clear error', () => {
  refuses(path.join(tempRoot(), 'nope'), /nope$/, /no such checkpoint folder/);
});

test('corrupt checkpoints are refused, naming the file and the problem', async () => {
  let dir = await savedCopy();
  fs.writeFileSync(path.join(dir, 'meta.json'), '{"format": "rl-autoscaler-ppo-checkpoint", ');
  refuses(dir, /meta\.json$/, /not valid JSON/);

  dir = await savedCopy();
  const weights = path.join(dir, 'actor', 'weights.bin');
  fs.writeFileSync(weights, fs.readFileSync(weights).subarray(0, 100));
  refuses(dir, /actor\/weights\.bin$/, /100 bytes/);

  dir = await savedCopy();
  fs.rmSync(path.join(dir, 'critic', 'model.json'));
  refuses(dir, /critic\/model\.json$/, /missing/);

  dir = await savedCopy();
  fs.writeFileSync(path.join(dir, 'critic', 'model.json'), 'garbage');
  refuses(dir, /critic\/model\.json$/, /not valid JSON/);
});

test('checkpoints with a mismatched schema or network are refused', async () => {
  let dir = await savedCopy();
  const metaFile = path.join(dir, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  meta.schema.action.n = 8;
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  refuses(dir, /meta\.json$/, /schema mismatch at schema\.action\.n: checkpoint has 8, this code expects 7/);

  dir = await savedCopy();
  const meta2 = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  meta2.network.hidden = [64, 64];
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta2));
  refuses(dir, /actor\/model\.json$/, /expected \[29,64\]/);

  dir = await savedCopy();
  const meta3 = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  meta3.format = 'something-else';
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta3));
  refuses(dir, /meta\.json$/, /format is "something-else"/);
});

test('train --reward saves a checkpoint that records that reward once, with the run\'s history', async () => {
  const out = path.join(tempRoot(), 'trained');
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await runTrainCommand(['--steps', '2048', '--seed', '3', '--reward', 'total-throughput', '--out', out]), 0);
  } finally {
    console.log = log;
  }
  const meta = readCheckpointMeta(out);
  assert.equal(meta.reward.name, 'total-throughput');
  assert.equal(trainedRewardName(meta), 'total-throughput');
  assert.equal(meta.preset, 'fast');
  const raw = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'));
  assert.equal(raw.config.reward, undefined, 'the reward is recorded once, not in the config');
  assert.equal(raw.files.history, 'history.jsonl');
  // 2048 steps of 16 environments x 64 steps: two iterations, one line each.
  const history = readHistory(out);
  assert.deepEqual(history.map((r) => [r.iteration, r.env_steps]), [[1, 1024], [2, 2048]]);
  for (const key of ['policy_loss', 'value_loss', 'entropy', 'approx_kl', 'clip_fraction', 'steps_per_s', 'step_reward_mean'] as const) {
    assert.ok(Number.isFinite(history[1][key]), `${key} = ${history[1][key]}`);
  }
  assert.ok(history[1].episodes > 0 && Number.isFinite(history[1].episodic_return_mean));
  assert.equal(meta.metrics.envSteps, 2048);
});

test('older checkpoints with the reward twice read as the top-level reward, the one the updates used', async () => {
  const dir = await savedCopy();
  const metaFile = path.join(dir, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  // As live fine-tuning used to write them: the parent's config, the live run's reward.
  meta.config.reward = 'classic';
  meta.reward.name = 'total-throughput';
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  const loaded = loadCheckpoint(dir);
  assert.equal(trainedRewardName(loaded.meta), 'total-throughput');
  assert.equal((loaded.meta.config as { reward?: string }).reward, undefined);
  // As the policy server used to write them: a reward no consumer can compute.
  meta.reward.name = 'client-reported';
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  assert.throws(() => trainedRewardName(readCheckpointMeta(dir)), /client-reported.*--reward/);
});

test('readHistory names the line of a malformed record and ignores a torn last line', () => {
  const dir = tempRoot();
  const file = path.join(dir, 'history.jsonl');
  const line = (i: number) => JSON.stringify({ iteration: i, env_steps: 64 * i, episodes: 0, episodic_return_mean: null, policy_loss: -0.01, time: 'T' });
  fs.writeFileSync(file, `${line(1)}\n${line(2)}\n{"iteration": 3, "env_st`);
  assert.deepEqual(readHistory(dir).map((r) => r.iteration), [1, 2]);
  fs.writeFileSync(file, `${line(1)}\n{"iteration": 2, "env_st\n${line(3)}\n`);
  assert.throws(() => readHistory(dir), (err: unknown) => err instanceof HistoryError && err.line === 2 && /history\.jsonl:2: not valid JSON/.test(err.message));
  fs.writeFileSync(file, `${line(1)}\n${JSON.stringify({ iteration: 2, env_steps: 128, policy_loss: 'low' })}\n`);
  assert.throws(() => readHistory(file), /history\.jsonl:2: policy_loss must be a number or null, got "low"/);
  fs.writeFileSync(file, `[1, 2]\n${line(2)}\n`);
  assert.throws(() => readHistory(dir), /history\.jsonl:1: expected a JSON object/);
  fs.rmSync(file);
  assert.throws(() => readHistory(dir), /history\.jsonl: missing/);
});

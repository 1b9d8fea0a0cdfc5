import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/agent/backend';
import { clippedSurrogateLoss, computeGae, ppoConfig, PpoTrainer, RolloutCollector, train } from '../src/agent/ppo';
import { defaultNetworkSpec, initPolicyWeights, PpoPolicy, sampleFromLogits } from '../src/agent/policy';
import { evaluateExact, greedyActionsOfRows } from '../src/agent/evaluate';
import { evaluateRowPolicy } from '../src/agent/optimal';
import { DatasetModel } from '../src/env/dataset-env';
import { VectorDatasetEnv } from '../src/env/vector-env';
import { Rng } from '../src/random';
import { ACTION_COUNT } from '../src/space';

const model = new DatasetModel();

test('GAE matches a hand-worked example with a truncation in it', () => {
  // One environment, three steps; the episode is truncated after step 1, whose final observation
  // is worth 4, and a new episode starts at step 2. gamma = lambda = 0.5.
  //   t=2: delta = 1 + 0.5*10 - 3 = 3                  A = 3
  //   t=1: reward 1 + 0.5*4 = 3, no bootstrap from t=2: delta = 3 - 2 = 1, A = 1
  //   t=0: delta = 1 + 0.5*2 - 1 = 1,                  A = 1 + 0.25*1 = 1.25
  const { advantages, returns } = computeGae(
    {
      numSteps: 3,
      numEnvs: 1,
      values: Float32Array.of(1, 2, 3),
      rewards: Float32Array.of(1, 1, 1),
      dones: Uint8Array.of(0, 1, 0),
      truncatedValues: Float32Array.of(0, 4, 0),
      nextValues: Float32Array.of(10),
    },
    0.5,
    0.5,
  );
  assert.deepEqual(Array.from(advantages), [1.25, 1, 3]);
  assert.deepEqual(Array.from(returns), [2.25, 3, 6]);
});

test('GAE keeps parallel environments apart (time-major layout)', () => {
  // Two environments over two steps: entries [t0e0, t0e1, t1e0, t1e1]; gamma 1, lambda 1.
  const { advantages } = computeGae(
    {
      numSteps: 2,
      numEnvs: 2,
      values: Float32Array.of(0, 0, 0, 0),
      rewards: Float32Array.of(1, 10, 2, 20),
      dones: Uint8Array.of(0, 0, 0, 0),
      truncatedValues: new Float32Array(4),
      nextValues: Float32Array.of(100, 1000),
    },
    1,
    1,
  );
  assert.deepEqual(Array.from(advantages), [103, 1030, 102, 1020]);
});

test('the clipped surrogate objective matches hand values', async () => {
  await initBackend();
  // ratios 0.5, 1, 1.5, 1.5 with advantages 1, 1, 1, -1 and clip 0.2:
  //   max(-0.5, -0.8) = -0.5; max(-1, -1) = -1; max(-1.5, -1.2) = -1.2; max(1.5, 1.2) = 1.5
  //   mean = (-0.5 - 1 - 1.2 + 1.5) / 4 = -0.3
  const loss = tf.tidy(() =>
    clippedSurrogateLoss(tf.log(tf.tensor1d([0.5, 1, 1.5, 1.5])) as tf.Tensor1D, tf.tensor1d([1, 1, 1, -1]), 0.2).dataSync()[0],
  );
  assert.ok(Math.abs(loss - -0.3) < 1e-6, `loss ${loss}`);
});

test('masked sampling never picks a forbidden action, however likely it is', () => {
  const rng = new Rng(7);
  const logits = Float32Array.of(50, 0, 0, 50, 0, 0, 0);
  const mask = Uint8Array.of(0, 1, 1, 0, 1, 1, 1);
  for (let k = 0; k < 5000; k++) {
    const { action, logProb } = sampleFromLogits(logits, 0, ACTION_COUNT, rng, mask);
    assert.ok(mask[action] === 1, `picked forbidden action ${action}`);
    assert.ok(Math.abs(logProb - Math.log(1 / 5)) < 1e-6);
  }
});

test('masked rollouts and masked greedy actions never make an invalid move', async () => {
  await initBackend();
  // A policy biased hard towards DECREASE_REPLICA (2), which is invalid at 1 replica.
  const weights = initPolicyWeights(defaultNetworkSpec([16, 16]), new Rng(3));
  weights.actor.layers[2].bias[2] = 100;
  const envs = new VectorDatasetEnv(32, { model, start: { kind: 'random-row' }, seed: 5 });
  envs.reset(5);
  const trajectory = new RolloutCollector(envs, 200, new Rng(9), true).collect(weights);
  for (let k = 0; k < trajectory.actions.length; k++) {
    assert.equal(trajectory.masks![k * ACTION_COUNT + trajectory.actions[k]], 1, `step ${k}: action ${trajectory.actions[k]} is masked`);
    assert.notEqual(trajectory.rewards[k], model.reward.invalidPenalty);
  }
  const actions = greedyActionsOfRows(new PpoPolicy(weights), model, true);
  for (let row = 0; row < actions.length; row++) {
    assert.ok(model.next[model.table.config[row] * ACTION_COUNT + actions[row]] >= 0, `row ${row}: invalid greedy action ${actions[row]}`);
  }
  // Without the mask the same policy does walk into the wall: the mask is what prevents it.
  const unmasked = greedyActionsOfRows(new PpoPolicy(weights), model, false);
  assert.ok(unmasked.some((a, row) => model.next[model.table.config[row] * ACTION_COUNT + a] < 0));
});

test('the same seed and backend give the same training result', async () => {
  const config = ppoConfig({ seed: 11, totalSteps: 2048, numEnvs: 8, numSteps: 128 });
  const a = await train(config, { model });
  const b = await train(config, { model });
  assert.deepEqual(a.policy.getWeights(), b.policy.getWeights());
  const c = await train({ ...config, seed: 12 }, { model });
  assert.notDeepEqual(a.policy.getWeights().actor.layers[0].kernel, c.policy.getWeights().actor.layers[0].kernel);
});

test('a short seeded training run beats the do-nothing baseline by a clear margin', async () => {
  const start = { kind: 'random-row' } as const;
  const doNothing = evaluateRowPolicy(model, new Uint8Array(model.table.rowCount), start);
  const result = await train(ppoConfig({ seed: 1, totalSteps: 24_576 }), { model });
  const trained = evaluateExact(result.policy, model, start);
  // do-nothing is about -8.3 and the optimum about 17.9 from random rows.
  assert.ok(trained.value > doNothing + 15, `trained ${trained.value.toFixed(2)} vs do-nothing ${doNothing.toFixed(2)}`);
  assert.ok(trained.fraction > 0.8, `fraction of optimum ${trained.fraction.toFixed(3)}`);
  const last = result.history[result.history.length - 1];
  for (const key of ['policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'stepsPerSecond'] as const) {
    assert.ok(Number.isFinite(last[key]), `${key} = ${last[key]}`);
  }
  assert.ok(last.episodicReturn !== null && last.envSteps >= 24_576);
});

test('PpoTrainer reports training time that excludes the caller\'s pauses', async () => {
  const trainer = await PpoTrainer.create(ppoConfig({ seed: 2, totalSteps: 2048, numEnvs: 8, numSteps: 128 }), { model });
  try {
    // Counted, the pause alone would make the second iteration longer than it; one iteration takes
    // a fraction of it even on a loaded machine.
    const pauseSeconds = 2;
    const first = trainer.step();
    await new Promise((resolve) => setTimeout(resolve, pauseSeconds * 1000));
    const second = trainer.step();
    const counted = second.trainingSeconds - first.trainingSeconds;
    assert.ok(counted > 0 && counted < pauseSeconds, `the second iteration counted ${counted} s`);
    assert.equal(second.envSteps, 2048);
    assert.ok(trainer.done);
  } finally {
    trainer.dispose();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doNothingPolicy } from '../src/agent/baselines';
import { evaluatePolicy, returnStatistics, runEpisode, runEpisodeSync, type Policy } from '../src/agent/episode';
import { DatasetModel, makeDatasetEnv } from '../src/env/dataset-env';
import { Action } from '../src/space';

const model = new DatasetModel();

test('the confidence interval uses the t quantile of the sample size', () => {
  const stats = returnStatistics([1, 2, 3]);
  assert.equal(stats.mean, 2);
  assert.equal(stats.std, 1);
  assert.ok(Math.abs(stats.stderr - 1 / Math.sqrt(3)) < 1e-12);
  const half = 4.303 / Math.sqrt(3); // t(0.975, df = 2)
  assert.ok(Math.abs(stats.ci95[0] - (2 - half)) < 1e-12 && Math.abs(stats.ci95[1] - (2 + half)) < 1e-12);
  assert.ok(returnStatistics([5]).ci95.every(Number.isNaN), 'one episode gives no interval');
  assert.throws(() => returnStatistics([]), /no episode/);
});

test('an episode runs to the time limit, the same with and without promises', async () => {
  const seen: number[] = [];
  const upAndDown: Policy = { name: 'up-down', act: (obs) => (obs.replicas > 1 ? Action.DECREASE_REPLICA : Action.INCREASE_CPU) };
  const sync = runEpisodeSync(makeDatasetEnv({ model, start: { kind: 'random-row' } }), upAndDown, 4, { onStep: (_, a) => seen.push(a) });
  const viaPromises = await runEpisode(makeDatasetEnv({ model, start: { kind: 'random-row' } }), upAndDown, 4);
  assert.deepEqual(viaPromises, sync);
  assert.equal(sync.actions.length, 50);
  assert.equal(sync.observations.length, 51);
  assert.deepEqual(seen, sync.actions);
  assert.ok(Math.abs(sync.return - sync.rewards.reduce((s, r) => s + r, 0)) < 1e-9);
});

test('evaluatePolicy seeds each episode, so an evaluation replays exactly', () => {
  const env = makeDatasetEnv({ model, start: { kind: 'random-row' } });
  const a = evaluatePolicy(env, doNothingPolicy(), { episodes: 5, seed: 3 });
  const b = evaluatePolicy(env, doNothingPolicy(), { episodes: 5, seed: 3 });
  assert.deepEqual(a, b);
  assert.equal(new Set(a.returns).size > 1, true, 'different episodes start from different rows');
  assert.throws(() => evaluatePolicy(env, doNothingPolicy(), { episodes: 0 }), /positive integer/);
});

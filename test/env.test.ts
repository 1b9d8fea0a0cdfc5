import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTeastoreData } from '../src/data';
import { DatasetEnv, DatasetModel, makeDatasetEnv } from '../src/env/dataset-env';
import { VectorDatasetEnv } from '../src/env/vector-env';
import { parseStart } from '../src/env/start';
import { Action, encodeObservation, OBSERVATION_SIZE } from '../src/space';
import { Rng } from '../src/random';

const table = loadTeastoreData();
const OUT_MAX = 7252.733;
const COST_MAX = 0.2692;

function trajectory(seed: number): number[] {
  const env = new DatasetEnv({ seed, start: { kind: 'random-row' } });
  const rng = new Rng(99);
  const rows = [env.reset().info.row!];
  for (let i = 0; i < 50; i++) rows.push(env.step(rng.int(7)).info.row!);
  return rows;
}

test('the same seed gives the same trajectory, another seed another one', () => {
  assert.deepEqual(trajectory(7), trajectory(7));
  assert.notDeepEqual(trajectory(7), trajectory(8));
});

test('reset({seed}) replays the episode exactly', () => {
  const env = new DatasetEnv({ start: { kind: 'random-row' } });
  const run = () => {
    const rows = [env.reset({ seed: 3 }).info.row];
    for (let i = 0; i < 10; i++) rows.push(env.step(Action.INCREASE_CPU).info.row);
    return rows;
  };
  assert.deepEqual(run(), run());
});

test('episodes last 50 steps and end truncated, never terminated', () => {
  const env = makeDatasetEnv({ seed: 1 });
  env.reset();
  for (let i = 1; i <= 50; i++) {
    const step = env.step(Action.DECREASE_REPLICA);
    assert.equal(step.terminated, false);
    assert.equal(step.truncated, i === 50, `step ${i}`);
  }
  assert.throws(() => env.step(0), /episode is over after 50 steps/);
});

test('an invalid move keeps the state, pays the penalty and reports the current metrics', () => {
  const env = new DatasetEnv({ seed: 1 }); // row 558: 9 replicas, 100m CPU, 100 MB heap
  const start = env.reset();
  assert.deepEqual(start.info.config, { replicas: 9, cpuMillis: 100, heapMB: 100 });
  const step = env.step(Action.INCREASE_REPLICA);
  assert.equal(step.info.invalidAction, true);
  assert.equal(step.reward, -5);
  assert.deepEqual(step.observation, start.observation);
  assert.equal(step.info.row, 558);
  assert.equal(step.info.metrics.outgoingPacketsPerSec, table.outgoingPacketsPerSec[558]);
  assert.notEqual(step.info.metrics.outgoingPacketsPerSec, table.outgoingPacketsPerSec[0]);
  assert.deepEqual(env.actionMask(), [true, false, true, true, false, true, false]);
});

test('the classic reward of a step is the formula on the sampled row', () => {
  const env = new DatasetEnv({ seed: 5, start: { kind: 'random-row' } });
  env.reset();
  const rng = new Rng(1);
  let checked = 0;
  for (let i = 0; i < 50; i++) {
    const step = env.step(rng.int(7));
    if (step.info.invalidAction) continue;
    const row = step.info.row!;
    const out = table.outgoingPacketsPerSec[row];
    const expected = Number.isNaN(out) ? 0 : out / OUT_MAX - table.costPerHour[row] / COST_MAX;
    assert.ok(Math.abs(step.reward - expected) < 1e-9, `row ${row}: ${step.reward} vs ${expected}`);
    assert.equal(step.info.config.replicas, table.replicas[row]);
    assert.equal(step.info.config.heapMB, table.heapMB[row]);
    checked++;
  }
  assert.ok(checked > 20);
});

test('the total-throughput reward multiplies per-pod throughput by replicas', () => {
  const model = new DatasetModel({ reward: 'total-throughput' });
  let maxTotal = 0;
  for (let r = 0; r < table.rowCount; r++) if (!Number.isNaN(table.outgoingPacketsPerSec[r])) maxTotal = Math.max(maxTotal, table.outgoingPacketsPerSec[r] * table.replicas[r]);
  for (const row of [0, 558, 3020, 21167]) {
    const expected = (table.outgoingPacketsPerSec[row] * table.replicas[row]) / maxTotal - table.costPerHour[row] / COST_MAX;
    assert.ok(Math.abs(model.rewards[row] - expected) < 1e-9);
  }
});

test('a config start begins in that configuration', () => {
  const env = new DatasetEnv({ start: parseStart('config:3,700,200'), seed: 2 });
  assert.deepEqual(env.reset().info.config, { replicas: 3, cpuMillis: 700, heapMB: 200 });
  assert.throws(() => parseStart('config:3,750,200'), /cpuMillis = 750/);
  assert.throws(() => new DatasetEnv({ start: { kind: 'row', row: 21168 } }), /outside the dataset's rows/);
});

test('the vectorised environment matches the model and autoresets at the time limit', () => {
  const vec = new VectorDatasetEnv(4, { seed: 11, start: { kind: 'row', row: 558 } });
  vec.reset();
  const actions = new Int32Array([Action.DECREASE_REPLICA, Action.INCREASE_REPLICA, Action.INCREASE_CPU, Action.DO_NOTHING]);
  for (let t = 1; t <= 50; t++) {
    const rowsBefore = vec.rows.slice();
    const step = vec.step(actions);
    assert.equal(step.invalid[1], 1, 'increasing 9 replicas is invalid');
    assert.equal(step.rewards[1], -5);
    // 9 -> 1 replicas and 100m -> 900m CPU take 8 valid steps; after that the moves are refused.
    assert.equal(step.invalid[0], t <= 8 ? 0 : 1);
    assert.equal(step.invalid[2], t <= 8 ? 0 : 1);
    assert.equal(step.invalid[3], 0);
    if (t < 50) {
      assert.equal(vec.rows[1], rowsBefore[1]);
      assert.ok(Math.abs(step.rewards[0] - (t <= 8 ? vec.model.rewards[vec.rows[0]] : -5)) < 1e-6);
      const expected = encodeObservation(vec.model.observation(vec.rows[2]));
      assert.deepEqual(Array.from(vec.observations.subarray(2 * OBSERVATION_SIZE, 3 * OBSERVATION_SIZE)), Array.from(expected));
    } else {
      assert.deepEqual(Array.from(step.truncated), [1, 1, 1, 1]);
      assert.deepEqual(Array.from(step.terminated), [0, 0, 0, 0]);
      assert.equal(vec.rows[0], 558, 'reset to the start row');
      assert.equal(step.finalObservations[0 * OBSERVATION_SIZE + 0], 1, 'environment 0 ended at 1 replica');
    }
  }
  const episodes = vec.drainCompletedEpisodes();
  assert.equal(episodes.length, 4);
  assert.ok(episodes.every((e) => e.length === 50));
  assert.ok(Math.abs(episodes[1].return - -250) < 1e-9);
});

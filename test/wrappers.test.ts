/**
 * The episode wrappers on small stand-in environments, synchronous and asynchronous, and on the
 * dataset replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderEnforcing, RecordEpisodeStatistics, ResetNeeded, TimeLimit, withEpisodeWrappers } from '../src/env/episode-wrappers';
import { DatasetEnv, makeDatasetEnv } from '../src/env/dataset-env';
import type { Env, ResetOptions, ResetResult, StepResult, SyncEnv } from '../src/env/types';

const CONFIG = { replicas: 1, cpuMillis: 100, heapMB: 100 };
const METRICS = { incomingPacketsPerSec: 0, outgoingPacketsPerSec: 0, usedCpuCores: 0, usedRamGiB: 0, costPerHour: 0 };

/** Reward = the action; terminates after `terminateAt` steps when given; no time limit of its own. */
class CountingEnv implements SyncEnv {
  readonly actionCount = 7;
  steps = 0;
  resets = 0;
  constructor(private readonly terminateAt = Infinity) {}
  reset(options: ResetOptions = {}): ResetResult {
    this.resets++;
    this.steps = options.resumeAfterStep ?? 0;
    return { observation: { ...CONFIG, usedCpu: 0, usedRam: 0 }, info: { config: CONFIG, metrics: METRICS, invalidAction: false, step: this.steps } };
  }
  step(action: number): StepResult {
    this.steps++;
    return { observation: { ...CONFIG, usedCpu: 0, usedRam: 0 }, reward: action, terminated: this.steps >= this.terminateAt, truncated: false, info: { config: CONFIG, metrics: METRICS, invalidAction: false, step: this.steps } };
  }
  actionMask(): boolean[] {
    return new Array<boolean>(7).fill(true);
  }
}

/** The same answers as promises, as the live environment gives them. */
class AsyncCountingEnv implements Env {
  readonly actionCount = 7;
  private readonly inner: CountingEnv;
  constructor(terminateAt?: number) {
    this.inner = new CountingEnv(terminateAt);
  }
  async reset(options?: ResetOptions): Promise<ResetResult> {
    return this.inner.reset(options);
  }
  async step(action: number): Promise<StepResult> {
    return this.inner.step(action);
  }
  actionMask(): boolean[] {
    return this.inner.actionMask();
  }
}

test('TimeLimit truncates at maxSteps, never terminates, and starts counting again at reset', () => {
  const env = new TimeLimit(new CountingEnv(), 3);
  for (let episode = 0; episode < 2; episode++) {
    env.reset();
    const flags = [1, 2, 3].map(() => env.step(0));
    assert.deepEqual(flags.map((s) => s.truncated), [false, false, true]);
    assert.ok(flags.every((s) => !s.terminated));
    assert.equal(env.elapsedSteps, 3);
  }
});

test('TimeLimit stays synchronous over a synchronous environment and works over an asynchronous one', async () => {
  const sync = new TimeLimit(new CountingEnv(), 1);
  assert.ok(!(sync.reset() instanceof Promise));
  const step = sync.step(0);
  assert.ok(!(step instanceof Promise));
  assert.equal(step.truncated, true);

  const live = new TimeLimit(new AsyncCountingEnv(), 2);
  await live.reset();
  assert.equal((await live.step(0)).truncated, false);
  assert.equal((await live.step(0)).truncated, true);
});

test('TimeLimit counts the steps before a resume towards the limit', async () => {
  const env = new TimeLimit(new AsyncCountingEnv(), 5);
  await env.reset({ resumeAfterStep: 3 });
  assert.equal((await env.step(0)).truncated, false);
  assert.equal((await env.step(0)).truncated, true);
});

test('TimeLimit leaves a terminal step terminated and refuses a limit that is not a positive integer', () => {
  const env = new TimeLimit(new CountingEnv(2), 2);
  env.reset();
  env.step(0);
  const last = env.step(0);
  assert.equal(last.terminated, true);
  assert.equal(last.truncated, true);
  assert.throws(() => new TimeLimit(new CountingEnv(), 0), /positive integer/);
  assert.throws(() => new TimeLimit(new CountingEnv(), 2.5), /positive integer/);
});

test('OrderEnforcing refuses a step before the first reset, without touching the environment', () => {
  const inner = new CountingEnv();
  const env = new OrderEnforcing(inner);
  assert.throws(() => env.step(0), (err: Error) => err instanceof ResetNeeded && /step\(\) called before reset\(\)/.test(err.message));
  assert.equal(inner.steps, 0);
  env.reset();
  assert.equal(env.step(0).info.step, 1);
});

test('OrderEnforcing refuses a step after the episode ended, until the next reset', async () => {
  const env = new OrderEnforcing(new AsyncCountingEnv(2));
  await env.reset();
  await env.step(0);
  assert.equal((await env.step(0)).terminated, true);
  assert.throws(() => env.step(0), /episode is over after 2 steps; call reset\(\)/);
  await env.reset();
  assert.equal((await env.step(0)).info.step, 1);
});

test('OrderEnforcing stays closed when the reset fails', async () => {
  const failing = new AsyncCountingEnv();
  failing.reset = async () => {
    throw new Error('cluster unreachable');
  };
  const env = new OrderEnforcing(failing);
  await assert.rejects(env.reset(), /cluster unreachable/);
  assert.throws(() => env.step(0), ResetNeeded);
});

test('RecordEpisodeStatistics reports return and length on the last step only', () => {
  const env = new RecordEpisodeStatistics(new TimeLimit(new CountingEnv(), 3));
  for (let episode = 0; episode < 2; episode++) {
    env.reset();
    const steps = [2, 5, 1].map((a) => env.step(a));
    assert.equal(steps[0].info.episode, undefined);
    assert.equal(steps[1].info.episode, undefined);
    const stats = steps[2].info.episode!;
    assert.equal(stats.return, 8);
    assert.equal(stats.length, 3);
    assert.ok(stats.seconds >= 0 && stats.seconds < 5);
  }
});

test('RecordEpisodeStatistics counts a terminated episode and leaves a resumed one without statistics', async () => {
  const env = new RecordEpisodeStatistics(new AsyncCountingEnv(2));
  await env.reset();
  await env.step(3);
  assert.deepEqual({ ...(await env.step(4)).info.episode!, seconds: 0 }, { return: 7, length: 2, seconds: 0 });
  await env.reset({ resumeAfterStep: 1 });
  assert.equal((await env.step(3)).info.episode, undefined);
});

test('the episode wrappers compose: truncation at the limit, then the order check', () => {
  const env = withEpisodeWrappers(new CountingEnv(), 2);
  assert.ok(env.unwrapped instanceof CountingEnv);
  assert.throws(() => env.step(0), ResetNeeded);
  env.reset();
  env.step(1);
  const last = env.step(1);
  assert.equal(last.truncated, true);
  assert.deepEqual({ ...last.info.episode!, seconds: 0 }, { return: 2, length: 2, seconds: 0 });
  assert.throws(() => env.step(0), /episode is over after 2 steps/);
});

test('the dataset replay itself has no time limit; makeDatasetEnv gives it one', () => {
  const bare = new DatasetEnv({ seed: 1 });
  bare.reset();
  for (let i = 0; i < 60; i++) assert.equal(bare.step(0).truncated, false);
  const wrapped = makeDatasetEnv({ seed: 1, maxSteps: 5 });
  assert.ok(wrapped.unwrapped instanceof DatasetEnv);
  assert.throws(() => wrapped.step(0), /before reset/);
  wrapped.reset();
  const steps = Array.from({ length: 5 }, () => wrapped.step(0));
  assert.deepEqual(steps.map((s) => s.truncated), [false, false, false, false, true]);
  assert.equal(steps[4].info.episode!.length, 5);
  assert.throws(() => bare.reset({ resumeAfterStep: 3 }), /cannot resume/);
});

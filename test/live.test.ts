/**
 * The live environment end to end on the cluster simulator with a real Prometheus.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpointMeta, saveTrainResult } from '../src/agent/checkpoint';
import { readHistory } from '../src/agent/history';
import { ppoConfig, train } from '../src/agent/ppo';
import { ClusterEnv, makeClusterEnv } from '../src/env/cluster-env';
import { readStepLog, StepLog } from '../src/env/step-log';
import { StepLogger } from '../src/env/wrappers';
import { runLive } from '../src/live/run';
import { startSimulatorStack, type SimulatorStack } from '../src/live/simulator-stack';
import { loadCheckpoint } from '../src/agent/checkpoint';
import { Action } from '../src/space';

const ROOT = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'rl-live-'));
const TIMINGS = { warmupMs: 1500, windowSeconds: 3 };
let stack: SimulatorStack;
let checkpoint: string;

before(async () => {
  // Not the default reward, so that a live run or a fine-tuned checkpoint falling back to it shows.
  const result = await train(ppoConfig({ totalSteps: 20_000, seed: 3 }), { reward: 'total-throughput' });
  checkpoint = await saveTrainResult(path.join(dir, 'offline'), result);
  stack = await startSimulatorStack({ seed: 5 });
});

after(async () => {
  await stack?.stop();
});

function patchesOfDeployment() {
  return stack.simulator.receivedPatches().filter((p) => JSON.stringify(p).includes('deployments'));
}

test('an offline checkpoint acts live, and every step is applied, measured and logged', async () => {
  const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, timings: TIMINGS, startConfig: { replicas: 2, cpuMillis: 500, heapMB: 500 } });
  const logFile = path.join(dir, 'episode.jsonl');
  const result = await runLive(env, { mode: 'test', checkpoint, episodes: 1, steps: 3, seed: 1 }, logFile, path.join(dir, 'ckpt'));
  assert.deepEqual(result.comparison!.map((r) => r.policy), ['ppo', 'static-best', 'threshold']);
  for (const row of result.comparison!) {
    assert.equal(row.episodes, 1);
    assert.ok(Number.isFinite(row.meanReturn), `${row.policy} return ${row.meanReturn}`);
  }
  const { records, tornLine } = readStepLog(logFile);
  assert.equal(tornLine, undefined);
  const steps = records.filter((r) => r.type === 'step');
  assert.equal(steps.length, 9);
  for (const s of steps) {
    const info = s.info as { metrics: Record<string, number>; timings: Record<string, number>; config: { replicas: number } };
    for (const v of Object.values(info.metrics)) assert.ok(Number.isFinite(v));
    assert.ok(info.timings.totalMs >= info.timings.measureMs);
    assert.ok(info.metrics.usedCpuCores > 0);
  }
  // The static-best policy heads for 1 replica: the simulator's deployment must have followed.
  const lastStatic = steps.filter((s) => s.policy === 'static-best').pop()!;
  assert.equal((lastStatic.configAfter as { replicas: number }).replicas, 1);
  assert.equal((await stack.kube.readConfig()).replicas, (steps[steps.length - 1].configAfter as { replicas: number }).replicas);
  assert.equal(records[records.length - 1].type, 'end');
});

test('bounds refuse a move without touching the deployment, and a dry run applies nothing', async () => {
  await stack.kube.applyConfig({ replicas: 2, cpuMillis: 500, heapMB: 500 });
  await stack.kube.waitForRollout();
  const bounded = new ClusterEnv({
    kube: stack.kube,
    metrics: stack.metrics,
    timings: TIMINGS,
    bounds: { min: { replicas: 1, cpuMillis: 100, heapMB: 100 }, max: { replicas: 2, cpuMillis: 500, heapMB: 900 } },
  });
  await bounded.reset();
  assert.deepEqual(bounded.actionMask(), [true, false, true, false, true, true, true]);
  stack.simulator.clearReceived();
  const refused = await bounded.step(Action.INCREASE_REPLICA);
  assert.equal(refused.info.invalidAction, true);
  assert.equal(refused.reward, bounded.reward.invalidPenalty);
  assert.equal(patchesOfDeployment().length, 0);

  const dry = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, timings: TIMINGS, dryRun: true, startConfig: { replicas: 5, cpuMillis: 900, heapMB: 900 } });
  await dry.reset();
  const step = await dry.step(Action.DECREASE_REPLICA);
  assert.equal(step.info.applied, false);
  assert.equal(step.info.dryRun, true);
  assert.equal(patchesOfDeployment().length, 0);
  assert.deepEqual(await stack.kube.readConfig(), { replicas: 2, cpuMillis: 500, heapMB: 500 });
});

test('fine-tuning checkpoints after each update and names the parent', async () => {
  const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward: 'total-throughput', timings: TIMINGS, startConfig: { replicas: 1, cpuMillis: 500, heapMB: 500 } });
  const logFile = path.join(dir, 'finetune.jsonl');
  const result = await runLive(env, { mode: 'finetune', checkpoint, episodes: 2, steps: 3, seed: 2, finetune: { batchSteps: 3 } }, logFile, path.join(dir, 'ckpt'));
  assert.equal(result.updates!.length, 2);
  const first = loadCheckpoint(result.updates![0].checkpoint);
  const second = loadCheckpoint(result.updates![1].checkpoint);
  assert.equal(first.meta.parent, checkpoint);
  assert.equal(second.meta.parent, first.dir);
  assert.notDeepEqual(Array.from(second.weights.actor.layers[0].kernel.slice(0, 20)), Array.from(loadCheckpoint(checkpoint).weights.actor.layers[0].kernel.slice(0, 20)));
  const checkpoints = readStepLog(logFile).records.filter((r) => r.type === 'checkpoint');
  assert.equal(checkpoints.length, 2);
  // Each records the reward of the experience it was tuned on, once, and the run's updates so far.
  for (const c of [first, second]) {
    assert.equal(c.meta.reward.name, 'total-throughput');
    assert.equal(JSON.parse(readFileSync(path.join(c.dir, 'meta.json'), 'utf8')).config.reward, undefined);
    assert.equal(c.meta.preset, 'live-finetune');
  }
  const history = readHistory(second.dir);
  assert.deepEqual(history.map((r) => [r.iteration, r.env_steps, r.episodes]), [[1, 3, 1], [2, 6, 1]]);
  assert.ok(history.every((r) => Number.isFinite(r.policy_loss) && Number.isFinite(r.episodic_return_mean) && Number.isFinite(r.steps_per_s)));
  assert.equal(readHistory(first.dir).length, 1);
});

test('Prometheus stopped mid-episode gives a clear error and the log keeps every completed step', async () => {
  const local = await startSimulatorStack({ seed: 9, metricTimeoutMs: 1500 });
  try {
    const logFile = path.join(dir, 'outage.jsonl');
    const log = new StepLog(logFile);
    const env = new StepLogger(makeClusterEnv({ kube: local.kube, metrics: local.metrics, maxSteps: 5, timings: TIMINGS }), log, { runId: 'outage' });
    await env.reset();
    await env.step(Action.DO_NOTHING);
    await env.step(Action.INCREASE_CPU);
    await local.prometheus.stop();
    await assert.rejects(env.step(Action.DO_NOTHING), /Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    log.close();
    const records = readStepLog(logFile).records;
    assert.deepEqual(records.map((r) => r.type), ['reset', 'step', 'step', 'error']);
    assert.match(String(records[3].error), /unreachable/);
  } finally {
    await local.stop();
  }
});

test('a live run killed with SIGKILL keeps every completed step and resumes', async () => {
  const logFile = path.join(dir, 'killed.jsonl');
  const args = ['bin/rl-autoscaler.js', 'live', '--simulator', '--checkpoint', checkpoint, '--episodes', '1', '--steps', '3', '--log', logFile, '--warmup-ms', '1500', '--checkpoints', path.join(dir, 'ckpt')];
  // Its own process group, so the kill takes the simulator's Prometheus child along.
  const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: 'ignore' });
  const stepsLogged = () => (existsSync(logFile) ? readStepLog(logFile).records.filter((r) => r.type === 'step').length : 0);
  const deadline = Date.now() + 90_000;
  while (stepsLogged() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const before = readStepLog(logFile).records.filter((r) => r.type === 'step');
  assert.ok(before.length >= 4, `${before.length} steps logged before the kill`);
  assert.ok(!readFileSync(logFile, 'utf8').includes('"type":"end"'));

  const resumed = spawn(process.execPath, ['bin/rl-autoscaler.js', 'live', '--simulator', '--resume', '--log', logFile, '--checkpoints', path.join(dir, 'ckpt'), '--warmup-ms', '1500'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  resumed.stdout.on('data', (d) => (output += d));
  resumed.stderr.on('data', (d) => (output += d));
  const code = await new Promise((r) => resumed.once('exit', r));
  assert.equal(code, 0, output);
  assert.match(output, /\(resumed\)/);
  const records = readStepLog(logFile).records;
  const steps = records.filter((r) => r.type === 'step');
  // Every step from before the kill is still there, in order, and the run completed: 3 policies x 3 steps.
  assert.deepEqual(steps.slice(0, before.length), before);
  assert.equal(steps.length, 9);
  assert.equal(records.filter((r) => r.type === 'end').length, 1);
  // Without --reward the run used the reward the checkpoint was trained on.
  const header = records.find((r) => r.type === 'run') as { reward: { name: string } } | undefined;
  assert.equal(header?.reward.name, readCheckpointMeta(checkpoint).reward.name);
  assert.equal(header?.reward.name, 'total-throughput');
});

/**
 * Environment runners feeding one policy server, against single-process training.
 *
 * For 1, 2 and 4 runners: a policy server in its own process (`rl-autoscaler serve`, learner
 * thread, experience fsynced as always) and N `rl-autoscaler runner --env dataset` processes,
 * each acting with its copy of the policy and reporting batches of BENCH_RUNNER_BATCH steps
 * (default 256), the learner thread at the process's priority (BENCH_LEARNER_NICENESS, default 0).
 * This process polls the server's weights and computes each new version's exact
 * fraction of the classic optimum (greedy policy, random-row starts, 50 steps: src/agent/optimal.ts),
 * off the server's clock. Each setting runs until 95% of the optimum or BENCH_SECONDS (default
 * 90 s for 4 runners and for the single process, 30 s for 1 and 2 runners).
 *
 * Single-process training: `train()` in this process with the server's PPO settings (batch of
 * BENCH_TRAIN_BATCH = 1024 steps, learning rate, minibatch and epochs of the policy-server
 * preset) over 16 vectorised dataset environments, evaluated the same way.
 *
 * steps/s counts the experience the server acknowledged per second of wall time.
 * Last line: `RESULT runners steps_per_s_1=A steps_per_s_2=B steps_per_s_4=C seconds_to_95_4=D`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/agent/backend';
import { evaluateExact } from '../src/agent/evaluate';
import { PpoPolicy } from '../src/agent/policy';
import { ppoConfig, PRESETS, train } from '../src/agent/ppo';
import { DatasetModel } from '../src/env/dataset-env';
import { PolicyClient } from '../src/server/client';
import { decodeWeights } from '../src/server/weights-codec';

const BIN = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');
const TRAIN_BATCH = Number(process.env.BENCH_TRAIN_BATCH ?? 1024);
const RUNNER_BATCH = Number(process.env.BENCH_RUNNER_BATCH ?? 256);
const LONG_SECONDS = Number(process.env.BENCH_SECONDS ?? 90);
const SHORT_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RANDOM_ROW = { kind: 'random-row' } as const;
/** Here learning speed is what counts: by default the learner shares the CPUs evenly. */
const LEARNER_NICENESS = Number(process.env.BENCH_LEARNER_NICENESS ?? 0);

interface RunResult {
  stepsPerSecond: number;
  secondsTo95: number;
  bestFraction: number;
  versions: number;
  droppedStale: number;
  seconds: number;
}

async function startServer(stateDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--state-dir', stateDir, '--train-batch', String(TRAIN_BATCH), '--seed', '1', '--learner-niceness', String(LEARNER_NICENESS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { url, child };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function runWithRunners(model: DatasetModel, runners: number, seconds: number): Promise<RunResult> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-runners-'));
  const server = await startServer(stateDir);
  const client = new PolicyClient(server.url);
  const acknowledged = new Array<number>(runners).fill(0);
  const children = Array.from({ length: runners }, (_, i) => {
    const child = spawn(process.execPath, [BIN, 'runner', '--server', server.url, '--env', 'dataset', '--steps', '100000000', '--batch', String(RUNNER_BATCH), '--max-steps', '50', '--start', 'random-row', '--seed', String(11 + i)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) if (line.startsWith('{')) acknowledged[i] = JSON.parse(line).steps;
    });
    return child;
  });
  const started = performance.now();
  const result: RunResult = { stepsPerSecond: 0, secondsTo95: Infinity, bestFraction: 0, versions: 0, droppedStale: 0, seconds: 0 };
  let version = -1;
  while ((performance.now() - started) / 1000 < seconds && result.secondsTo95 === Infinity) {
    await new Promise((r) => setTimeout(r, 200));
    const fresh = await client.weights(version);
    if (!fresh) continue;
    version = fresh.version;
    const at = (performance.now() - started) / 1000;
    const { fraction } = evaluateExact(new PpoPolicy(decodeWeights(fresh.weights)), model, RANDOM_ROW, { masked: true });
    result.bestFraction = Math.max(result.bestFraction, fraction);
    if (fraction >= 0.95) result.secondsTo95 = at;
  }
  result.seconds = (performance.now() - started) / 1000;
  const status = await client.status();
  result.versions = status.policy_version;
  result.droppedStale = status.learner?.dropped_stale_steps ?? 0;
  result.stepsPerSecond = acknowledged.reduce((a, b) => a + b, 0) / result.seconds;
  for (const child of children) child.kill('SIGKILL');
  await stop(server.child);
  fs.rmSync(stateDir, { recursive: true, force: true });
  return result;
}

async function singleProcess(model: DatasetModel, seconds: number): Promise<RunResult> {
  const server = PRESETS['policy-server'];
  const numEnvs = 16;
  const config = ppoConfig({
    seed: 1,
    numEnvs,
    numSteps: TRAIN_BATCH / numEnvs,
    totalSteps: 100_000_000,
    minibatchSize: server.minibatchSize,
    learningRate: server.learningRate,
    annealLearningRate: false,
    epochs: server.epochs,
  });
  const result: RunResult = { stepsPerSecond: 0, secondsTo95: Infinity, bestFraction: 0, versions: 0, droppedStale: 0, seconds: 0 };
  await train(config, {
    model,
    preset: 'fast',
    onIteration: (stats, trainer) => {
      const { fraction } = evaluateExact(trainer.policy(), model, RANDOM_ROW, { masked: config.maskActions });
      result.bestFraction = Math.max(result.bestFraction, fraction);
      result.versions++;
      result.seconds = stats.trainingSeconds;
      result.stepsPerSecond = stats.envSteps / stats.trainingSeconds;
      if (fraction >= 0.95 && result.secondsTo95 === Infinity) result.secondsTo95 = stats.trainingSeconds;
      return result.secondsTo95 === Infinity && stats.trainingSeconds < seconds;
    },
  });
  return result;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'never');

function describe(label: string, r: RunResult): string {
  return `${label}: ${Math.round(r.stepsPerSecond)} steps/s, 95% of the optimum at ${fmt(r.secondsTo95)} s (best ${fmt(100 * r.bestFraction)}%), ${r.versions} policy versions in ${fmt(r.seconds)} s, ${r.droppedStale} stale steps dropped`;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const model = new DatasetModel();
  console.log(`backend ${backend.name}; server train batch ${TRAIN_BATCH}, runner batch ${RUNNER_BATCH}, ${os.cpus().length} CPUs`);
  const single = await singleProcess(model, LONG_SECONDS);
  console.log(describe('single process (train(), same PPO settings, 16 environments)', single));
  const byRunners = new Map<number, RunResult>();
  for (const n of [1, 2, 4]) {
    const r = await runWithRunners(model, n, n === 4 ? LONG_SECONDS : SHORT_SECONDS);
    byRunners.set(n, r);
    console.log(describe(`${n} runner${n > 1 ? 's' : ''} through the server`, r));
  }
  const s = (n: number) => Math.round(byRunners.get(n)!.stepsPerSecond);
  console.log(`RESULT runners steps_per_s_1=${s(1)} steps_per_s_2=${s(2)} steps_per_s_4=${s(4)} seconds_to_95_4=${fmt(byRunners.get(4)!.secondsTo95)} single_process_steps_per_s=${Math.round(single.stepsPerSecond)} single_process_seconds_to_95=${fmt(single.secondsTo95)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Live runs under load with load-aware policies: request-level rewards computed from each window,
 * the test comparison (checkpoint, static-best for the profile, HPA) on the same episodes, and
 * fine-tuning a load-aware checkpoint that keeps its observation schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpointMeta, saveCheckpoint, type CheckpointMeta } from '../src/agent/checkpoint';
import { defaultNetworkSpec, initPolicyWeights } from '../src/agent/policy';
import { ppoConfig } from '../src/agent/ppo';
import { Rng } from '../src/random';
import { saveLoadCheckpoint, trainLoad } from '../src/agent/load-train';
import { ClusterEnv } from '../src/env/cluster-env';
import { LoadDynamics } from '../src/env/load-dynamics';
import { traceSource } from '../src/env/load-source';
import { readStepLog } from '../src/env/step-log';
import { GeneratedLoad, serveLiveLoadMetrics, type RequestStepMetrics } from '../src/live/live-load';
import { runLiveLoadDemo } from '../src/live/load-demo';
import { writeReport } from '../src/report';
import { liveRewardFor, makeLiveReward, requestMeasurementOf } from '../src/live/live-reward';
import { staticBestForProfile, summariseLiveLoad, type LiveLoadStep } from '../src/live/load-comparison';
import { runLive } from '../src/live/run';
import { liveLoadSetup } from '../src/commands/live-load-options';
import { formatComparison } from '../src/live/summary';
import { startSimulatorStack, type SimulatorStack } from '../src/live/simulator-stack';
import type { DeploymentClient } from '../src/kube';
import type { MetricsServer } from '../src/load/metrics';
import { parseProfileSpec } from '../src/load/profile-spec';
import { LOAD_SPACE_SCHEMA } from '../src/load-space';
import type { MetricClient } from '../src/metric';
import { teastoreModel } from '../src/model';
import { allocatedCores, makeRequestReward } from '../src/request-reward';
import type { Bounds, ScalingConfig } from '../src/space';

const ROOT = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'rl-live-load-policies-'));
const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 400, heapMB: 400 }, max: { replicas: 4, cpuMillis: 900, heapMB: 600 } };
const START: ScalingConfig = { replicas: 2, cpuMillis: 500, heapMB: 500 };
// A step profile: 30 req/s for the first step, 90 req/s from the second (60 s per step).
const PROFILE = 'steps:0=30,60s=90:for=1h';

let loadCheckpointDir = '';

before(async () => {
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward('slo', { p99TargetMs: 400 }), bounds: BOUNDS });
  const result = await trainLoad({ dynamics, sources: [traceSource(parseProfileSpec('steps:0=30,10m=90,20m=50:for=1h'), 60)], maxSteps: 8, config: { totalSteps: 256, numEnvs: 2, numSteps: 32, hidden: [16], seed: 5 } });
  loadCheckpointDir = await saveLoadCheckpoint(path.join(dir, 'load-ckpt'), result);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const fakeKube = {} as DeploymentClient;
const fakeMetrics = {} as MetricClient;

test('a request-level reward without a load source is refused by name; classic rewards still work without one', () => {
  assert.throws(() => new ClusterEnv({ kube: fakeKube, metrics: fakeMetrics, reward: 'slo' }), /reward slo is computed from the requests of each window, but the live environment has no load source/);
  assert.throws(() => new ClusterEnv({ kube: fakeKube, metrics: fakeMetrics, reward: makeRequestReward('cost-under-slo') }), /reward cost-under-slo .* no load source/);
  assert.equal(new ClusterEnv({ kube: fakeKube, metrics: fakeMetrics, reward: 'total-throughput' }).reward.name, 'total-throughput');
  // On the simulator --app may be left out (the load goes to its TeaStore); elsewhere it is needed.
  assert.equal(liveLoadSetup({ 'load-profile': 'constant:5' }, { simulator: true })?.app, undefined);
  assert.throws(() => liveLoadSetup({ 'load-profile': 'constant:5' }), /needs --app URL/);
  assert.throws(() => makeLiveReward('latency'), /unknown reward "latency"; expected one of classic, total-throughput, slo, app2scale-v2, cost-under-slo/);
});

test("a load checkpoint's recorded reward is the default, with its parameters; another name takes its defaults", () => {
  const meta = readCheckpointMeta(loadCheckpointDir);
  assert.equal(meta.reward.name, 'slo');
  const own = liveRewardFor(undefined, meta);
  assert.equal(own.name, 'slo');
  assert.equal(own.params.p99TargetMs, 400);
  const named = liveRewardFor('cost-under-slo', meta);
  assert.equal(named.name, 'cost-under-slo');
  assert.equal(named.params.p99TargetMs, 250);
  const classicMeta = { reward: { name: 'classic', version: 1, params: {} }, runId: 'c' } as unknown as CheckpointMeta;
  assert.equal(liveRewardFor(undefined, classicMeta).name, 'classic');
});

test('the comparison figures: SLO attainment, mean allocated cores, served/offered and changes per episode', () => {
  const step = (config: ScalingConfig, action: number, p99: number, offered: number, served: number, invalidAction = false): LiveLoadStep => ({
    action,
    info: { config, invalidAction, metrics: { usedCpuCores: 0.2, usedRamGiB: 0.3, packetsPerSecond: 0, costPerHour: 0 } as never, requests: { offeredRps: offered, servedRps: served, failedRps: offered - served, servedRatio: served / offered, latencyMs: { p50: 10, p95: p99 / 2, p99 }, generatorP95Ms: NaN } },
  });
  const a = { replicas: 1, cpuMillis: 500, heapMB: 500 };
  const b = { replicas: 2, cpuMillis: 500, heapMB: 500 };
  // Episode 1: a change (action 1), then a no-op; episode 2: a refused move, then a change.
  const e = summariseLiveLoad('x', [[step(b, 1, 100, 40, 40), step(b, 0, 300, 60, 30)], [step(a, 2, 200, 100, 100, true), step(b, 1, 260, 100, 90)]], 250)!;
  assert.equal(e.sloAttainment, 2 / 4);
  assert.equal(e.meanCores, (1 + 1 + 0.5 + 1) / 4);
  assert.equal(e.servedShare, (40 + 30 + 100 + 90) / (40 + 60 + 100 + 100));
  assert.equal(e.changes, 1);
  // Steps without requests (no load source) have no such figures.
  assert.equal(summariseLiveLoad('x', [[{ action: 0, info: { config: a, invalidAction: false, metrics: {} as never } }]], 250), null);
});

test('static-best for a profile is computed on the model under the run reward: more load, no fewer cores', () => {
  const reward = makeRequestReward('slo');
  const low = staticBestForProfile(reward, Float64Array.of(20, 20, 20, 20), BOUNDS, 60)!;
  const high = staticBestForProfile(reward, Float64Array.of(120, 120, 120, 120), BOUNDS, 60)!;
  assert.ok(low && high);
  assert.ok(allocatedCores(high) > allocatedCores(low), `static-best at 120 req/s ${JSON.stringify(high)} vs at 20 req/s ${JSON.stringify(low)}`);
  for (const c of [low, high]) assert.ok(c.replicas >= BOUNDS.min.replicas && c.replicas <= BOUNDS.max.replicas && c.cpuMillis >= 400 && c.heapMB <= 600, JSON.stringify(c));
  // A classic reward or unknown rates: no profile static-best.
  assert.equal(staticBestForProfile(makeLiveReward('classic'), Float64Array.of(20, 20), BOUNDS, 60), null);
  assert.equal(staticBestForProfile(reward, null, BOUNDS, 60), null);
});

test('live with a load checkpoint and no load source is refused before anything starts', async () => {
  const logFile = path.join(dir, 'refused.jsonl');
  const child = spawn(process.execPath, ['bin/rl-autoscaler.js', 'live', '--simulator', '--checkpoint', loadCheckpointDir, '--log', logFile, '--checkpoints', path.join(dir, 'ckpt')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise((r) => child.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(output, /the policy reads the load observation \(schema version 2\): give it a load source, --load-profile SPEC --app URL/);
  assert.doesNotMatch(output, /starting the cluster simulator/);
  assert.equal(existsSync(logFile), false);
});

async function cli(args: string[]): Promise<{ code: unknown; output: string }> {
  const child = spawn(process.execPath, ['bin/rl-autoscaler.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  child.stdout.on('data', (d) => (output += d));
  return { code: await new Promise((r) => child.once('exit', r)), output };
}

test('live --reward: an unknown name, or a request-level reward without a load source, is refused before anything starts', async () => {
  const classic = await saveCheckpoint(path.join(dir, 'classic-ckpt'), {
    policy: initPolicyWeights(defaultNetworkSpec([8]), new Rng(1)),
    config: ppoConfig({ hidden: [8] }),
    backend: 'cpu',
    reward: makeLiveReward('classic'),
    data: { file: 'data/teastore_data.csv', sha256: 'x', rowCount: 1 },
  });
  const unknown = await cli(['live', '--simulator', '--checkpoint', classic, '--reward', 'latency']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.output, /--reward must be one of classic, total-throughput, slo, app2scale-v2, cost-under-slo/);
  const noLoad = await cli(['live', '--simulator', '--checkpoint', classic, '--reward', 'slo']);
  assert.notEqual(noLoad.code, 0);
  assert.match(noLoad.output, /--reward slo is computed from the requests of each window: give it a load source/);
  assert.doesNotMatch(noLoad.output, /starting the cluster simulator/);
});

test("live --simulator --load-profile --reward: the CLI sends the load to the simulator's TeaStore, tests a load checkpoint beside static-best and HPA and prints the load columns", { timeout: 180_000 }, async () => {
  const logFile = path.join(dir, 'cli-load.jsonl');
  const args = ['live', '--simulator', '--checkpoint', loadCheckpointDir, '--load-profile', 'steps:0=30,60s=90:for=1h', '--reward', 'cost-under-slo', '--episodes', '1', '--steps', '1', '--warmup-ms', '500', '--window-s', '2', '--log', logFile, '--checkpoints', path.join(dir, 'ckpt')];
  const { code, output } = await cli(args);
  assert.equal(code, 0, output);
  assert.match(output, /app=http:\/\/127\.0\.0\.1:\d+\/tools\.descartes\.teastore\.webui\//);
  assert.match(output, /p99<=250ms +mean cores +served +changes/);
  for (const policy of ['ppo', 'static-best', 'hpa']) assert.match(output, new RegExp(`^ +${policy} +1 `, 'm'));
  const records = readStepLog(logFile).records;
  const header = records.find((r) => r.type === 'run') as unknown as { reward: { name: string } };
  assert.equal(header.reward.name, 'cost-under-slo');
  // The simulator's TeaStore served the load: every step measured requests.
  const steps = records.filter((r) => r.type === 'step') as unknown as { info: { requests: RequestStepMetrics } }[];
  assert.equal(steps.length, 3);
  for (const s of steps) assert.ok(s.info.requests.servedRps > 0 && Math.round(s.info.requests.offeredRps) === 90, JSON.stringify(s.info.requests));
});

test('under load', { timeout: 240_000 }, async (t) => {
  const served = await serveLiveLoadMetrics({ scenario: 'home', profile: PROFILE });
  const metricsServer: MetricsServer = served.server;
  const stack: SimulatorStack = await startSimulatorStack({ seed: 11, scrapeTargets: [metricsServer.url] });
  // The load goes to the simulator's TeaStore web UI: its pods serve as the performance model says.
  const load = new GeneratedLoad({ targetUrl: stack.simulator.appUrl, profile: parseProfileSpec(PROFILE), prometheusUrl: stack.prometheus.url, seed: 3 }, served.metrics);
  const timings = { warmupMs: 500, windowSeconds: 2 };
  try {
    await t.test('runLive refuses a load checkpoint on an environment without load, and writes nothing', async () => {
      const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, timings, bounds: BOUNDS, startConfig: START });
      const logFile = path.join(dir, 'no-load.jsonl');
      await assert.rejects(runLive(env, { mode: 'test', checkpoint: loadCheckpointDir, episodes: 1, steps: 2, seed: 1 }, logFile, path.join(dir, 'ckpt')), /reads the load observation .* no load source/);
      assert.equal(existsSync(logFile), false);
    });

    await t.test('test mode compares the checkpoint, static-best for the profile and HPA on the same episodes, scored from the requests', async () => {
      const reward = makeRequestReward('slo', { p99TargetMs: 400 });
      const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward, timings, bounds: BOUNDS, startConfig: START, load });
      const logFile = path.join(dir, 'test.jsonl');
      const result = await runLive(env, { mode: 'test', checkpoint: loadCheckpointDir, episodes: 1, steps: 2, seed: 1 }, logFile, path.join(dir, 'ckpt'));
      assert.deepEqual(result.comparison!.map((r) => r.policy), ['ppo', 'static-best', 'hpa']);
      const records = readStepLog(logFile).records;
      const steps = records.filter((r) => r.type === 'step') as unknown as { episode: number; action: number; reward: number; observation: { arrivalRate: number }; info: { config: ScalingConfig; metrics: never; invalidAction: boolean; requests: RequestStepMetrics } }[];
      const resets = records.filter((r) => r.type === 'reset') as unknown as { info: { config: ScalingConfig } }[];
      assert.equal(steps.length, 6);
      // Same episodes: every policy starts from the same configuration under the same profile points.
      for (const r of resets) assert.deepEqual(r.info.config, START);
      for (const episode of [0, 1, 2]) assert.deepEqual(steps.filter((s) => s.episode === episode).map((s) => Math.round(s.info.requests.offeredRps)), [90, 90]);
      // Rewards are the request-level reward of each window's requests and the pods' usage.
      for (const s of steps) {
        if (s.info.invalidAction) continue;
        assert.equal(s.reward, reward.compute(requestMeasurementOf(s.info.config, s.info.metrics, s.info.requests)));
      }
      const header = records.find((r) => r.type === 'run') as unknown as { reward: { name: string; params: { p99TargetMs: number } } };
      assert.equal(header.reward.name, 'slo');
      assert.equal(header.reward.params.p99TargetMs, 400);
      // Each row's figures agree with its own logged steps.
      for (const [p, row] of result.comparison!.entries()) {
        const own = steps.filter((s) => s.episode === p);
        assert.ok(row.load, `${row.policy} has load figures`);
        assert.equal(row.load!.p99TargetMs, 400);
        assert.equal(row.load!.sloAttainment, own.filter((s) => s.info.requests.servedRps <= 0 || s.info.requests.latencyMs.p99 <= 400).length / own.length);
        assert.equal(row.load!.meanCores, own.reduce((sum, s) => sum + allocatedCores(s.info.config), 0) / own.length);
        const offered = own.reduce((sum, s) => sum + s.info.requests.offeredRps, 0);
        const servedRps = own.reduce((sum, s) => sum + Math.min(s.info.requests.servedRps, s.info.requests.offeredRps), 0);
        assert.ok(row.load!.servedShare > 0 && row.load!.servedShare <= 1, `${row.policy} served ${row.load!.servedShare}`);
        assert.ok(Math.abs(row.load!.servedShare - servedRps / offered) < 1e-12);
        assert.equal(row.meanReturn, own.reduce((sum, s) => sum + s.reward, 0));
      }
      // static-best holds the best configuration for the profile's rates under the run's reward.
      const held = result.comparison![1].config!;
      assert.deepEqual(held, staticBestForProfile(reward, Float64Array.of(30, 90, 90), BOUNDS, 60));
      const table = formatComparison(result.comparison!);
      assert.match(table, /p99<=400ms +mean cores +served +changes/);
      assert.match(table, /^ +hpa +1 /m);
    });

    await t.test('fine-tuning a load checkpoint live encodes the load observation and keeps schema v2', async () => {
      const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward: 'slo', timings, bounds: BOUNDS, startConfig: START, load });
      const logFile = path.join(dir, 'finetune.jsonl');
      const result = await runLive(env, { mode: 'finetune', checkpoint: loadCheckpointDir, episodes: 1, steps: 2, seed: 2, finetune: { batchSteps: 2 } }, logFile, path.join(dir, 'ckpt'));
      assert.equal(result.updates!.length, 1);
      const meta = readCheckpointMeta(result.checkpoint!);
      assert.deepEqual(meta.schema, JSON.parse(JSON.stringify(LOAD_SPACE_SCHEMA)));
      assert.equal(meta.reward.name, 'slo');
      assert.equal(meta.parent, path.resolve(loadCheckpointDir));
      assert.equal(meta.network.observationSize, LOAD_SPACE_SCHEMA.observation.size);
    });
  } finally {
    await load.close();
    await stack.stop();
    await metricsServer.close();
  }
});

test('the live-under-load demo trains offline, fine-tunes and tests under a held-out step profile, and the report shows it', { timeout: 300_000 }, async () => {
  const demo = await runLiveLoadDemo({
    checkpointsDir: path.join(dir, 'demo-ckpt'),
    logDir: path.join(dir, 'demo-logs'),
    trainSteps: 512,
    finetuneSteps: 2,
    testSteps: 2,
    profile: 'steps:0=30,60s=80:for=1h',
    timings: { warmupMs: 500, windowSeconds: 2 },
  });
  assert.deepEqual(readCheckpointMeta(demo.tunedCheckpoint).schema, JSON.parse(JSON.stringify(LOAD_SPACE_SCHEMA)));
  assert.equal(readCheckpointMeta(demo.tunedCheckpoint).parent, demo.checkpoint);
  assert.deepEqual(demo.testEpisodes.map((e) => e.policy), ['ppo', 'static-best', 'hpa']);
  for (const e of demo.testEpisodes) assert.deepEqual(e.load.rates.map(Math.round), [80, 80]);
  const file = writeReport(path.join(dir, 'report.html'), {
    returns: {},
    optimum: [],
    episodes: [],
    liveLoad: { where: 'cluster simulator', comparison: demo.test.comparison!, stepsPerEpisode: demo.testSteps, testEpisodes: demo.testEpisodes, p99TargetMs: demo.p99TargetMs, stepSeconds: demo.stepSeconds },
  });
  const html = readFileSync(file, 'utf8');
  assert.match(html, /Live under load on the cluster simulator/);
  assert.match(html, /SLO attainment<\/th><th>mean cores<\/th><th>served\/offered<\/th><th>changes per episode/);
  assert.match(html, /Live test episode 1 under load on the cluster simulator: load, capacity, p99 and cores per step/);
  assert.match(html, /SLO p99 250 ms/);
});

/**
 * Live episodes under load: the generator in this process follows a profile one point per step,
 * Prometheus scrapes it beside the simulator, and every step records the requests of its window.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ClusterEnv } from '../src/env/cluster-env';
import { readStepLog, StepLog } from '../src/env/step-log';
import { StepLogger } from '../src/env/wrappers';
import { withEpisodeWrappers } from '../src/env/episode-wrappers';
import { checkProfileCovers, GeneratedLoad, ObservedLoad, serveLiveLoadMetrics } from '../src/live/live-load';
import { checkLoadCoversRun, liveLoadSetup } from '../src/commands/live-load-options';
import { startSimulatorStack, type SimulatorStack } from '../src/live/simulator-stack';
import type { LoadMetrics, MetricsServer } from '../src/load/metrics';
import { parseProfileSpec } from '../src/load/profile-spec';
import { startTestTarget, type TestTarget } from '../src/load/test-target';
import { Action } from '../src/space';

const dir = mkdtempSync(path.join(tmpdir(), 'rl-live-load-'));
let stack: SimulatorStack;
let target: TestTarget;
let metricsServer: MetricsServer;
let load: GeneratedLoad;
// A second generator's metrics, scraped too, for the test in which it dies mid-episode.
let doomed: { metrics: LoadMetrics; server: MetricsServer };

// Two levels, one per step: 40 req/s, then 120 req/s from the second step (60 s per step).
const PROFILE = 'steps:0=40,60s=120:for=1h';

before(async () => {
  target = await startTestTarget({ serviceTimeMs: 5, errorRate: 0, seed: 2 });
  const served = await serveLiveLoadMetrics({ scenario: 'home', profile: PROFILE });
  metricsServer = served.server;
  doomed = await serveLiveLoadMetrics({ scenario: 'home', profile: 'constant:30' });
  stack = await startSimulatorStack({ seed: 7, scrapeTargets: [metricsServer.url, doomed.server.url] });
  load = new GeneratedLoad({ targetUrl: target.url, profile: parseProfileSpec(PROFILE), prometheusUrl: stack.prometheus.url, seed: 3 }, served.metrics);
});

after(async () => {
  await load?.close();
  await stack?.stop();
  await metricsServer?.close();
  await doomed?.server.close().catch(() => {});
  await target?.close();
});

test('each step runs its profile point and logs offered, served, failures and latency percentiles read from Prometheus', { timeout: 120_000 }, async () => {
  const logFile = path.join(dir, 'steps.jsonl');
  const log = new StepLog(logFile);
  const env = new StepLogger(withEpisodeWrappers(new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, load, timings: { warmupMs: 500, windowSeconds: 4 } }), 3), log, { runId: 'load' });
  await env.reset();
  await env.step(Action.DO_NOTHING);
  await env.step(Action.DO_NOTHING);
  log.close();
  const steps = readStepLog(logFile).records.filter((r) => r.type === 'reset' || r.type === 'step');
  assert.equal(steps.length, 3);
  const requests = steps.map((s) => (s.info as { requests: { offeredRps: number; servedRps: number; failedRps: number; servedRatio: number; latencyMs: Record<string, number>; generatorP95Ms: number } }).requests);
  assert.deepEqual(requests.map((r) => Math.round(r.offeredRps)), [40, 120, 120]);
  // The observation carries the offered rate of this window and of the one before.
  const rates = steps.map((s) => s.observation as { arrivalRate: number; previousArrivalRate: number }).map((o) => [Math.round(o.arrivalRate), Math.round(o.previousArrivalRate)]);
  assert.deepEqual(rates, [[40, 40], [120, 40], [120, 120]]);
  for (const [i, r] of requests.entries()) {
    assert.ok(Math.abs(r.servedRps - r.offeredRps) / r.offeredRps < 0.25, `served ${r.servedRps} of ${r.offeredRps}`);
    assert.ok(r.servedRatio > 0.75 && r.servedRatio <= 1, `served ratio ${r.servedRatio}`);
    assert.equal(r.failedRps, 0);
    assert.ok(r.latencyMs.p50 >= 5 && r.latencyMs.p50 <= r.latencyMs.p95 && r.latencyMs.p95 <= r.latencyMs.p99, JSON.stringify(r.latencyMs));
    // The first window also holds the generator's start (connections opening), which Prometheus'
    // rate over the window's scrapes sees only in part; later windows compare like with like.
    if (i === 0) continue;
    const agreement = r.latencyMs.p95 / r.generatorP95Ms;
    assert.ok(agreement > 0.7 && agreement < 1.4, `p95 from Prometheus ${r.latencyMs.p95} ms vs the generator's ${r.generatorP95Ms} ms`);
  }
});

test('a load source whose series Prometheus does not scrape fails the step with an error that says so', { timeout: 60_000 }, async () => {
  const served = await serveLiveLoadMetrics({ scenario: 'home', profile: 'constant:10' });
  const unscraped = new GeneratedLoad({ targetUrl: target.url, profile: parseProfileSpec('constant:10'), prometheusUrl: stack.prometheus.url, selector: 'job="not-scraped"', seed: 1 }, served.metrics);
  try {
    const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, load: unscraped, timings: { warmupMs: 0, windowSeconds: 2 } });
    await assert.rejects(env.reset(), /no load generator series in Prometheus .*not-scraped/);
  } finally {
    await unscraped.close();
    await served.server.close();
  }
});

test('live load options: a bad profile, a missing --app, both sources, a bad pacing are refused by name', () => {
  assert.equal(liveLoadSetup({}), null);
  assert.throws(() => liveLoadSetup({ 'load-profile': 'constant:-5', app: 'http://x/' }), /--load-profile: .*negative/);
  assert.throws(() => liveLoadSetup({ 'load-profile': 'constant:5' }), /needs --app URL/);
  assert.throws(() => liveLoadSetup({ 'load-profile': 'constant:5', app: 'x.example' }), /--app "x.example" must start with http/);
  assert.throws(() => liveLoadSetup({ 'load-profile': 'constant:5', app: 'http://x/', 'load-selector': 'job="load"' }), /not both/);
  assert.throws(() => liveLoadSetup({ 'load-selector': 'job="load"', 'load-pacing': 'sometimes' }), /--load-pacing must be per-step or real-time/);
  const setup = liveLoadSetup({ 'load-profile': 'constant:5', app: 'http://x/', 'load-step-s': '30', 'load-scenario': 'browse' });
  assert.deepEqual(setup, { profile: 'constant:5', pacing: 'per-step', stepSeconds: 30, scenario: 'browse', app: 'http://x/', selector: undefined, metricsPort: 9464 });
});

test('the generator dies mid-episode: the step that needed it fails by name, the log keeps every completed step', { timeout: 120_000 }, async () => {
  // Prometheus names its scrape jobs target-0 (the simulator), target-1, target-2 in the order given.
  const dying = new GeneratedLoad({ targetUrl: target.url, profile: parseProfileSpec('constant:30'), prometheusUrl: stack.prometheus.url, selector: 'job="target-2"', seed: 5 }, doomed.metrics);
  const logFile = path.join(dir, 'dies.jsonl');
  const log = new StepLog(logFile);
  const env = new StepLogger(withEpisodeWrappers(new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, load: dying, timings: { warmupMs: 0, windowSeconds: 3 } }), 5), log, { runId: 'dies' });
  try {
    await env.reset();
    await env.step(Action.DO_NOTHING);
    await doomed.server.close(); // the generator's process is gone: its /metrics no longer answers
    await dying.close();
    await assert.rejects(env.step(Action.DO_NOTHING), /the load generator against .* has stopped/);
  } finally {
    log.close();
  }
  const records = readStepLog(logFile).records;
  assert.deepEqual(records.map((r) => r.type), ['reset', 'step', 'error']);
  assert.match(String(records[2].error), /load generator/);
});

test('a generator read from Prometheus that stopped being scraped fails the step with an error that says so', { timeout: 60_000 }, async () => {
  // target-2's /metrics was closed by the previous test: its series have samples in the last
  // minute but none now.
  const observed = new ObservedLoad({ prometheusUrl: stack.prometheus.url, selector: 'job="target-2"' });
  await assert.rejects(observed.measure(60, new Date()), /the load generator's series in Prometheus .*job="target-2".* had ended by .*: the generator stopped, or Prometheus can no longer scrape/);
});

test('a profile shorter than the episode is refused before the episode starts', () => {
  const profile = parseProfileSpec('constant:50:for=5m');
  assert.doesNotThrow(() => checkProfileCovers(profile, { pacing: 'per-step', steps: 4, stepSeconds: 60, realTimeSeconds: 0 }));
  assert.throws(() => checkProfileCovers(profile, { pacing: 'per-step', steps: 5, stepSeconds: 60, realTimeSeconds: 0 }), /load profile constant:50:for=5m lasts 5m, but 5 steps of 1m need 5m: lengthen it/);
  assert.throws(() => checkProfileCovers(profile, { pacing: 'real-time', steps: 5, stepSeconds: 60, realTimeSeconds: 600 }), /the run takes at least 10m/);
  assert.throws(() => checkLoadCoversRun(liveLoadSetup({ 'load-profile': 'constant:50:for=5m', app: 'http://x/' }), { steps: 10, episodesOfAllPolicies: 3, minStepSeconds: 5 }), /^UsageError|--load-profile: load profile .* lasts 5m, but 10 steps of 1m need 10m/);
});

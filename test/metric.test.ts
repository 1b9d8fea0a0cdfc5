import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeploymentClient, loadKubeConfig } from '../src/kube';
import { MetricClient, MetricError, renderQuery, DEFAULT_QUERIES } from '../src/metric';
import { findBinary, freePort, startPrometheus, type PrometheusHandle } from '../src/prometheus-server';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { costPerHour, toStepMetrics } from '../src/measurement';
import { startSimulator, type Simulator } from '../src/simulator';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TARGET = { namespace: 'app2scale', container: 'teastore-webui' };

describe('metric module against a real Prometheus scraping the cluster simulator', () => {
  let simulator: Simulator;
  let prometheus: PrometheusHandle;
  let pods: string[];
  let measuredAt: number;

  before(async () => {
    // One dataset row per pod for the whole test, so rate() over the window sees a constant rate.
    simulator = await startSimulator({ port: 0, seed: 7, podStartDelayMs: 30, podStopDelayMs: 30, measurementPeriodMs: 600_000 });
    const kube = new DeploymentClient(loadKubeConfig(simulator.kubeconfigPath));
    await kube.applyConfig({ replicas: 2, cpuMillis: 400, heapMB: 600 });
    await kube.waitForRollout({ timeoutMs: 3000 });
    pods = await kube.listReadyPods();
    prometheus = await startPrometheus({ targets: [simulator.metricsUrl] });
    // Let the 5 s window fill with samples taken after the rollout.
    await sleep(7000);
    measuredAt = Date.now();
  });
  after(async () => {
    await prometheus?.stop();
    await simulator?.stop();
  });

  it('agrees with the dataset rows the simulator served', async () => {
    const metrics = new MetricClient({ url: prometheus.url, timeoutMs: 5000, retryDelayMs: 200 });
    const result = await metrics.collect({ ...TARGET, pods, windowSeconds: 5, at: new Date(measuredAt) });
    assert.deepEqual(result.pods, [...pods].sort());
    assert.equal(result.window, 5);
    for (const pod of pods) {
      const served = simulator.servedRows(pod);
      assert.equal(served.length, 1, 'one row per pod during the test');
      assert.deepEqual(served[0].config, { replicas: 2, cpuMillis: 400, heapMB: 600 });
      const expected = simulator.servedAverage(pod, measuredAt - 5000, measuredAt)!;
      for (const key of ['incomingPacketsPerSec', 'outgoingPacketsPerSec', 'usedCpuCores', 'usedRamGiB'] as const) {
        const got = result.perPod[pod][key];
        assert.ok(Number.isFinite(got), `${pod} ${key} is finite`);
        // rate() extrapolates over 1 s scrapes; 3% covers scrape jitter, and a filter that also
        // counted the pod-level and pause series would be about 100% off.
        assert.ok(Math.abs(got - expected[key]) <= 0.03 * expected[key] + 1e-6, `${pod} ${key}: measured ${got}, served ${expected[key]}`);
      }
    }
    for (const key of ['incomingPacketsPerSec', 'usedCpuCores'] as const) {
      const mean = pods.reduce((s, p) => s + result.perPod[p][key], 0) / pods.length;
      assert.ok(Math.abs(result.mean[key] - mean) < 1e-9);
    }
    const step = toStepMetrics(result.mean, 2);
    assert.equal(step.costPerHour, costPerHour(result.mean.usedCpuCores, result.mean.usedRamGiB, 2));
    assert.equal(step.outgoingPacketsPerSec, result.mean.outgoingPacketsPerSec);
  });

  it('reports an empty result as a typed error naming the query', async () => {
    const metrics = new MetricClient({ url: prometheus.url, timeoutMs: 600, retryDelayMs: 200 });
    const started = Date.now();
    await assert.rejects(metrics.collect({ ...TARGET, pods: ['teastore-webui-nosuchpod-xxxxx'], windowSeconds: 5 }), (err: unknown) => {
      assert.ok(err instanceof MetricError);
      assert.equal(err.kind, 'empty');
      assert.match(err.message, /empty result for pods teastore-webui-nosuchpod-xxxxx/);
      assert.match(err.query!, /teastore-webui-nosuchpod-xxxxx/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it('reports a partial result, naming the missing pods', async () => {
    const metrics = new MetricClient({ url: prometheus.url, timeoutMs: 500, retryDelayMs: 200 });
    await assert.rejects(metrics.collect({ ...TARGET, pods: [pods[0], 'teastore-webui-gone-yyyyy'], windowSeconds: 5 }), (err: unknown) => {
      assert.ok(err instanceof MetricError);
      assert.equal(err.kind, 'partial');
      assert.deepEqual(err.missingPods, ['teastore-webui-gone-yyyyy']);
      return true;
    });
  });

  it('rejects a malformed query at once, naming it', async () => {
    const metrics = new MetricClient({ url: prometheus.url, timeoutMs: 5000, queries: { usedCpuCores: 'sum by (pod) (rate(' } });
    const started = Date.now();
    await assert.rejects(metrics.collect({ ...TARGET, pods, windowSeconds: 5 }), (err: unknown) => err instanceof MetricError && err.kind === 'http' && /usedCpuCores/.test(err.message));
    assert.ok(Date.now() - started < 2000, 'no retries for a bad query');
  });
});

describe('metric module without a reachable Prometheus', () => {
  it('fails with a clear error within the bound', async () => {
    const port = await freePort();
    const metrics = new MetricClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 800, retryDelayMs: 200, requestTimeoutMs: 500 });
    const started = Date.now();
    await assert.rejects(metrics.collect({ ...TARGET, pods: ['p'], windowSeconds: 5 }), (err: unknown) => {
      assert.ok(err instanceof MetricError);
      assert.equal(err.kind, 'unreachable');
      assert.match(err.message, new RegExp(`Prometheus at http://127.0.0.1:${port} is unreachable`));
      return true;
    });
    assert.ok(Date.now() - started < 2500, `gave up after ${Date.now() - started} ms`);
  });

  it('checks its input', async () => {
    assert.throws(() => new MetricClient({ url: 'localhost:9090' }), /must start with http/);
    const metrics = new MetricClient({ url: 'http://127.0.0.1:1' });
    await assert.rejects(metrics.collect({ ...TARGET, pods: [], windowSeconds: 5 }), /no pods to measure/);
    await assert.rejects(metrics.collect({ ...TARGET, pods: ['p'], windowSeconds: 0 }), /windowSeconds must be a positive integer/);
  });

  it('renders templates with escaped pod names and the window', () => {
    const q = renderQuery(DEFAULT_QUERIES.usedRamGiB, { ...TARGET, pods: ['a.b', 'c'], windowSeconds: 10 });
    assert.equal(q, 'sum by (pod) (avg_over_time(container_memory_working_set_bytes{namespace="app2scale", pod=~"a\\\\.b|c", container="teastore-webui", image!=""}[10s]))');
  });

  it('names the missing prometheus binary and how to install it', async () => {
    await assert.rejects(startPrometheus({ targets: ['http://127.0.0.1:1/metrics'], binary: '/nonexistent/prometheus' }), /apt-get install prometheus/);
  });
});

describe('a Prometheus started by a process that exits without stopping it', () => {
  /** A script that starts Prometheus on a small local target, prints its TSDB path, then runs `then`. */
  function scriptStartingPrometheus(then: string): string {
    return [
      "const http = require('node:http');",
      "const { startPrometheus } = require('./src/prometheus-server');",
      "const target = http.createServer((_, res) => res.end('up_probe 1\\n')).listen(0, '127.0.0.1', async () => {",
      "  const p = await startPrometheus({ targets: [`http://127.0.0.1:${target.address().port}/metrics`], readyQuery: 'up' });",
      "  console.log(JSON.stringify({ dataDir: p.dataDir }));",
      then,
      '});',
    ].join('\n');
  }

  /** Pids of the processes whose command line names `dataDir` (a Prometheus on that TSDB). */
  function processesOn(dataDir: string): string[] {
    return fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir);
      } catch {
        return false;
      }
    });
  }
  it('is killed and its temporary TSDB removed when the process exits', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = scriptStartingPrometheus('  process.exit(0);');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: `${__dirname}/..`, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const { dataDir } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { dataDir: string };
    assert.equal(fs.existsSync(dataDir), false, 'the temporary TSDB is removed');
    await sleep(200); // SIGKILL is delivered asynchronously
    assert.deepEqual(processesOn(dataDir), [], 'no prometheus left running on that TSDB');
  });

  it('is killed when the process is killed outright (SIGKILL), where setpriv exists', { skip: !findBinary('setpriv') && 'no setpriv on PATH' }, async () => {
    const { spawn } = await import('node:child_process');
    const script = scriptStartingPrometheus('');
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: `${__dirname}/..`, stdio: ['ignore', 'pipe', 'inherit'] });
    const dataDir = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { dataDir: string }).dataDir);
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting Prometheus`)));
    });
    const running = () => processesOn(dataDir);
    assert.equal(running().length, 1, 'prometheus runs on that TSDB while its parent lives');
    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (running().length > 0 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(running(), [], 'no prometheus left running on that TSDB');
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });
});

/**
 * The simulator's TeaStore web UI: real HTTP, real-time queues following the model, rollouts
 * refusing requests, and cAdvisor metrics that follow the served load (through a real Prometheus).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadTeastoreData } from '../src/data';
import { DeploymentClient, loadKubeConfig } from '../src/kube';
import { startSimulatorStack, type SimulatorStack } from '../src/live/simulator-stack';
import { startLoad } from '../src/load/generator';
import { teastoreModel } from '../src/model';
import { Rng } from '../src/random';
import { startSimulator, type Simulator } from '../src/simulator';
import { PodQueue } from '../src/simulator/pod-queue';
import { configIndex, type ScalingConfig } from '../src/space';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const model = teastoreModel();
const DEPLOY = '/apis/apps/v1/namespaces/app2scale/deployments/teastore-webui';

/** Applies a configuration as the live environment does; replicas 0 through a merge patch. */
async function setConfig(simulator: Simulator, config: ScalingConfig): Promise<void> {
  if (config.replicas === 0) {
    const res = await fetch(`${simulator.apiUrl}${DEPLOY}`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: 0 } }) });
    assert.equal(res.status, 200, await res.text());
    return;
  }
  await new DeploymentClient(loadKubeConfig(simulator.kubeconfigPath)).applyConfig(config);
}

/** Waits until the web UI's endpoints are exactly `replicas` pods of the new template. */
async function waitForEndpoints(simulator: Simulator, replicas: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pods = await (await fetch(`${simulator.apiUrl}/api/v1/namespaces/app2scale/pods`)).json() as { items: { metadata: { name: string; deletionTimestamp?: string } }[] };
    const live = pods.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name).sort();
    const endpoints = simulator.app.endpointNames().sort();
    if (endpoints.length === replicas && live.length === replicas && JSON.stringify(live) === JSON.stringify(endpoints)) return;
    await sleep(50);
  }
  throw new Error(`the web UI did not reach ${replicas} endpoints in ${timeoutMs} ms: ${simulator.app.endpointNames().join(', ')}`);
}

describe('a pod queue', () => {
  it('has the M/M/1 mean response time 1 / (mu - lambda) in virtual time', () => {
    const rng = new Rng(3);
    const queue = new PodQueue(10, 100_000, rng.fork());
    let t = 0;
    let total = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      t += -Math.log(1 - rng.next()) * 20; // lambda = 50/s, mu = 100/s
      total += queue.admit(t)!.sojournMs;
    }
    const mean = total / n;
    assert.ok(Math.abs(mean - 20) < 2, `mean response ${mean} ms, expected 20`);
  });

  it('refuses a request when its room is full', () => {
    const queue = new PodQueue(1000, 2, new Rng(1));
    assert.ok(queue.admit(0));
    assert.ok(queue.admit(0));
    assert.equal(queue.admit(0), null);
    assert.equal(queue.counters.refused, 1);
  });
});

describe('the web UI', () => {
  let simulator: Simulator;
  before(async () => {
    simulator = await startSimulator({ seed: 2, podStartDelayMs: 200, podStopDelayMs: 200, measurementPeriodMs: 1000 });
    await waitForEndpoints(simulator, 1);
  });
  after(async () => simulator?.stop());

  it('serves the scenario paths under the web UI base path, and 404 elsewhere', async () => {
    assert.match(simulator.appUrl, /^http:\/\/127\.0\.0\.1:\d+\/tools\.descartes\.teastore\.webui\/$/);
    const home = await fetch(simulator.appUrl);
    assert.equal(home.status, 200);
    assert.ok(Number(home.headers.get('x-modelled-ms')) > 0);
    await home.text();
    const load = startLoad(simulator.appUrl, 5, { scenario: 'browse', seed: 1, process: 'even' });
    await sleep(1000);
    const stats = await load.stop();
    assert.ok(stats.requests.sent >= 32, `${stats.requests.sent} requests`);
    assert.equal(stats.requests.ok, stats.requests.sent);
    const missing = await fetch(new URL('nothing-here', simulator.appUrl));
    assert.equal(missing.status, 404);
    await missing.text();
  });

  it('answers as the model says: median latency at half capacity', async () => {
    const config = { replicas: 2, cpuMillis: 900, heapMB: 900 };
    await setConfig(simulator, config);
    await waitForEndpoints(simulator, 2);
    const rate = model.capacity(config) / 2;
    const load = startLoad(simulator.appUrl, rate, { scenario: 'home', seed: 4 });
    await sleep(5000);
    const stats = await load.stop();
    const predicted = model.predict(config, rate).latencyMs;
    assert.equal(stats.requests.ok, stats.requests.sent);
    const ratio = stats.latencyMs.p50 / predicted.p50;
    assert.ok(ratio > 0.7 && ratio < 1.4, `measured p50 ${stats.latencyMs.p50} ms, modelled ${predicted.p50} ms`);
  });

  it('refuses requests (503) when no pod is ready, and serves again once a started pod is ready', async () => {
    await setConfig(simulator, { replicas: 0, cpuMillis: 900, heapMB: 900 });
    await waitForEndpoints(simulator, 0);
    const refused = await fetch(simulator.appUrl);
    assert.equal(refused.status, 503);
    await refused.text();
    await setConfig(simulator, { replicas: 1, cpuMillis: 900, heapMB: 900 });
    const starting = await fetch(simulator.appUrl);
    assert.equal(starting.status, 503, 'a starting pod serves nothing');
    await starting.text();
    await waitForEndpoints(simulator, 1);
    const served = await fetch(simulator.appUrl);
    assert.equal(served.status, 200);
    await served.text();
  });

  it('fails the requests a stopping pod holds', async () => {
    await setConfig(simulator, { replicas: 1, cpuMillis: 300, heapMB: 900 });
    await waitForEndpoints(simulator, 1);
    await sleep(300); // the pods of the previous template are gone
    // At 300 millicores twenty requests take seconds: most are still queued when the pod stops.
    const pending = Array.from({ length: 20 }, () => fetch(simulator.appUrl).then(async (r) => ({ status: r.status, body: await r.text() })));
    await sleep(100);
    await setConfig(simulator, { replicas: 0, cpuMillis: 300, heapMB: 900 });
    const answers = await Promise.all(pending);
    const failed = answers.filter((a) => a.status === 503);
    assert.ok(failed.length >= 10, `statuses ${answers.map((a) => a.status).join(', ')}`);
    assert.match(failed[0].body, /stopped/);
  });
});

describe('metrics that follow the served load (through Prometheus)', () => {
  let stack: SimulatorStack;
  const table = loadTeastoreData();
  before(async () => {
    stack = await startSimulatorStack({ seed: 6, podStartDelayMs: 200, podStopDelayMs: 200, measurementPeriodMs: 1000 });
  });
  after(async () => stack?.stop());

  /** Mean and sample standard deviation of a column over a configuration's recorded rows. */
  function recorded(config: ScalingConfig, column: 'usedCpuCores' | 'outgoingPacketsPerSec'): { mean: number; std: number } {
    const c = configIndex(config);
    const values: number[] = [];
    for (let k = table.configStart[c]; k < table.configStart[c + 1]; k++) {
      const v = table[column][table.rowsOfConfig[k]];
      if (Number.isFinite(v) && v > 0) values.push(v);
    }
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    return { mean, std };
  }

  for (const config of [{ replicas: 4, cpuMillis: 900, heapMB: 500 }, { replicas: 9, cpuMillis: 900, heapMB: 900 }]) {
    it(`at 100 req/s, ${config.replicas} x ${config.cpuMillis}m x ${config.heapMB} MB reports the data's CPU and packets per pod within its spread`, async () => {
      await stack.kube.applyConfig(config);
      await waitForEndpoints(stack.simulator, config.replicas);
      const load = startLoad(stack.simulator.appUrl, 100, { scenario: 'home', seed: 8 });
      await sleep(9000);
      const window = await stack.metrics.collect({ namespace: 'app2scale', container: 'teastore-webui', pods: stack.simulator.app.endpointNames(), windowSeconds: 6 });
      await load.stop();
      for (const [metric, measured] of [['usedCpuCores', window.mean.usedCpuCores], ['outgoingPacketsPerSec', window.mean.outgoingPacketsPerSec]] as const) {
        const data = recorded(config, metric);
        assert.ok(Math.abs(measured - data.mean) <= 2 * data.std, `${metric}: measured ${measured}, data ${data.mean} ± ${data.std}`);
      }
    });
  }

  it('falls to idle without load', async () => {
    await sleep(4000);
    const window = await stack.metrics.collect({ namespace: 'app2scale', container: 'teastore-webui', pods: stack.simulator.app.endpointNames(), windowSeconds: 2 });
    assert.ok(window.mean.usedCpuCores < 0.02, `idle CPU ${window.mean.usedCpuCores}`);
    assert.ok(window.mean.outgoingPacketsPerSec < 1, `idle packets ${window.mean.outgoingPacketsPerSec}`);
  });
});

/**
 * The operator against the cluster simulator, a real Prometheus and kubectl: the end-to-end run
 * (operator as a child process), then an in-process operator for the fallback, invalid specs,
 * deletion and watch disconnects.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { saveTrainResult } from '../src/agent/checkpoint';
import { ppoConfig, train } from '../src/agent/ppo';
import { loadKubeConfig } from '../src/kube';
import { jsonLogger } from '../src/operator/log';
import { Operator } from '../src/operator/operator';
import type { Condition, RLAutoscalerStatus } from '../src/operator/resource';
import { freePort, prometheusConfig } from '../src/prometheus-server';
import { startSimulator, teastoreDeployment, RL_AUTOSCALERS, type Simulator } from '../src/simulator';
import { DEPLOYMENTS, EVENTS } from '../src/simulator/resources';
import type { KubeObject } from '../src/simulator/status';
import { runOperatorE2e } from '../scripts/e2e-operator';
import { startLoad, type OpenLoopGenerator } from '../src/load/generator';
import { LoadMetrics, serveLoadMetrics, type MetricsServer } from '../src/load/metrics';
import { startTestTarget, type TestTarget } from '../src/load/test-target';

const run = promisify(execFile);
const NS = 'app2scale';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(150);
  }
}

/** A real Prometheus on a fixed port and data folder, so it can be stopped and started again at the same URL. */
class RestartablePrometheus {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'operator-test-prometheus-'));
  url = '';
  private port = 0;

  constructor(private readonly targets: string[]) {}

  async start(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      this.url = `http://127.0.0.1:${this.port}`;
      writeFileSync(path.join(this.dir, 'prometheus.yml'), prometheusConfig(this.targets, 1));
    }
    this.child = spawn('prometheus', [`--config.file=${path.join(this.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${this.port}`, '--log.level=warn'], { stdio: 'ignore' });
    await waitFor('prometheus to scrape the simulator', async () => {
      try {
        const res = await fetch(`${this.url}/api/v1/query?query=up`);
        const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
        return body.data?.result?.some((r) => r.value[1] === '1');
      } catch {
        return false;
      }
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('operator end to end (child process, kubectl, real Prometheus)', () => {
  it('applies within bounds and step limits in Apply mode and changes nothing in Recommend mode', async () => {
    const lines: string[] = [];
    const result = await runOperatorE2e({ intervalSeconds: 4, windowSeconds: 3, runSeconds: 26, log: (l) => lines.push(l) });
    const context = `${result.resultLine}\n${lines.join('\n')}`;
    assert.ok(result.appliedChanges > 0, `no change applied in Apply mode\n${context}`);
    assert.equal(result.recommendChanges, 0, context);
    assert.equal(result.boundViolations, 0, context);
    assert.equal(result.operatorExitCode, 0, `the operator did not exit cleanly on SIGTERM\n${context}`);
    // Recommend mode reports: a recommendation in the status, with the conditions.
    const status = result.recommendStatus as RLAutoscalerStatus;
    assert.ok(status?.recommendedConfig, context);
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.status, 'True', context);
    assert.equal(status.lastDecision?.applied, false);
    assert.ok(result.events.some((e) => e.object === 'teastore-webui' && e.reason === 'ConfigApplied'), context);
    if (result.operatorLog.some((l) => l.resource === `${NS}/teastore-webui-recommend` && l.msg === 'decision' && l.decided !== l.current)) {
      assert.ok(result.events.some((e) => e.object === 'teastore-webui-recommend' && e.reason === 'Recommended'), context);
    }
    // Every log line is JSON with a time, a level and a message.
    assert.ok(result.operatorLog.length > 0);
    for (const line of result.operatorLog) assert.ok(typeof line.time === 'string' && typeof line.level === 'string' && typeof line.msg === 'string', JSON.stringify(line));
  });
});

describe('operator in process against the simulator', () => {
  let simulator: Simulator;
  let prometheus: RestartablePrometheus;
  let operator: Operator;
  let checkpoint: string;
  let dir: string;
  const logLines: Record<string, any>[] = [];
  // Load for the SLO test: a generator at 50 req/s against a 5 ms target, its metrics scraped too.
  let app: TestTarget;
  let generator: OpenLoopGenerator;
  let loadMetricsServer: MetricsServer;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'operator-test-'));
    const training = train(ppoConfig({ totalSteps: 20_000, seed: 1 })).then((r) => saveTrainResult(path.join(dir, 'checkpoint'), r));
    simulator = await startSimulator({ seed: 3, podStartDelayMs: 300, podStopDelayMs: 200, measurementPeriodMs: 2000 });
    app = await startTestTarget({ serviceTimeMs: 5, seed: 1 });
    const loadMetrics = new LoadMetrics({ mode: 'open-loop', scenario: 'home', profile: 'constant:50' });
    loadMetricsServer = await serveLoadMetrics(0, loadMetrics);
    generator = startLoad(app.url, 50, { process: 'even', observer: loadMetrics.observer, seed: 2 });
    loadMetrics.attach(generator, () => 50);
    prometheus = new RestartablePrometheus([simulator.metricsUrl, loadMetricsServer.url]);
    await prometheus.start();
    checkpoint = await training;
    operator = new Operator({
      kubeConfig: loadKubeConfig(simulator.kubeconfigPath),
      logger: jsonLogger({ write: (line) => logLines.push(JSON.parse(line)) }),
      watch: { retry: { baseMs: 200, capMs: 1000 } },
    });
    await operator.start();
  });

  after(async () => {
    await operator?.stop();
    await generator?.stop({ drainMs: 0 });
    await loadMetricsServer?.close();
    await app?.close();
    await prometheus?.remove();
    await simulator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A deployment of its own and an RLAutoscaler for it (Recommend mode, short intervals unless overridden). */
  function createAutoscaler(name: string, spec: KubeObject = {}, deployment = true): void {
    if (deployment) simulator.createDeployment(teastoreDeployment(name, NS));
    simulator.store.create(RL_AUTOSCALERS, NS, {
      metadata: { name, namespace: NS },
      spec: {
        target: { deployment: name },
        intervalSeconds: 2,
        mode: 'Recommend',
        policy: { checkpoint },
        metrics: { prometheusUrl: prometheus.url, windowSeconds: 3, timeoutSeconds: 2 },
        safety: { scaleDown: { stabilizationWindowSeconds: 0 }, fallback: { failureThreshold: 2 } },
        ...spec,
      },
    });
  }

  const statusOf = (name: string): RLAutoscalerStatus | undefined => simulator.store.find(RL_AUTOSCALERS, NS, name)?.status;
  const conditionOf = (name: string, type: Condition['type']): Condition | undefined => statusOf(name)?.conditions?.find((c) => c.type === type);
  const eventsOf = (name: string) => simulator.store.list(EVENTS, NS).filter((e) => e.involvedObject?.name === name && e.involvedObject?.kind === 'RLAutoscaler');
  const configOf = (name: string) => JSON.stringify(simulator.store.find(DEPLOYMENTS, NS, name)?.spec);

  it('hands over to the fallback when Prometheus stops and takes back when it returns', async () => {
    const name = 'fallback-metrics';
    createAutoscaler(name);
    await waitFor('metrics and the policy in control', () => conditionOf(name, 'MetricsAvailable')?.status === 'True' && conditionOf(name, 'FallbackActive')?.status === 'False');
    const before = configOf(name);

    await prometheus.stop();
    const active = await waitFor('FallbackActive True', () => (conditionOf(name, 'FallbackActive')?.status === 'True' ? conditionOf(name, 'FallbackActive') : undefined), 30_000);
    assert.equal(active.reason, 'MetricsUnavailable');
    assert.match(active.message, /holds the current configuration \(the threshold rule needs CPU usage\)/);
    assert.equal(conditionOf(name, 'MetricsAvailable')?.status, 'False');
    assert.match(conditionOf(name, 'MetricsAvailable')!.message, /unreachable/);
    assert.equal(statusOf(name)?.lastDecision?.source, 'Fallback');
    assert.equal(configOf(name), before, 'the deployment changed while the metrics were down');
    assert.ok(eventsOf(name).some((e) => e.reason === 'FallbackActivated' && e.type === 'Warning'));

    await prometheus.start();
    const back = await waitFor('FallbackActive False again', () => (conditionOf(name, 'FallbackActive')?.status === 'False' ? conditionOf(name, 'FallbackActive') : undefined), 30_000);
    assert.equal(back.reason, 'PolicyInControl');
    assert.equal(conditionOf(name, 'MetricsAvailable')?.status, 'True');
    assert.equal(statusOf(name)?.lastDecision?.source, 'Policy');
    assert.ok(eventsOf(name).some((e) => e.reason === 'FallbackDeactivated'));
    simulator.store.delete(RL_AUTOSCALERS, NS, name);
  });

  it('shows the load and its p99 against the SLO in the status, with an SLOMet condition', async () => {
    createAutoscaler('slo-met', { slo: { latencyMs: 5000 }, load: { selector: '' } });
    createAutoscaler('slo-missed', { slo: { latencyMs: 1, percentile: 95 } });
    const met = await waitFor('SLOMet True', () => (conditionOf('slo-met', 'SLOMet')?.status === 'True' ? conditionOf('slo-met', 'SLOMet') : undefined), 30_000);
    assert.equal(met.reason, 'WithinTarget');
    const missed = await waitFor('SLOMet False', () => (conditionOf('slo-missed', 'SLOMet')?.status === 'False' ? conditionOf('slo-missed', 'SLOMet') : undefined), 30_000);
    assert.equal(missed.reason, 'TargetExceeded');
    assert.match(missed.message, /^p95 [\d.]+ ms > 1 ms at [\d.]+ req\/s served of 50 offered$/);
    const load = statusOf('slo-met')!.lastLoad!;
    assert.equal(load.offeredRps, 50);
    assert.ok(Math.abs(load.servedRps - 50) < 10, `served ${load.servedRps}`);
    assert.equal(load.failedRps, 0);
    assert.ok(load.latencyMs.p99 >= 5 && load.slo!.met && load.slo!.observedMs === load.latencyMs.p99, JSON.stringify(load));
    for (const name of ['slo-met', 'slo-missed']) simulator.store.delete(RL_AUTOSCALERS, NS, name);
  });

  it('lets the threshold rule decide when the policy fails and the metrics are there', async () => {
    const name = 'fallback-policy';
    const closedPort = await freePort(); // nothing listens here
    createAutoscaler(name, { policy: { serverUrl: `http://127.0.0.1:${closedPort}` } });
    const active = await waitFor('FallbackActive True', () => (conditionOf(name, 'FallbackActive')?.status === 'True' ? conditionOf(name, 'FallbackActive') : undefined), 30_000);
    assert.equal(active.reason, 'PolicyUnavailable');
    const policy = conditionOf(name, 'PolicyAvailable')!;
    assert.equal(policy.status, 'False');
    assert.match(policy.message, new RegExp(`policy server http://127.0.0.1:${closedPort}.*cannot reach the policy server`));
    const decision = statusOf(name)!.lastDecision!;
    assert.equal(decision.source, 'Fallback');
    assert.match(decision.reason, /fallback threshold rule .*CPU .* asks for \d replicas/);
    assert.ok(statusOf(name)!.lastMetrics!.usedCpuCores > 0);
    simulator.store.delete(RL_AUTOSCALERS, NS, name);
  });

  it('reports an invalid spec as a condition, keeps running, and recovers when the spec is fixed', async () => {
    const name = 'invalid-bounds';
    createAutoscaler(name, { bounds: { replicas: { min: 5, max: 3 } } });
    const ready = await waitFor('Ready False', () => conditionOf(name, 'Ready'));
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'InvalidSpec');
    assert.match(ready.message, /spec\.bounds\.replicas: min 5 is greater than max 3/);
    assert.equal(statusOf(name)?.observedGeneration, 1);
    assert.ok(eventsOf(name).some((e) => e.reason === 'InvalidSpec' && e.type === 'Warning'));
    assert.ok(operator.controlled().includes(`${NS}/${name}`));

    // Fixing the spec (a new generation) is acted on at once.
    simulator.store.mutate(RL_AUTOSCALERS, NS, name, (o) => (o.spec.bounds = { replicas: { min: 1, max: 3 } }));
    await waitFor('Ready True after the fix', () => conditionOf(name, 'Ready')?.status === 'True' && statusOf(name)?.observedGeneration === 2);
    simulator.store.delete(RL_AUTOSCALERS, NS, name);
  });

  it('reports a missing checkpoint and a missing deployment by name', async () => {
    const missing = path.join(dir, 'no-such-checkpoint');
    createAutoscaler('missing-checkpoint', { policy: { checkpoint: missing } });
    const policy = await waitFor('PolicyAvailable False', () => (conditionOf('missing-checkpoint', 'PolicyAvailable')?.status === 'False' ? conditionOf('missing-checkpoint', 'PolicyAvailable') : undefined), 30_000);
    assert.match(policy.message, new RegExp(`checkpoint ${missing}: cannot load the checkpoint: .*no such checkpoint folder`));

    createAutoscaler('missing-deployment', { target: { deployment: 'no-such-deployment' } }, false);
    const ready = await waitFor('Ready False', () => conditionOf('missing-deployment', 'Ready'));
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'TargetUnavailable');
    assert.match(ready.message, /app2scale\/no-such-deployment/);
    simulator.store.delete(RL_AUTOSCALERS, NS, 'missing-checkpoint');
    simulator.store.delete(RL_AUTOSCALERS, NS, 'missing-deployment');
  });

  it('stops controlling a resource once it is deleted', async () => {
    const name = 'deleted';
    createAutoscaler(name, { mode: 'Apply' });
    await waitFor('a first decision', () => statusOf(name)?.lastDecision);
    assert.ok(operator.controlled().includes(`${NS}/${name}`));
    simulator.store.delete(RL_AUTOSCALERS, NS, name);
    const deletedAt = Date.now();
    await waitFor('the loop to stop', () => !operator.controlled().includes(`${NS}/${name}`));
    await sleep(5000); // more than two intervals
    const later = simulator.receivedRequests().filter((r) => r.at > deletedAt + 500 && (r.name === name || (r.resource === 'events' && JSON.stringify(r.body).includes(`"name":"${name}"`))));
    assert.deepEqual(later.map((r) => `${r.verb} ${r.resource} ${r.name}`), []);
    assert.equal(logLines.filter((l) => l.resource === `${NS}/${name}` && l.msg === 'decision' && Date.parse(l.time) > deletedAt + 500).length, 0);
  });

  it('survives watch disconnects: resumes from the last resourceVersion, lists again on 410 Gone', async () => {
    const { lists, resumes } = operator.watcher.counts;
    assert.ok(simulator.dropWatches({ abrupt: true }) >= 1);
    createAutoscaler('after-disconnect');
    await waitFor('the new resource under control', () => operator.controlled().includes(`${NS}/after-disconnect`));
    await waitFor('a decision for it', () => statusOf('after-disconnect')?.lastDecision);
    assert.ok(operator.watcher.counts.resumes > resumes, 'the watch was not resumed');
    assert.equal(operator.watcher.counts.lists, lists, 'a plain disconnect must not cost a relist');

    // While the watch is down: a deletion, then compaction, so resuming gets 410 Gone and only a relist sees the deletion.
    simulator.faults.failNext({ status: 503, verb: 'watch', resource: 'rlautoscalers', count: 2 });
    simulator.dropWatches();
    simulator.store.delete(RL_AUTOSCALERS, NS, 'after-disconnect');
    simulator.compactHistory();
    await waitFor('a relist', () => operator.watcher.counts.relists >= 1);
    await waitFor('the deleted resource out of control', () => !operator.controlled().includes(`${NS}/after-disconnect`));
    assert.ok(logLines.some((l) => l.msg === 'watch expired, listing again'));
  });

  it('serves the CRD and the manifests in deploy/ to kubectl', async () => {
    const env = { ...process.env, KUBECONFIG: simulator.kubeconfigPath };
    const root = path.join(__dirname, '..');
    const out = await run('kubectl', ['apply', '-f', path.join(root, 'deploy/crd.yaml'), '-f', path.join(root, 'deploy/rbac.yaml'), '-f', path.join(root, 'deploy/operator.yaml')], { env });
    assert.match(out.stdout, /customresourcedefinition.apiextensions.k8s.io\/rlautoscalers.autoscaling.app2scale.dev created/);
    assert.match(out.stdout, /clusterrole.rbac.authorization.k8s.io\/rl-autoscaler-operator created/);
    assert.match(out.stdout, /deployment.apps\/rl-autoscaler-operator created/);
    const example = await run('kubectl', ['apply', '-f', path.join(root, 'deploy/example-rlautoscaler.yaml')], { env });
    assert.match(example.stdout, /rlautoscaler.autoscaling.app2scale.dev\/teastore-webui created/);
    const got = await run('kubectl', ['get', 'rlas', '-n', NS, '-o', 'name'], { env });
    assert.match(got.stdout, /rlautoscaler.autoscaling.app2scale.dev\/teastore-webui/);
    // The CRD's printer columns, filled in once the operator has written a status.
    await waitFor('a status', () => conditionOf('teastore-webui', 'Ready'));
    const table = await run('kubectl', ['get', 'rlas', '-n', NS], { env });
    assert.match(table.stdout, /^NAME\s+TARGET\s+MODE\s+CURRENT\s+RECOMMENDED\s+READY\s+FALLBACK\s+SLO\s+AGE\n/);
    assert.match(table.stdout, /\nteastore-webui\s+teastore-webui\s+Apply\s+1x 500m cpu 500MB heap\s/);
    // The load columns are in the wide output; no load generator runs here, so they stay empty.
    const wide = await run('kubectl', ['get', 'rlas', '-n', NS, '-o', 'wide'], { env });
    assert.match(wide.stdout, /^NAME\s+TARGET\s+MODE\s+CURRENT\s+RECOMMENDED\s+READY\s+FALLBACK\s+LOAD\s+P99\s+SLO\s+AGE\n/);
    await run('kubectl', ['delete', 'rlas', 'teastore-webui', '-n', NS], { env });
  });
});

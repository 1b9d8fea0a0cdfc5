import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseTeastoreData, EXPECTED_HEADER } from '../src/data';
import { startSimulator, RL_AUTOSCALERS, type Simulator } from '../src/simulator';
import { applyJsonPatch, applyStrategicMergePatch, applyMergePatch } from '../src/simulator/patch';
import { parseLabelSelector } from '../src/simulator/selectors';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('patch formats', () => {
  const container = { name: 'web', env: [{ name: 'A', value: '1' }, { name: 'CATALINA_OPTS', value: '-Xmx500M' }], resources: { limits: { cpu: '500m' } } };
  it('strategic merge merges containers and env vars by name', () => {
    const out = applyStrategicMergePatch({ spec: { containers: [container, { name: 'side', image: 'x' }] } }, { spec: { containers: [{ name: 'web', env: [{ name: 'CATALINA_OPTS', value: '-Xmx900M' }] }] } });
    assert.deepEqual(out.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'CATALINA_OPTS', value: '-Xmx900M' }]);
    assert.equal(out.spec.containers[1].name, 'side');
    assert.equal(out.spec.containers[0].resources.limits.cpu, '500m');
  });
  it('merge patch replaces lists and deletes with null', () => {
    assert.deepEqual(applyMergePatch({ a: [1, 2], b: 1, c: { d: 1 } }, { a: [3], b: null, c: { e: 2 } }), { a: [3], c: { d: 1, e: 2 } });
  });
  it('JSON patch applies operations and fails its test op with 422', () => {
    assert.deepEqual(applyJsonPatch({ spec: { replicas: 1 } }, [{ op: 'replace', path: '/spec/replicas', value: 3 }]), { spec: { replicas: 3 } });
    assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), (e: { code?: number }) => e.code === 422);
  });
  it('label selectors', () => {
    const pod = { metadata: { labels: { app: 'teastore', run: 'teastore-webui' } } };
    assert.ok(parseLabelSelector('app=teastore,run in (teastore-webui,x)')(pod));
    assert.ok(!parseLabelSelector('app!=teastore')(pod));
    assert.ok(parseLabelSelector('!missing,run')(pod));
  });
});

describe('the cluster simulator over HTTP', () => {
  let simulator: Simulator;
  let api: string;
  const json = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(`${api}${url}`, init);
    return { status: res.status, body: (await res.json()) as any };
  };
  const patch = (url: string, body: unknown, type = 'application/merge-patch+json') => json(url, { method: 'PATCH', headers: { 'Content-Type': type }, body: JSON.stringify(body) });
  const DEPLOY = '/apis/apps/v1/namespaces/app2scale/deployments/teastore-webui';

  before(async () => {
    simulator = await startSimulator({ port: 0, seed: 3, podStartDelayMs: 400, podStopDelayMs: 400, measurementPeriodMs: 200 });
    api = simulator.apiUrl;
    await sleep(550);
  });
  after(async () => simulator?.stop());

  it('serves discovery', async () => {
    assert.deepEqual((await json('/api')).body.versions, ['v1']);
    const groups = (await json('/apis')).body.groups.map((g: { name: string }) => g.name);
    assert.ok(groups.includes('apps') && groups.includes('autoscaling.app2scale.dev'));
    const apps = (await json('/apis/apps/v1')).body.resources.map((r: { name: string }) => r.name);
    assert.deepEqual(apps.sort(), ['deployments', 'deployments/scale', 'deployments/status']);
  });

  it('starts with the original TeaStore web UI deployment', async () => {
    const { body } = await json(DEPLOY);
    assert.deepEqual(body.spec.selector.matchLabels, { app: 'teastore', run: 'teastore-webui' });
    const c = body.spec.template.spec.containers[0];
    assert.equal(c.image, 'descartesresearch/teastore-webui');
    assert.deepEqual(c.env.map((e: { name: string }) => e.name), ['HOST_NAME', 'REGISTRY_HOST', 'CATALINA_OPTS']);
    assert.equal(c.resources.limits.cpu, '500m');
    assert.equal(body.spec.replicas, 1);
  });

  it('answers errors with Status objects: 404, 409 on a stale resourceVersion, 422', async () => {
    const missing = await json('/apis/apps/v1/namespaces/app2scale/deployments/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual([missing.body.kind, missing.body.reason, missing.body.code], ['Status', 'NotFound', 404]);
    const current = (await json(DEPLOY)).body;
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const put = await json(DEPLOY, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(stale) });
    assert.equal(put.status, 409);
    assert.equal(put.body.reason, 'Conflict');
    const bad = await patch(DEPLOY, { spec: { replicas: -1 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.match(bad.body.message, /spec.replicas/);
  });

  it('rolls out a template change: new pods, terminating old ones, moving status counts', async () => {
    const list = (await json('/api/v1/namespaces/app2scale/pods?labelSelector=run%3Dteastore-webui')).body;
    const oldPod = list.items[0].metadata.name;
    assert.match(oldPod, /^teastore-webui-[a-z0-9]{10}-[a-z0-9]{5}$/);
    const before = (await json(DEPLOY)).body;
    const patched = await patch(DEPLOY, { spec: { template: { spec: { containers: [{ name: 'teastore-webui', resources: { limits: { cpu: '700m' } } }] } } } }, 'application/strategic-merge-patch+json');
    assert.equal(patched.status, 200);
    assert.equal(patched.body.metadata.generation, before.metadata.generation + 1);
    await sleep(20);
    const during = (await json('/api/v1/namespaces/app2scale/pods')).body.items;
    const newPods = during.filter((p: any) => p.metadata.labels['pod-template-hash'] !== list.items[0].metadata.labels['pod-template-hash']);
    assert.equal(newPods.length, 1);
    assert.notEqual(newPods[0].status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    const mid = (await json(DEPLOY)).body.status;
    assert.equal(mid.updatedReplicas, 1);
    assert.equal(mid.readyReplicas, 1, 'the old pod still serves');
    await sleep(500);
    const old = (await json(`/api/v1/namespaces/app2scale/pods/${oldPod}`)).body;
    assert.ok(old.metadata.deletionTimestamp, 'the old pod is terminating');
    assert.equal(old.status.conditions.find((c: any) => c.type === 'Ready').status, 'False', 'a terminating pod is not ready');
    await sleep(500);
    assert.equal((await json(`/api/v1/namespaces/app2scale/pods/${oldPod}`)).status, 404);
    const done = (await json(DEPLOY)).body;
    assert.equal(done.status.observedGeneration, done.metadata.generation);
    assert.deepEqual([done.status.replicas, done.status.updatedReplicas, done.status.readyReplicas, done.status.availableReplicas], [1, 1, 1, 1]);
    assert.equal(done.status.unavailableReplicas, undefined);
  });

  it('watches from a resourceVersion and filters pods by field selector', async () => {
    const list = (await json('/apis/apps/v1/namespaces/app2scale/deployments')).body;
    const controller = new AbortController();
    const res = await fetch(`${api}/apis/apps/v1/namespaces/app2scale/deployments?watch=1&resourceVersion=${list.metadata.resourceVersion}`, { signal: controller.signal });
    await patch('/apis/apps/v1/namespaces/app2scale/deployments/teastore-webui/scale', { spec: { replicas: 2 } });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const event = JSON.parse(Buffer.from(value!).toString('utf8').split('\n')[0]);
    assert.equal(event.type, 'MODIFIED');
    assert.equal(event.object.spec.replicas, 2);
    controller.abort();
    const running = (await json('/api/v1/namespaces/app2scale/pods?fieldSelector=status.phase%3DRunning')).body.items;
    assert.ok(running.every((p: any) => p.status.phase === 'Running'));
  });

  it('serves cAdvisor metrics from the dataset rows it draws, only for ready pods', async () => {
    await sleep(1000);
    const text = await (await fetch(simulator.metricsUrl)).text();
    assert.doesNotMatch(text, /NaN/);
    const pods = (await json('/api/v1/namespaces/app2scale/pods')).body.items.filter((p: any) => !p.metadata.deletionTimestamp);
    for (const pod of pods) {
      const name = pod.metadata.name;
      const app = text.split('\n').find((l) => l.startsWith('container_memory_working_set_bytes{container="teastore-webui"') && l.includes(`pod="${name}"`));
      assert.ok(app, `memory series of ${name}`);
      assert.match(text, new RegExp(`container_cpu_usage_seconds_total\\{container="POD",[^}]*pod="${name}"`));
      assert.match(text, new RegExp(`container_network_receive_packets_total\\{container="",[^}]*pod="${name}"`));
      const current = simulator.servedRows(name).at(-1)!;
      assert.equal(Number(app!.split(' ').at(-1)), Math.round(current.usedRamGiB * 2 ** 30));
      assert.deepEqual(current.config, { replicas: 2, cpuMillis: 700, heapMB: 500 });
    }
    assert.ok(simulator.servedRows().length > pods.length, 'new rows are drawn every measurement period');
    simulator.setPodsNeverReady(true);
    await patch('/apis/apps/v1/namespaces/app2scale/deployments/teastore-webui/scale', { spec: { replicas: 3 } });
    await sleep(500);
    const starting = (await json('/api/v1/namespaces/app2scale/pods')).body.items.find((p: any) => !(p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
    assert.ok(starting);
    assert.ok(!(await (await fetch(simulator.metricsUrl)).text()).includes(starting.metadata.name), 'a pod that is not ready has no series yet');
    simulator.setPodsNeverReady(false);
  });

  it('serves a registered custom resource with status, and events', async () => {
    const base = '/apis/autoscaling.app2scale.dev/v1alpha1/namespaces/app2scale/rlautoscalers';
    assert.equal(RL_AUTOSCALERS.resource, 'rlautoscalers');
    const created = await json(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiVersion: 'autoscaling.app2scale.dev/v1alpha1', kind: 'RLAutoscaler', metadata: { name: 'webui' }, spec: { target: 'teastore-webui' } }) });
    assert.equal(created.status, 201);
    const status = await patch(`${base}/webui/status`, { status: { phase: 'Running' } });
    assert.equal(status.body.status.phase, 'Running');
    assert.equal(status.body.metadata.generation, 1, 'status writes do not bump generation');
    assert.equal((await patch(`${base}/webui`, { spec: { x: 1 } }, 'application/strategic-merge-patch+json')).status, 415);
    assert.equal((await json(base)).body.items.length, 1);
    assert.equal((await json(`${base}/webui`, { method: 'DELETE' })).status, 200);
    assert.equal((await json(`${base}/webui`)).status, 404);
    const event = await json('/api/v1/namespaces/app2scale/events', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { generateName: 'webui.' }, reason: 'Scaled', message: 'x' }) });
    assert.equal(event.status, 201);
    assert.match(event.body.metadata.name, /^webui\./);
  });

  it('injects 409 and 500 faults into the next requests of a kind', async () => {
    simulator.faults.failNext({ status: 500, verb: 'get', resource: 'deployments', count: 2 });
    assert.equal((await json(DEPLOY)).status, 500);
    assert.equal((await json(DEPLOY)).body.reason, 'InternalError');
    assert.equal((await json(DEPLOY)).status, 200);
    simulator.faults.failNext({ status: 409, verb: 'patch' });
    assert.equal((await patch(DEPLOY, { spec: { replicas: 2 } })).body.reason, 'Conflict');
  });

  it('works with kubectl apply for a second deployment', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'simulator-test-'));
    try {
      const manifest = path.join(dir, 'second.yaml');
      writeFileSync(manifest, `apiVersion: apps/v1
kind: Deployment
metadata: {name: teastore-webui-canary, namespace: app2scale}
spec:
  replicas: 2
  selector: {matchLabels: {run: teastore-webui-canary}}
  template:
    metadata: {labels: {run: teastore-webui-canary}}
    spec:
      containers:
      - name: teastore-webui
        image: descartesresearch/teastore-webui
        env: [{name: CATALINA_OPTS, value: "-Xmx300M"}]
        resources: {limits: {cpu: "300m"}}
`);
      const env = { ...process.env, KUBECONFIG: simulator.kubeconfigPath };
      const applied = await run('/usr/bin/kubectl', ['apply', '-f', manifest], { env });
      assert.match(applied.stdout, /deployment.apps\/teastore-webui-canary created/);
      const status = await run('/usr/bin/kubectl', ['rollout', 'status', 'deployment/teastore-webui-canary', '--timeout=10s'], { env });
      assert.match(status.stdout, /successfully rolled out/);
      const pods = (await json('/api/v1/namespaces/app2scale/pods?labelSelector=run%3Dteastore-webui-canary')).body.items;
      assert.equal(pods.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dataset rows without packet counts', () => {
  it('never produce NaN series: the network series are skipped', async () => {
    // A dataset holding only one configuration, whose single row has NaN packet counts.
    const row = '1 500 500 NaN NaN 10 100 0.4 0.5 0.0148 0 0 1 500 0.5 1-500-500-0 0';
    const table = parseTeastoreData(`${EXPECTED_HEADER.join(' ')}\n${row}\n`);
    const simulator = await startSimulator({ port: 0, table, podStartDelayMs: 10, podStopDelayMs: 10, measurementPeriodMs: 50 });
    try {
      await sleep(150);
      const text = await (await fetch(simulator.metricsUrl)).text();
      assert.doesNotMatch(text, /NaN/);
      assert.match(text, /container_cpu_usage_seconds_total\{container="teastore-webui"/);
      assert.doesNotMatch(text, /container_network_receive_packets_total\{/);
      assert.ok(simulator.servedRows().every((r) => r.networkSkipped));
    } finally {
      await simulator.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { CPU_LIMIT_ANNOTATION, DeploymentClient, loadKubeConfig } from '../src/kube';
import { InPlaceApplier, parseUpdatePolicy, podCpu } from '../src/kube-resize';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadPerformanceModel } from '../src/model/model';
import { withInPlaceResize } from '../src/model/in-place-transition';
import { DEFAULTS, parseSpec } from '../src/operator/spec';
import { changesPerHour, runInPlaceAblation, type AblationRow } from '../src/agent/in-place-ablation';
import { inPlaceAblationFigure } from '../src/plot/in-place';
import { LoadTask } from '../src/agent/load-evaluate';
import { LoadDynamics } from '../src/env/load-dynamics';
import { LOAD_TASK_BOUNDS } from '../src/env/load-setup';
import { markovSource } from '../src/env/load-source';
import { makeRequestReward } from '../src/request-reward';
import { Action } from '../src/space';
import { startLoad } from '../src/load/generator';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ClusterEnv, type LiveStepInfo } from '../src/env/cluster-env';
import { readStepLog, StepLog } from '../src/env/step-log';
import { StepLogger } from '../src/env/wrappers';
import { startSimulatorStack } from '../src/live/simulator-stack';
import { startSimulator } from '../src/simulator';

const NS = 'app2scale';
const CONTAINER = 'teastore-webui';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startWith(options: Parameters<typeof startSimulator>[0]) {
  const simulator = await startSimulator({ port: 0, seed: 3, podStartDelayMs: 40, podStopDelayMs: 40, resizeDelayMs: 50, ...options });
  const kc = loadKubeConfig(simulator.kubeconfigPath);
  const kube = new DeploymentClient(kc, {}, { retryDelayMs: 10, pollIntervalMs: 20 });
  await kube.waitForRollout({ timeoutMs: 5000 });
  return { simulator, kc, kube, core: kc.makeApiClient(k8s.CoreV1Api) };
}

const podNames = async (core: k8s.CoreV1Api) => (await core.listNamespacedPod({ namespace: NS })).items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
const resizeBody = (cpu: string) => ({ spec: { containers: [{ name: CONTAINER, resources: { limits: { cpu } } }] } });
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

describe('the simulator serves in-place pod resize (Kubernetes 1.33)', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  before(async () => (s = await startWith({ nodeCpuMillis: 2000 })));
  after(async () => s.simulator.stop());

  it('reports 1.33 and lists pods/resize in discovery', async () => {
    const version = await s.kc.makeApiClient(k8s.VersionApi).getCode();
    assert.equal(version.minor, '33');
    const resources = await s.core.getAPIResources();
    assert.ok(resources.resources.some((r) => r.name === 'pods/resize' && r.verbs.includes('patch')));
  });

  it('gives containers the default resizePolicy and reports allocated and actual resources', async () => {
    const [name] = await podNames(s.core);
    const pod = await waitFor('allocated resources', async () => {
      const p = await s.core.readNamespacedPod({ name, namespace: NS });
      return p.status?.containerStatuses?.[0]?.allocatedResources ? p : undefined;
    });
    assert.deepEqual(JSON.parse(JSON.stringify(pod.spec!.containers[0].resizePolicy)), [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'memory', restartPolicy: 'NotRequired' }]);
    assert.equal(pod.status!.containerStatuses![0].allocatedResources!.cpu, '500m');
    assert.equal(pod.status!.containerStatuses![0].resources!.limits!.cpu, '500m');
  });

  it('resizes with a strategic merge patch: in progress, then in force, without a restart', async () => {
    const [name] = await podNames(s.core);
    const before = await s.core.readNamespacedPod({ name, namespace: NS });
    const patched = await s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('700m') }, strategic);
    assert.equal(patched.spec!.containers[0].resources!.limits!.cpu, '700m');
    const inProgress = await waitFor('PodResizeInProgress', async () => {
      const p = await s.core.readNamespacedPod({ name, namespace: NS });
      return p.status?.conditions?.some((c) => c.type === 'PodResizeInProgress') ? p : undefined;
    });
    assert.equal(inProgress.status!.containerStatuses![0].allocatedResources!.cpu, '700m');
    assert.equal(inProgress.status!.containerStatuses![0].resources!.limits!.cpu, '500m', 'the old limit holds until the kubelet actuates');
    const done = await waitFor('resize done', async () => {
      const p = await s.core.readNamespacedPod({ name, namespace: NS });
      return p.status?.containerStatuses?.[0]?.resources?.limits?.cpu === '700m' ? p : undefined;
    });
    assert.ok(!done.status!.conditions!.some((c) => c.type.startsWith('PodResize')));
    assert.equal(done.metadata!.uid, before.metadata!.uid, 'same pod');
    assert.equal(done.status!.containerStatuses![0].restartCount, 0);
    assert.deepEqual(await podNames(s.core), [name]);
  });

  it('accepts JSON merge and JSON patches too', async () => {
    const [name] = await podNames(s.core);
    const current = await s.core.readNamespacedPod({ name, namespace: NS });
    const containers = current.spec!.containers.map((c) => ({ ...c, resources: { limits: { cpu: '600m' } } }));
    await s.core.patchNamespacedPodResize({ name, namespace: NS, body: { spec: { containers } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.equal((await s.core.readNamespacedPod({ name, namespace: NS })).spec!.containers[0].resources!.limits!.cpu, '600m');
    await s.core.patchNamespacedPodResize({ name, namespace: NS, body: [{ op: 'replace', path: '/spec/containers/0/resources/limits/cpu', value: '800m' }] }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch));
    await waitFor('800m in force', async () => ((await s.core.readNamespacedPod({ name, namespace: NS })).status?.containerStatuses?.[0]?.resources?.limits?.cpu === '800m' ? true : undefined));
  });

  it('refuses changes other than CPU and memory with 422', async () => {
    const [name] = await podNames(s.core);
    const body = { spec: { containers: [{ name: CONTAINER, image: 'other/image' }] } };
    await assert.rejects(s.core.patchNamespacedPodResize({ name, namespace: NS, body }, strategic), (err: unknown) => err instanceof k8s.ApiException && err.code === 422 && /only cpu and memory resources are mutable/.test(String(err.body)));
    await assert.rejects(s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('lots') }, strategic), (err: unknown) => err instanceof k8s.ApiException && err.code === 422 && /lots/.test(String(err.body)));
  });

  it('marks a resize beyond the node Infeasible and one beyond the free CPU Deferred, retried when CPU frees', async () => {
    const [name] = await podNames(s.core);
    await s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('3') }, strategic);
    const infeasible = await waitFor('Infeasible', async () => (await s.core.readNamespacedPod({ name, namespace: NS })).status?.conditions?.find((c) => c.type === 'PodResizePending'));
    assert.equal(infeasible.reason, 'Infeasible');
    assert.match(infeasible.message!, /capacity: 2000/);
    // A second pod takes 500m (the template's) of the 2000m: the first may then grow to at most 1500m.
    await s.kube.patchDeployment({ spec: { replicas: 2 } });
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    await s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('1600m') }, strategic);
    const deferred = await waitFor('Deferred', async () => {
      const c = (await s.core.readNamespacedPod({ name, namespace: NS })).status?.conditions?.find((c) => c.type === 'PodResizePending');
      return c?.reason === 'Deferred' ? c : undefined;
    });
    assert.match(deferred.message!, /requested: 1600, used: 500/);
    // Scaling back down frees the CPU: the deferred resize goes through.
    await s.kube.patchDeployment({ spec: { replicas: 1 } });
    await waitFor('deferred resize done', async () => ((await s.core.readNamespacedPod({ name, namespace: NS })).status?.containerStatuses?.[0]?.resources?.limits?.cpu === '1600m' ? true : undefined));
  });
});

describe('Kubernetes 1.32 in the simulator', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  before(async () => (s = await startWith({ kubernetesVersion: '1.32' })));
  after(async () => s.simulator.stop());

  it('reports 1.32, does not list pods/resize and answers 404 to it', async () => {
    assert.equal((await s.kc.makeApiClient(k8s.VersionApi).getCode()).minor, '32');
    assert.ok(!(await s.core.getAPIResources()).resources.some((r) => r.name === 'pods/resize'));
    const [name] = await podNames(s.core);
    await assert.rejects(s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('700m') }, strategic), (err: unknown) => err instanceof k8s.ApiException && err.code === 404);
  });

  it('rolls a CPU change under InPlacePreferred, saying why', async () => {
    const before = await podNames(s.core);
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    const result = await applier.apply({ replicas: 1, cpuMillis: 700, heapMB: 500 });
    assert.equal(result.path, 'rollout');
    assert.match(result.reason, /does not serve pods\/resize/);
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    const after = await podNames(s.core);
    assert.notDeepEqual(after, before);
    assert.equal((await s.kube.readConfig()).cpuMillis, 700);
  });

  it('refuses an unknown version with a clear error', async () => {
    await assert.rejects(startSimulator({ port: 0, kubernetesVersion: '2.0' }), /Kubernetes version "2.0" is not understood/);
  });
});

describe('InPlaceApplier against the simulator', () => {
  let s: Awaited<ReturnType<typeof startWith>>;
  afterEach(async () => s?.simulator.stop());

  it('applies a CPU-only change in place: same pods, new limit in force, template untouched', async () => {
    s = await startWith({});
    const before = await podNames(s.core);
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    const result = await applier.apply({ replicas: 1, cpuMillis: 800, heapMB: 500 });
    assert.equal(result.path, 'in-place', result.reason);
    assert.match(result.reason, /500m -> 800m/);
    assert.deepEqual(result.resizedPods, before);
    assert.deepEqual(await podNames(s.core), before, 'no pod restarted');
    const pod = await s.core.readNamespacedPod({ name: before[0], namespace: NS });
    assert.equal(podCpu(pod, CONTAINER).actualMillis, 800);
    const deployment = await s.kube.readDeployment();
    assert.equal(deployment.spec!.template.spec!.containers[0].resources!.limits!.cpu, '500m');
    assert.equal(deployment.metadata!.annotations![CPU_LIMIT_ANNOTATION], '800m');
    assert.equal((await s.kube.readConfig()).cpuMillis, 800);
    assert.equal((await applier.apply({ replicas: 1, cpuMillis: 800, heapMB: 500 })).path, 'unchanged');
  });

  it('resizes new pods on scale-up without rolling the resized ones', async () => {
    s = await startWith({});
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    await applier.apply({ replicas: 1, cpuMillis: 300, heapMB: 500 });
    const [first] = await podNames(s.core);
    const result = await applier.apply({ replicas: 3, cpuMillis: 300, heapMB: 500 });
    assert.equal(result.path, 'in-place', result.reason);
    const names = await podNames(s.core);
    assert.equal(names.length, 3);
    assert.ok(names.includes(first), 'the resized pod kept running');
    assert.equal(result.resizedPods.length, 2);
    for (const name of names) assert.equal(podCpu(await s.core.readNamespacedPod({ name, namespace: NS }), CONTAINER).actualMillis, 300, name);
    // Back to the template's value: resized in place and the annotation goes.
    const back = await applier.apply({ replicas: 3, cpuMillis: 500, heapMB: 500 });
    assert.equal(back.path, 'in-place');
    assert.equal((await s.kube.readDeployment()).metadata?.annotations?.[CPU_LIMIT_ANNOTATION], undefined);
    assert.deepEqual(await podNames(s.core), names);
  });

  it('syncPodCpu resizes a pod that appears later (a replaced pod)', async () => {
    s = await startWith({});
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    await applier.apply({ replicas: 1, cpuMillis: 600, heapMB: 500 });
    const [old] = await podNames(s.core);
    await s.core.deleteNamespacedPod({ name: old, namespace: NS });
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    const [replacement] = await podNames(s.core);
    assert.notEqual(replacement, old);
    assert.equal(podCpu(await s.core.readNamespacedPod({ name: replacement, namespace: NS }), CONTAINER).specMillis, 500, 'starts from the template');
    assert.deepEqual(await applier.syncPodCpu(), [replacement]);
    await waitFor('replacement resized', async () => (podCpu(await s.core.readNamespacedPod({ name: replacement, namespace: NS }), CONTAINER).actualMillis === 600 ? true : undefined));
    assert.deepEqual(await applier.syncPodCpu(), [], 'nothing left to resize');
  });

  it('rolls a heap change, with or without CPU, and moves an in-place CPU into the template', async () => {
    s = await startWith({});
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    await applier.apply({ replicas: 1, cpuMillis: 700, heapMB: 500 });
    const before = await podNames(s.core);
    const result = await applier.apply({ replicas: 1, cpuMillis: 700, heapMB: 600 });
    assert.equal(result.path, 'rollout');
    assert.match(result.reason, /JVM heap/);
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    assert.notDeepEqual(await podNames(s.core), before);
    const deployment = await s.kube.readDeployment();
    assert.equal(deployment.spec!.template.spec!.containers[0].resources!.limits!.cpu, '700m');
    assert.equal(deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION], undefined);
    assert.deepEqual(await s.kube.readConfig(), { replicas: 1, cpuMillis: 700, heapMB: 600 });
  });

  it('rolls under the Rollout policy', async () => {
    s = await startWith({});
    const applier = new InPlaceApplier(s.kube, { updatePolicy: 'Rollout' });
    const result = await applier.apply({ replicas: 1, cpuMillis: 400, heapMB: 500 });
    assert.equal(result.path, 'rollout');
    assert.match(result.reason, /update policy is Rollout/);
    assert.equal(result.resizedPods.length, 0);
  });

  it('falls back to a rollout when a resize is Infeasible', async () => {
    s = await startWith({ nodeCpuMillis: 800 });
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20 });
    const result = await applier.apply({ replicas: 1, cpuMillis: 900, heapMB: 500 });
    assert.equal(result.path, 'rollout');
    assert.equal(result.fallback?.cause, 'Infeasible');
    assert.match(result.reason, /Infeasible/);
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    assert.equal((await s.kube.readDeployment()).spec!.template.spec!.containers[0].resources!.limits!.cpu, '900m');
  });

  it('falls back when a resize stays Deferred beyond the (configured) limit', async () => {
    s = await startWith({ nodeCpuMillis: 1500 });
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20, deferredTimeoutMs: 200 });
    await s.kube.applyConfig({ replicas: 2, cpuMillis: 500, heapMB: 500 });
    await s.kube.waitForRollout({ timeoutMs: 5000 });
    // Each pod may grow to 1000m alone, but not both: one resize stays Deferred.
    const result = await applier.apply({ replicas: 2, cpuMillis: 900, heapMB: 500 });
    assert.equal(result.path, 'rollout');
    assert.equal(result.fallback?.cause, 'Deferred');
    assert.match(result.reason, /Deferred for more than 0 s|Deferred for more than/);
  });

  it('falls back when a resize stays in progress beyond the (configured) limit', async () => {
    s = await startWith({ resizeDelayMs: 60_000 });
    const applier = new InPlaceApplier(s.kube, { pollIntervalMs: 20, inProgressTimeoutMs: 200 });
    const result = await applier.apply({ replicas: 1, cpuMillis: 600, heapMB: 500 });
    assert.equal(result.path, 'rollout');
    assert.equal(result.fallback?.cause, 'InProgress');
  });

  it('parses update policies and names a bad one', () => {
    assert.equal(parseUpdatePolicy('Rollout'), 'Rollout');
    assert.throws(() => parseUpdatePolicy('Sometimes'), /"Sometimes" is not one of InPlacePreferred, Rollout/);
  });
});

describe('the operator\'s update policy', () => {
  const minimal = { target: { deployment: 'teastore-webui' }, policy: { checkpoint: '/ck' }, metrics: { prometheusUrl: 'http://prom:9090' } };

  it('defaults to InPlacePreferred with VPA\'s fallback limits, and takes Rollout', () => {
    const result = parseSpec(minimal, 'app2scale');
    assert.ok(result.ok);
    assert.equal(result.spec.updatePolicy, 'InPlacePreferred');
    assert.deepEqual(result.spec.resizeFallback, { deferredSeconds: 300, inProgressSeconds: 3600 });
    const rollout = parseSpec({ ...minimal, updatePolicy: 'Rollout', resizeFallback: { deferredSeconds: 60 } }, 'app2scale');
    assert.ok(rollout.ok);
    assert.equal(rollout.spec.updatePolicy, 'Rollout');
    assert.equal(rollout.spec.resizeFallback.deferredSeconds, 60);
  });

  it('names a bad update policy or fallback limit', () => {
    const result = parseSpec({ ...minimal, updatePolicy: 'Whenever', resizeFallback: { inProgressSeconds: 0 } }, 'app2scale');
    assert.ok(!result.ok);
    assert.ok(result.errors.some((e) => e.includes('spec.updatePolicy = "Whenever" must be one of InPlacePreferred, Rollout')), result.errors.join('; '));
    assert.ok(result.errors.some((e) => e.includes('spec.resizeFallback.inProgressSeconds = 0 is outside 1..86400')), result.errors.join('; '));
  });

  it('has the same defaults in the CRD schema, and RBAC to patch pods/resize', () => {
    const crd = parse(readFileSync(path.join(__dirname, '..', 'deploy', 'crd.yaml'), 'utf8'));
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    assert.equal(spec.updatePolicy.default, DEFAULTS.updatePolicy);
    assert.deepEqual(spec.updatePolicy.enum, ['InPlacePreferred', 'Rollout']);
    assert.equal(spec.resizeFallback.properties.deferredSeconds.default, DEFAULTS.resizeDeferredSeconds);
    assert.equal(spec.resizeFallback.properties.inProgressSeconds.default, DEFAULTS.resizeInProgressSeconds);
    const rbac = readFileSync(path.join(__dirname, '..', 'deploy', 'rbac.yaml'), 'utf8').split(/^---$/m).map((doc) => parse(doc));
    const role = rbac.find((d) => d?.kind === 'ClusterRole');
    assert.ok(role.rules.some((r: { resources: string[]; verbs: string[] }) => r.resources.includes('pods/resize') && r.verbs.includes('patch')));
  });
});

describe('the command line', () => {
  const ROOT = path.resolve(__dirname, '..');
  const cli = (args: string[]) => spawnSync('npx', ['rl-autoscaler', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

  it('live refuses an unknown --update-policy, naming it', () => {
    const r = cli(['live', '--simulator', '--checkpoint', 'checkpoints/none', '--update-policy', 'Sometimes']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--update-policy "Sometimes" is not one of InPlacePreferred, Rollout/);
  });

  it('simulator refuses an unknown --k8s-version, naming it', () => {
    const r = cli(['simulator', '--k8s-version', 'banana']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /Kubernetes version "banana" is not understood/);
  });
});

describe('in-place transition costs for the offline environment', () => {
  const model = loadPerformanceModel();
  const inPlace = withInPlaceResize(model, { resizeSec: 2 });
  const at = (replicas: number, cpuMillis: number, heapMB: number) => ({ replicas, cpuMillis, heapMB });

  it('a CPU-only change starts and stops no pod and loses nothing in place, where a rollout restarts every pod', () => {
    const rollout = model.transition(at(3, 500, 500), at(3, 600, 500), 100);
    assert.equal(rollout.podsStarted, 3);
    assert.ok(rollout.requestsLost > 0, 'a rollout loses in-flight requests');
    const resized = inPlace.transition(at(3, 500, 500), at(3, 600, 500), 100);
    assert.deepEqual({ started: resized.podsStarted, stopped: resized.podsStopped, lost: resized.requestsLost, inPlace: resized.inPlace, resizeSec: resized.resizeSec }, { started: 0, stopped: 0, lost: 0, inPlace: true, resizeSec: 2 });
  });

  it('a heap change still rolls, and replicas still start pods', () => {
    assert.deepEqual(inPlace.transition(at(2, 500, 500), at(2, 500, 600), 100), { ...model.transition(at(2, 500, 500), at(2, 500, 600), 100), inPlace: false, resizeSec: 0 });
    const up = inPlace.transition(at(2, 500, 500), at(3, 500, 500), 100);
    assert.equal(up.podsStarted, 1);
    assert.equal(up.inPlace, false);
  });

  it('predicts as the wrapped model does', () => {
    assert.deepEqual(inPlace.predict(at(2, 500, 500), 80), model.predict(at(2, 500, 500), 80));
    assert.throws(() => withInPlaceResize(model, { resizeSec: -1 }), /resizeSec must be/);
  });
});

describe('the in-place ablation on the load environment', () => {
  const model = loadPerformanceModel();
  const reward = makeRequestReward('slo');
  const chain = { name: 'markov-2', levels: [40, 120], transition: [[0.8, 0.2], [0.2, 0.8]] };
  const arms = [
    { name: 'in-place', dynamics: new LoadDynamics({ model: withInPlaceResize(model), reward, bounds: LOAD_TASK_BOUNDS }) },
    { name: 'rollout only', dynamics: new LoadDynamics({ model, reward, bounds: LOAD_TASK_BOUNDS }) },
  ];

  it('counts valid moves per hour by knob', () => {
    const episode = { return: 0, actions: [Action.INCREASE_CPU, Action.DO_NOTHING, Action.INCREASE_HEAP, Action.DECREASE_CPU], rewards: [], windows: [], rates: [], invalid: [false, false, false, true] };
    // 4 steps of 15 min = 1 hour: one CPU move (the other was refused) and one heap move.
    assert.deepEqual(changesPerHour([episode], 900), { replicas: 0, cpuMillis: 1, heapMB: 1, total: 2 });
  });

  it('a cluster that resizes CPU in place is worth at least as much: the exact optima', () => {
    const [inPlace, rollout] = arms.map((arm) => new LoadTask(arm.dynamics, markovSource(chain), { horizon: 20 }).optimum().value);
    assert.ok(inPlace >= rollout - 1e-9, `in place ${inPlace} < rollout ${rollout}`);
    assert.ok(inPlace > rollout, 'moving CPU must cost less in place somewhere on this task');
  });

  it('trains both arms with the same settings and reports return, SLO attainment and changes per hour', async () => {
    const rows = await runInPlaceAblation({ arms, trainSources: [markovSource(chain)], evaluation: markovSource(chain), maxSteps: 20, episodes: 4, config: { totalSteps: 256, numEnvs: 2, numSteps: 32, hidden: [8], seed: 1 } });
    assert.deepEqual(rows.map((r) => r.arm), ['in-place', 'in-place', 'rollout only', 'rollout only']);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.return) && r.sloAttainment >= 0 && r.sloAttainment <= 1, JSON.stringify(r));
      assert.ok(Math.abs(r.replicaChangesPerHour + r.cpuChangesPerHour + r.heapChangesPerHour - r.changesPerHour) < 1e-9);
    }
  });

  it('draws changes per hour by knob, one group per arm and policy', () => {
    const row = (arm: string, cpu: number, heap: number): AblationRow => ({ arm, policy: 'ppo', return: 0, sloAttainment: 1, changesPerHour: cpu + heap, replicaChangesPerHour: 0, cpuChangesPerHour: cpu, heapChangesPerHour: heap });
    const figure = inPlaceAblationFigure([row('in-place', 6, 1), row('rollout only', 2, 1)]);
    assert.deepEqual(figure.data.map((t) => (t as { name: string }).name), ['replicas', 'CPU limit', 'heap']);
    assert.deepEqual((figure.data[1] as { y: number[] }).y, [6, 2]);
    assert.deepEqual((figure.data[1] as { x: string[] }).x, ['in-place: ppo', 'rollout only: ppo']);
  });
});

describe('the simulated TeaStore follows an in-place resize', () => {
  it('serves with the new CPU once the resize is in force, not before, and loses no request', async () => {
    const s = await startWith({ resizeDelayMs: 400 });
    try {
      const [name] = await podNames(s.core);
      await waitFor('the pod serving', async () => (s.simulator.app.podLoad(name) ? true : undefined));
      const load = startLoad(s.simulator.appUrl, 20, { scenario: 'home', seed: 1 });
      try {
        await sleep(500);
        await s.core.patchNamespacedPodResize({ name, namespace: NS, body: resizeBody('800m') }, strategic);
        await waitFor('resize accepted', async () => ((await s.core.readNamespacedPod({ name, namespace: NS })).status?.containerStatuses?.[0]?.allocatedResources?.cpu === '800m' ? true : undefined));
        assert.equal(s.simulator.app.podLoad(name)!.cpuMillis, 500, 'the old limit serves until the resize is in force');
        await waitFor('resize in force', async () => (podCpu(await s.core.readNamespacedPod({ name, namespace: NS }), CONTAINER).actualMillis === 800 ? true : undefined));
        assert.equal(s.simulator.app.podLoad(name)!.cpuMillis, 800);
        await sleep(500);
      } finally {
        const stats = await load.stop({ drainMs: 3000 });
        assert.ok(stats.requests.ok > 10, `requests served: ${stats.requests.ok}`);
        assert.equal(stats.requests.failedTotal, 0, JSON.stringify(stats.requests.failed));
        assert.equal(s.simulator.app.podLoad(name)!.lost, 0);
      }
    } finally {
      await s.simulator.stop();
    }
  });
});

describe('the live environment says how each change was applied', () => {
  it('InPlacePreferred: CPU in place, heap by rollout, both in the step log; Rollout: CPU rolls', async () => {
    const stack = await startSimulatorStack({ seed: 7 });
    const dir = mkdtempSync(path.join(tmpdir(), 'resize-live-'));
    try {
      const timings = { warmupMs: 500, windowSeconds: 2 };
      const logFile = path.join(dir, 'steps.jsonl');
      const log = new StepLog(logFile);
      const env = new StepLogger(new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, timings, startConfig: { replicas: 1, cpuMillis: 500, heapMB: 500 } }), log, { runId: 'resize' });
      await env.reset();
      const pods = await stack.kube.listReadyPods();
      const cpu = (await env.step(Action.INCREASE_CPU)).info as LiveStepInfo;
      assert.equal(cpu.change?.path, 'in-place', cpu.change?.reason);
      assert.deepEqual(cpu.change?.resizedPods, pods);
      assert.deepEqual(await stack.kube.listReadyPods(), pods, 'no pod restarted');
      const heap = (await env.step(Action.INCREASE_HEAP)).info as LiveStepInfo;
      assert.equal(heap.change?.path, 'rollout');
      assert.match(heap.change!.reason, /JVM heap/);
      log.close();
      const logged = readStepLog(logFile).records.filter((r) => r.type === 'step').map((r) => (r.info as LiveStepInfo).change?.path);
      assert.deepEqual(logged, ['in-place', 'rollout']);

      const rolling = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, timings, updatePolicy: 'Rollout' });
      await rolling.reset();
      const rolled = (await rolling.step(Action.DECREASE_CPU)).info;
      assert.equal(rolled.change?.path, 'rollout');
      assert.match(rolled.change!.reason, /update policy is Rollout/);
    } finally {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

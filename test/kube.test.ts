import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DeploymentClient, KubeError, loadKubeConfig, parseCpuMillis, parseHeapMB, withHeapMB, formatCpuMillis } from '../src/kube';
import { startSimulator, type Simulator } from '../src/simulator';

const run = promisify(execFile);

describe('quantity and heap parsing', () => {
  it('parses CPU quantities in every form', () => {
    const table: [string | number, number][] = [['500m', 500], ['0.5', 500], ['1', 1000], ['1.25', 1250], ['100m', 100], [2, 2000], ['.9', 900], ['0.0005', 1]];
    for (const [q, millis] of table) assert.equal(parseCpuMillis(q), millis, `quantity ${q}`);
    for (const bad of ['500 m', 'abc', '-1', '1Ki', '']) assert.throws(() => parseCpuMillis(bad), /not understood/, `quantity ${bad}`);
    assert.equal(formatCpuMillis(500), '500m');
    assert.equal(formatCpuMillis(1000), '1');
  });

  it('parses -Xmx in m, M, g and G, the last one winning', () => {
    const table: [string, number][] = [['-Xmx500M', 500], ['-Xmx500m', 500], ['-Xmx1g', 1024], ['-Xmx2G', 2048], ['-server -Xmx300M -Dfoo=1', 300], ['-Xmx100M -Xmx700M', 700]];
    for (const [options, mb] of table) assert.equal(parseHeapMB(options), mb, options);
    assert.throws(() => parseHeapMB('-Xms500M'), /no -Xmx/);
  });

  it('replaces the heap and keeps the rest of the options', () => {
    assert.equal(withHeapMB('-server -Xmx300M -Dfoo=1', 600), '-server -Xmx600M -Dfoo=1');
    assert.equal(withHeapMB('-Dfoo=1', 600), '-Dfoo=1 -Xmx600M');
    assert.equal(withHeapMB('-Xmx1g', 200), '-Xmx200M');
  });
});

describe('DeploymentClient against the cluster simulator', () => {
  let simulator: Simulator;
  let client: DeploymentClient;

  before(async () => {
    simulator = await startSimulator({ port: 0, seed: 1, podStartDelayMs: 30, podStopDelayMs: 30 });
    client = new DeploymentClient(loadKubeConfig(simulator.kubeconfigPath), {}, { retryDelayMs: 10 });
    await client.waitForRollout({ timeoutMs: 3000 });
  });
  after(async () => {
    simulator.setPodsNeverReady(false);
    await simulator?.stop();
  });

  it('reads the starting configuration', async () => {
    assert.deepEqual(await client.readConfig(), { replicas: 1, cpuMillis: 500, heapMB: 500 });
  });

  it('patches only the changed fields, never writing the whole object', async () => {
    simulator.clearReceived();
    const sent = await client.applyConfig({ replicas: 1, cpuMillis: 700, heapMB: 500 });
    const patches = simulator.receivedPatches();
    assert.equal(patches.length, 1);
    assert.equal(patches[0].contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(patches[0].body, { spec: { template: { spec: { containers: [{ name: 'teastore-webui', resources: { limits: { cpu: '700m' } } }] } } } });
    assert.deepEqual(sent, patches[0].body);
    assert.equal(simulator.receivedRequests().filter((r) => r.verb === 'update').length, 0);

    simulator.clearReceived();
    await client.applyConfig({ replicas: 2, cpuMillis: 700, heapMB: 800 });
    assert.deepEqual(simulator.receivedPatches()[0].body, {
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'teastore-webui', env: [{ name: 'CATALINA_OPTS', value: '-Xmx800M' }] }] } } },
    });
    // The other env vars survive the merge by name.
    const deployment = await client.readDeployment();
    const env = deployment.spec!.template!.spec!.containers[0].env!.map((e) => `${e.name}=${e.value}`);
    assert.deepEqual(env, ['HOST_NAME=teastore-webui', 'REGISTRY_HOST=teastore-registry', 'CATALINA_OPTS=-Xmx800M']);

    simulator.clearReceived();
    assert.equal(await client.applyConfig({ replicas: 2, cpuMillis: 700, heapMB: 800 }), null);
    assert.equal(simulator.receivedPatches().length, 0);
  });

  it('waits for the rollout and lists the ready pods by selector', async () => {
    await client.applyConfig({ replicas: 3, cpuMillis: 600, heapMB: 800 });
    const state = await client.waitForRollout({ timeoutMs: 3000 });
    assert.equal(state.readyReplicas, 3);
    assert.equal(state.terminatingPods, 0);
    assert.ok(state.observedGeneration >= state.generation);
    const pods = await client.listReadyPods();
    assert.equal(pods.length, 3);
    for (const pod of pods) assert.match(pod, /^teastore-webui-[a-z0-9]{10}-[a-z0-9]{5}$/);
    assert.deepEqual(await client.readConfig(), { replicas: 3, cpuMillis: 600, heapMB: 800 });
  });

  it('times out with a clear error when pods never become ready', async () => {
    simulator.setPodsNeverReady(true);
    try {
      await client.applyConfig({ replicas: 3, cpuMillis: 500, heapMB: 800 });
      const started = Date.now();
      await assert.rejects(client.waitForRollout({ timeoutMs: 400 }), (err: unknown) => {
        assert.ok(err instanceof KubeError);
        assert.match(err.message, /deployment app2scale\/teastore-webui: rollout did not complete within 400 ms/);
        assert.match(err.message, /ready=\d/);
        return true;
      });
      assert.ok(Date.now() - started < 1500, 'the wait respects its timeout');
    } finally {
      simulator.setPodsNeverReady(false);
    }
    await client.waitForRollout({ timeoutMs: 3000 });
  });

  it('retries 409 and 500 answers, then gives up with a clear error', async () => {
    simulator.faults.failNext({ status: 409, verb: 'patch', count: 2 });
    const injectedBefore = simulator.faults.injected;
    await client.applyConfig({ replicas: 2, cpuMillis: 500, heapMB: 800 });
    assert.equal(simulator.faults.injected - injectedBefore, 2);
    assert.equal((await client.readConfig()).replicas, 2);

    simulator.faults.failNext({ status: 500, verb: 'get', resource: 'deployments', count: 2 });
    assert.equal((await client.readConfig()).replicas, 2);

    simulator.faults.failNext({ status: 500, verb: 'patch', count: 50 });
    await assert.rejects(client.applyConfig({ replicas: 3, cpuMillis: 500, heapMB: 800 }), /deployment app2scale\/teastore-webui: patch failed after 5 attempts: 500/);
    simulator.faults.clear();
  });

  it('does not retry other errors and names what is wrong', async () => {
    const kc = loadKubeConfig(simulator.kubeconfigPath);
    const missing = new DeploymentClient(kc, { deployment: 'no-such-webui' }, { retryDelayMs: 10 });
    const injectedBefore = simulator.faults.injected;
    await assert.rejects(missing.readConfig(), /deployment app2scale\/no-such-webui: read failed: 404 deployments.apps "no-such-webui" not found/);
    assert.equal(simulator.faults.injected, injectedBefore);
    const wrongContainer = new DeploymentClient(kc, { container: 'web' });
    await assert.rejects(wrongContainer.readConfig(), /no container named "web"/);
    const wrongEnv = new DeploymentClient(kc, { heapEnvVar: 'JAVA_OPTS' });
    await assert.rejects(wrongEnv.readConfig(), /no env var "JAVA_OPTS"/);
    await assert.rejects(client.applyConfig({ replicas: 10, cpuMillis: 500, heapMB: 500 }), /replicas = 10 is not on the grid/);
    assert.throws(() => loadKubeConfig('/nonexistent/kubeconfig'), /kubeconfig \/nonexistent\/kubeconfig does not exist/);
  });

  it('works with kubectl: get and scale', async () => {
    const env = { ...process.env, KUBECONFIG: simulator.kubeconfigPath };
    const got = await run('/usr/bin/kubectl', ['get', 'deployment', 'teastore-webui', '-o', 'json'], { env });
    const deployment = JSON.parse(got.stdout);
    assert.equal(deployment.metadata.name, 'teastore-webui');
    assert.equal(deployment.spec.template.spec.containers[0].resources.limits.cpu, '500m');
    const scaled = await run('/usr/bin/kubectl', ['scale', 'deployment/teastore-webui', '--replicas=4'], { env });
    assert.match(scaled.stdout, /deployment.apps\/teastore-webui scaled/);
    await client.waitForRollout({ timeoutMs: 3000 });
    assert.equal((await client.readConfig()).replicas, 4);
    assert.equal((await client.listReadyPods()).length, 4);
  });
});

/**
 * A restarted operator continues from the RLAutoscaler's status: it keeps changes one interval
 * apart across the restart and goes on counting failures (and so stays in fallback) where the
 * previous process stopped. Against the cluster simulator, with no Prometheus: the metrics fail
 * every tick, and the deployment starts below the replica bounds, so the safety guard wants a
 * change at every tick whoever decides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadKubeConfig } from '../src/kube';
import { jsonLogger } from '../src/operator/log';
import { Operator } from '../src/operator/operator';
import type { RLAutoscalerStatus } from '../src/operator/resource';
import { freePort } from '../src/prometheus-server';
import { startSimulator, teastoreDeployment, RL_AUTOSCALERS, type Simulator } from '../src/simulator';
import { DEPLOYMENTS, EVENTS } from '../src/simulator/resources';
import { DeploymentAudit, type AuditTarget } from '../scripts/e2e-operator';

const NS = 'app2scale';
const NAME = 'restarted';
const INTERVAL_SECONDS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe('operator restart', () => {
  let simulator: Simulator;
  let operator: Operator | null = null;
  let audit: DeploymentAudit;
  const logLines: Record<string, any>[] = [];
  const target: AuditTarget = {
    namespace: NS,
    deployment: NAME,
    container: NAME,
    heapEnvVar: 'CATALINA_OPTS',
    bounds: { min: { replicas: 3, cpuMillis: 100, heapMB: 100 }, max: { replicas: 9, cpuMillis: 900, heapMB: 900 } },
    intervalMs: INTERVAL_SECONDS * 1000,
  };

  const statusOf = (): RLAutoscalerStatus | undefined => simulator.store.find(RL_AUTOSCALERS, NS, NAME)?.status;
  const replicas = (): number | undefined => simulator.store.find(DEPLOYMENTS, NS, NAME)?.spec?.replicas;
  const rolledOut = (want: number) => {
    const d = simulator.store.find(DEPLOYMENTS, NS, NAME);
    const s = d?.status ?? {};
    return d?.spec?.replicas === want && s.observedGeneration === d?.metadata?.generation && s.readyReplicas === want && s.updatedReplicas === want && s.replicas === want;
  };
  const fallbackEvents = () => simulator.store.list(EVENTS, NS).filter((e) => e.involvedObject?.name === NAME && e.reason === 'FallbackActivated');

  /** A new operator process, as far as the resource can tell: nothing shared with the one before. */
  async function startOperator(): Promise<Operator> {
    const started = new Operator({ kubeConfig: loadKubeConfig(simulator.kubeconfigPath), logger: jsonLogger({ write: (line) => logLines.push(JSON.parse(line)) }) });
    await started.start();
    return started;
  }

  /** Stops the operator and starts a new one once the deployment is stable, so its first tick decides. */
  async function restartOperator(): Promise<void> {
    await operator?.stop();
    await waitFor('the rollout to complete', () => rolledOut(replicas() ?? 0));
    operator = await startOperator();
  }

  before(async () => {
    simulator = await startSimulator({ seed: 5, podStartDelayMs: 100, podStopDelayMs: 100, measurementPeriodMs: 2000 });
    simulator.createDeployment(teastoreDeployment(NAME, NS));
    await waitFor('the deployment rolled out', () => rolledOut(1));
    audit = new DeploymentAudit(simulator, [target]);
    const closedPort = await freePort(); // no Prometheus: the metrics fail at every tick
    simulator.store.create(RL_AUTOSCALERS, NS, {
      metadata: { name: NAME, namespace: NS },
      spec: {
        target: { deployment: NAME },
        intervalSeconds: INTERVAL_SECONDS,
        mode: 'Apply',
        bounds: { replicas: { min: 3, max: 9 } },
        policy: { checkpoint: '/no/checkpoint/needed' },
        metrics: { prometheusUrl: `http://127.0.0.1:${closedPort}`, windowSeconds: 3, timeoutSeconds: 1 },
        safety: { fallback: { failureThreshold: 2 } },
      },
    });
  });

  after(async () => {
    await operator?.stop();
    audit?.stop();
    await simulator?.stop();
  });

  it('keeps changes one interval apart and goes on counting failures across restarts', async () => {
    // First process: one failure, and the guard moves replicas 1 -> 2 towards the bounds.
    operator = await startOperator();
    await waitFor('the first change recorded', () => statusOf()?.lastChangeTime && statusOf()?.consecutiveFailures?.metrics === 1);
    assert.equal(replicas(), 2);
    const recordedChangeMs = Date.parse(statusOf()!.lastChangeTime!);

    // Restarted right after the change: the second failure puts the fallback in control, and the
    // next step (2 -> 3) waits for the interval since the recorded change.
    await restartOperator();
    await waitFor('the second failure', () => statusOf()?.consecutiveFailures?.metrics === 2);
    let status = statusOf()!;
    assert.equal(status.lastDecision?.applied, false, JSON.stringify(status.lastDecision));
    assert.match(status.lastDecision!.reason, /not applied: the last change was \d+ s ago, less than one interval/);
    assert.equal(status.conditions?.find((c) => c.type === 'FallbackActive')?.status, 'True');
    assert.equal(replicas(), 2);
    assert.equal(fallbackEvents().length, 1);

    // Restarted again while the fallback is active: it stays active (no second activation event).
    await restartOperator();
    await waitFor('the third failure', () => statusOf()?.consecutiveFailures?.metrics === 3);
    status = statusOf()!;
    assert.equal(status.lastDecision?.source, 'Fallback');
    assert.equal(status.lastDecision?.applied, false);
    assert.equal(replicas(), 2);
    assert.equal(fallbackEvents().length, 1, 'the restarted operator reported the fallback as newly activated');
    assert.equal(Date.parse(status.lastChangeTime!), recordedChangeMs);

    // One interval after the recorded change the next step is taken.
    await waitFor('replicas 3', () => replicas() === 3, INTERVAL_SECONDS * 1000 + 10_000);
    const changes = audit.changes(target);
    assert.deepEqual(changes.map((c) => c.to.config.replicas), [2, 3]);
    const gapMs = changes[1].to.atMs - changes[0].to.atMs;
    assert.ok(gapMs >= INTERVAL_SECONDS * 1000 - 500, `the deployment changed again ${gapMs} ms after the recorded change`);
    assert.ok(changes.every((c) => c.to.rolloutCompleteBefore));
    const secondChangeMs = await waitFor('the second change recorded', () => Date.parse(statusOf()!.lastChangeTime!) !== recordedChangeMs && Date.parse(statusOf()!.lastChangeTime!));
    assert.ok(secondChangeMs - recordedChangeMs >= INTERVAL_SECONDS * 1000 - 500);
  });

  it('records a change in the status before the patch, and takes it back when the patch is refused', async () => {
    // What the status said at the moment the deployment changed: an operator dying right after
    // the patch must already have recorded it.
    const recordedAtChange: (string | null | undefined)[] = [];
    const unsubscribe = simulator.store.subscribe((event) => {
      if (event.resourceType !== DEPLOYMENTS || event.object.metadata?.name !== NAME) return;
      if (event.old && event.old.spec?.replicas !== event.object.spec?.replicas) recordedAtChange.push(statusOf()?.lastChangeTime);
    });
    try {
      const before = statusOf()!.lastChangeTime!;
      const injected = simulator.faults.injected;
      simulator.faults.failNext({ status: 403, verb: 'patch', resource: 'deployments', message: 'the operator may not patch deployments' });
      // Raising the bounds makes the guard want one more replica.
      simulator.store.mutate(RL_AUTOSCALERS, NS, NAME, (object) => (object.spec.bounds.replicas.min = 4));
      await waitFor('the refused patch', () => simulator.faults.injected > injected, INTERVAL_SECONDS * 1000 + 10_000);
      const refused = await waitFor('the refused patch in the status', () => /could not apply .*may not patch deployments/.test(statusOf()?.lastDecision?.reason ?? '') && statusOf()!);
      assert.equal(refused.lastChangeTime, before, 'a refused patch left its time as the last change');
      assert.equal(replicas(), 3);

      await waitFor('replicas 4', () => replicas() === 4, INTERVAL_SECONDS * 1000 + 10_000);
      assert.equal(recordedAtChange.length, 1);
      assert.ok(recordedAtChange[0] && Date.parse(recordedAtChange[0]) > Date.parse(before), `the status said ${recordedAtChange[0]} when the deployment changed`);
    } finally {
      unsubscribe();
    }
  });
});

/**
 * The deployment controller and kubelet of the simulator: turns Deployments into pods, rolls out
 * template changes (pods start and terminate after configurable delays) and keeps the status
 * counts and observedGeneration moving as on a real cluster.
 *
 * Simplification: pods are owned by their Deployment directly (no ReplicaSet objects); the
 * rolling update starts all new pods at once and removes old ones while availability stays at
 * least `replicas - maxUnavailable`.
 */
import { createHash } from 'node:crypto';
import { DEPLOYMENTS, PODS } from './resources';
import type { KubeObject } from './status';
import { randomSuffix, type ObjectStore } from './store';

export interface RolloutOptions {
  /** Time from pod creation until it is running and ready. */
  podStartDelayMs: number;
  /** Time a terminating pod keeps its deletionTimestamp before it goes. */
  podStopDelayMs: number;
  /** Seeded source of pod-name suffixes. */
  random: () => number;
}

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The pod-template-hash of a template (10 characters of the alphabet Kubernetes uses). */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(template ?? {})).digest();
  let s = '';
  for (let i = 0; i < 10; i++) s += HASH_ALPHABET[digest[i] % HASH_ALPHABET.length];
  return s;
}

export const isPodReady = (pod: KubeObject) => (pod.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function percentOf(value: string | number | undefined, total: number, roundUp: boolean, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number(value) || fallback;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export class RolloutSimulator {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<string>();
  private scheduled = false;
  private podsNeverReady = false;
  /** Pods whose start delay has passed while readiness was blocked. */
  private readonly blocked = new Set<string>();
  private podCounter = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: RolloutOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => {
      if (event.resourceType === DEPLOYMENTS) this.schedule(`${event.object.metadata?.namespace}/${event.object.metadata?.name}`);
      else if (event.resourceType === PODS) {
        const owner = event.object.metadata?.labels?.['app.kubernetes.io/simulated-by-deployment'];
        if (owner) this.schedule(`${event.object.metadata?.namespace}/${owner}`);
      }
    });
    for (const d of store.list(DEPLOYMENTS, undefined)) this.schedule(`${d.metadata?.namespace}/${d.metadata?.name}`);
  }

  /** While true, new pods start but never pass their readiness check. */
  setPodsNeverReady(value: boolean): void {
    this.podsNeverReady = value;
    if (!value) {
      for (const key of this.blocked) {
        const [namespace, name] = key.split('/');
        this.markReady(namespace, name);
      }
      this.blocked.clear();
    }
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private schedule(key: string): void {
    this.pending.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const keys = [...this.pending];
      this.pending.clear();
      for (const k of keys) this.reconcile(k);
    });
  }

  private podsOf(namespace: string, deploymentName: string): KubeObject[] {
    return this.store.list(PODS, namespace, (p) => p.metadata?.labels?.['app.kubernetes.io/simulated-by-deployment'] === deploymentName);
  }

  private reconcile(key: string): void {
    const [namespace, name] = key.split('/');
    const deployment = this.store.find(DEPLOYMENTS, namespace, name);
    const pods = this.podsOf(namespace, name);
    const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
    if (!deployment) {
      for (const p of live) this.terminate(p);
      return;
    }
    const desired: number = deployment.spec.replicas;
    const hash = templateHash(deployment.spec.template);
    const isNew = (p: KubeObject) => p.metadata?.labels?.['pod-template-hash'] === hash;
    let fresh = live.filter(isNew);
    const old = live.filter((p) => !isNew(p));

    for (let i = fresh.length; i < desired; i++) fresh.push(this.createPod(deployment, hash));
    if (fresh.length > desired) {
      // Scale down: not-ready pods go first, then the youngest.
      const order = [...fresh].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)));
      for (const p of order.slice(0, fresh.length - desired)) this.terminate(p);
      const gone = new Set(order.slice(0, fresh.length - desired).map((p) => p.metadata?.name));
      fresh = fresh.filter((p) => !gone.has(p.metadata?.name));
    }

    const maxUnavailable = percentOf(deployment.spec.strategy?.rollingUpdate?.maxUnavailable, desired, false, Math.floor(desired / 4));
    const readyFresh = fresh.filter(isPodReady).length;
    const oldReady = old.filter(isPodReady);
    for (const p of old.filter((p) => !isPodReady(p))) this.terminate(p);
    const removable = Math.max(0, readyFresh + oldReady.length - (desired - maxUnavailable));
    for (const p of oldReady.slice(0, removable)) this.terminate(p);
    const oldLeft = oldReady.slice(removable);

    const remaining = [...fresh, ...oldLeft];
    const ready = remaining.filter(isPodReady).length;
    const complete = fresh.length === desired && readyFresh === desired && oldLeft.length === 0;
    const status: KubeObject = {
      observedGeneration: deployment.metadata?.generation,
      replicas: remaining.length,
      updatedReplicas: fresh.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, Math.max(desired, remaining.length) - ready),
    };
    // The API omits zero counts, as Go's omitempty does.
    for (const k of Object.keys(status)) if (status[k] === 0) delete status[k];
    const previous = deployment.status?.conditions ?? [];
    const condition = (type: string, state: boolean, reason: string, message: string) => {
      const before = previous.find((c: KubeObject) => c.type === type);
      const changed = !before || before.status !== (state ? 'True' : 'False') || before.reason !== reason;
      const time = changed ? now() : before.lastTransitionTime;
      return { type, status: state ? 'True' : 'False', lastUpdateTime: changed ? time : before.lastUpdateTime, lastTransitionTime: time, reason, message };
    };
    status.conditions = [
      condition('Available', ready >= desired - maxUnavailable, ready >= desired - maxUnavailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', ready >= desired - maxUnavailable ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      condition('Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', complete ? `ReplicaSet "${name}-${hash}" has successfully progressed.` : `ReplicaSet "${name}-${hash}" is progressing.`),
    ];
    this.store.mutate(DEPLOYMENTS, namespace, name, (d) => (d.status = status), { subresource: 'status' });
  }

  private createPod(deployment: KubeObject, hash: string): KubeObject {
    const name: string = deployment.metadata!.name;
    const namespace: string = deployment.metadata!.namespace;
    const template = deployment.spec.template ?? {};
    const podIndex = ++this.podCounter;
    const pod = this.store.create(PODS, namespace, {
      metadata: {
        name: `${name}-${hash}-${randomSuffix(5, this.options.random)}`,
        labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash, 'app.kubernetes.io/simulated-by-deployment': name },
        annotations: template.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deployment.metadata!.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...(template.spec ?? {}), nodeName: 'simulated-node-1', restartPolicy: template.spec?.restartPolicy ?? 'Always' },
      status: {
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now() },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now() },
        ],
        hostIP: '10.0.0.1',
        podIP: `10.244.${(podIndex >> 8) & 255}.${podIndex & 255}`,
        qosClass: 'Burstable',
      },
    });
    this.later(this.options.podStartDelayMs, () => this.start(namespace, pod.metadata!.name));
    return pod;
  }

  private start(namespace: string, name: string): void {
    const pod = this.store.find(PODS, namespace, name);
    if (!pod || pod.metadata?.deletionTimestamp) return;
    if (this.podsNeverReady) {
      this.blocked.add(`${namespace}/${name}`);
      // The containers run, but the readiness probe never succeeds.
      this.store.mutate(PODS, namespace, name, (p) => {
        p.status.phase = 'Running';
        p.status.containerStatuses = this.containerStatuses(p, false);
      }, { subresource: 'status' });
      return;
    }
    this.markReady(namespace, name);
  }

  private markReady(namespace: string, name: string): void {
    const time = now();
    this.store.mutate(PODS, namespace, name, (p) => {
      if (p.metadata?.deletionTimestamp) return;
      p.status.phase = 'Running';
      p.status.startTime ??= time;
      p.status.conditions = [
        { type: 'Initialized', status: 'True', lastTransitionTime: time },
        { type: 'Ready', status: 'True', lastTransitionTime: time },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: time },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: time },
      ];
      p.status.containerStatuses = this.containerStatuses(p, true);
    }, { subresource: 'status' });
  }

  private containerStatuses(pod: KubeObject, ready: boolean): KubeObject[] {
    return (pod.spec?.containers ?? []).map((c: KubeObject) => ({
      name: c.name,
      image: c.image,
      imageID: `docker.io/${c.image}@sha256:${templateHash(c.image)}`,
      containerID: `containerd://${createHash('sha256').update(`${pod.metadata?.uid}/${c.name}`).digest('hex')}`,
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now() } },
    }));
  }

  /** Marks a pod as terminating; it is removed after the stop delay. */
  terminate(pod: KubeObject): void {
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    const time = now();
    const marked = this.store.mutate(PODS, namespace, name, (p) => {
      if (p.metadata?.deletionTimestamp) return;
      p.metadata!.deletionTimestamp = time;
      p.metadata!.deletionGracePeriodSeconds = 30;
      p.status.conditions = (p.status.conditions ?? []).map((c: KubeObject) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', lastTransitionTime: time } : c));
    });
    if (marked && marked.metadata?.deletionTimestamp === time) {
      this.blocked.delete(`${namespace}/${name}`);
      this.later(this.options.podStopDelayMs, () => {
        if (this.store.find(PODS, namespace, name)) this.store.delete(PODS, namespace, name);
      });
    }
  }
}

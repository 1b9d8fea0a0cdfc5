/**
 * In-place pod resize in the simulator, as Kubernetes 1.33 does it (beta, on by default): the
 * `pods/NAME/resize` subresource writes the containers' desired resources into the spec; the
 * kubelet stand-in here admits the change against one simulated node's CPU and then actuates it.
 *
 * - Admission: a resize whose pod-level CPU request exceeds the node's capacity is `Infeasible`;
 *   one that exceeds what the other pods leave free is `Deferred` and retried whenever a pod
 *   changes or goes (condition `PodResizePending`). An accepted one is allocated at once
 *   (`status.containerStatuses[].allocatedResources`) and shows `PodResizeInProgress` until
 *   the container runs with it after `resizeDelayMs` (`status.containerStatuses[].resources`).
 * - A container's unset CPU request counts as its limit, as the API server defaults it.
 * - Containers get the default `resizePolicy` (CPU and memory: NotRequired) when created.
 *
 * Simplification: one node; new pods are admitted with what their spec asks, whatever is free
 * (the simulator does not schedule), and count against the node from then on.
 */
import { formatCpuMillis } from '../kube-fields';
import type { SubresourceHandler } from './api-routes';
import { PODS } from './resources';
import { containerCpu, validateResize, type ContainerCpu } from './resize-validation';
import type { KubeObject } from './status';
import type { ObjectStore } from './store';

/** The first Kubernetes minor version that serves `pods/resize` by default. */
export const IN_PLACE_RESIZE_MINOR = 33;
export const supportsInPlaceResize = (minor: number) => minor >= IN_PLACE_RESIZE_MINOR;

export interface PodResizeOptions {
  /** CPU the simulated node can allocate, in millicores. */
  nodeCpuMillis: number;
  /** From an accepted resize until the container runs with the new resources. */
  resizeDelayMs: number;
}

export const DEFAULT_NODE_CPU_MILLIS = 16_000;
export const DEFAULT_RESIZE_DELAY_MS = 300;

const DEFAULT_RESIZE_POLICY = [
  { resourceName: 'cpu', restartPolicy: 'NotRequired' },
  { resourceName: 'memory', restartPolicy: 'NotRequired' },
];

type Allocation = Map<string, ContainerCpu>;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const podKey = (pod: KubeObject) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;

function desiredOf(pod: KubeObject): Allocation {
  const allocation: Allocation = new Map();
  for (const c of pod.spec?.containers ?? []) allocation.set(c.name, containerCpu(c));
  return allocation;
}

const requestOf = (allocation: Allocation) => [...allocation.values()].reduce((sum, c) => sum + (c.requestMillis ?? 0), 0);
const sameAllocation = (a: Allocation, b: Allocation) => JSON.stringify([...a]) === JSON.stringify([...b]);
const cpuMap = (millis: number | null) => (millis === null ? undefined : { cpu: formatCpuMillis(millis) });

/** The CPU limit a container actually runs with: the pod status's, else the spec's (not yet started). */
export function actualCpuLimit(pod: KubeObject, containerName: string): string | undefined {
  const status = (pod.status?.containerStatuses ?? []).find((s: KubeObject) => s.name === containerName);
  if (status?.resources?.limits?.cpu !== undefined) return status.resources.limits.cpu;
  return (pod.spec?.containers ?? []).find((c: KubeObject) => c.name === containerName)?.resources?.limits?.cpu;
}

export class PodResizeController {
  /** What the kubelet has admitted per pod (by uid), and what runs. */
  private readonly allocated = new Map<string, Allocation>();
  private readonly actual = new Map<string, Allocation>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private scheduled = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: PodResizeOptions,
  ) {
    store.addDefaulter(PODS, (pod) => {
      for (const c of pod.spec?.containers ?? []) c.resizePolicy ??= DEFAULT_RESIZE_POLICY.map((p) => ({ ...p }));
    });
    this.unsubscribe = store.subscribe((event) => {
      if (event.resourceType !== PODS) return;
      if (event.type === 'DELETED') {
        this.allocated.delete(event.object.metadata?.uid);
        this.actual.delete(event.object.metadata?.uid);
      }
      this.schedule();
    });
  }

  /** The `pods/resize` subresource: checks the write and stores the new spec. */
  readonly handler: SubresourceHandler = {
    write: (current, next) => {
      validateResize(current, next);
      const pod = { ...current, spec: next.spec, metadata: { ...current.metadata, resourceVersion: next.metadata?.resourceVersion } };
      return this.store.update(PODS, current.metadata?.namespace, current.metadata!.name, pod);
    },
  };

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.pass();
    });
  }

  /** One kubelet sync over every pod on the node: admit new pods, admit or defer resizes, write status. */
  private pass(): void {
    const pods = this.store.list(PODS, undefined).filter((p) => p.status?.phase === 'Running' || this.allocated.has(p.metadata?.uid));
    // Pods that hold resources: every admitted pod until it is gone (terminating ones too).
    for (const pod of pods) {
      const uid = pod.metadata!.uid;
      if (!this.allocated.has(uid) && !pod.metadata?.deletionTimestamp) {
        this.allocated.set(uid, desiredOf(pod));
        this.actual.set(uid, desiredOf(pod));
      }
    }
    const used = () => [...this.allocated.values()].reduce((sum, a) => sum + requestOf(a), 0);
    // Oldest first, as the kubelet retries deferred resizes in order of arrival.
    const ordered = [...pods].sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || podKey(a).localeCompare(podKey(b)));
    for (const pod of ordered) {
      const uid = pod.metadata!.uid;
      const allocated = this.allocated.get(uid);
      if (!allocated) continue;
      let pending: { reason: 'Infeasible' | 'Deferred'; message: string } | null = null;
      let desired: Allocation;
      try {
        desired = desiredOf(pod);
      } catch {
        continue; // unreadable quantities were refused by the API; nothing to admit
      }
      if (!pod.metadata?.deletionTimestamp && !sameAllocation(desired, allocated)) {
        const wanted = requestOf(desired);
        const others = used() - requestOf(allocated);
        if (wanted > this.options.nodeCpuMillis) {
          pending = { reason: 'Infeasible', message: `Node didn't have enough capacity: cpu, requested: ${wanted}, capacity: ${this.options.nodeCpuMillis}` };
        } else if (others + wanted > this.options.nodeCpuMillis) {
          pending = { reason: 'Deferred', message: `Node didn't have enough resource: cpu, requested: ${wanted}, used: ${others}, capacity: ${this.options.nodeCpuMillis}` };
        } else {
          this.allocated.set(uid, desired);
          this.actuateLater(pod, desired);
        }
      }
      this.writeStatus(pod, pending);
    }
  }

  private actuateLater(pod: KubeObject, allocation: Allocation): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const uid = pod.metadata!.uid;
      // A newer resize may have been admitted meanwhile; its own timer actuates it.
      if (!this.allocated.has(uid) || !sameAllocation(this.allocated.get(uid)!, allocation)) return;
      this.actual.set(uid, allocation);
      this.schedule();
    }, this.options.resizeDelayMs);
    this.timers.add(timer);
  }

  /** Writes allocated and actual resources and the resize conditions, only when they change. */
  private writeStatus(pod: KubeObject, pending: { reason: string; message: string } | null): void {
    const uid = pod.metadata!.uid;
    const allocated = this.allocated.get(uid)!;
    const actual = this.actual.get(uid) ?? allocated;
    const inProgress = !sameAllocation(allocated, actual);
    const statuses = (pod.status?.containerStatuses ?? []).map((s: KubeObject) => {
      const a = allocated.get(s.name);
      const r = actual.get(s.name);
      if (!a || !r) return s;
      const resources: KubeObject = {};
      if (r.limitMillis !== null) resources.limits = cpuMap(r.limitMillis);
      if (r.requestMillis !== null) resources.requests = cpuMap(r.requestMillis);
      return { ...s, allocatedResources: cpuMap(a.requestMillis) ?? {}, resources };
    });
    const others = (pod.status?.conditions ?? []).filter((c: KubeObject) => c.type !== 'PodResizePending' && c.type !== 'PodResizeInProgress');
    const previous = (type: string) => (pod.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
    const conditions = [...others];
    if (pending) {
      const before = previous('PodResizePending');
      const same = before && before.reason === pending.reason;
      conditions.push({ type: 'PodResizePending', status: 'True', reason: pending.reason, message: pending.message, lastProbeTime: null, lastTransitionTime: same ? before.lastTransitionTime : now() });
    }
    if (inProgress) conditions.push({ type: 'PodResizeInProgress', status: 'True', lastProbeTime: null, lastTransitionTime: previous('PodResizeInProgress')?.lastTransitionTime ?? now() });
    const changed = JSON.stringify(statuses) !== JSON.stringify(pod.status?.containerStatuses ?? []) || JSON.stringify(conditions) !== JSON.stringify(pod.status?.conditions ?? []);
    if (!changed) return;
    this.store.mutate(PODS, pod.metadata?.namespace, pod.metadata!.name, (p) => {
      p.status.containerStatuses = statuses;
      p.status.conditions = conditions;
    }, { subresource: 'status' });
  }
}

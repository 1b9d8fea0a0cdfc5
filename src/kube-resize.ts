/**
 * Applying a configuration by the cheapest path the cluster allows.
 *
 * - A change of the CPU limit alone is applied in place (the pods' `resize` subresource) when
 *   the update policy is `InPlacePreferred` and the cluster serves `pods/resize`; else it rolls.
 * - A change of the JVM heap always rolls: `-Xmx` is read once, when the JVM starts.
 * - A change of replicas alone only scales.
 *
 * New pods and in-place CPU: the pod template keeps its CPU limit (changing it would roll every
 * pod, resized ones included) and the Deployment's annotation `autoscaling.app2scale.dev/cpu-limit`
 * holds the limit applied in place. Pods that come up later (scale-up, a crashed pod replaced)
 * start from the template and are resized to the annotation's value as soon as they appear:
 * here while an apply waits, and on every operator tick (`syncPodCpu`). A rollout writes the CPU
 * into the template and drops the annotation, so the template is the truth again.
 *
 * Fallback, as VPA's InPlaceOrRecreate: a resize that is `Infeasible`, stays `Deferred` beyond
 * 5 minutes or stays in progress beyond an hour (both configurable) is given up for a rollout.
 */
import type * as k8s from '@kubernetes/client-node';
import { CPU_LIMIT_ANNOTATION, KubeError, type DeploymentClient } from './kube';
import { formatCpuMillis, parseCpuMillis } from './kube-fields';
import { assertOnGrid, type ScalingConfig } from './space';

export const UPDATE_POLICIES = ['InPlacePreferred', 'Rollout'] as const;
export type UpdatePolicy = (typeof UPDATE_POLICIES)[number];
export const DEFAULT_UPDATE_POLICY: UpdatePolicy = 'InPlacePreferred';

export function parseUpdatePolicy(value: string, what = 'update policy'): UpdatePolicy {
  if (!(UPDATE_POLICIES as readonly string[]).includes(value)) throw new Error(`${what} ${JSON.stringify(value)} is not one of ${UPDATE_POLICIES.join(', ')}`);
  return value as UpdatePolicy;
}

export interface InPlaceOptions {
  updatePolicy?: UpdatePolicy;
  /** Give up a resize that stays Deferred this long (default 5 min). */
  deferredTimeoutMs?: number;
  /** Give up a resize that stays in progress this long (default 1 h). */
  inProgressTimeoutMs?: number;
  /** Give up waiting for pods to appear and become ready after this long (default 5 min). */
  podsTimeoutMs?: number;
  /** Polling interval while a resize settles (default 100 ms). */
  pollIntervalMs?: number;
}

export const RESIZE_TIMEOUTS = { deferredTimeoutMs: 5 * 60_000, inProgressTimeoutMs: 60 * 60_000, podsTimeoutMs: 5 * 60_000, pollIntervalMs: 100 } as const;

/** How a change was applied: nothing to do, replicas only, CPU in place, or a rollout. */
export type ApplyPath = 'unchanged' | 'scale' | 'in-place' | 'rollout';

export interface ApplyResult {
  path: ApplyPath;
  /** Why this path, in words (also why an in-place attempt fell back). */
  reason: string;
  /** Deployment patch sent (null when none). */
  patch: object | null;
  /** Pods resized in place. */
  resizedPods: string[];
  /** Set when an in-place attempt was given up for a rollout. */
  fallback?: { cause: 'Infeasible' | 'Deferred' | 'InProgress' | 'Refused'; pod: string; message: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A resize the cluster will not carry out, so the change must roll. */
class ResizeGivenUp extends Error {
  constructor(
    readonly kind: 'Infeasible' | 'Deferred' | 'InProgress' | 'Refused',
    readonly pod: string,
    message: string,
  ) {
    super(message);
  }
}

function containerOf(pod: k8s.V1Pod, name: string): k8s.V1Container | undefined {
  return pod.spec?.containers?.find((c) => c.name === name);
}

const millisOr = (value: unknown) => {
  if (value === undefined || value === null) return undefined;
  try {
    return parseCpuMillis(value as string);
  } catch {
    return undefined;
  }
};

/** The CPU limit a pod asks for (spec) and runs with (status; the spec's until the kubelet reports). */
export function podCpu(pod: k8s.V1Pod, container: string): { specMillis?: number; actualMillis?: number } {
  const specMillis = millisOr(containerOf(pod, container)?.resources?.limits?.cpu);
  const status = pod.status?.containerStatuses?.find((s) => s.name === container);
  const actual = status?.resources?.limits?.cpu;
  return { specMillis, actualMillis: actual !== undefined ? millisOr(actual) : undefined };
}

const condition = (pod: k8s.V1Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type && c.status === 'True');
const isReady = (pod: k8s.V1Pod) => pod.status?.phase === 'Running' && condition(pod, 'Ready') !== undefined;
const live = (pods: k8s.V1Pod[]) => pods.filter((p) => !p.metadata?.deletionTimestamp);

/** The resize patch of one container: its CPU limit, and its request when it would exceed the limit. */
function resizePatch(pod: k8s.V1Pod, container: string, cpuMillis: number): object {
  const resources: Record<string, unknown> = { limits: { cpu: formatCpuMillis(cpuMillis) } };
  const request = millisOr(containerOf(pod, container)?.resources?.requests?.cpu);
  if (request !== undefined && request > cpuMillis) resources.requests = { cpu: formatCpuMillis(cpuMillis) };
  return { spec: { containers: [{ name: container, resources }] } };
}

export class InPlaceApplier {
  readonly updatePolicy: UpdatePolicy;
  private readonly timeouts: Required<Omit<InPlaceOptions, 'updatePolicy'>>;
  private supported: boolean | undefined;

  constructor(
    readonly kube: DeploymentClient,
    options: InPlaceOptions = {},
  ) {
    this.updatePolicy = options.updatePolicy ?? DEFAULT_UPDATE_POLICY;
    parseUpdatePolicy(this.updatePolicy);
    this.timeouts = { ...RESIZE_TIMEOUTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => k !== 'updatePolicy' && v !== undefined)) };
  }

  /** Whether the cluster serves in-place resize (asked once). */
  async clusterSupportsResize(): Promise<boolean> {
    this.supported ??= await this.kube.servesPodResize();
    return this.supported;
  }

  /** Applies `config` by the path the policy and the cluster allow; waits until an in-place change is in force. */
  async apply(config: ScalingConfig): Promise<ApplyResult> {
    assertOnGrid(config, 'config to apply');
    const deployment = await this.kube.readDeployment();
    const running = this.kube.configOf(deployment);
    const template = this.kube.templateConfigOf(deployment);
    const heapChanged = template.heapMB !== config.heapMB;
    const cpuChanged = running.cpuMillis !== config.cpuMillis;
    const cpuOffTemplate = template.cpuMillis !== config.cpuMillis;
    if (!heapChanged && !cpuChanged && running.replicas === config.replicas && !this.annotated(deployment, config)) {
      return { path: 'unchanged', reason: 'the deployment already has this configuration', patch: null, resizedPods: [] };
    }
    if (heapChanged) return this.rollout(config, `the JVM heap changes (${template.heapMB} -> ${config.heapMB} MB): -Xmx is read at start, so the pods restart`);
    if (!cpuChanged && !cpuOffTemplate && !this.annotated(deployment, config)) {
      const patch = await this.kube.applyConfig(config);
      return { path: 'scale', reason: `replicas only (${running.replicas} -> ${config.replicas})`, patch, resizedPods: [] };
    }
    const change = cpuChanged ? `the CPU limit changes (${running.cpuMillis}m -> ${config.cpuMillis}m)` : `the pods keep a CPU limit (${config.cpuMillis}m) applied in place`;
    if (this.updatePolicy === 'Rollout') return this.rollout(config, `${change}; the update policy is Rollout`);
    if (!(await this.clusterSupportsResize())) return this.rollout(config, `${change}; the cluster does not serve pods/resize (Kubernetes before 1.33), so the pods restart`);
    return this.inPlace(deployment, config, change);
  }

  /** Whether the annotation disagrees with what `config` needs (set when it should not be, or to another value). */
  private annotated(deployment: k8s.V1Deployment, config: ScalingConfig): boolean {
    const value = deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION];
    const template = this.kube.templateConfigOf(deployment);
    const wanted = template.cpuMillis === config.cpuMillis ? undefined : formatCpuMillis(config.cpuMillis);
    return value !== wanted;
  }

  private async rollout(config: ScalingConfig, reason: string, fallback?: ApplyResult['fallback'], resizedPods: string[] = []): Promise<ApplyResult> {
    const patch = await this.kube.applyConfig(config);
    return { path: 'rollout', reason, patch, resizedPods, ...(fallback ? { fallback } : {}) };
  }

  private async inPlace(deployment: k8s.V1Deployment, config: ScalingConfig, change: string): Promise<ApplyResult> {
    const template = this.kube.templateConfigOf(deployment);
    const annotation = template.cpuMillis === config.cpuMillis ? null : formatCpuMillis(config.cpuMillis);
    const spec = this.kube.configOf(deployment).replicas === config.replicas ? {} : { replicas: config.replicas };
    const patch = { metadata: { annotations: { [CPU_LIMIT_ANNOTATION]: annotation } }, spec };
    await this.kube.patchDeployment(patch);
    const resized = new Set<string>();
    try {
      await this.settle(config, resized);
    } catch (err) {
      if (!(err instanceof ResizeGivenUp)) throw err;
      return this.rollout(config, `${change}; in place given up (pod ${err.pod}: ${err.message}), so the pods restart`, { cause: err.kind, pod: err.pod, message: err.message }, [...resized]);
    }
    return { path: 'in-place', reason: `${change}; resized in place without a restart`, patch, resizedPods: [...resized].sort() };
  }

  /**
   * Resizes every pod of the deployment whose CPU limit differs from `cpuMillis` (new pods from
   * the template, typically). Returns the pods resized. Level-triggered: call it on every tick.
   */
  async syncPodCpu(cpuMillis?: number): Promise<string[]> {
    const deployment = await this.kube.readDeployment();
    const wanted = cpuMillis ?? this.kube.configOf(deployment).cpuMillis;
    const resized: string[] = [];
    if (deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION] === undefined && cpuMillis === undefined) return resized;
    for (const pod of live(await this.kube.listPods(deployment))) {
      if (podCpu(pod, this.kube.target.container).specMillis === wanted) continue;
      await this.resize(pod, wanted);
      resized.push(pod.metadata!.name!);
    }
    return resized;
  }

  private async resize(pod: k8s.V1Pod, cpuMillis: number): Promise<void> {
    const name = pod.metadata!.name!;
    try {
      await this.kube.resizePod(name, resizePatch(pod, this.kube.target.container, cpuMillis));
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) {
        // Gone meanwhile, or the subresource is not served after all.
        if (!(await this.kube.listPods()).some((p) => p.metadata?.name === name)) return;
        this.supported = false;
        throw new ResizeGivenUp('Refused', name, `the cluster does not serve pods/resize (${err.message})`);
      }
      if (err instanceof KubeError && (err.status === 422 || err.status === 403)) throw new ResizeGivenUp('Refused', name, err.message);
      if (err instanceof KubeError && err.status === 409) return; // terminating: a replacement will be resized
      throw err;
    }
  }

  /** Until every pod runs with `config.cpuMillis`, resizing new pods as they appear, or a fallback cause. */
  private async settle(config: ScalingConfig, resized: Set<string>): Promise<void> {
    const container = this.kube.target.container;
    const started = Date.now();
    const firstSeen = new Map<string, number>();
    const since = (key: string) => {
      if (!firstSeen.has(key)) firstSeen.set(key, Date.now());
      return Date.now() - firstSeen.get(key)!;
    };
    for (;;) {
      const pods = live(await this.kube.listPods());
      let done = pods.length === config.replicas;
      for (const pod of pods) {
        const name = pod.metadata!.name!;
        const { specMillis, actualMillis } = podCpu(pod, container);
        if (specMillis !== config.cpuMillis) {
          await this.resize(pod, config.cpuMillis);
          resized.add(name);
          done = false;
          continue;
        }
        const pending = condition(pod, 'PodResizePending');
        if (pending?.reason === 'Infeasible') throw new ResizeGivenUp('Infeasible', name, `resize Infeasible: ${pending.message ?? ''}`.trim());
        if (pending?.reason === 'Deferred' && since(`${name}/Deferred`) > this.timeouts.deferredTimeoutMs) {
          throw new ResizeGivenUp('Deferred', name, `resize Deferred for more than ${Math.round(this.timeouts.deferredTimeoutMs / 1000)} s: ${pending.message ?? ''}`.trim());
        }
        if (condition(pod, 'PodResizeInProgress') && since(`${name}/InProgress`) > this.timeouts.inProgressTimeoutMs) {
          throw new ResizeGivenUp('InProgress', name, `resize in progress for more than ${Math.round(this.timeouts.inProgressTimeoutMs / 1000)} s`);
        }
        if (pending || condition(pod, 'PodResizeInProgress') || !isReady(pod) || (actualMillis ?? specMillis) !== config.cpuMillis) done = false;
      }
      if (done) return;
      if (Date.now() - started > this.timeouts.podsTimeoutMs) {
        throw new KubeError(`deployment ${this.kube.name}: pods did not all run with ${config.cpuMillis}m CPU within ${this.timeouts.podsTimeoutMs} ms`, this.kube.name);
      }
      await sleep(this.timeouts.pollIntervalMs);
    }
  }
}

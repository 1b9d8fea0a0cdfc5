/**
 * Kubernetes access for the live environment: read the TeaStore web UI's configuration, apply a
 * new one with a patch of only the changed fields, wait for the rollout, list the ready pods.
 * Containers and env vars are found by name, never by position.
 */
import * as k8s from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { assertOnGrid, type ScalingConfig } from './space';
import { CPU_LIMIT_ANNOTATION, DEFAULT_TARGET, FieldError, findContainer, formatCpuMillis, parseCpuMillis, readContainerKnobs, withHeapMB, type DeploymentTarget } from './kube-fields';

export { CPU_LIMIT_ANNOTATION } from './kube-fields';

export { parseCpuMillis, formatCpuMillis, parseHeapMB, withHeapMB, FieldError, DEFAULT_TARGET, type DeploymentTarget } from './kube-fields';

export interface KubeClientOptions {
  /** Attempts for a request that fails with 409, 5xx or a network error (default 5). */
  maxAttempts?: number;
  /** First back-off delay, doubled on each retry (default 50 ms). */
  retryDelayMs?: number;
  /** Rollout polling interval (default 100 ms). */
  pollIntervalMs?: number;
}

/** A Kubernetes failure, naming the deployment and, when known, the HTTP status. */
export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    message: string,
    readonly deployment: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Loads a kubeconfig the usual way: an explicit file, else $KUBECONFIG, else ~/.kube/config,
 * else the in-cluster service account.
 */
export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file !== undefined) {
    if (!existsSync(file)) throw new KubeError(`kubeconfig ${file} does not exist`, '');
    kc.loadFromFile(file);
  } else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new KubeError(`no cluster in the kubeconfig${file ? ` ${file}` : ''} (set KUBECONFIG or pass a file)`, '');
  return kc;
}

/** What a rollout looked like when it completed (or when waiting gave up). */
export interface RolloutState {
  generation: number;
  observedGeneration: number;
  specReplicas: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  terminatingPods: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function statusOf(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  return undefined;
}

/** The server's own message from a Status body, when it sent one. */
function serverMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = err.body as unknown;
    try {
      const parsed = typeof body === 'string' ? JSON.parse(body) : body;
      if (parsed && typeof parsed === 'object' && 'message' in parsed) return `${err.code} ${(parsed as { message: string }).message}`;
    } catch {
      // not JSON: fall through
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

const isNetworkError = (err: unknown) => !(err instanceof k8s.ApiException) && err instanceof Error && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|fetch failed|network/i.test(`${err.message} ${(err as { code?: string }).code ?? ''} ${String((err as { cause?: unknown }).cause ?? '')}`);

export class DeploymentClient {
  readonly target: DeploymentTarget;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly pollIntervalMs: number;

  constructor(kubeConfig: k8s.KubeConfig, target: Partial<DeploymentTarget> = {}, options: KubeClientOptions = {}) {
    this.target = { ...DEFAULT_TARGET, ...target };
    this.apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  /** `namespace/deployment`, as errors name it. */
  get name(): string {
    return `${this.target.namespace}/${this.target.deployment}`;
  }

  /**
   * Runs a request, retrying 409 Conflict, 5xx and network errors with exponential back-off up to
   * the attempt bound. Every other failure is a KubeError naming the deployment.
   */
  private async withRetry<T>(what: string, request: () => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (err instanceof KubeError || err instanceof FieldError) throw err;
        lastError = err;
        const status = statusOf(err);
        const retryable = status === 409 || (status !== undefined && status >= 500) || isNetworkError(err);
        if (!retryable) break;
        if (attempt < this.maxAttempts) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      }
    }
    const status = statusOf(lastError);
    const retried = status === 409 || (status !== undefined && status >= 500) || isNetworkError(lastError);
    throw new KubeError(
      `deployment ${this.name}: ${what} failed${retried ? ` after ${this.maxAttempts} attempts` : ''}: ${serverMessage(lastError)}`,
      this.name,
      status,
    );
  }

  async readDeployment(): Promise<k8s.V1Deployment> {
    return this.withRetry('read', () => this.apps.readNamespacedDeployment({ name: this.target.deployment, namespace: this.target.namespace }));
  }

  /**
   * The deployment's configuration: the template's, except that a CPU limit applied in place
   * (the annotation) is what the pods run with.
   */
  configOf(deployment: k8s.V1Deployment): ScalingConfig {
    const config = this.templateConfigOf(deployment);
    const annotated = deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION];
    if (annotated === undefined) return config;
    try {
      return { ...config, cpuMillis: parseCpuMillis(annotated) };
    } catch (err) {
      if (err instanceof FieldError) throw new KubeError(`deployment ${this.name}: annotation ${CPU_LIMIT_ANNOTATION}: ${err.message}`, this.name);
      throw err;
    }
  }

  /** The configuration written in the pod template (what a new pod starts with). */
  templateConfigOf(deployment: k8s.V1Deployment): ScalingConfig {
    const where = `deployment ${this.name}`;
    try {
      const container = findContainer(deployment.spec?.template?.spec?.containers, this.target.container, where);
      const { cpuMillis, heapMB } = readContainerKnobs(container, this.target.heapEnvVar, where);
      return { replicas: deployment.spec?.replicas ?? 1, cpuMillis, heapMB };
    } catch (err) {
      if (err instanceof FieldError) throw new KubeError(err.message, this.name);
      throw err;
    }
  }

  /** The deployment's configuration as its pods run it (values as found, not snapped to the grid). */
  async readConfig(): Promise<ScalingConfig> {
    return this.configOf(await this.readDeployment());
  }

  /**
   * The strategic merge patch that takes `deployment` to `config`, touching only the fields that
   * differ (null when nothing differs). Lists are merged by container and env var name. This is
   * the rollout path: the template takes the CPU limit, so a CPU limit applied in place (the
   * annotation) moves into the template and the annotation goes.
   */
  patchFor(deployment: k8s.V1Deployment, config: ScalingConfig): object | null {
    const current = this.templateConfigOf(deployment);
    const containerPatch: Record<string, unknown> = { name: this.target.container };
    if (current.cpuMillis !== config.cpuMillis) containerPatch.resources = { limits: { cpu: formatCpuMillis(config.cpuMillis) } };
    if (current.heapMB !== config.heapMB) {
      const container = findContainer(deployment.spec?.template?.spec?.containers, this.target.container, `deployment ${this.name}`);
      const value = container.env?.find((e) => e.name === this.target.heapEnvVar)?.value ?? '';
      containerPatch.env = [{ name: this.target.heapEnvVar, value: withHeapMB(value, config.heapMB) }];
    }
    const spec: Record<string, unknown> = {};
    if (current.replicas !== config.replicas) spec.replicas = config.replicas;
    if (Object.keys(containerPatch).length > 1) spec.template = { spec: { containers: [containerPatch] } };
    const annotated = deployment.metadata?.annotations?.[CPU_LIMIT_ANNOTATION] !== undefined;
    if (Object.keys(spec).length === 0 && !annotated) return null;
    return annotated ? { metadata: { annotations: { [CPU_LIMIT_ANNOTATION]: null } }, spec } : { spec };
  }

  /**
   * Applies `config` with a strategic merge patch of the changed fields only. Re-reads the
   * deployment on every attempt, so a retry after a conflict patches against the latest state.
   * Returns the patch sent (null when the deployment already had this configuration).
   */
  async applyConfig(config: ScalingConfig): Promise<object | null> {
    assertOnGrid(config, 'config to apply');
    return this.withRetry('patch', async () => {
      const patch = this.patchFor(await this.apps.readNamespacedDeployment({ name: this.target.deployment, namespace: this.target.namespace }), config);
      if (patch === null) return null;
      await this.apps.patchNamespacedDeployment(
        { name: this.target.deployment, namespace: this.target.namespace, body: patch, fieldManager: 'rl-autoscaler' },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      return patch;
    });
  }

  private async selector(deployment: k8s.V1Deployment): Promise<string> {
    const selector = deployment.spec?.selector;
    const terms = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of selector?.matchExpressions ?? []) {
      const op = e.operator.toLowerCase();
      if (op === 'in' || op === 'notin') terms.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
      else if (op === 'exists') terms.push(e.key);
      else if (op === 'doesnotexist') terms.push(`!${e.key}`);
    }
    if (terms.length === 0) throw new KubeError(`deployment ${this.name} has an empty selector`, this.name);
    return terms.join(',');
  }

  /** Sends a strategic merge patch to the deployment. */
  async patchDeployment(patch: object): Promise<k8s.V1Deployment> {
    return this.withRetry('patch', () =>
      this.apps.patchNamespacedDeployment(
        { name: this.target.deployment, namespace: this.target.namespace, body: patch, fieldManager: 'rl-autoscaler' },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      ),
    );
  }

  /** Every pod selected by the deployment (terminating ones included). */
  async listPods(deployment?: k8s.V1Deployment): Promise<k8s.V1Pod[]> {
    return this.podsOf(deployment ?? (await this.readDeployment()));
  }

  /**
   * Sends a strategic merge patch to a pod's `resize` subresource. A 404 (no such subresource or
   * pod) and a 422 (refused) come back as KubeError with their status, not retried.
   */
  async resizePod(pod: string, patch: object): Promise<k8s.V1Pod> {
    return this.withRetry(`resize pod ${pod}`, () =>
      this.core.patchNamespacedPodResize(
        { name: pod, namespace: this.target.namespace, body: patch, fieldManager: 'rl-autoscaler' },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      ),
    );
  }

  /** Whether the API server lists `pods/resize` in its core discovery (Kubernetes 1.33 on, or earlier with the feature gate). */
  async servesPodResize(): Promise<boolean> {
    const list = await this.withRetry('discover the core API', () => this.core.getAPIResources());
    return list.resources.some((r) => r.name === 'pods/resize');
  }

  private async podsOf(deployment: k8s.V1Deployment): Promise<k8s.V1Pod[]> {
    const labelSelector = await this.selector(deployment);
    const list = await this.withRetry('list pods', () => this.core.listNamespacedPod({ namespace: this.target.namespace, labelSelector }));
    return list.items;
  }

  /** Names of the pods selected by the deployment's selector that are running, ready and not terminating. */
  async listReadyPods(): Promise<string[]> {
    const pods = await this.podsOf(await this.readDeployment());
    return pods
      .filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata!.name!)
      .sort();
  }

  async rolloutState(): Promise<RolloutState> {
    const deployment = await this.readDeployment();
    const pods = await this.podsOf(deployment);
    const status = deployment.status ?? {};
    return {
      generation: deployment.metadata?.generation ?? 0,
      observedGeneration: status.observedGeneration ?? 0,
      specReplicas: deployment.spec?.replicas ?? 1,
      replicas: status.replicas ?? 0,
      updatedReplicas: status.updatedReplicas ?? 0,
      readyReplicas: status.readyReplicas ?? 0,
      availableReplicas: status.availableReplicas ?? 0,
      terminatingPods: pods.filter((p) => p.metadata?.deletionTimestamp).length,
    };
  }

  /**
   * Waits until the rollout is complete: observedGeneration caught up; updated, ready and
   * available replicas (and the total) equal to spec.replicas; no terminating pods.
   */
  async waitForRollout(options: { timeoutMs?: number } = {}): Promise<RolloutState> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.rolloutState();
      if (isRolloutComplete(state)) return state;
      if (Date.now() >= deadline) {
        throw new KubeError(
          `deployment ${this.name}: rollout did not complete within ${timeoutMs} ms ` +
            `(spec.replicas=${state.specReplicas}, replicas=${state.replicas}, updated=${state.updatedReplicas}, ready=${state.readyReplicas}, ` +
            `available=${state.availableReplicas}, terminating pods=${state.terminatingPods}, observedGeneration=${state.observedGeneration}/${state.generation})`,
          this.name,
        );
      }
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - Date.now())));
    }
  }
}

export function isRolloutComplete(s: RolloutState): boolean {
  return (
    s.observedGeneration >= s.generation &&
    s.updatedReplicas === s.specReplicas &&
    s.readyReplicas === s.specReplicas &&
    s.availableReplicas === s.specReplicas &&
    s.replicas === s.specReplicas &&
    s.terminatingPods === 0
  );
}

/**
 * One control tick for one RLAutoscaler, level-triggered as controller-runtime's Reconcile:
 * read the desired spec (fresh from the API server) and the deployment's actual configuration,
 * decide, act on the difference (Apply mode only), and write the status with conditions through
 * the status subresource. Nothing from the previous tick is trusted except the decision history
 * that only this operator can know (last change, failure counts, stabilisation trends); all of it
 * but the trends is kept in the status and read back when the loop starts (see memory.ts).
 */
import type * as k8s from '@kubernetes/client-node';
import { DeploymentClient, isRolloutComplete, KubeError, type DeploymentTarget } from '../kube';
import { InPlaceApplier, type ApplyResult } from '../kube-resize';
import { MetricClient, type WindowMetrics } from '../metric';
import { actionMask, assertOnGrid, formatConfig, SpaceError, type Observation, type ScalingConfig } from '../space';
import { apiErrorText, httpStatusOf, type AutoscalerApi } from './api';
import { updateConditions, type ConditionInput } from './conditions';
import { decide, type Decision, type PolicyAnswer } from './interval-decision';
import type { EventSink } from './event-recorder';
import { errorText, type Logger } from './log';
import { changeTimeField, memoryForGeneration, memoryFromStatus, memoryToStatus, type LoopMemory } from './memory';
import { createPolicySource, type PolicySource } from './policy-source';
import type { RLAutoscalerObject, RLAutoscalerStatus, StatusDecision, StatusMetrics } from './resource';
import { parseSpec, DEFAULTS, type AutoscalerSpec } from './spec';
import { loadClient, readLoad, sloCondition } from './load-status';
import type { RequestMetricClient } from '../load/request-metrics';
import type { StabiliserState } from './stabilisation';

export interface ReconcileDeps {
  api: AutoscalerApi;
  kubeConfig: k8s.KubeConfig;
  events: EventSink;
  logger: Logger;
  now?: () => Date;
}

export type TickResult = { kind: 'gone' } | { kind: 'done'; nextTickMs: number };

/** Slack for timer jitter when checking that changes are at least one interval apart. */
const INTERVAL_SLACK_MS = 250;

const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** Per-generation clients: rebuilt when the spec changes, so a new checkpoint is loaded once. */
interface GenerationClients {
  generation: number | undefined;
  spec: AutoscalerSpec;
  kube: DeploymentClient;
  /** Applies a change in place or by a rollout, as spec.updatePolicy and the cluster allow. */
  applier: InPlaceApplier;
  metrics: MetricClient;
  /** With spec.load or spec.slo. */
  load?: RequestMetricClient;
  policy: PolicySource;
}

const PATH_NAMES: Record<ApplyResult['path'], string> = { unchanged: 'Unchanged', scale: 'Scale', 'in-place': 'InPlace', rollout: 'Rollout' };

export class Reconciler {
  private clients: GenerationClients | null = null;
  /** Null until the first tick reads it from the status. */
  private memory: LoopMemory | null = null;
  private stabiliser: StabiliserState = {};
  private lastRecommended: string | null = null;
  /** The last Warning reported per kind, so a persisting problem gives one event, not one per tick. */
  private lastWarning = new Map<string, string>();
  private readonly now: () => Date;

  constructor(
    readonly namespace: string,
    readonly name: string,
    private readonly deps: ReconcileDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  async close(): Promise<void> {
    await this.clients?.policy.close();
    this.clients = null;
  }

  async tick(): Promise<TickResult> {
    const object = await this.deps.api.get(this.namespace, this.name);
    if (!object || object.metadata.deletionTimestamp) return { kind: 'gone' };
    const generation = object.metadata.generation;
    const memory = this.recall(object);
    const parsed = parseSpec(object.spec, this.namespace);
    if (!parsed.ok) return this.reportInvalidSpec(object, parsed.errors);
    const spec = parsed.spec;
    const clients = await this.clientsFor(generation, spec);
    const nextTickMs = spec.intervalSeconds * 1000;

    // The actual state: the deployment as it is now.
    let current: ScalingConfig;
    try {
      current = await clients.kube.readConfig();
      assertOnGrid(current, `deployment ${spec.target.namespace}/${spec.target.deployment}`);
    } catch (err) {
      if (!(err instanceof KubeError || err instanceof SpaceError)) throw err;
      const reason = err instanceof SpaceError ? 'TargetOffGrid' : 'TargetUnavailable';
      await this.warnOnce(object, 'target', 'TargetUnavailable', err.message);
      await this.writeStatus(object, {
        conditions: [{ type: 'Ready', status: false, reason, message: err.message }],
        extra: {},
      });
      return { kind: 'done', nextTickMs };
    }
    this.lastWarning.delete('target');

    // Pods that came up from the template since a CPU change in place (scale-up, a replaced pod)
    // get the CPU the deployment runs with.
    if (spec.mode === 'Apply' && spec.updatePolicy === 'InPlacePreferred') {
      try {
        const resized = await clients.applier.syncPodCpu();
        if (resized.length > 0) this.log.info('resized new pods in place', { pods: resized, cpuMillis: current.cpuMillis });
      } catch (err) {
        this.log.warn('could not resize new pods in place', { error: errorText(err) });
      }
    }

    // One change at a time: measuring or changing during a rollout would mix configurations.
    const rollout = await clients.kube.rolloutState().catch((err: unknown) => err as Error);
    if (rollout instanceof Error || !isRolloutComplete(rollout)) {
      const message = rollout instanceof Error ? `cannot read the rollout state: ${rollout.message}` : `waiting for the rollout of ${formatConfig(current)} (ready ${rollout.readyReplicas}/${rollout.specReplicas}, updated ${rollout.updatedReplicas}, terminating pods ${rollout.terminatingPods})`;
      await this.writeStatus(object, {
        conditions: [{ type: 'Ready', status: true, reason: 'RolloutInProgress', message }],
        extra: { currentConfig: current, current: formatConfig(current), lastDecision: { time: iso(this.now()), source: 'Hold', applied: false, reason: message } },
      });
      this.log.info('waiting for rollout', { current: formatConfig(current) });
      return { kind: 'done', nextTickMs };
    }

    const [measured, loadReading] = await Promise.all([this.measure(clients, spec), clients.load ? readLoad(clients.load, spec, iso(this.now())) : undefined]);
    const observation: Observation | null = measured.kind === 'ok' ? { ...current, usedCpu: measured.metrics.mean.usedCpuCores, usedRam: measured.metrics.mean.usedRamGiB } : null;
    let answer: PolicyAnswer = { kind: 'skipped' };
    if (observation) {
      try {
        answer = { kind: 'action', action: await clients.policy.act(observation, actionMask(current, spec.bounds)) };
      } catch (err) {
        answer = { kind: 'failed', error: `${clients.policy.description}: ${errorText(err)}` };
      }
    }
    const nowMs = this.now().getTime();
    const decision = decide({
      current,
      bounds: spec.bounds,
      safety: spec.safety,
      metrics: observation ? { kind: 'ok', observation } : { kind: 'failed', error: measured.kind === 'failed' ? measured.error : 'no observation' },
      policy: answer,
      failures: memory.failures,
      stabiliser: this.stabiliser,
      nowMs,
    });
    memory.failures = decision.failures;
    this.stabiliser = decision.stabiliser;

    const applied = await this.act(object, spec, clients, current, decision, nowMs);
    await this.reportFallback(object, decision);

    const time = iso(this.now());
    const lastDecision: StatusDecision = {
      time,
      source: decision.source,
      ...(decision.action ? { action: decision.action } : {}),
      proposedConfig: decision.proposed,
      decidedConfig: decision.decided,
      applied: applied.applied,
      reason: applied.note ? `${decision.reason}; ${applied.note}` : decision.reason,
    };
    const conditions: ConditionInput[] = [
      { type: 'Ready', status: true, reason: 'Reconciled', message: `controlling deployment ${spec.target.namespace}/${spec.target.deployment} in ${spec.mode} mode every ${spec.intervalSeconds} s` },
      measured.kind === 'ok'
        ? { type: 'MetricsAvailable', status: true, reason: 'MetricsCollected', message: `${measured.metrics.pods.length} ready pod(s) measured over ${spec.metrics.windowSeconds} s from ${spec.metrics.prometheusUrl}` }
        : { type: 'MetricsAvailable', status: false, reason: 'MetricsUnavailable', message: `${measured.error} (failed ${decision.failures.metrics} time(s) in a row)` },
      fallbackCondition(decision, spec.safety.failureThreshold),
    ];
    if (answer.kind === 'action') conditions.push({ type: 'PolicyAvailable', status: true, reason: 'PolicyAnswered', message: `${clients.policy.description} answered ${decision.action ?? answer.action}` });
    else if (answer.kind === 'failed') conditions.push({ type: 'PolicyAvailable', status: false, reason: 'PolicyUnavailable', message: `${answer.error} (failed ${decision.failures.policy} time(s) in a row)` });
    else if (!object.status?.conditions?.some((c) => c.type === 'PolicyAvailable')) conditions.push({ type: 'PolicyAvailable', status: 'Unknown', reason: 'NotAsked', message: 'the policy is asked once metrics are available' });
    const slo = sloCondition(spec, loadReading);
    if (slo) conditions.push(slo);

    await this.writeStatus(object, {
      conditions,
      extra: {
        currentConfig: current,
        current: formatConfig(current),
        recommendedConfig: decision.decided,
        recommended: formatConfig(decision.decided),
        ...(measured.kind === 'ok' ? { lastMetrics: statusMetrics(measured.metrics, time) } : {}),
        ...(loadReading?.kind === 'ok' ? { lastLoad: loadReading.load } : {}),
        lastDecision,
      },
    });
    this.log.info('decision', {
      mode: spec.mode,
      source: decision.source,
      action: decision.action,
      current: formatConfig(current),
      decided: formatConfig(decision.decided),
      applied: applied.applied,
      fallbackActive: decision.fallback.active,
      reason: lastDecision.reason,
    });
    return { kind: 'done', nextTickMs };
  }

  private async clientsFor(generation: number | undefined, spec: AutoscalerSpec): Promise<GenerationClients> {
    if (this.clients && this.clients.generation === generation) return this.clients;
    await this.clients?.policy.close();
    const timeoutMs = spec.metrics.timeoutSeconds * 1000;
    const target: DeploymentTarget = spec.target;
    const kube = new DeploymentClient(this.deps.kubeConfig, target, { maxAttempts: 3, retryDelayMs: 100 });
    this.clients = {
      generation,
      spec,
      kube,
      applier: new InPlaceApplier(kube, { updatePolicy: spec.updatePolicy, deferredTimeoutMs: spec.resizeFallback.deferredSeconds * 1000, inProgressTimeoutMs: spec.resizeFallback.inProgressSeconds * 1000 }),
      metrics: new MetricClient({ url: spec.metrics.prometheusUrl, timeoutMs, retryDelayMs: Math.min(500, timeoutMs / 4), requestTimeoutMs: Math.min(5000, timeoutMs) }),
      load: loadClient(spec),
      policy: createPolicySource(spec.policy, { timeoutMs: Math.min(10_000, spec.intervalSeconds * 1000) }),
    };
    this.log.info('spec loaded', { generation, mode: spec.mode, target: `${spec.target.namespace}/${spec.target.deployment}`, policy: this.clients.policy.description, intervalSeconds: spec.intervalSeconds });
    return this.clients;
  }

  /**
   * The memory for this tick: on the loop's first tick, what the status says (a restarted
   * operator continues where the last one stopped); a new spec is a new start, since earlier
   * trends and failures were about other settings.
   */
  private recall(object: RLAutoscalerObject): LoopMemory {
    if (!this.memory) {
      this.memory = memoryFromStatus(object.status);
      this.log.info('memory read from the status', { generation: this.memory.generation, ...memoryToStatus(this.memory), fallbackActive: this.memory.fallbackActive });
    }
    const memory = memoryForGeneration(this.memory, object.metadata.generation);
    if (memory !== this.memory) {
      this.stabiliser = {};
      this.lastRecommended = null;
    }
    return (this.memory = memory);
  }

  private async measure(clients: GenerationClients, spec: AutoscalerSpec): Promise<{ kind: 'ok'; metrics: WindowMetrics } | { kind: 'failed'; error: string }> {
    try {
      const pods = await clients.kube.listReadyPods();
      if (pods.length === 0) return { kind: 'failed', error: `deployment ${spec.target.namespace}/${spec.target.deployment} has no ready pods to measure` };
      const metrics = await clients.metrics.collect({ namespace: spec.target.namespace, container: spec.target.container, pods, windowSeconds: spec.metrics.windowSeconds });
      return { kind: 'ok', metrics };
    } catch (err) {
      return { kind: 'failed', error: errorText(err) };
    }
  }

  /** Apply mode: patch the deployment (only the changed fields). Recommend mode: report only. */
  private async act(object: RLAutoscalerObject, spec: AutoscalerSpec, clients: GenerationClients, current: ScalingConfig, decision: Decision, nowMs: number): Promise<{ applied: boolean; note?: string }> {
    if (!decision.changed) return { applied: false };
    const change = `${formatConfig(current)} -> ${formatConfig(decision.decided)}`;
    if (spec.mode === 'Recommend') {
      const key = JSON.stringify(decision.decided);
      if (key !== this.lastRecommended) await this.deps.events.record(object.metadata, 'Normal', 'Recommended', `recommends ${change} (${decision.source.toLowerCase()}): ${decision.reason}`);
      this.lastRecommended = key;
      return { applied: false, note: 'Recommend mode: not applied' };
    }
    const memory = this.memory!;
    if (memory.lastChangeMs !== null && nowMs - memory.lastChangeMs < spec.intervalSeconds * 1000 - INTERVAL_SLACK_MS) {
      return { applied: false, note: `not applied: the last change was ${Math.round((nowMs - memory.lastChangeMs) / 1000)} s ago, less than one interval` };
    }
    // The change time goes into the status before the patch, not after: an operator that dies
    // between the two then waits one interval too long after its restart, instead of changing
    // the deployment again too early.
    const previousChangeMs = memory.lastChangeMs;
    memory.lastChangeMs = nowMs;
    await this.writeStatusFields({ lastChangeTime: changeTimeField(memory) });
    try {
      const result = await clients.applier.apply(decision.decided);
      const path = PATH_NAMES[result.path];
      const lastUpdate = { time: iso(this.now()), change, path, reason: result.reason, ...(result.fallback ? { fallback: `${result.fallback.cause}: ${result.fallback.message}` } : {}) };
      await this.writeStatusFields({ lastUpdate });
      // The trends that led here are spent; the next change must be asked for again.
      this.stabiliser = {};
      await this.deps.events.record(object.metadata, 'Normal', 'ConfigApplied', `applied ${change} (${decision.source.toLowerCase()}) by ${path}: ${decision.reason}; ${result.reason}`);
      if (result.fallback) await this.deps.events.record(object.metadata, 'Warning', 'InPlaceResizeFellBack', `in-place resize of pod ${result.fallback.pod} given up (${result.fallback.cause}): ${result.fallback.message}; rolled out instead`);
      this.log.info('applied', { change, path, reason: result.reason, patch: result.patch, resizedPods: result.resizedPods, ...(result.fallback ? { fallback: result.fallback } : {}) });
      return { applied: true, note: `applied by ${path}: ${result.reason}` };
    } catch (err) {
      // The patch was refused, so nothing changed: the next tick may try again.
      memory.lastChangeMs = previousChangeMs;
      await this.writeStatusFields({ lastChangeTime: changeTimeField(memory) });
      const message = `could not apply ${change}: ${errorText(err)}`;
      await this.deps.events.record(object.metadata, 'Warning', 'ApplyFailed', message);
      this.log.warn('apply failed', { change, error: errorText(err) });
      return { applied: false, note: message };
    }
  }

  private async reportFallback(object: RLAutoscalerObject, decision: Decision): Promise<void> {
    const memory = this.memory!;
    if (decision.fallback.active === memory.fallbackActive) return;
    memory.fallbackActive = decision.fallback.active;
    if (decision.fallback.active) await this.deps.events.record(object.metadata, 'Warning', 'FallbackActivated', fallbackCondition(decision, 0).message);
    else await this.deps.events.record(object.metadata, 'Normal', 'FallbackDeactivated', 'the policy and the metrics are back: the policy decides again');
  }

  private async reportInvalidSpec(object: RLAutoscalerObject, errors: string[]): Promise<TickResult> {
    const message = `invalid spec: ${errors.join('; ')}`;
    await this.warnOnce(object, 'spec', 'InvalidSpec', message);
    this.log.warn('invalid spec', { generation: object.metadata.generation, errors });
    await this.clients?.policy.close();
    this.clients = null;
    await this.writeStatus(object, {
      conditions: [
        { type: 'Ready', status: false, reason: 'InvalidSpec', message },
        { type: 'PolicyAvailable', status: 'Unknown', reason: 'InvalidSpec', message: 'not controlling: the spec is invalid' },
        { type: 'MetricsAvailable', status: 'Unknown', reason: 'InvalidSpec', message: 'not controlling: the spec is invalid' },
        { type: 'FallbackActive', status: false, reason: 'InvalidSpec', message: 'not controlling: the spec is invalid' },
      ],
      // The recommendation was for a spec that no longer holds.
      extra: { recommendedConfig: null, recommended: null },
    });
    // A fixed spec arrives as a watch event and triggers a tick at once; this is only a recheck.
    const interval = (object.spec as { intervalSeconds?: unknown } | undefined)?.intervalSeconds;
    return { kind: 'done', nextTickMs: (typeof interval === 'number' && interval >= 1 && interval <= 3600 ? interval : DEFAULTS.intervalSeconds) * 1000 };
  }

  private async warnOnce(object: RLAutoscalerObject, kind: string, reason: 'InvalidSpec' | 'TargetUnavailable', message: string): Promise<void> {
    const key = `${object.metadata.generation}:${message}`;
    if (this.lastWarning.get(kind) === key) return;
    this.lastWarning.set(kind, key);
    await this.deps.events.record(object.metadata, 'Warning', reason, message);
  }

  /**
   * Writes conditions and fields through the status subresource, merging the conditions with the
   * ones stored now (so their transition times survive), always with the loop's memory.
   */
  private async writeStatus(object: RLAutoscalerObject, update: { conditions: ConditionInput[]; extra: Record<string, unknown> }): Promise<void> {
    const generation = object.metadata.generation;
    await this.writeStatusFields({
      observedGeneration: generation,
      conditions: updateConditions(object.status?.conditions, update.conditions, this.now(), generation),
      ...update.extra,
      ...(this.memory ? memoryToStatus(this.memory) : {}),
    } as RLAutoscalerStatus);
  }

  /** A merge patch of these status fields. A vanished object is not an error; a failed write is logged. */
  private async writeStatusFields(status: RLAutoscalerStatus): Promise<void> {
    try {
      await this.deps.api.writeStatus(this.namespace, this.name, status);
    } catch (err) {
      if (httpStatusOf(err) === 404) return;
      this.log.warn('status not written', { error: apiErrorText(err) });
    }
  }
}

function statusMetrics(metrics: WindowMetrics, time: string): StatusMetrics {
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    usedCpuCores: round(metrics.mean.usedCpuCores),
    usedRamGiB: round(metrics.mean.usedRamGiB),
    incomingPacketsPerSec: round(metrics.mean.incomingPacketsPerSec),
    outgoingPacketsPerSec: round(metrics.mean.outgoingPacketsPerSec),
    pods: metrics.pods.length,
    windowSeconds: metrics.window,
    time,
  };
}

function fallbackCondition(decision: Decision, threshold: number): ConditionInput {
  const { fallback, failures } = decision;
  if (!fallback.active) {
    return { type: 'FallbackActive', status: false, reason: 'PolicyInControl', message: threshold > 0 ? `the policy decides; the threshold rule takes over after ${threshold} consecutive failures of the policy or the metrics` : 'the policy decides' };
  }
  if (fallback.cause === 'metrics') {
    return { type: 'FallbackActive', status: true, reason: 'MetricsUnavailable', message: `metrics failed ${failures.metrics} times in a row: the fallback holds the current configuration (the threshold rule needs CPU usage)` };
  }
  return { type: 'FallbackActive', status: true, reason: 'PolicyUnavailable', message: `the policy failed ${failures.policy} times in a row: the threshold rule (replicas follow CPU utilisation) decides` };
}

/**
 * The RLAutoscaler custom resource: its API coordinates and the shapes of its spec (as written by
 * users, before defaults and checks) and status (as the operator writes it).
 */
import type { ScalingConfig } from '../space';

export const GROUP = 'autoscaling.app2scale.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'rlautoscalers';
export const KIND = 'RLAutoscaler';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
}

/** A stored RLAutoscaler. The spec is `unknown` on purpose: it is checked by parseSpec, never trusted. */
export interface RLAutoscalerObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: RLAutoscalerStatus;
}

export type ConditionType = 'Ready' | 'PolicyAvailable' | 'MetricsAvailable' | 'FallbackActive' | 'SLOMet';
export const CONDITION_TYPES: readonly ConditionType[] = ['Ready', 'PolicyAvailable', 'MetricsAvailable', 'FallbackActive', 'SLOMet'];

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface StatusMetrics {
  usedCpuCores: number;
  usedRamGiB: number;
  incomingPacketsPerSec: number;
  outgoingPacketsPerSec: number;
  pods: number;
  windowSeconds: number;
  time: string;
}

/** The request load of the last window, read from the load source's series (spec.load). */
export interface StatusLoad {
  offeredRps: number;
  servedRps: number;
  failedRps: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** The SLO's percentile this window, and whether it met the target (with spec.slo). */
  slo?: { percentile: number; observedMs: number; targetMs: number; met: boolean };
  windowSeconds: number;
  time: string;
}

/** Who made a decision: the policy, the fallback rule, or nobody (the configuration was held). */
export type DecisionSource = 'Policy' | 'Fallback' | 'Hold';

export interface StatusDecision {
  time: string;
  source: DecisionSource;
  /** The policy's action name (e.g. INCREASE_REPLICA), when it gave one. */
  action?: string;
  /** What the policy or fallback proposed, after the bounds and step guard. */
  proposedConfig?: ScalingConfig;
  /** What this interval decided, after stabilisation. */
  decidedConfig?: ScalingConfig;
  applied: boolean;
  reason: string;
}

export interface RLAutoscalerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  currentConfig?: ScalingConfig;
  recommendedConfig?: ScalingConfig;
  /** One-line forms of the two configurations, for `kubectl get` columns. */
  current?: string;
  recommended?: string;
  lastMetrics?: StatusMetrics;
  lastLoad?: StatusLoad;
  lastDecision?: StatusDecision;
  /**
   * When the operator last changed the deployment (Apply mode), with milliseconds; read back on
   * restart. Null in a merge patch removes it (a change that was announced and then failed).
   */
  lastChangeTime?: string | null;
  /** How the last change was applied (in place, rollout, scale) and why. */
  lastUpdate?: { time: string; change: string; path: string; reason: string; fallback?: string };
  /** Failures in a row under the observedGeneration spec; read back on restart. */
  consecutiveFailures?: { policy: number; metrics: number };
}

export const keyOf = (meta: { namespace?: string; name?: string }) => `${meta.namespace ?? ''}/${meta.name ?? ''}`;

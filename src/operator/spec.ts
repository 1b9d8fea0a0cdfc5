/**
 * The RLAutoscaler spec: defaults and every check, including those a CRD schema cannot express
 * (min <= max, the scale-down window at least the scale-up window, exactly one policy source).
 * The schema in deploy/crd.yaml rejects what it can on the API server; this module does not rely
 * on that (an older CRD, or a server without validation, must not crash the operator).
 */
import type { DeploymentTarget } from '../kube';
import { UPDATE_POLICIES, type UpdatePolicy } from '../kube-resize';
import { KNOB_UNIT, KNOBS, LEVELS, type Bounds, type Knob } from '../space';

export type Mode = 'Recommend' | 'Apply';
export const MODES: readonly Mode[] = ['Recommend', 'Apply'];

export type PolicySpec = { kind: 'checkpoint'; path: string } | { kind: 'server'; url: string; token?: string };

export interface SafetySpec {
  /** Largest change of one knob in one interval, in levels. */
  maxLevelChange: number;
  /** A scale-up is taken once the policy has asked for it this long (HPA default 0). */
  scaleUpWindowSeconds: number;
  /** A scale-down is taken once the policy has asked for it this long (HPA default 300). */
  scaleDownWindowSeconds: number;
  /** Consecutive failures of the policy or the metrics after which the fallback rule decides. */
  failureThreshold: number;
  /** The fallback threshold rule's target CPU utilisation of the limit (0..1). */
  targetCpuUtilisation: number;
}

/** The latency objective the status reports against. */
export interface SloSpec {
  latencyMs: number;
  percentile: 50 | 95 | 99;
}

/** Where the request load is read: the load generator's series (or any exporting the same names). */
export interface LoadSourceSpec {
  /** PromQL label matchers, e.g. `job="load"`; empty for every such series. */
  selector: string;
  /** Requests per session arrival, to turn the generator's arrival rate into requests/s. */
  requestsPerSession: number;
}

export interface AutoscalerSpec {
  target: DeploymentTarget;
  bounds: Bounds;
  intervalSeconds: number;
  mode: Mode;
  policy: PolicySpec;
  metrics: { prometheusUrl: string; windowSeconds: number; timeoutSeconds: number };
  safety: SafetySpec;
  /** With either: the load and its latency are read each interval and shown in the status. */
  slo?: SloSpec;
  load?: LoadSourceSpec;
  /** InPlacePreferred: a CPU-only change resizes the pods in place where the cluster can; Rollout: every change rolls. */
  updatePolicy: UpdatePolicy;
  /** When an in-place resize is given up for a rollout (VPA's InPlaceOrRecreate limits by default). */
  resizeFallback: { deferredSeconds: number; inProgressSeconds: number };
}

export const SLO_PERCENTILES: readonly SloSpec['percentile'][] = [50, 95, 99];

export const DEFAULTS = {
  heapEnvVar: 'CATALINA_OPTS',
  intervalSeconds: 30,
  mode: 'Recommend' as Mode,
  windowSeconds: 30,
  metricTimeoutSeconds: 10,
  maxLevelChange: 1,
  scaleUpWindowSeconds: 0,
  scaleDownWindowSeconds: 300,
  failureThreshold: 3,
  targetCpuUtilizationPercentage: 70,
  updatePolicy: 'InPlacePreferred' as UpdatePolicy,
  resizeDeferredSeconds: 300,
  resizeInProgressSeconds: 3600,
};

export type SpecResult = { ok: true; spec: AutoscalerSpec } | { ok: false; errors: string[] };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const URL_PATTERN = /^https?:\/\/[^\s/]+/;
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME_PATTERN = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Reads fields one by one, collecting an error per bad field instead of stopping at the first. */
class FieldReader {
  readonly errors: string[] = [];

  object(parent: Json, key: string, path: string, required: boolean): Json {
    const value = parent[key];
    if (value === undefined || value === null) {
      if (required) this.errors.push(`spec.${path} is required`);
      return {};
    }
    if (!isObject(value)) {
      this.errors.push(`spec.${path} must be an object, got ${JSON.stringify(value)}`);
      return {};
    }
    return value;
  }

  string(parent: Json, key: string, path: string, options: { required?: boolean; fallback?: string; pattern?: RegExp; patternText?: string } = {}): string {
    const value = parent[key];
    if (value === undefined || value === null || value === '') {
      if (options.fallback !== undefined) return options.fallback;
      if (options.required) this.errors.push(`spec.${path} is required`);
      return '';
    }
    if (typeof value !== 'string') {
      this.errors.push(`spec.${path} must be a string, got ${JSON.stringify(value)}`);
      return '';
    }
    if (options.pattern && !options.pattern.test(value)) this.errors.push(`spec.${path} = ${JSON.stringify(value)} ${options.patternText ?? `does not match ${options.pattern}`}`);
    return value;
  }

  integer(parent: Json, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = parent[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.errors.push(`spec.${path} must be an integer, got ${JSON.stringify(value)}`);
      return fallback;
    }
    if (value < min || value > max) this.errors.push(`spec.${path} = ${value} is outside ${min}..${max}`);
    return value;
  }
}

/** Defaults, then checks. Errors name the field and the value, e.g. `spec.bounds.replicas: min 5 > max 3`. */
export function parseSpec(raw: unknown, namespace: string): SpecResult {
  const r = new FieldReader();
  if (!isObject(raw)) return { ok: false, errors: [`spec must be an object, got ${JSON.stringify(raw ?? null)}`] };

  const targetRaw = r.object(raw, 'target', 'target', true);
  const deployment = r.string(targetRaw, 'deployment', 'target.deployment', { required: true, pattern: NAME_PATTERN, patternText: 'is not a valid Deployment name' });
  const container = r.string(targetRaw, 'container', 'target.container', { fallback: deployment, pattern: NAME_PATTERN, patternText: 'is not a valid container name' });
  const heapEnvVar = r.string(targetRaw, 'heapEnvVar', 'target.heapEnvVar', { fallback: DEFAULTS.heapEnvVar, pattern: ENV_NAME_PATTERN, patternText: 'is not a valid env var name' });

  const boundsRaw = r.object(raw, 'bounds', 'bounds', false);
  const bounds: Bounds = { min: { replicas: 1, cpuMillis: 100, heapMB: 100 }, max: { replicas: 9, cpuMillis: 900, heapMB: 900 } };
  for (const knob of KNOBS) bounds.min[knob] = readBound(r, boundsRaw, knob, bounds);

  const intervalSeconds = r.integer(raw, 'intervalSeconds', 'intervalSeconds', DEFAULTS.intervalSeconds, 1, 3600);
  let mode = DEFAULTS.mode;
  if (raw.mode !== undefined && raw.mode !== null) {
    if (!MODES.includes(raw.mode as Mode)) r.errors.push(`spec.mode = ${JSON.stringify(raw.mode)} must be one of ${MODES.join(', ')}`);
    else mode = raw.mode as Mode;
  }

  const policyRaw = r.object(raw, 'policy', 'policy', true);
  const checkpoint = r.string(policyRaw, 'checkpoint', 'policy.checkpoint');
  const serverUrl = r.string(policyRaw, 'serverUrl', 'policy.serverUrl', { pattern: URL_PATTERN, patternText: 'must be an http:// or https:// URL' });
  const token = r.string(policyRaw, 'serverToken', 'policy.serverToken');
  let policy: PolicySpec = { kind: 'checkpoint', path: checkpoint };
  if (isObject(raw.policy)) {
    if (checkpoint && serverUrl) r.errors.push('spec.policy: give either checkpoint or serverUrl, not both');
    else if (!checkpoint && !serverUrl) r.errors.push('spec.policy: give a checkpoint path or a serverUrl');
    else if (serverUrl) policy = { kind: 'server', url: serverUrl, ...(token ? { token } : {}) };
  }

  const metricsRaw = r.object(raw, 'metrics', 'metrics', true);
  const prometheusUrl = r.string(metricsRaw, 'prometheusUrl', 'metrics.prometheusUrl', { required: true, pattern: URL_PATTERN, patternText: 'must be an http:// or https:// URL' });
  const windowSeconds = r.integer(metricsRaw, 'windowSeconds', 'metrics.windowSeconds', DEFAULTS.windowSeconds, 1, 3600);
  const timeoutSeconds = r.integer(metricsRaw, 'timeoutSeconds', 'metrics.timeoutSeconds', DEFAULTS.metricTimeoutSeconds, 1, 300);

  const safetyRaw = r.object(raw, 'safety', 'safety', false);
  const maxLevelChange = r.integer(safetyRaw, 'maxLevelChangePerInterval', 'safety.maxLevelChangePerInterval', DEFAULTS.maxLevelChange, 1, LEVELS - 1);
  const upRaw = r.object(safetyRaw, 'scaleUp', 'safety.scaleUp', false);
  const downRaw = r.object(safetyRaw, 'scaleDown', 'safety.scaleDown', false);
  const scaleUpWindowSeconds = r.integer(upRaw, 'stabilizationWindowSeconds', 'safety.scaleUp.stabilizationWindowSeconds', DEFAULTS.scaleUpWindowSeconds, 0, 3600);
  const scaleDownWindowSeconds = r.integer(downRaw, 'stabilizationWindowSeconds', 'safety.scaleDown.stabilizationWindowSeconds', DEFAULTS.scaleDownWindowSeconds, 0, 3600);
  if (scaleDownWindowSeconds < scaleUpWindowSeconds) {
    r.errors.push(`spec.safety.scaleDown.stabilizationWindowSeconds = ${scaleDownWindowSeconds} is shorter than spec.safety.scaleUp.stabilizationWindowSeconds = ${scaleUpWindowSeconds} (scale-down must not be faster than scale-up)`);
  }
  const fallbackRaw = r.object(safetyRaw, 'fallback', 'safety.fallback', false);
  const failureThreshold = r.integer(fallbackRaw, 'failureThreshold', 'safety.fallback.failureThreshold', DEFAULTS.failureThreshold, 1, 100);
  const targetPercent = r.integer(fallbackRaw, 'targetCPUUtilizationPercentage', 'safety.fallback.targetCPUUtilizationPercentage', DEFAULTS.targetCpuUtilizationPercentage, 1, 100);

  const { slo, load } = readLoadFields(r, raw);
  let updatePolicy = DEFAULTS.updatePolicy;
  if (raw.updatePolicy !== undefined && raw.updatePolicy !== null) {
    if (!(UPDATE_POLICIES as readonly unknown[]).includes(raw.updatePolicy)) r.errors.push(`spec.updatePolicy = ${JSON.stringify(raw.updatePolicy)} must be one of ${UPDATE_POLICIES.join(', ')}`);
    else updatePolicy = raw.updatePolicy as UpdatePolicy;
  }
  const resizeRaw = r.object(raw, 'resizeFallback', 'resizeFallback', false);
  const deferredSeconds = r.integer(resizeRaw, 'deferredSeconds', 'resizeFallback.deferredSeconds', DEFAULTS.resizeDeferredSeconds, 1, 86_400);
  const inProgressSeconds = r.integer(resizeRaw, 'inProgressSeconds', 'resizeFallback.inProgressSeconds', DEFAULTS.resizeInProgressSeconds, 1, 86_400);

  if (r.errors.length > 0) return { ok: false, errors: r.errors };
  return {
    ok: true,
    spec: {
      target: { namespace, deployment, container, heapEnvVar },
      bounds,
      intervalSeconds,
      mode,
      policy,
      metrics: { prometheusUrl: prometheusUrl.replace(/\/+$/, ''), windowSeconds, timeoutSeconds },
      safety: { maxLevelChange, scaleUpWindowSeconds, scaleDownWindowSeconds, failureThreshold, targetCpuUtilisation: targetPercent / 100 },
      ...(slo ? { slo } : {}),
      ...(load ? { load } : {}),
      updatePolicy,
      resizeFallback: { deferredSeconds, inProgressSeconds },
    },
  };
}

/** spec.slo and spec.load; an SLO alone reads every load generator series Prometheus has. */
function readLoadFields(r: FieldReader, raw: Json): { slo?: SloSpec; load?: LoadSourceSpec } {
  const result: { slo?: SloSpec; load?: LoadSourceSpec } = {};
  if (raw.slo !== undefined && raw.slo !== null) {
    const sloRaw = r.object(raw, 'slo', 'slo', false);
    if (sloRaw.latencyMs === undefined) r.errors.push('spec.slo.latencyMs is required');
    const latencyMs = r.integer(sloRaw, 'latencyMs', 'slo.latencyMs', 0, 1, 600_000);
    const percentile = r.integer(sloRaw, 'percentile', 'slo.percentile', 99, 1, 100);
    if (!SLO_PERCENTILES.includes(percentile as SloSpec['percentile'])) r.errors.push(`spec.slo.percentile = ${percentile} must be one of ${SLO_PERCENTILES.join(', ')}`);
    result.slo = { latencyMs, percentile: percentile as SloSpec['percentile'] };
  }
  if ((raw.load !== undefined && raw.load !== null) || result.slo) {
    const loadRaw = r.object(raw, 'load', 'load', false);
    const selector = r.string(loadRaw, 'selector', 'load.selector', { fallback: '' });
    const requestsPerSession = r.integer(loadRaw, 'requestsPerSession', 'load.requestsPerSession', 1, 1, 1000);
    result.load = { selector, requestsPerSession };
  }
  return result;
}

/** Reads bounds.<knob>.{min,max} into `bounds.max` and returns the min (both on the 9-level grid). */
function readBound(r: FieldReader, boundsRaw: Json, knob: Knob, bounds: Bounds): number {
  const unit = KNOB_UNIT[knob];
  const raw = r.object(boundsRaw, knob, `bounds.${knob}`, false);
  const before = r.errors.length;
  const min = r.integer(raw, 'min', `bounds.${knob}.min`, unit, unit, unit * LEVELS);
  const max = r.integer(raw, 'max', `bounds.${knob}.max`, unit * LEVELS, unit, unit * LEVELS);
  for (const [name, value] of [['min', min], ['max', max]] as const) {
    if (value % unit !== 0) r.errors.push(`spec.bounds.${knob}.${name} = ${value} is not a multiple of ${unit}`);
  }
  if (r.errors.length === before && min > max) r.errors.push(`spec.bounds.${knob}: min ${min} is greater than max ${max}`);
  bounds.max[knob] = max;
  return min;
}

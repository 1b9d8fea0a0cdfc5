/**
 * One interval's decision, without I/O: from the policy's answer (or its failure), the metrics
 * (or their failure) and the failure history, pick who decides (policy, fallback or nobody),
 * then pass the proposal through the safety guard and the stabilisation windows.
 *
 * The fallback is the threshold rule (replicas follow CPU utilisation against a target, as the
 * HPA does). Without metrics the rule has no CPU usage to work from, so while the metrics are
 * down the fallback holds the current configuration; it acts fully when the policy fails and
 * the metrics are there.
 */
import { thresholdRecommendation, DEFAULT_THRESHOLD } from '../agent/baselines';
import { ACTIONS, applyAction, formatConfig, type Bounds, type Observation, type ScalingConfig } from '../space';
import { countFailures, fallbackState, type FailureCounts, type FallbackState, type Outcome } from './fallback';
import type { DecisionSource } from './resource';
import { guardConfig } from './safety';
import type { SafetySpec } from './spec';
import { stabilise, type StabiliserState } from './stabilisation';

export type PolicyAnswer = { kind: 'action'; action: number } | { kind: 'failed'; error: string } | { kind: 'skipped' };

export interface DecisionInput {
  current: ScalingConfig;
  bounds: Bounds;
  safety: SafetySpec;
  /** The observation when the metrics were collected, else the metrics error. */
  metrics: { kind: 'ok'; observation: Observation } | { kind: 'failed'; error: string };
  policy: PolicyAnswer;
  failures: FailureCounts;
  stabiliser: StabiliserState;
  nowMs: number;
}

export interface Decision {
  source: DecisionSource;
  action?: string;
  /** The proposal after the safety guard (before stabilisation). */
  proposed: ScalingConfig;
  /** What to apply (Apply mode) or recommend (Recommend mode) now. */
  decided: ScalingConfig;
  changed: boolean;
  reason: string;
  failures: FailureCounts;
  fallback: FallbackState;
  stabiliser: StabiliserState;
}

const same = (a: ScalingConfig, b: ScalingConfig) => a.replicas === b.replicas && a.cpuMillis === b.cpuMillis && a.heapMB === b.heapMB;

export function decide(input: DecisionInput): Decision {
  const { current, safety } = input;
  const outcome: { metrics: Outcome; policy: Outcome } = {
    metrics: input.metrics.kind === 'ok' ? 'ok' : 'failed',
    policy: input.policy.kind === 'action' ? 'ok' : input.policy.kind === 'failed' ? 'failed' : 'skipped',
  };
  const failures = countFailures(input.failures, outcome);
  const fallback = fallbackState(failures, safety.failureThreshold);

  let source: DecisionSource;
  let raw: ScalingConfig;
  let action: string | undefined;
  let why: string;
  if (input.policy.kind === 'action') {
    const spec = ACTIONS[input.policy.action];
    if (!spec) {
      source = 'Hold';
      raw = current;
      why = `the policy answered action ${JSON.stringify(input.policy.action)}, which is not one of 0..${ACTIONS.length - 1}: holding`;
    } else {
      source = 'Policy';
      action = spec.name;
      raw = applyAction(current, spec.id, { min: { replicas: -Infinity, cpuMillis: -Infinity, heapMB: -Infinity }, max: { replicas: Infinity, cpuMillis: Infinity, heapMB: Infinity } })!;
      why = `the policy chose ${spec.name}`;
    }
  } else if (fallback.active && fallback.cause === 'policy' && input.metrics.kind === 'ok') {
    source = 'Fallback';
    const replicas = thresholdRecommendation(input.metrics.observation, { ...DEFAULT_THRESHOLD, targetUtilisation: safety.targetCpuUtilisation });
    raw = { ...current, replicas };
    why = `fallback threshold rule (policy failed ${failures.policy} times in a row): CPU ${input.metrics.observation.usedCpu.toFixed(3)} cores of ${current.cpuMillis}m against a ${Math.round(safety.targetCpuUtilisation * 100)}% target asks for ${replicas} replicas`;
  } else if (fallback.active) {
    source = 'Fallback';
    raw = current;
    why = `fallback holds the current configuration: metrics failed ${failures.metrics} times in a row and the threshold rule needs CPU usage`;
  } else {
    source = 'Hold';
    raw = current;
    const failure = input.metrics.kind === 'failed' ? `metrics failed (${failures.metrics}/${safety.failureThreshold})` : `policy failed (${failures.policy}/${safety.failureThreshold})`;
    why = `holding: ${failure} before the fallback takes over`;
  }

  const guarded = guardConfig(current, raw, input.bounds, safety.maxLevelChange);
  const stable = stabilise(input.stabiliser, current, guarded.config, input.nowMs, { scaleUpMs: safety.scaleUpWindowSeconds * 1000, scaleDownMs: safety.scaleDownWindowSeconds * 1000 });
  const changed = !same(stable.config, current);
  const notes = [...guarded.adjustments, ...stable.held];
  const reason = `${why}${notes.length ? `; ${notes.join('; ')}` : ''}; ${changed ? `${formatConfig(current)} -> ${formatConfig(stable.config)}` : `keeping ${formatConfig(current)}`}`;
  return { source, action, proposed: guarded.config, decided: stable.config, changed, reason, failures, fallback, stabiliser: stable.state };
}

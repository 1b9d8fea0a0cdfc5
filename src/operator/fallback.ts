/**
 * Failure counting for the fallback rule, as KEDA's fallback: after `threshold` consecutive
 * failures of the metrics or of the policy, the fallback decides; one success of the failing part
 * hands control back. The policy is only asked when there are metrics, so a metrics outage leaves
 * the policy's count alone.
 */

export interface FailureCounts {
  policy: number;
  metrics: number;
}

export type Outcome = 'ok' | 'failed' | 'skipped';

export const NO_FAILURES: FailureCounts = { policy: 0, metrics: 0 };

export function countFailures(counts: FailureCounts, outcome: { metrics: Outcome; policy: Outcome }): FailureCounts {
  const step = (count: number, o: Outcome) => (o === 'ok' ? 0 : o === 'failed' ? count + 1 : count);
  return { metrics: step(counts.metrics, outcome.metrics), policy: step(counts.policy, outcome.policy) };
}

export type FallbackCause = 'metrics' | 'policy';

export interface FallbackState {
  active: boolean;
  /** The part that failed `threshold` times in a row (metrics first: without them no rule can act). */
  cause: FallbackCause | null;
}

export function fallbackState(counts: FailureCounts, threshold: number): FallbackState {
  if (counts.metrics >= threshold) return { active: true, cause: 'metrics' };
  if (counts.policy >= threshold) return { active: true, cause: 'policy' };
  return { active: false, cause: null };
}

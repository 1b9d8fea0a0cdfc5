/**
 * Status conditions with Kubernetes semantics: lastTransitionTime changes only when the status
 * does, so `kubectl describe` shows how long a state has lasted.
 */
import { CONDITION_TYPES, type Condition, type ConditionType } from './resource';

export interface ConditionInput {
  type: ConditionType;
  status: boolean | 'Unknown';
  reason: string;
  message: string;
}

/** The new condition list: every input set, transition times kept where the status is unchanged. */
export function updateConditions(previous: Condition[] | undefined, inputs: ConditionInput[], now: Date, observedGeneration: number | undefined): Condition[] {
  const byType = new Map((previous ?? []).map((c) => [c.type, c]));
  for (const input of inputs) {
    const status = input.status === 'Unknown' ? 'Unknown' : input.status ? 'True' : 'False';
    const before = byType.get(input.type);
    byType.set(input.type, {
      type: input.type,
      status,
      reason: input.reason,
      message: input.message,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    });
  }
  // A stable order keeps status patches minimal and `kubectl describe` readable.
  return CONDITION_TYPES.filter((t) => byType.has(t)).map((t) => byType.get(t)!);
}

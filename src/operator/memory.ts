/**
 * What a control loop carries from one tick to the next, kept in the RLAutoscaler's status so it
 * outlives the operator process: a restarted operator (new pod, crash, upgrade) reads it back when
 * the loop starts, as a level-triggered controller does, instead of starting from nothing. It
 * holds what the cluster cannot tell otherwise:
 *  - when the operator last changed the deployment, so changes stay one interval apart;
 *  - the consecutive failures of the metrics and of the policy, so a restart neither hands control
 *    back from the fallback nor delays it;
 *  - whether the fallback was last reported active, so its events still mark only transitions.
 * The stabilisation trends are not kept: starting them again can only delay a change.
 */
import { NO_FAILURES, type FailureCounts } from './fallback';
import type { RLAutoscalerStatus } from './resource';

export interface LoopMemory {
  /** The spec generation the failures were counted under (a new spec starts them again). */
  generation: number | undefined;
  failures: FailureCounts;
  /** When the operator last changed the deployment (ms since the epoch), if it has. */
  lastChangeMs: number | null;
  fallbackActive: boolean;
}

/** The status fields that carry the memory (the FallbackActive condition is written with the others). */
export type MemoryStatus = Pick<RLAutoscalerStatus, 'lastChangeTime' | 'consecutiveFailures'>;

const count = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0);

/** The memory a previous operator left in `status`; an empty status gives a fresh memory. */
export function memoryFromStatus(status: RLAutoscalerStatus | undefined): LoopMemory {
  const changedAt = status?.lastChangeTime ? Date.parse(status.lastChangeTime) : NaN;
  return {
    generation: status?.observedGeneration,
    failures: { policy: count(status?.consecutiveFailures?.policy), metrics: count(status?.consecutiveFailures?.metrics) },
    lastChangeMs: Number.isFinite(changedAt) ? changedAt : null,
    fallbackActive: status?.conditions?.some((c) => c.type === 'FallbackActive' && c.status === 'True') ?? false,
  };
}

/**
 * The status fields to write. The change time keeps its milliseconds: rounded down to the
 * second, a restarted operator could change the deployment up to a second early.
 */
export function memoryToStatus(memory: LoopMemory): MemoryStatus {
  return { lastChangeTime: changeTimeField(memory), consecutiveFailures: { ...memory.failures } };
}

/** The change time as a status field: null (removed by a merge patch) when there is none. */
export function changeTimeField(memory: LoopMemory): string | null {
  return memory.lastChangeMs !== null ? new Date(memory.lastChangeMs).toISOString() : null;
}

/** A new spec starts the failure counts again; the last change still counts against the interval. */
export function memoryForGeneration(memory: LoopMemory, generation: number | undefined): LoopMemory {
  return memory.generation === generation ? memory : { ...memory, generation, failures: NO_FAILURES };
}

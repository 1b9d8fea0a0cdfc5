/**
 * Messages between the policy server's event loop and its learner thread. Weights and
 * trajectories travel as structured clones (typed arrays copied, never JSON).
 */
import type { PolicyWeights } from '../agent/policy';
import type { PpoConfig, Trajectory } from '../agent/ppo';
import type { RewardName } from '../reward';
import type { CheckpointRecord } from './learner';

export interface LearnerInit {
  config: PpoConfig;
  reward: RewardName;
  weights?: PolicyWeights;
  version: number;
  /** Added to the process's niceness for this thread only (Linux), so requests go first. */
  niceness: number;
  /**
   * Linux's SCHED_IDLE policy for this thread: it runs only on CPU time no other thread wants,
   * and a request thread that wakes up takes its CPU at once instead of after its time slice.
   */
  schedIdle?: boolean;
}

/**
 * A save sends only the history records the thread does not hold yet: it keeps the history, cut
 * back to `historyFrom` records, then extended by the record's (the tail), so the cost of a save
 * on the request thread does not grow with the length of the run.
 */
export type LearnerCommand = { kind: 'update'; trajectory: Trajectory } | { kind: 'save'; dir: string; record: CheckpointRecord; historyFrom: number };

export type LearnerRequest = LearnerCommand & { id: number };

export type LearnerReply =
  | { id: 0; kind: 'ready'; weights: PolicyWeights; version: number; backend: string; weightsBody: string; priority: string; /** The thread's kernel id (Linux), for its CPU time. */ threadId?: number | null }
  | { id: number; kind: 'updated'; weights: PolicyWeights; version: number; stats: Record<string, number>; weightsBody: string }
  | { id: number; kind: 'saved' }
  | { id: number; kind: 'failed'; message: string };

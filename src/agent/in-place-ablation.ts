/**
 * The in-place ablation: the same PPO training (seed, budget, loads) on a cluster that resizes
 * CPU in place and on one where every CPU change rolls, each judged in its own environment on the
 * same evaluation load, beside that environment's exact optimum. Reports the return, the SLO
 * attainment and the changes per hour, by knob, so one sees whether the policy learned that CPU
 * is cheap to move and the heap is not.
 */
import type { LoadDynamics } from '../env/load-dynamics';
import type { LoadSource } from '../env/load-source';
import type { PpoConfig } from './ppo';
import { ACTIONS, type Knob } from '../space';
import { LoadTask, runLoadEpisode, type LoadEpisode } from './load-evaluate';
import { networkLoadPolicy, type LoadPolicy } from './load-policies';
import { trainLoad } from './load-train';

export interface AblationArm {
  /** e.g. `in-place` or `rollout only`. */
  name: string;
  dynamics: LoadDynamics;
}

export interface AblationRow {
  arm: string;
  policy: string;
  return: number;
  sloAttainment: number;
  changesPerHour: number;
  replicaChangesPerHour: number;
  cpuChangesPerHour: number;
  heapChangesPerHour: number;
}

/** Valid moves per hour of each knob over `episodes` of `intervalSeconds` steps. */
export function changesPerHour(episodes: readonly LoadEpisode[], intervalSeconds: number): Record<Knob | 'total', number> {
  const counts: Record<Knob | 'total', number> = { replicas: 0, cpuMillis: 0, heapMB: 0, total: 0 };
  let steps = 0;
  for (const e of episodes) {
    steps += e.actions.length;
    e.actions.forEach((a, k) => {
      const knob = ACTIONS[a].knob;
      if (knob === null || e.invalid[k]) return;
      counts[knob]++;
      counts.total++;
    });
  }
  const hours = (steps * intervalSeconds) / 3600;
  const perHour = (n: number) => (hours > 0 ? n / hours : 0);
  return { replicas: perHour(counts.replicas), cpuMillis: perHour(counts.cpuMillis), heapMB: perHour(counts.heapMB), total: perHour(counts.total) };
}

/** Runs `policy` on the task's episodes and summarises it as one row. */
export function ablationRow(arm: string, task: LoadTask, policy: LoadPolicy, episodes = task.episodes): AblationRow {
  const evaluation = task.evaluate(policy, { episodes });
  const env = task.env();
  const runs: LoadEpisode[] = [];
  for (let e = 0; e < Math.min(episodes, 50); e++) runs.push(runLoadEpisode(env, policy, task.seed * 100003 + e));
  const perHour = changesPerHour(runs, task.dynamics.intervalSeconds);
  return {
    arm,
    policy: policy.name,
    return: evaluation.return,
    sloAttainment: evaluation.sloAttainment,
    changesPerHour: perHour.total,
    replicaChangesPerHour: perHour.replicas,
    cpuChangesPerHour: perHour.cpuMillis,
    heapChangesPerHour: perHour.heapMB,
  };
}

export interface AblationOptions {
  arms: readonly AblationArm[];
  /** Loads to train on (the same for every arm). */
  trainSources: readonly LoadSource[];
  /** Load to judge on. */
  evaluation: LoadSource;
  maxSteps?: number;
  /** PPO settings shared by every arm (seed and budget above all). */
  config?: Partial<PpoConfig>;
  /** Evaluation episodes (default 100). */
  episodes?: number;
  onArm?: (arm: string, trainingSeconds: number) => void;
}

/** Trains one PPO per arm with identical settings; rows of the trained policy and of each arm's optimum. */
export async function runInPlaceAblation(options: AblationOptions): Promise<AblationRow[]> {
  const rows: AblationRow[] = [];
  for (const arm of options.arms) {
    const result = await trainLoad({ dynamics: arm.dynamics, sources: options.trainSources, maxSteps: options.maxSteps, config: options.config });
    options.onArm?.(arm.name, result.history.at(-1)?.trainingSeconds ?? 0);
    const task = new LoadTask(arm.dynamics, options.evaluation, { horizon: options.maxSteps, episodes: options.episodes ?? 100 });
    rows.push(ablationRow(arm.name, task, networkLoadPolicy(result.policy, { name: 'ppo' })));
    rows.push(ablationRow(arm.name, task, task.optimum().policy));
  }
  return rows;
}

/**
 * The policies a live test compares under load, and what the comparison reports of each.
 *
 * Under load the checkpoint's policy acts on the load observation when it was trained with it (a
 * classic checkpoint acts on the classic fields, as without load); static-best is the best fixed
 * configuration for the profile's rates under the run's reward, computed exactly on the
 * performance model (load-optimal.ts); the HPA-like rule scales replicas on CPU utilisation.
 * Every policy plays the same episodes: the profile is replayed from its start each episode and
 * each starts from the same configuration.
 */
import { loadCheckpoint, observationKindOf, readCheckpointMeta } from '../agent/checkpoint';
import type { Policy } from '../agent/episode';
import { bestStaticConfigTrace } from '../agent/load-optimal';
import { summariseLoadEpisodes, sloTargetOf, type LoadEpisode, type LoadEvaluation } from '../agent/load-evaluate';
import { hpaLoadPolicy, networkLoadPolicy, staticLoadPolicy, type LoadPolicy } from '../agent/load-policies';
import { LoadDynamics } from '../env/load-dynamics';
import type { TraceSource } from '../env/load-source';
import type { LoadObservation } from '../load-space';
import { teastoreModel } from '../model';
import { SLO_DEFAULTS } from '../request-reward';
import { configFromIndex, type Bounds, type Observation, type ScalingConfig } from '../space';
import type { StepMetrics } from '../measurement';
import type { LiveLoad, RequestStepMetrics } from './live-load';
import { isRequestReward, requestMeasurementOf, type LiveReward } from './live-reward';

export const LOAD_TEST_POLICIES = ['ppo', 'static-best', 'hpa'] as const;
export type LoadTestPolicyName = (typeof LOAD_TEST_POLICIES)[number];

/** A load policy (which also reads the step) as an episode policy: it counts the episode's steps itself. */
export function asEpisodePolicy(policy: LoadPolicy): Policy {
  let step = 0;
  return {
    name: policy.name,
    act(observation, mask) {
      return policy.act(observation as LoadObservation, mask, step++);
    },
    reset(seed) {
      step = 0;
      policy.reset?.(seed);
    },
  };
}

/** The checkpoint's greedy policy on a live environment: the load network when it reads the load. */
export function checkpointPolicy(checkpoint: string, observesLoad: boolean): Policy {
  const meta = readCheckpointMeta(checkpoint);
  if (observationKindOf(meta) === 'load') {
    if (!observesLoad) throw new Error(`${checkpoint}: the policy reads the load observation (schema version 2), but the live environment has no load source: give it one (--load-profile SPEC --app URL, or --load-selector)`);
    return asEpisodePolicy(networkLoadPolicy(loadCheckpoint(checkpoint, { observation: 'load' }).policy, { name: 'ppo' }));
  }
  const loaded = loadCheckpoint(checkpoint);
  return { name: 'ppo', act: (obs: Observation, mask) => loaded.policy.act(obs, mask) };
}

/** The profile's rate for the window of each step, 0..steps (what a per-step episode replays). */
export function profileRates(load: LiveLoad, steps: number): Float64Array | null {
  const rates = Float64Array.from({ length: steps + 1 }, (_, t) => load.offeredAt(t));
  return rates.every((r) => Number.isFinite(r) && r >= 0) ? rates : null;
}

/**
 * The best fixed configuration within `bounds` for the profile's rates under `reward`, on the
 * performance model; null when the reward is not request-level or the rates are unknown (a
 * generator read from Prometheus: this process does not know its profile).
 */
export function staticBestForProfile(reward: LiveReward, rates: Float64Array | null, bounds: Bounds, intervalSeconds: number): ScalingConfig | null {
  if (!isRequestReward(reward) || rates === null) return null;
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward, bounds, intervalSeconds });
  const source: TraceSource = { kind: 'trace', name: 'live profile', rates };
  return configFromIndex(bestStaticConfigTrace(dynamics, source, rates.length - 1));
}

export function staticBestPolicyFor(config: ScalingConfig): Policy {
  return asEpisodePolicy(staticLoadPolicy(config));
}

export function hpaPolicy(): Policy {
  return asEpisodePolicy(hpaLoadPolicy());
}

/** One live step as the comparison reads it. */
export interface LiveLoadStep {
  action: number;
  info: { config: ScalingConfig; metrics: StepMetrics; invalidAction: boolean; requests?: RequestStepMetrics };
}

/** The p99 target the comparison scores SLO attainment against: the reward's, else the slo reward's default. */
export function comparisonSloMs(reward: LiveReward): number {
  return isRequestReward(reward) ? sloTargetOf(reward) : SLO_DEFAULTS.p99TargetMs;
}

/**
 * SLO attainment (share of steps with p99 <= SLO), mean allocated cores, served/offered and the
 * number of changes per episode, from live steps grouped by episode, as offline (load-evaluate.ts).
 * Null when the steps have no requests (no load source).
 */
export function summariseLiveLoad(policy: string, episodes: LiveLoadStep[][], p99TargetMs: number): LoadEvaluation | null {
  const played = episodes.filter((e) => e.length > 0);
  if (!played.length || played.some((e) => e.some((s) => !s.info.requests))) return null;
  const asLoad: LoadEpisode[] = played.map((steps) => {
    const windows = steps.map((s) => requestMeasurementOf(s.info.config, s.info.metrics, s.info.requests!));
    return { return: 0, actions: steps.map((s) => s.action), rewards: [], windows, rates: windows.map((w) => w.offeredRps), invalid: steps.map((s) => s.info.invalidAction) };
  });
  return summariseLoadEpisodes(policy, asLoad, p99TargetMs);
}

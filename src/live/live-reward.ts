/**
 * The reward of a live run: a classic one (reward.ts, from the pods' packet rates) or a
 * request-level one (request-reward.ts), which needs a load source because it reads what the
 * window's requests did. Names resolve to either; a load checkpoint's recorded reward (name and
 * parameters) is the default of a live run with it.
 */
import type { CheckpointMeta } from '../agent/checkpoint';
import { trainedRewardName } from '../agent/checkpoint';
import { loadTeastoreData } from '../data';
import type { StepMetrics } from '../measurement';
import { datasetNormalisers, makeReward, REWARD_NAMES, type RewardFunction, type RewardName } from '../reward';
import { isRequestRewardName, makeRequestReward, REQUEST_REWARD_NAMES, type RequestMeasurement, type RequestReward, type RequestRewardName } from '../request-reward';
import type { ScalingConfig } from '../space';
import type { RequestStepMetrics } from './live-load';

export type LiveReward = RewardFunction | RequestReward;
export type LiveRewardName = RewardName | RequestRewardName;
export const LIVE_REWARD_NAMES: readonly LiveRewardName[] = [...REWARD_NAMES, ...REQUEST_REWARD_NAMES];

export function isRequestReward(reward: LiveReward): reward is RequestReward {
  return isRequestRewardName(reward.name);
}

export function isLiveRewardName(name: string): name is LiveRewardName {
  return (LIVE_REWARD_NAMES as readonly string[]).includes(name);
}

/** What the step log's run header records of a reward. */
export function describeLiveReward(reward: LiveReward): { name: string; version: number; params: Record<string, number | string> } {
  return { name: reward.name, version: reward.version, params: { ...reward.params } };
}

/**
 * A reward by name: classic ones with the dataset's normalisers (so a live reward means what it
 * meant offline), request-level ones with `params` (only the numeric parameters the reward takes;
 * recorded extras such as its cost scale are ignored).
 */
export function makeLiveReward(name: string, params: Record<string, number | string> = {}): LiveReward {
  if (isRequestRewardName(name)) {
    const known = Object.keys(makeRequestReward(name).params);
    const own: Record<string, number> = {};
    for (const [k, v] of Object.entries(params)) if (typeof v === 'number' && known.includes(k) && !/Scale$/.test(k)) own[k] = v;
    return makeRequestReward(name, own);
  }
  if ((REWARD_NAMES as readonly string[]).includes(name)) return makeReward(name as RewardName, datasetNormalisers(loadTeastoreData()));
  throw new Error(`unknown reward ${JSON.stringify(name)}; expected one of ${LIVE_REWARD_NAMES.join(', ')}`);
}

/** The reward a checkpoint was trained on, with its recorded parameters (request-level or classic). */
export function checkpointLiveReward(meta: CheckpointMeta, dir = meta.runId): LiveReward {
  if (isRequestRewardName(meta.reward.name)) return makeLiveReward(meta.reward.name, meta.reward.params);
  return makeLiveReward(trainedRewardName(meta, dir));
}

/** A reward's name resolved with the checkpoint's parameters when it is the checkpoint's own reward. */
export function liveRewardFor(name: string | undefined, meta: CheckpointMeta, dir = meta.runId): LiveReward {
  if (name === undefined || name === meta.reward.name) return checkpointLiveReward(meta, dir);
  return makeLiveReward(name);
}

/** What a request-level reward reads of a live step: the window's requests and the pods' usage. */
export function requestMeasurementOf(config: ScalingConfig, metrics: StepMetrics, requests: RequestStepMetrics): RequestMeasurement {
  return {
    config,
    offeredRps: requests.offeredRps,
    servedRps: requests.servedRps,
    failedRps: requests.failedRps,
    p50Ms: requests.latencyMs.p50,
    p95Ms: requests.latencyMs.p95,
    p99Ms: requests.latencyMs.p99,
    usedCpuCores: metrics.usedCpuCores,
    usedRamGiB: metrics.usedRamGiB,
  };
}

/**
 * Request-level rewards: named, versioned, their parameters recorded, for environments where the
 * load changes. They read what a window of requests did (offered, served, failed, latency
 * percentiles) and what the configuration allocates, instead of the per-pod packet rate of the
 * classic rewards (reward.ts).
 *
 * - `slo`: served/expected minus a weighted cost, minus a penalty when p95 or p99 exceeds its target;
 * - `app2scale-v2`: the original's online `alpha * perf + (1 - alpha) * util` (reference 10.4, v4):
 *   perf = min(served/expected, 1), util = mean of min(cpu/limit, 1) and min(memory/heap, 1);
 * - `cost-under-slo`: after Autothrottle, minimise allocated cores subject to p99 <= SLO: the
 *   unallocated share of the largest configuration when the SLO holds, a penalty when it does not.
 */
import { FULL_BOUNDS, type ScalingConfig } from './space';

/** What one control interval measured under a configuration and an offered load. */
export interface RequestMeasurement {
  config: ScalingConfig;
  /** Requests/s the load offered in the window (the expected rate). */
  offeredRps: number;
  /** Requests/s answered successfully. */
  servedRps: number;
  /** Requests/s that failed or were dropped. */
  failedRps: number;
  /** Latency percentiles of the served requests, milliseconds. */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Mean CPU usage per pod, cores. */
  usedCpuCores: number;
  /** Mean memory per pod, GiB. */
  usedRamGiB: number;
}

export type RequestRewardName = 'slo' | 'app2scale-v2' | 'cost-under-slo';
export const REQUEST_REWARD_NAMES: readonly RequestRewardName[] = ['slo', 'app2scale-v2', 'cost-under-slo'];

export interface RequestReward {
  name: RequestRewardName;
  version: number;
  /** Everything the value depends on, recorded with each run. */
  params: Record<string, number | string>;
  /** Paid for a move that would leave the bounds (the move is refused). */
  invalidPenalty: number;
  compute(m: RequestMeasurement): number;
}

/** USD per core-hour and per GiB-hour (the original's kubecost prices, as measurement.ts). */
export const CORE_HOUR_USD = 0.031611;
export const GIB_HOUR_USD = 0.004237;

/** Cores the configuration allocates: replicas x CPU limit. */
export function allocatedCores(config: ScalingConfig): number {
  return (config.replicas * config.cpuMillis) / 1000;
}

/** Memory the configuration allocates, GiB: replicas x heap. */
export function allocatedMemoryGiB(config: ScalingConfig): number {
  return (config.replicas * config.heapMB) / 1024;
}

/** Cost of what the configuration allocates, USD/hour. */
export function allocatedCostPerHour(config: ScalingConfig): number {
  return allocatedCores(config) * CORE_HOUR_USD + allocatedMemoryGiB(config) * GIB_HOUR_USD;
}

/** Cost of the largest configuration: the scale that maps cost into [0, 1]. */
export const MAX_COST_PER_HOUR = allocatedCostPerHour(FULL_BOUNDS.max);
export const MAX_CORES = allocatedCores(FULL_BOUNDS.max);

/** Served share of the offered requests, in [0, 1]; 1 when nothing was offered. */
export function servedShare(m: RequestMeasurement): number {
  if (m.offeredRps <= 0) return 1;
  return Math.min(Math.max(m.servedRps / m.offeredRps, 0), 1);
}

/** Whether the window met the latency SLO (p99 within target; an idle window meets it). */
export function meetsSlo(m: RequestMeasurement, p99TargetMs: number): boolean {
  return m.servedRps <= 0 ? m.offeredRps <= 0 : m.p99Ms <= p99TargetMs;
}

export interface SloRewardOptions {
  /** p99 latency target, ms. */
  p99TargetMs?: number;
  /** p95 latency target, ms. */
  p95TargetMs?: number;
  /** Weight of the normalised cost (cost / cost of the largest configuration). */
  costWeight?: number;
  /** Subtracted when p95 or p99 exceeds its target (once, not per percentile). */
  sloPenalty?: number;
  invalidPenalty?: number;
}

export const SLO_DEFAULTS: Required<SloRewardOptions> = { p99TargetMs: 250, p95TargetMs: 150, costWeight: 0.5, sloPenalty: 1, invalidPenalty: -1 };

function checkFinite(params: Record<string, number>, what: string): void {
  for (const [k, v] of Object.entries(params)) {
    if (!Number.isFinite(v)) throw new Error(`${what}: ${k} must be a finite number, got ${v}`);
  }
}

function checkPositiveTargets(params: Record<string, number>, what: string, keys: string[]): void {
  for (const k of keys) if (!(params[k] > 0)) throw new Error(`${what}: ${k} must be positive, got ${params[k]}`);
}

export function sloReward(options: SloRewardOptions = {}): RequestReward {
  const p = { ...SLO_DEFAULTS, ...options };
  checkFinite(p, 'slo reward');
  checkPositiveTargets(p, 'slo reward', ['p99TargetMs', 'p95TargetMs']);
  return {
    name: 'slo',
    version: 1,
    params: { ...p, costScale: MAX_COST_PER_HOUR, cost: 'allocated cores and heap at kubecost prices' },
    invalidPenalty: p.invalidPenalty,
    compute(m) {
      const violated = m.servedRps > 0 && (m.p95Ms > p.p95TargetMs || m.p99Ms > p.p99TargetMs);
      return servedShare(m) - p.costWeight * (allocatedCostPerHour(m.config) / MAX_COST_PER_HOUR) - (violated ? p.sloPenalty : 0);
    },
  };
}

export interface App2scaleV2Options {
  /** Weight of performance against utilisation (the original's ALPHA, 0.8 in v4). */
  alpha?: number;
  invalidPenalty?: number;
}

export const APP2SCALE_V2_DEFAULTS: Required<App2scaleV2Options> = { alpha: 0.8, invalidPenalty: -1 };

export function app2scaleV2Reward(options: App2scaleV2Options = {}): RequestReward {
  const p = { ...APP2SCALE_V2_DEFAULTS, ...options };
  checkFinite(p, 'app2scale-v2 reward');
  if (p.alpha < 0 || p.alpha > 1) throw new Error(`app2scale-v2 reward: alpha must be within [0, 1], got ${p.alpha}`);
  return {
    name: 'app2scale-v2',
    version: 1,
    params: { ...p },
    invalidPenalty: p.invalidPenalty,
    compute(m) {
      const cpuUtil = Math.min(m.usedCpuCores / (m.config.cpuMillis / 1000), 1);
      const memUtil = Math.min(m.usedRamGiB / (m.config.heapMB / 1024), 1);
      return p.alpha * servedShare(m) + (1 - p.alpha) * (0.5 * cpuUtil + 0.5 * memUtil);
    },
  };
}

export interface CostUnderSloOptions {
  p99TargetMs?: number;
  /** The served share below which the window counts as a violation too. */
  minServedShare?: number;
  /** Reward of a window that violates the SLO. */
  violationReward?: number;
  invalidPenalty?: number;
}

export const COST_UNDER_SLO_DEFAULTS: Required<CostUnderSloOptions> = { p99TargetMs: 250, minServedShare: 0.99, violationReward: -1, invalidPenalty: -1 };

export function costUnderSloReward(options: CostUnderSloOptions = {}): RequestReward {
  const p = { ...COST_UNDER_SLO_DEFAULTS, ...options };
  checkFinite(p, 'cost-under-slo reward');
  checkPositiveTargets(p, 'cost-under-slo reward', ['p99TargetMs']);
  return {
    name: 'cost-under-slo',
    version: 1,
    params: { ...p, coresScale: MAX_CORES },
    invalidPenalty: p.invalidPenalty,
    compute(m) {
      if (!meetsSlo(m, p.p99TargetMs) || servedShare(m) < p.minServedShare) return p.violationReward;
      return 1 - allocatedCores(m.config) / MAX_CORES;
    },
  };
}

/** A request-level reward by name; `params` overrides defaults (unknown keys are an error). */
export function makeRequestReward(name: string, params: Record<string, number> = {}): RequestReward {
  const known: Record<RequestRewardName, readonly string[]> = {
    slo: Object.keys(SLO_DEFAULTS),
    'app2scale-v2': Object.keys(APP2SCALE_V2_DEFAULTS),
    'cost-under-slo': Object.keys(COST_UNDER_SLO_DEFAULTS),
  };
  if (!(REQUEST_REWARD_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown request reward ${JSON.stringify(name)}; expected one of ${REQUEST_REWARD_NAMES.join(', ')}`);
  }
  const rewardName = name as RequestRewardName;
  for (const key of Object.keys(params)) {
    if (!known[rewardName].includes(key)) throw new Error(`reward ${name} has no parameter ${JSON.stringify(key)}; it takes ${known[rewardName].join(', ')}`);
  }
  switch (rewardName) {
    case 'slo':
      return sloReward(params);
    case 'app2scale-v2':
      return app2scaleV2Reward(params);
    case 'cost-under-slo':
      return costUnderSloReward(params);
  }
}

/** Whether a recorded reward name is a request-level one. */
export function isRequestRewardName(name: string): name is RequestRewardName {
  return (REQUEST_REWARD_NAMES as readonly string[]).includes(name);
}

/**
 * What one control interval does under a load, from the performance model: the window's expected
 * measurement and reward for every (configuration, action) at a given arrival rate. The load
 * environment, the exact solvers and the evaluation all read these same numbers, which is what
 * makes the optimum exact for the environment.
 *
 * A move pays the model's transition cost inside the window it is made in: while new pods start
 * and warm up (startDelaySec + half of warmUpSec), the window runs as the old configuration; the
 * in-flight requests of stopped pods are lost. Rewards use the noise-free prediction (the
 * expectation); the agent's observed usage comes from `sampleMeasurement`, with the model's noise.
 * Rates are rounded to `rateResolution` req/s (default 5) so tables can be cached per rate: one
 * table asks the model for every configuration, and a prediction costs milliseconds.
 *
 * Observed usage is drawn, like the dataset replay draws logged rows, from a pool of
 * `noisePool` measurements the model samples per (configuration, rate) the first time it is
 * needed, each pool from its own seed, so the draws do not depend on the order of visits.
 */
import type { PerformanceModel, Prediction, TransitionCost } from '../model/types';
import { Rng } from '../random';
import type { RequestMeasurement, RequestReward } from '../request-reward';
import * as space from '../space';
import { FULL_BOUNDS, configFromIndex, nextConfigTable, type Bounds, type ScalingConfig } from '../space';

const ACTION_COUNT = space.ACTION_COUNT;
const CONFIG_COUNT = space.CONFIG_COUNT;

export const DEFAULT_INTERVAL_SECONDS = 60;
export const DEFAULT_RATE_RESOLUTION = 5;
export const DEFAULT_NOISE_POOL = 4;
const MAX_CACHED_REWARD_TABLES = 8192;

/** Predictions per model and rate, shared by every dynamics on the same model (rewards differ, predictions do not). */
const PREDICTIONS = new WeakMap<PerformanceModel, Map<number, Prediction[]>>();

export interface LoadDynamicsOptions {
  model: PerformanceModel;
  reward: RequestReward;
  /** Seconds per control interval (one step), default 60. */
  intervalSeconds?: number;
  bounds?: Bounds;
  /** Rates are rounded to this many req/s (default 5). */
  rateResolution?: number;
  /** Noisy measurements sampled per (configuration, rate) to draw observations from (default 4). */
  noisePool?: number;
  /** Seed of the noise pools. */
  noiseSeed?: number;
}

/** Share of a window that runs as the old configuration while a move's new pods get ready. */
export function transitionShare(cost: TransitionCost, intervalSeconds: number): number {
  if (cost.podsStarted <= 0) return 0;
  return Math.min(1, Math.max(0, cost.startDelaySec + 0.5 * cost.warmUpSec) / intervalSeconds);
}

/** A window that ran as `before` for share `f` and as `after` for the rest, losing `lostRps`. */
export function blendWindow(before: Prediction, after: Prediction, f: number, lostRps: number, config: ScalingConfig): RequestMeasurement {
  const mix = (a: number, b: number) => f * a + (1 - f) * b;
  // A tail percentile is dominated by the worse part as soon as that part holds its tail share.
  const worseIf = (share: number, a: number, b: number) => (f >= share ? Math.max(a, b) : b);
  const served = Math.max(0, mix(before.servedRps, after.servedRps) - lostRps);
  return {
    config,
    offeredRps: after.offeredRps,
    servedRps: served,
    failedRps: Math.max(0, after.offeredRps - served),
    p50Ms: worseIf(0.5, before.latencyMs.p50, after.latencyMs.p50),
    p95Ms: worseIf(0.05, before.latencyMs.p95, after.latencyMs.p95),
    p99Ms: worseIf(0.01, before.latencyMs.p99, after.latencyMs.p99),
    usedCpuCores: mix(before.cpuCores, after.cpuCores),
    usedRamGiB: mix(before.memoryGiB, after.memoryGiB),
  };
}

export class LoadDynamics {
  readonly model: PerformanceModel;
  readonly reward: RequestReward;
  readonly intervalSeconds: number;
  readonly bounds: Bounds;
  readonly rateResolution: number;
  /** next[c*7 + a]: configuration reached from c by a within the bounds, -1 when refused. */
  readonly next: Int16Array;
  readonly masks: Uint8Array;
  readonly noisePool: number;
  readonly noiseSeed: number;
  private readonly predictions: Map<number, Prediction[]>;
  private readonly rewardTables = new Map<number, Float32Array>();
  private readonly bestStay = new Map<number, number>();
  private readonly pools = new Map<number, Float32Array>();
  private readonly completeRates = new Set<number>();

  constructor(options: LoadDynamicsOptions) {
    this.model = options.model;
    this.reward = options.reward;
    this.intervalSeconds = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
    if (!(this.intervalSeconds > 0) || !Number.isFinite(this.intervalSeconds)) throw new Error(`the control interval must be positive seconds, got ${this.intervalSeconds}`);
    this.bounds = options.bounds ?? FULL_BOUNDS;
    this.rateResolution = options.rateResolution ?? DEFAULT_RATE_RESOLUTION;
    if (!(this.rateResolution > 0)) throw new Error(`rateResolution must be positive, got ${this.rateResolution}`);
    this.next = nextConfigTable(this.bounds);
    this.masks = Uint8Array.from(this.next, (target) => (target >= 0 ? 1 : 0));
    this.noisePool = options.noisePool ?? DEFAULT_NOISE_POOL;
    if (!Number.isInteger(this.noisePool) || this.noisePool < 1) throw new Error(`noisePool must be a positive integer, got ${this.noisePool}`);
    this.noiseSeed = options.noiseSeed ?? 0;
    let shared = PREDICTIONS.get(this.model);
    if (!shared) PREDICTIONS.set(this.model, (shared = new Map()));
    this.predictions = shared;
  }

  /** The rate the tables use for `rate` (rounded to the resolution). */
  quantise(rate: number): number {
    if (!Number.isFinite(rate) || rate < 0) throw new Error(`arrival rate ${rate} is not a finite rate >= 0`);
    return Math.round(rate / this.rateResolution) * this.rateResolution;
  }

  /** Noise-free predictions of every configuration within the bounds at `rate` (cached, shared across dynamics on the model). */
  predictionsAt(rate: number): Prediction[] {
    const q = this.quantise(rate);
    let table = this.predictions.get(q);
    if (!table) this.predictions.set(q, (table = new Array<Prediction>(CONFIG_COUNT)));
    if (!this.completeRates.has(q)) {
      // Another dynamics on the same model may have filled only its own (narrower) bounds.
      for (let c = 0; c < CONFIG_COUNT; c++) {
        if (table[c] !== undefined) continue;
        const config = configFromIndex(c);
        if (space.withinBounds(config, this.bounds)) table[c] = this.model.predict(config, q);
      }
      this.completeRates.add(q);
    }
    return table;
  }

  /** The expected measurement of a window that starts in `from` and moves to `to` at `rate`. */
  window(from: number, to: number, rate: number): RequestMeasurement {
    const predictions = this.predictionsAt(rate);
    const after = predictions[to];
    if (from === to) return blendWindow(after, after, 0, 0, after.config);
    const before = predictions[from];
    const cost = this.model.transition(before.config, after.config, this.quantise(rate));
    return blendWindow(before, after, transitionShare(cost, this.intervalSeconds), cost.requestsLost / this.intervalSeconds, after.config);
  }

  /** rewards[c*7 + a]: the expected reward of action a in configuration c at `rate` (cached). */
  rewardsAt(rate: number): Float32Array {
    const q = this.quantise(rate);
    let table = this.rewardTables.get(q);
    if (!table) {
      if (this.rewardTables.size >= MAX_CACHED_REWARD_TABLES) this.rewardTables.clear();
      table = new Float32Array(CONFIG_COUNT * ACTION_COUNT).fill(Number.NaN);
      for (let c = 0; c < CONFIG_COUNT; c++) {
        if (!space.withinBounds(configFromIndex(c), this.bounds)) continue;
        for (let a = 0; a < ACTION_COUNT; a++) {
          const to = this.next[c * ACTION_COUNT + a];
          table[c * ACTION_COUNT + a] = to < 0 ? this.reward.invalidPenalty : this.reward.compute(this.window(c, to, q));
        }
      }
      this.rewardTables.set(q, table);
    }
    return table;
  }

  /**
   * The best reward any configuration within the bounds earns by staying put at `rate`: what the
   * best static configuration for this one window would earn. It depends on the load alone, which
   * no action changes, so subtracting it from every reward leaves every policy's ranking as it was.
   */
  bestStayRewardAt(rate: number): number {
    const q = this.quantise(rate);
    let best = this.bestStay.get(q);
    if (best === undefined) {
      const table = this.rewardsAt(q);
      best = -Infinity;
      for (let c = 0; c < CONFIG_COUNT; c++) if (table[c * ACTION_COUNT] > best) best = table[c * ACTION_COUNT];
      this.bestStay.set(q, best);
    }
    return best;
  }

  /** The usage the agent observes in configuration c at `rate`: drawn from the noise pool, or the expectation. */
  observeUsage(c: number, rate: number, rng: Rng | null): { usedCpu: number; usedRam: number } {
    if (!rng) {
      const p = this.predictionsAt(rate)[c];
      return { usedCpu: p.cpuCores, usedRam: p.memoryGiB };
    }
    const pool = this.noisePoolOf(c, this.quantise(rate));
    const k = rng.int(this.noisePool);
    return { usedCpu: pool[2 * k], usedRam: pool[2 * k + 1] };
  }

  /** The sampled (cpu, memory) pairs of configuration c at a quantised rate. */
  private noisePoolOf(c: number, q: number): Float32Array {
    const key = Math.round(q / this.rateResolution) * CONFIG_COUNT + c;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Float32Array(2 * this.noisePool);
      const rng = new Rng(this.noiseSeed * 1000003 + key);
      const config = configFromIndex(c);
      for (let k = 0; k < this.noisePool; k++) {
        const m = this.model.sampleMeasurement(config, q, rng);
        pool[2 * k] = m.cpuCores;
        pool[2 * k + 1] = m.memoryGiB;
      }
      this.pools.set(key, pool);
    }
    return pool;
  }

  /**
   * Fills the caches for these rates ahead of time: predictions, reward tables and, with
   * `noise`, the noise pools of every configuration within the bounds (a setup cost, like
   * indexing a dataset, paid before training starts).
   */
  warm(rates: Iterable<number>, options: { noise?: boolean } = {}): void {
    const seen = new Set<number>();
    for (const rate of rates) {
      const q = this.quantise(rate);
      if (seen.has(q)) continue;
      seen.add(q);
      this.rewardsAt(q);
      if (!options.noise) continue;
      for (let c = 0; c < CONFIG_COUNT; c++) if (space.withinBounds(configFromIndex(c), this.bounds)) this.noisePoolOf(c, q);
    }
  }

  /** What identifies the dynamics in run metadata. */
  describe(): Record<string, number | string> {
    return { ...this.model.describe(), intervalSeconds: this.intervalSeconds, rateResolution: this.rateResolution };
  }
}

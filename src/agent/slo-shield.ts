/**
 * An SLO shield for load policies (action shielding, as in safe reinforcement learning): before
 * an action runs, the performance model predicts the windows it leads to, and an action predicted
 * to break the SLO is replaced.
 *
 * What the shield reads is what the policy observes: its configuration and the load of the coming
 * windows (the forecast, or the current window's rate held for one window when there is none).
 * An action is safe when, after it, some sequence of moves keeps every one of those windows
 * within the SLO, judged on the same window prediction the environment rewards
 * (LoadDynamics.window: the model's mean, a move's transition share run as the old
 * configuration). Capacity must therefore be there a window before a rise: a move's new pods need
 * most of a window to start and warm up, and that part of the window runs as before.
 *
 * A safe action is left alone. An unsafe one becomes the cheapest allowed action (by the cost of
 * the configuration it leads to) that is safe. When no action keeps every window, the windows
 * that some action can keep from the first on count instead; when none keeps even the next
 * window, the action leading to the most capacity is taken, whatever the policy chose. The choice is a pure, deterministic
 * function of (configuration, action, rates).
 */
import { allocatedCostPerHour } from '../request-reward';
import * as space from '../space';
import { configFromIndex, configIndex } from '../space';
import type { LoadDynamics } from '../env/load-dynamics';
import type { VectorLoadEnv } from '../env/load-env';
import { sloTargetOf } from './load-evaluate';
import type { LoadPolicy } from './load-policies';

const ACTION_COUNT = space.ACTION_COUNT;
const CONFIG_COUNT = space.CONFIG_COUNT;

export const SHIELD_NAMES = ['none', 'slo'] as const;
export type ShieldName = (typeof SHIELD_NAMES)[number];

export function isShieldName(text: string): text is ShieldName {
  return (SHIELD_NAMES as readonly string[]).includes(text);
}

export interface SloShieldOptions {
  /** The p99 target, ms (default: the reward's, else 250). */
  p99TargetMs?: number;
  /** Also keep p95 within this, ms (default: the reward's p95 target when it names one). */
  p95TargetMs?: number;
  /**
   * Multiplies the predicted latencies before they are compared (default 1: the model's mean,
   * which is what the environment rewards; above 1 a conservative margin for a live cluster).
   */
  latencyFactor?: number;
}

/** Tables per dynamics and targets, shared by every shield on them (a trainer's and an evaluation's). */
const TABLES = new WeakMap<LoadDynamics, Map<string, Map<number, Uint8Array>>>();

function sharedTables(dynamics: LoadDynamics, key: string): Map<number, Uint8Array> {
  let byKey = TABLES.get(dynamics);
  if (!byKey) TABLES.set(dynamics, (byKey = new Map()));
  let tables = byKey.get(key);
  if (!tables) byKey.set(key, (tables = new Map()));
  return tables;
}

export class SloShield {
  readonly dynamics: LoadDynamics;
  readonly p99TargetMs: number;
  readonly p95TargetMs: number;
  readonly latencyFactor: number;
  /** Actions replaced since construction (or the last `resetCount`). */
  replaced = 0;
  /** Actions checked since construction (or the last `resetCount`). */
  checked = 0;
  private readonly meetsTables: Map<number, Uint8Array>;
  private readonly cost: Float64Array;
  // Memo of the most windows kept from (window k, configuration c), stamped per call.
  private memo = new Int8Array(0);
  private stamp = new Int32Array(0);
  private call = 0;

  constructor(dynamics: LoadDynamics, options: SloShieldOptions = {}) {
    this.dynamics = dynamics;
    this.p99TargetMs = options.p99TargetMs ?? sloTargetOf(dynamics.reward);
    const rewardP95 = dynamics.reward.params.p95TargetMs;
    this.p95TargetMs = options.p95TargetMs ?? (typeof rewardP95 === 'number' ? rewardP95 : Infinity);
    this.latencyFactor = options.latencyFactor ?? 1;
    if (!(this.p99TargetMs > 0)) throw new Error(`the shield's p99 target must be positive ms, got ${this.p99TargetMs}`);
    if (!(this.p95TargetMs > 0)) throw new Error(`the shield's p95 target must be positive ms, got ${this.p95TargetMs}`);
    if (!(this.latencyFactor > 0) || !Number.isFinite(this.latencyFactor)) throw new Error(`the shield's latency factor must be a positive number, got ${this.latencyFactor}`);
    this.cost = Float64Array.from({ length: CONFIG_COUNT }, (_, c) => allocatedCostPerHour(configFromIndex(c)));
    this.meetsTables = sharedTables(dynamics, `${this.p99TargetMs}/${this.p95TargetMs}/${this.latencyFactor}`);
  }

  /** Fills the tables for these rates ahead of time (like LoadDynamics.warm). */
  warm(rates: Iterable<number>): void {
    for (const rate of rates) this.meetsAt(rate);
  }

  /** meets[c*7 + a]: 1 when the window of action a from c at `rate` is predicted within the SLO (cached per rate). */
  meetsAt(rate: number): Uint8Array {
    const q = this.dynamics.quantise(rate);
    let table = this.meetsTables.get(q);
    if (!table) {
      table = new Uint8Array(CONFIG_COUNT * ACTION_COUNT);
      const { next } = this.dynamics;
      const f = this.latencyFactor;
      for (let c = 0; c < CONFIG_COUNT; c++) {
        if (next[c * ACTION_COUNT] < 0) continue; // outside the bounds
        for (let a = 0; a < ACTION_COUNT; a++) {
          const to = next[c * ACTION_COUNT + a];
          if (to < 0) continue;
          const w = this.dynamics.window(c, to, q);
          table[c * ACTION_COUNT + a] = w.servedRps <= 0 || (w.p99Ms * f <= this.p99TargetMs && w.p95Ms * f <= this.p95TargetMs) ? 1 : 0;
        }
      }
      this.meetsTables.set(q, table);
    }
    return table;
  }

  /**
   * The action to run instead of `action` in configuration `config` (an index), given the rates
   * of the coming windows (the first is the window the action runs in).
   */
  shield(config: number, action: number, rates: ArrayLike<number>): number {
    if (rates.length < 1) throw new Error('the shield needs the rate of at least the coming window');
    const { next } = this.dynamics;
    if (next[config * ACTION_COUNT] < 0) throw new Error(`configuration ${space.formatConfig(configFromIndex(config))} is outside the bounds the shield knows`);
    this.checked++;
    this.beginCall(rates.length);
    const kept = new Int8Array(ACTION_COUNT).fill(-1);
    let best = 0;
    for (let a = 0; a < ACTION_COUNT; a++) {
      if (next[config * ACTION_COUNT + a] < 0) continue;
      kept[a] = this.keptAfter(config, a, 0, rates);
      best = Math.max(best, kept[a]);
    }
    // A refused move leaves the configuration as it is: judge it as staying.
    const own = kept[action] >= 0 ? kept[action] : kept[space.Action.DO_NOTHING];
    const chosen = best === 0 ? this.mostCapacity(config, rates[0]) : own === best ? action : this.cheapest(config, kept, best);
    if (chosen !== action) this.replaced++;
    return chosen;
  }

  /** Starts counting interventions afresh. */
  resetCount(): void {
    this.replaced = 0;
    this.checked = 0;
  }

  /** Windows kept from window k on when action a is taken in c (0 if window k itself breaks the SLO). */
  private keptAfter(c: number, a: number, k: number, rates: ArrayLike<number>): number {
    if (!this.meetsAt(rates[k])[c * ACTION_COUNT + a]) return 0;
    return k + 1 >= rates.length ? 1 : 1 + this.keptFrom(this.dynamics.next[c * ACTION_COUNT + a], k + 1, rates);
  }

  /** The most windows from k on that some sequence of moves keeps, starting in c. */
  private keptFrom(c: number, k: number, rates: ArrayLike<number>): number {
    const key = k * CONFIG_COUNT + c;
    if (this.stamp[key] === this.call) return this.memo[key];
    let most = 0;
    const left = rates.length - k;
    for (let a = 0; a < ACTION_COUNT && most < left; a++) {
      if (this.dynamics.next[c * ACTION_COUNT + a] < 0) continue;
      most = Math.max(most, this.keptAfter(c, a, k, rates));
    }
    this.stamp[key] = this.call;
    this.memo[key] = most;
    return most;
  }

  private beginCall(windows: number): void {
    if (this.memo.length < windows * CONFIG_COUNT) {
      this.memo = new Int8Array(windows * CONFIG_COUNT);
      this.stamp = new Int32Array(windows * CONFIG_COUNT);
      this.call = 0;
    }
    this.call++;
  }

  /** The allowed action keeping `kept` windows whose configuration costs least (ties: the lower action number). */
  private cheapest(config: number, kept: Int8Array, target: number): number {
    let chosen = -1;
    for (let a = 0; a < ACTION_COUNT; a++) {
      if (kept[a] !== target) continue;
      if (chosen < 0 || this.cost[this.dynamics.next[config * ACTION_COUNT + a]] < this.cost[this.dynamics.next[config * ACTION_COUNT + chosen]]) chosen = a;
    }
    return chosen;
  }

  /** The allowed action leading to the most capacity (ties: the lower predicted p99, then the lower action number). */
  private mostCapacity(config: number, rate: number): number {
    const predictions = this.dynamics.predictionsAt(rate);
    let chosen = -1;
    let capacity = -Infinity;
    let p99 = Infinity;
    for (let a = 0; a < ACTION_COUNT; a++) {
      const to = this.dynamics.next[config * ACTION_COUNT + a];
      if (to < 0) continue;
      const p = predictions[to];
      if (p.capacityRps > capacity || (p.capacityRps === capacity && p.latencyMs.p99 < p99)) {
        chosen = a;
        capacity = p.capacityRps;
        p99 = p.latencyMs.p99;
      }
    }
    return chosen;
  }
}

/** The windows a load observation shows ahead: its forecast, or the current rate held for one window. */
export function comingRates(observation: { arrivalRate: number; forecast?: readonly number[] }): readonly number[] {
  return observation.forecast && observation.forecast.length ? observation.forecast : [observation.arrivalRate];
}

/** `policy` with its actions passed through the shield; the name says so. */
export function shieldedLoadPolicy(policy: LoadPolicy, shield: SloShield): LoadPolicy {
  return {
    name: `${policy.name}+shield`,
    act(observation, mask, step) {
      return shield.shield(configIndex(observation), policy.act(observation, mask, step), comingRates(observation));
    },
    reset: (seed) => policy.reset?.(seed),
  };
}

/** Shields environment i's action in a vectorised load environment, from what its observation shows. */
export function shieldVectorAction(shield: SloShield, envs: VectorLoadEnv, i: number, action: number): number {
  const s = envs.states[i];
  const k = envs.forecastSteps;
  const rates = k > 0 ? s.load.rates.subarray(s.step + 1, s.step + 1 + k) : s.load.rates.subarray(s.step, s.step + 1);
  return shield.shield(s.config, action, rates);
}

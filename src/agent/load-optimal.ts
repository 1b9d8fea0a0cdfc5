/**
 * Exact yardsticks under changing load.
 *
 * With the load following a Markov chain over levels, the load environment is a finite MDP over
 * (configuration x level): rewards and moves depend on the configuration, the action and the next
 * window's level, and the next level only on the current one. Finite-horizon value iteration gives
 * the optimum of every policy that observes the level, exactly. (The previous window's rate and
 * the measured usage carry no more information about the future, so no policy that sees them can
 * do better either.)
 *
 * With a replayed trace the load is known in advance, and dynamic programming over
 * (configuration x time) gives the clairvoyant optimum: an upper bound that no policy can beat.
 *
 * Policies that read only the configuration and the two rates (a trained network on noise-free
 * observations, the static and do-nothing rules) are evaluated exactly on a Markov load by
 * backward induction over (configuration x level x previous level).
 */
import * as space from '../space';
import { configFromIndex, configIndex, withinBounds, type ScalingConfig } from '../space';
import type { LoadDynamics } from '../env/load-dynamics';
import type { MarkovSource, TraceSource } from '../env/load-source';
import type { LoadStart } from '../env/load-env';

const ACTION_COUNT = space.ACTION_COUNT;
const CONFIG_COUNT = space.CONFIG_COUNT;

/** Configurations an episode can start in: the one given, or every one within the bounds (uniform). */
export function startConfigs(dynamics: LoadDynamics, start: LoadStart): number[] {
  if (start !== 'random') return [configIndex(start)];
  const out: number[] = [];
  for (let c = 0; c < CONFIG_COUNT; c++) if (withinBounds(configFromIndex(c), dynamics.bounds)) out.push(c);
  return out;
}

function reachable(dynamics: LoadDynamics, c: number, a: number): number {
  const to = dynamics.next[c * ACTION_COUNT + a];
  return to < 0 ? c : to;
}

export interface MarkovOptimum {
  horizon: number;
  levelCount: number;
  /** values[(k*levels + l)*729 + c]: best expected return with k steps left, in c, level l observed. */
  values: Float64Array;
  actions: Uint8Array;
  actionOf(config: number, level: number, stepsLeft: number): number;
  /** Expected return of an episode from `start`, its first level drawn from the stationary law. */
  valueOf(start: LoadStart): number;
}

export function solveMarkovOptimum(dynamics: LoadDynamics, source: MarkovSource, horizon: number): MarkovOptimum {
  const { chain, stationary } = source;
  const K = chain.levels.length;
  const tables = chain.levels.map((rate) => dynamics.rewardsAt(rate));
  const values = new Float64Array((horizon + 1) * K * CONFIG_COUNT);
  const actions = new Uint8Array((horizon + 1) * K * CONFIG_COUNT);
  const inBounds = startConfigs(dynamics, 'random');
  for (let k = 1; k <= horizon; k++) {
    const later = (k - 1) * K * CONFIG_COUNT;
    for (let l = 0; l < K; l++) {
      const row = chain.transition[l];
      for (const c of inBounds) {
        let best = -Infinity;
        let bestAction = 0;
        for (let a = 0; a < ACTION_COUNT; a++) {
          const to = reachable(dynamics, c, a);
          let q = 0;
          for (let m = 0; m < K; m++) {
            if (row[m] === 0) continue;
            q += row[m] * (tables[m][c * ACTION_COUNT + a] + values[later + m * CONFIG_COUNT + to]);
          }
          if (q > best + 1e-12) {
            best = q;
            bestAction = a;
          }
        }
        values[(k * K + l) * CONFIG_COUNT + c] = best;
        actions[(k * K + l) * CONFIG_COUNT + c] = bestAction;
      }
    }
  }
  return {
    horizon,
    levelCount: K,
    values,
    actions,
    actionOf: (config, level, stepsLeft) => actions[(stepsLeft * K + level) * CONFIG_COUNT + config],
    valueOf(start) {
      const configs = startConfigs(dynamics, start);
      let sum = 0;
      for (const c of configs) for (let l = 0; l < K; l++) sum += stationary[l] * values[(horizon * K + l) * CONFIG_COUNT + c];
      return sum / configs.length;
    },
  };
}

export interface ClairvoyantOptimum {
  steps: number;
  /** values[t*729 + c]: best return from step t on (t = 0..steps), in c. */
  values: Float64Array;
  actions: Uint8Array;
  actionOf(config: number, step: number): number;
  valueOf(start: ScalingConfig): number;
}

/** Backward induction over (configuration x time) for a trace replayed from its first window. */
export function solveClairvoyant(dynamics: LoadDynamics, rates: ArrayLike<number>): ClairvoyantOptimum {
  const steps = rates.length - 1;
  if (steps < 1) throw new Error(`the clairvoyant optimum needs at least two windows, got ${rates.length}`);
  const values = new Float64Array((steps + 1) * CONFIG_COUNT);
  const actions = new Uint8Array((steps + 1) * CONFIG_COUNT);
  const inBounds = startConfigs(dynamics, 'random');
  for (let t = steps - 1; t >= 0; t--) {
    const table = dynamics.rewardsAt(rates[t + 1]);
    const later = (t + 1) * CONFIG_COUNT;
    for (const c of inBounds) {
      let best = -Infinity;
      let bestAction = 0;
      for (let a = 0; a < ACTION_COUNT; a++) {
        const q = table[c * ACTION_COUNT + a] + values[later + reachable(dynamics, c, a)];
        if (q > best + 1e-12) {
          best = q;
          bestAction = a;
        }
      }
      values[t * CONFIG_COUNT + c] = best;
      actions[t * CONFIG_COUNT + c] = bestAction;
    }
  }
  return {
    steps,
    values,
    actions,
    actionOf: (config, step) => actions[step * CONFIG_COUNT + config],
    valueOf: (start) => values[configIndex(start)],
  };
}

/** The best fixed configuration for a Markov load: the highest stationary mean reward of staying. */
export function bestStaticConfigMarkov(dynamics: LoadDynamics, source: MarkovSource): number {
  const tables = source.chain.levels.map((rate) => dynamics.rewardsAt(rate));
  return argmaxStay(dynamics, (c) => tables.reduce((sum, table, l) => sum + source.stationary[l] * table[c * ACTION_COUNT], 0));
}

/** The best fixed configuration for a trace: the highest total reward of staying over its windows. */
export function bestStaticConfigTrace(dynamics: LoadDynamics, source: TraceSource, steps = source.rates.length - 1): number {
  const totals = new Float64Array(CONFIG_COUNT);
  for (let t = 1; t <= steps; t++) {
    const table = dynamics.rewardsAt(source.rates[t % source.rates.length]);
    for (let c = 0; c < CONFIG_COUNT; c++) totals[c] += table[c * ACTION_COUNT];
  }
  return argmaxStay(dynamics, (c) => totals[c]);
}

function argmaxStay(dynamics: LoadDynamics, score: (c: number) => number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (const c of startConfigs(dynamics, 'random')) {
    const s = score(c);
    if (s > bestScore) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}

/** A stationary policy over what a noise-free load observation holds: configuration, level, previous level. */
export type LevelPolicy = (config: number, level: number, previousLevel: number) => number;

/**
 * Exact expected return of a stationary level policy on a Markov load over `horizon` steps from
 * `start` (first level stationary, previous level = first level, as the environment resets).
 */
export function evaluateLevelPolicy(dynamics: LoadDynamics, source: MarkovSource, policy: LevelPolicy, horizon: number, start: LoadStart): number {
  const { chain, stationary } = source;
  const K = chain.levels.length;
  const tables = chain.levels.map((rate) => dynamics.rewardsAt(rate));
  const configs = startConfigs(dynamics, 'random');
  const stride = K * K;
  const action = new Uint8Array(CONFIG_COUNT * stride);
  for (const c of configs) for (let l = 0; l < K; l++) for (let p = 0; p < K; p++) action[c * stride + l * K + p] = policy(c, l, p);
  let later = new Float64Array(CONFIG_COUNT * stride);
  let now = new Float64Array(CONFIG_COUNT * stride);
  for (let k = 1; k <= horizon; k++) {
    for (const c of configs) {
      for (let l = 0; l < K; l++) {
        const row = chain.transition[l];
        for (let p = 0; p < K; p++) {
          const a = action[c * stride + l * K + p];
          const to = reachable(dynamics, c, a);
          let v = 0;
          for (let m = 0; m < K; m++) {
            if (row[m] === 0) continue;
            v += row[m] * (tables[m][c * ACTION_COUNT + a] + later[to * stride + m * K + l]);
          }
          now[c * stride + l * K + p] = v;
        }
      }
    }
    [later, now] = [now, later];
  }
  const starts = startConfigs(dynamics, start);
  let sum = 0;
  for (const c of starts) for (let l = 0; l < K; l++) sum += stationary[l] * later[c * stride + l * K + l];
  return sum / starts.length;
}

/** The level of `rate` in a chain: the nearest level. */
export function levelOfRate(levels: readonly number[], rate: number): number {
  let best = 0;
  for (let l = 1; l < levels.length; l++) if (Math.abs(levels[l] - rate) < Math.abs(levels[best] - rate)) best = l;
  return best;
}

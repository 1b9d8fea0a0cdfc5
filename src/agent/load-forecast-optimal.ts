/**
 * Exact yardsticks on a Markov load for policies that see a forecast of the next k windows (the
 * environment's oracle forecast, load-env.ts `forecastSteps`).
 *
 * The forecast (f1..fk), f1 being the level of the window the next step runs in, is part of the
 * state: a step earns the reward of (configuration, action, f1) and the forecast shifts by one,
 * its new last level drawn from the chain's row of fk. So
 *   - the optimum is finite-horizon value iteration over (configuration x forecast), and
 *   - a memoryless policy of (configuration, current level, previous level, forecast) is
 *     evaluated exactly by backward induction over those four.
 * Forecasts are encoded as base-K numbers, f1 most significant.
 */
import * as space from '../space';
import type { LoadDynamics } from '../env/load-dynamics';
import type { LoadStart } from '../env/load-env';
import type { MarkovSource } from '../env/load-source';
import { startConfigs } from './load-optimal';

const ACTION_COUNT = space.ACTION_COUNT;
const CONFIG_COUNT = space.CONFIG_COUNT;

function reachable(dynamics: LoadDynamics, c: number, a: number): number {
  const to = dynamics.next[c * ACTION_COUNT + a];
  return to < 0 ? c : to;
}

/** The base-K code of a forecast of levels, f1 most significant. */
export function forecastCode(levels: readonly number[], K: number): number {
  return levels.reduce((code, l) => code * K + l, 0);
}

/** The levels of a forecast code. */
export function forecastLevels(code: number, K: number, k: number): number[] {
  const out = new Array<number>(k);
  for (let i = k - 1; i >= 0; i--) {
    out[i] = code % K;
    code = Math.floor(code / K);
  }
  return out;
}

function checkSteps(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`a forecast yardstick needs forecastSteps >= 1, got ${k}`);
}

/**
 * Calls visit(l0, f, p) for every start: current level l0 drawn from the stationary law, then the
 * forecast f of the next k levels, with its probability p.
 */
function forEachStart(source: MarkovSource, k: number, visit: (l0: number, f: number, p: number) => void): void {
  const { chain, stationary } = source;
  const K = chain.levels.length;
  const walk = (l0: number, last: number, f: number, depth: number, p: number) => {
    if (p === 0) return;
    if (depth === k) return visit(l0, f, p);
    for (let m = 0; m < K; m++) walk(l0, m, f * K + m, depth + 1, p * chain.transition[last][m]);
  };
  for (let l0 = 0; l0 < K; l0++) walk(l0, l0, 0, 0, stationary[l0]);
}

export interface MarkovForecastOptimum {
  horizon: number;
  forecastSteps: number;
  /** The best action with `stepsLeft` steps left, in `config`, seeing forecast `levels` (f1..fk). */
  actionOf(config: number, levels: readonly number[], stepsLeft: number): number;
  /** Expected return of an episode from `start`. */
  valueOf(start: LoadStart): number;
}

/**
 * What the solver and the evaluator share about a Markov load seen with a k-window forecast: K
 * levels, F = K^k forecasts (f1 the most significant digit), the reward table per level and the
 * configurations an episode can be in.
 */
function forecastSpace(dynamics: LoadDynamics, source: MarkovSource, forecastSteps: number) {
  checkSteps(forecastSteps);
  const { chain } = source;
  const K = chain.levels.length;
  return {
    chain,
    K,
    F: K ** forecastSteps,
    lead: K ** (forecastSteps - 1),
    tables: chain.levels.map((rate) => dynamics.rewardsAt(rate)),
    configs: startConfigs(dynamics, 'random'),
  };
}

export function solveMarkovForecastOptimum(dynamics: LoadDynamics, source: MarkovSource, horizon: number, forecastSteps: number): MarkovForecastOptimum {
  const { chain, K, F, lead, tables, configs } = forecastSpace(dynamics, source, forecastSteps);
  const values = new Float64Array((horizon + 1) * F * CONFIG_COUNT);
  const actions = new Uint8Array((horizon + 1) * F * CONFIG_COUNT);
  for (let n = 1; n <= horizon; n++) {
    const later = (n - 1) * F * CONFIG_COUNT;
    for (let f = 0; f < F; f++) {
      const f1 = Math.floor(f / lead);
      const fk = f % K;
      const shifted = (f % lead) * K;
      const row = chain.transition[fk];
      const table = tables[f1];
      for (const c of configs) {
        let best = -Infinity;
        let bestAction = 0;
        for (let a = 0; a < ACTION_COUNT; a++) {
          const to = reachable(dynamics, c, a);
          let q = table[c * ACTION_COUNT + a];
          for (let m = 0; m < K; m++) if (row[m] !== 0) q += row[m] * values[later + (shifted + m) * CONFIG_COUNT + to];
          if (q > best + 1e-12) {
            best = q;
            bestAction = a;
          }
        }
        values[(n * F + f) * CONFIG_COUNT + c] = best;
        actions[(n * F + f) * CONFIG_COUNT + c] = bestAction;
      }
    }
  }
  return {
    horizon,
    forecastSteps,
    actionOf: (config, levels, stepsLeft) => actions[(stepsLeft * F + forecastCode(levels, K)) * CONFIG_COUNT + config],
    valueOf(start) {
      const starts = startConfigs(dynamics, start);
      let sum = 0;
      forEachStart(source, forecastSteps, (_l0, f, p) => {
        for (const c of starts) sum += p * values[(horizon * F + f) * CONFIG_COUNT + c];
      });
      return sum / starts.length;
    },
  };
}

/** A memoryless policy over what a noise-free observation with a forecast holds. */
export type ForecastLevelPolicy = (config: number, level: number, previousLevel: number, forecast: readonly number[]) => number;

/**
 * Exact expected return of a memoryless forecast-seeing policy on a Markov load over `horizon`
 * steps from `start` (first level stationary, previous level = first level, as the environment
 * resets; the forecast follows the chain).
 */
export function evaluateForecastLevelPolicy(dynamics: LoadDynamics, source: MarkovSource, policy: ForecastLevelPolicy, horizon: number, start: LoadStart, forecastSteps: number): number {
  const { chain, K, F, lead, tables, configs } = forecastSpace(dynamics, source, forecastSteps);
  // State (c, p, l, f): index ((c * K + p) * K + l) * F + f.
  const stride = K * K * F;
  const action = new Uint8Array(CONFIG_COUNT * stride);
  const forecasts = Array.from({ length: F }, (_, f) => forecastLevels(f, K, forecastSteps));
  // Only (previous, current, forecast) paths the chain can take are visited (a start has previous = current).
  const possible = new Uint8Array(K * K * F);
  for (let p = 0; p < K; p++) {
    for (let l = 0; l < K; l++) {
      if (p !== l && chain.transition[p][l] === 0) continue;
      for (let f = 0; f < F; f++) {
        const path = [l, ...forecasts[f]];
        if (path.every((level, i) => i === 0 || chain.transition[path[i - 1]][level] > 0)) possible[(p * K + l) * F + f] = 1;
      }
    }
  }
  for (const c of configs) {
    for (let t = 0; t < K * K * F; t++) if (possible[t]) action[c * stride + t] = policy(c, Math.floor(t / F) % K, Math.floor(t / (K * F)), forecasts[t % F]);
  }
  let later = new Float64Array(CONFIG_COUNT * stride);
  let now = new Float64Array(CONFIG_COUNT * stride);
  for (let n = 1; n <= horizon; n++) {
    for (const c of configs) {
      for (let p = 0; p < K; p++) {
        for (let l = 0; l < K; l++) {
          for (let f = 0; f < F; f++) {
            if (!possible[(p * K + l) * F + f]) continue;
            const s = c * stride + (p * K + l) * F + f;
            const a = action[s];
            const to = reachable(dynamics, c, a);
            const f1 = Math.floor(f / lead);
            const row = chain.transition[f % K];
            const shifted = (f % lead) * K;
            // Next: previous = l, current = f1, forecast shifted with a new last level.
            const base = to * stride + (l * K + f1) * F + shifted;
            let v = tables[f1][c * ACTION_COUNT + a];
            for (let m = 0; m < K; m++) if (row[m] !== 0) v += row[m] * later[base + m];
            now[s] = v;
          }
        }
      }
    }
    [later, now] = [now, later];
  }
  const starts = startConfigs(dynamics, start);
  let sum = 0;
  forEachStart(source, forecastSteps, (l0, f, p) => {
    for (const c of starts) sum += p * later[c * stride + (l0 * K + l0) * F + f];
  });
  return sum / starts.length;
}

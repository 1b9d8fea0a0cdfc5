/**
 * Exact solutions of the offline task.
 *
 * Transitions and rewards of the dataset replay depend only on the configuration: a valid move to
 * c' yields a uniformly drawn row of c', so its expected reward is the mean reward of c's rows, and
 * an invalid move stays put and pays the penalty. The task is therefore a finite MDP over the 729
 * configurations, and finite-horizon value iteration gives the optimal policy and its expected
 * (undiscounted) return. The usage part of the observation cannot help any policy do better.
 *
 * Policies that look at the usage too (a trained network, say) are evaluated exactly at the level
 * of dataset rows: the state of the replay is the current row, so backward induction over the
 * 21,168 rows gives their expected return with no sampling noise.
 */
import { ACTION_COUNT, CONFIG_COUNT } from '../space';
import { DEFAULT_MAX_STEPS, type DatasetModel } from '../env/dataset-env';
import type { Start } from '../env/start';
import { configFromIndex, configIndex, withinBounds } from '../space';

/** Mean reward of each configuration's rows: the expected reward of moving (or staying) there. */
export function expectedRewardByConfig(model: DatasetModel): Float64Array {
  const { table, rewards } = model;
  const out = new Float64Array(CONFIG_COUNT);
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const from = table.configStart[c];
    const to = table.configStart[c + 1];
    if (to === from) {
      // Unmeasured configurations outside the bounds are never reached (moves there are refused).
      if (!withinBounds(configFromIndex(c), model.bounds)) {
        out[c] = Number.NaN;
        continue;
      }
      throw new Error(`the dataset has no rows for configuration #${c}, within the bounds; the exact solvers need every configuration the replay can reach`);
    }
    let sum = 0;
    for (let k = from; k < to; k++) sum += rewards[table.rowsOfConfig[k]];
    out[c] = sum / (to - from);
  }
  return out;
}

/** Expected value of a start: a value per configuration, weighted as the start draws them. */
export function startValue(model: DatasetModel, valueOfConfig: ArrayLike<number>, start: Start): number {
  const { table } = model;
  switch (start.kind) {
    case 'row':
      return valueOfConfig[table.config[start.row]];
    case 'config':
      return valueOfConfig[configIndex(start.config)];
    case 'random-row': {
      let sum = 0;
      for (let c = 0; c < CONFIG_COUNT; c++) {
        const rows = table.configStart[c + 1] - table.configStart[c];
        if (rows > 0) sum += valueOfConfig[c] * rows;
      }
      return sum / table.rowCount;
    }
  }
}

export interface Optimum {
  horizon: number;
  /** values[k*729 + c]: best expected return with k steps left from configuration c. */
  values: Float64Array;
  /** actions[k*729 + c]: an optimal action with k steps left (k = 1..horizon). */
  actions: Uint8Array;
  valueOf(start: Start): number;
  actionOf(config: number, stepsLeft: number): number;
}

/** Finite-horizon value iteration over the configurations. Ties go to the lowest action id. */
export function solveOptimum(model: DatasetModel, horizon = DEFAULT_MAX_STEPS): Optimum {
  const reward = expectedRewardByConfig(model);
  const penalty = model.reward.invalidPenalty;
  const values = new Float64Array((horizon + 1) * CONFIG_COUNT);
  const actions = new Uint8Array((horizon + 1) * CONFIG_COUNT);
  for (let k = 1; k <= horizon; k++) {
    const later = (k - 1) * CONFIG_COUNT;
    for (let c = 0; c < CONFIG_COUNT; c++) {
      let best = -Infinity;
      let bestAction = 0;
      for (let a = 0; a < ACTION_COUNT; a++) {
        const target = model.next[c * ACTION_COUNT + a];
        const q = target < 0 ? penalty + values[later + c] : reward[target] + values[later + target];
        if (q > best + 1e-12) {
          best = q;
          bestAction = a;
        }
      }
      values[k * CONFIG_COUNT + c] = best;
      actions[k * CONFIG_COUNT + c] = bestAction;
    }
  }
  return {
    horizon,
    values,
    actions,
    valueOf: (start) => startValue(model, values.subarray(horizon * CONFIG_COUNT), start),
    actionOf: (config, stepsLeft) => actions[stepsLeft * CONFIG_COUNT + config],
  };
}

/**
 * A policy that depends only on the configuration (and the steps left): it returns an action, or
 * a probability per action for a stochastic policy.
 */
export type ConfigPolicy = (config: number, stepsLeft: number) => number | ArrayLike<number>;

/** Exact expected return of a configuration-level policy (policy evaluation). */
export function evaluateConfigPolicy(model: DatasetModel, policy: ConfigPolicy, start: Start, horizon = DEFAULT_MAX_STEPS): number {
  const reward = expectedRewardByConfig(model);
  const penalty = model.reward.invalidPenalty;
  let later = new Float64Array(CONFIG_COUNT);
  let now = new Float64Array(CONFIG_COUNT);
  const q = (c: number, a: number) => {
    const target = model.next[c * ACTION_COUNT + a];
    return target < 0 ? penalty + later[c] : reward[target] + later[target];
  };
  for (let k = 1; k <= horizon; k++) {
    for (let c = 0; c < CONFIG_COUNT; c++) {
      const choice = policy(c, k);
      if (typeof choice === 'number') {
        now[c] = q(c, choice);
      } else {
        let v = 0;
        for (let a = 0; a < ACTION_COUNT; a++) if (choice[a] > 0) v += choice[a] * q(c, a);
        now[c] = v;
      }
    }
    [later, now] = [now, later];
  }
  return startValue(model, later, start);
}

/**
 * Exact expected return of a deterministic policy given as one action per dataset row (the state
 * of the replay), by backward induction over rows.
 */
export function evaluateRowPolicy(model: DatasetModel, actionOfRow: ArrayLike<number>, start: Start, horizon = DEFAULT_MAX_STEPS): number {
  const { table, rewards } = model;
  const n = table.rowCount;
  if (actionOfRow.length !== n) throw new Error(`expected one action per dataset row (${n}), got ${actionOfRow.length}`);
  const penalty = model.reward.invalidPenalty;
  const target = new Int32Array(n);
  for (let row = 0; row < n; row++) {
    const a = actionOfRow[row];
    if (!(a >= 0 && a < ACTION_COUNT)) throw new Error(`row ${row}: action ${a} is not one of 0..${ACTION_COUNT - 1}`);
    target[row] = model.next[table.config[row] * ACTION_COUNT + a];
  }
  let later = new Float64Array(n);
  let now = new Float64Array(n);
  const arrive = new Float64Array(CONFIG_COUNT);
  for (let k = 1; k <= horizon; k++) {
    // Expected reward plus value-to-go of arriving in configuration c (a uniformly drawn row of c).
    for (let c = 0; c < CONFIG_COUNT; c++) {
      const from = table.configStart[c];
      const to = table.configStart[c + 1];
      let sum = 0;
      for (let j = from; j < to; j++) {
        const r = table.rowsOfConfig[j];
        sum += rewards[r] + later[r];
      }
      arrive[c] = sum / (to - from);
    }
    for (let row = 0; row < n; row++) now[row] = target[row] < 0 ? penalty + later[row] : arrive[target[row]];
    [later, now] = [now, later];
  }
  switch (start.kind) {
    case 'row':
      return later[start.row];
    case 'random-row': {
      let sum = 0;
      for (let row = 0; row < n; row++) sum += later[row];
      return sum / n;
    }
    case 'config': {
      const c = configIndex(start.config);
      let sum = 0;
      for (let j = table.configStart[c]; j < table.configStart[c + 1]; j++) sum += later[table.rowsOfConfig[j]];
      return sum / (table.configStart[c + 1] - table.configStart[c]);
    }
  }
}

/**
 * Acting on a load forecast: receding-horizon control (model-predictive control) over the
 * forecast windows. At each step it solves the clairvoyant problem (load-optimal.ts) over the
 * next `lookahead` windows, taking the forecast as the load and holding its last window beyond
 * it, and takes that plan's first action. With no forecast it plans on the current rate held.
 *
 * It shows what a forecast of k windows is worth: with the environment's oracle forecast it
 * approaches the clairvoyant bound as k grows, and with k = 0 it is the myopic rule.
 */
import { configIndex } from '../space';
import type { LoadDynamics } from '../env/load-dynamics';
import type { MarkovLoad } from '../load/markov';
import { levelOfRate, solveClairvoyant } from './load-optimal';
import type { MarkovForecastOptimum } from './load-forecast-optimal';
import type { LoadPolicy } from './load-policies';

export interface ForecastControlOptions {
  /** Windows planned over at each step (default 12: enough moves to cross the task's grid). */
  lookahead?: number;
}

export function forecastControlPolicy(dynamics: LoadDynamics, options: ForecastControlOptions = {}): LoadPolicy {
  const lookahead = options.lookahead ?? 12;
  if (!Number.isInteger(lookahead) || lookahead < 1) throw new Error(`lookahead must be a positive integer, got ${lookahead}`);
  const rates = new Float64Array(lookahead + 1);
  return {
    name: 'forecast-control',
    act(obs) {
      const forecast = obs.forecast ?? [];
      rates[0] = obs.arrivalRate;
      for (let t = 1; t <= lookahead; t++) rates[t] = forecast.length ? forecast[Math.min(t - 1, forecast.length - 1)] : obs.arrivalRate;
      return solveClairvoyant(dynamics, rates).actionOf(configIndex(obs), 0);
    },
  };
}

/** The exact optimum of a Markov load for a policy seeing the forecast, acting on the levels nearest the forecast rates. */
export function markovForecastOptimalPolicy(optimum: MarkovForecastOptimum, chain: MarkovLoad): LoadPolicy {
  return {
    name: 'optimum',
    act(obs, _mask, step) {
      const forecast = obs.forecast ?? [];
      if (forecast.length !== optimum.forecastSteps) throw new Error(`the optimum plans on a ${optimum.forecastSteps}-window forecast, the observation holds ${forecast.length}`);
      return optimum.actionOf(configIndex(obs), forecast.map((rate) => levelOfRate(chain.levels, rate)), Math.max(1, optimum.horizon - step));
    },
  };
}

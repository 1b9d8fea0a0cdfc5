/**
 * What share of the held-out traces' achievable gain (against the clairvoyant bound) policies
 * that do not see the future can capture, and what a short forecast adds. No training: every
 * figure is exact (traces replayed whole from the evaluation start, without observation noise).
 *
 * - `markov`: the exact optimum of the training Markov task (value iteration over configuration x
 *   level), acting on the level nearest the observed rate;
 * - `fitted`: the exact optimum of a 16-level Markov chain fitted to the held-out trace itself (it
 *   knows the trace's statistics, not its future: an optimistic estimate for a policy that does not
 *   see the future);
 * - `greedy`: the best action for the next window if it had the current window's rate;
 * - `forecastK`: receding-horizon control on an oracle forecast of K windows (load-forecast.ts).
 *
 * Each key is the lower of the two traces' shares. Options: --reward NAME (default slo).
 */
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { HELD_OUT_PROFILE_SPECS, LOAD_TASK_BOUNDS, TRAINING_MARKOV, parseLoadSources } from '../src/env/load-setup';
import { markovSource, type TraceSource } from '../src/env/load-source';
import { fitMarkovLoad, type MarkovLoad } from '../src/load/markov';
import { makeRequestReward } from '../src/request-reward';
import { gainShare, LoadTask } from '../src/agent/load-evaluate';
import { hpaLoadPolicy, type LoadPolicy } from '../src/agent/load-policies';
import { forecastControlPolicy } from '../src/agent/load-forecast';
import { levelOfRate, solveMarkovOptimum } from '../src/agent/load-optimal';
import { ACTION_COUNT, configIndex } from '../src/space';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward(option('reward', 'slo')), bounds: LOAD_TASK_BOUNDS, intervalSeconds: 60 });

/** The stationary optimum of a Markov chain (60 steps left), acting on the nearest level. */
function markovOptimumPolicy(chain: MarkovLoad, name: string): LoadPolicy {
  const optimum = solveMarkovOptimum(dynamics, markovSource(chain), 60);
  return { name, act: (obs) => optimum.actionOf(configIndex(obs), levelOfRate(chain.levels, obs.arrivalRate), 60) };
}

function greedyPolicy(): LoadPolicy {
  return {
    name: 'greedy',
    act(obs) {
      const table = dynamics.rewardsAt(obs.arrivalRate);
      const c = configIndex(obs);
      let best = 0;
      for (let a = 1; a < ACTION_COUNT; a++) if (table[c * ACTION_COUNT + a] > table[c * ACTION_COUNT + best]) best = a;
      return best;
    },
  };
}

const FORECASTS = [1, 2, 3, 5];
const traces = parseLoadSources(HELD_OUT_PROFILE_SPECS, 60).filter((s): s is TraceSource => s.kind === 'trace');
const shares: Record<string, number[]> = {};
for (const source of traces) {
  const task = new LoadTask(dynamics, source, { observationNoise: false });
  const optimum = task.optimum().value;
  const staticBest = task.staticBest().value;
  const runs: [string, LoadTask, LoadPolicy][] = [
    ['hpa', task, hpaLoadPolicy()],
    ['markov', task, markovOptimumPolicy(TRAINING_MARKOV, 'markov')],
    ['fitted', task, markovOptimumPolicy(fitMarkovLoad(source.rates, { levels: 16, name: 'fitted' }), 'fitted')],
    ['greedy', task, greedyPolicy()],
    ...FORECASTS.map((k): [string, LoadTask, LoadPolicy] => [`forecast${k}`, new LoadTask(dynamics, source, { observationNoise: false, forecastSteps: k }), forecastControlPolicy(dynamics)]),
  ];
  console.log(`${source.name.slice(0, 60)}: ${task.horizon} steps, clairvoyant ${optimum.toFixed(2)}, static-best ${staticBest.toFixed(2)}`);
  for (const [key, t, policy] of runs) {
    const e = t.evaluate(policy);
    const share = gainShare(e.return, staticBest, optimum);
    (shares[key] ??= []).push(share);
    console.log(`  ${key.padEnd(10)} return ${e.return.toFixed(2)} gain ${share.toFixed(3)} SLO ${e.sloAttainment.toFixed(3)} cores ${e.meanCores.toFixed(2)}`);
  }
}
console.log(`RESULT load-feasibility ${Object.entries(shares).map(([k, v]) => `${k}=${Math.min(...v).toFixed(3)}`).join(' ')}`);

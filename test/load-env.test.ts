import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { LoadEnv, VectorLoadEnv } from '../src/env/load-env';
import { markovSource, traceSource } from '../src/env/load-source';
import { checkMarkovLoad, fitMarkovLoad, stationaryDistribution, windowRates, type MarkovLoad } from '../src/load/markov';
import { stepsProfile } from '../src/load/profile-shapes';
import { makeRequestReward } from '../src/request-reward';
import { LOAD_OBSERVATION_SIZE, RATE_SCALE } from '../src/load-space';
import { Action, OBSERVATION_SIZE, configFromIndex, configIndex, type Bounds } from '../src/space';
import { evaluateLevelPolicy, solveClairvoyant, solveMarkovOptimum } from '../src/agent/load-optimal';
import { gainShare, LoadTask, loadBaselines, runLoadEpisode } from '../src/agent/load-evaluate';
import { clairvoyantPolicy, doNothingLoadPolicy, hpaLoadPolicy, markovOptimalPolicy, networkLoadPolicy, randomLoadPolicy, staticLoadPolicy, vpaLoadPolicy } from '../src/agent/load-policies';
import { PpoPolicy, defaultNetworkSpec, initPolicyWeights } from '../src/agent/policy';
import { Rng } from '../src/random';

// A small slice of the grid keeps the model's predictions (milliseconds each) few.
const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 600, heapMB: 400 }, max: { replicas: 4, cpuMillis: 900, heapMB: 500 } };
const model = teastoreModel();
const dynamics = new LoadDynamics({ model, reward: makeRequestReward('slo'), bounds: BOUNDS });
const CHAIN: MarkovLoad = checkMarkovLoad({
  name: 'three-levels',
  levels: [20, 60, 120],
  transition: [
    [0.8, 0.2, 0],
    [0.1, 0.8, 0.1],
    [0, 0.3, 0.7],
  ],
});
const START = { replicas: 2, cpuMillis: 700, heapMB: 400 };
// Three steps of ten minutes, replayed in 60 s windows.
const TRACE = stepsProfile([{ atSeconds: 0, rate: 30 }, { atSeconds: 600, rate: 110 }, { atSeconds: 1200, rate: 50 }], 1800);

function randomNetwork(seed: number) {
  return networkLoadPolicy(new PpoPolicy(initPolicyWeights({ ...defaultNetworkSpec([16]), observationSize: LOAD_OBSERVATION_SIZE }, new Rng(seed)), { name: `net-${seed}` }));
}

describe('LoadEnv', () => {
  it('observes the configuration, usage and the arrival rates of the last two windows', () => {
    const env = new LoadEnv({ dynamics, sources: [traceSource(TRACE, 60)], maxSteps: 29, start: START, randomStart: false, seed: 1 });
    const reset = env.reset({ seed: 1 });
    assert.equal(reset.observation.arrivalRate, 30);
    assert.equal(reset.observation.previousArrivalRate, 30);
    let last = reset.observation;
    for (let t = 1; t <= 10; t++) last = env.step(Action.DO_NOTHING).observation;
    assert.equal(last.arrivalRate, 110, 'window 10 starts the second step of the trace');
    assert.equal(last.previousArrivalRate, 30);
    assert.ok(last.usedCpu > 0 && last.usedRam > 0);
    const vector = new VectorLoadEnv(2, { dynamics, sources: [traceSource(TRACE, 60)], start: START, randomStart: false, maxSteps: 5 });
    const obs = vector.reset(3);
    assert.equal(obs.length, 2 * LOAD_OBSERVATION_SIZE);
    assert.equal(LOAD_OBSERVATION_SIZE, OBSERVATION_SIZE + 2);
    assert.ok(Math.abs(obs[OBSERVATION_SIZE] - 30 / RATE_SCALE) < 1e-6);
  });

  it('is reproducible from a seed, truncates at maxSteps and resets in the same step', () => {
    const run = (seed: number) => {
      const env = new VectorLoadEnv(3, { dynamics, sources: [markovSource(CHAIN), traceSource(TRACE, 60)], maxSteps: 7, seed });
      env.reset(seed);
      const rewards: number[] = [];
      const rng = new Rng(seed);
      for (let t = 0; t < 7; t++) {
        const step = env.step([rng.int(7), rng.int(7), rng.int(7)]);
        rewards.push(...step.rewards);
        assert.equal(step.truncated[0], t === 6 ? 1 : 0);
      }
      return { rewards, episodes: env.drainCompletedEpisodes() };
    };
    const a = run(5);
    assert.deepEqual(a.rewards, run(5).rewards);
    assert.notDeepEqual(a.rewards, run(6).rewards);
    assert.equal(a.episodes.length, 3);
    assert.ok(a.episodes.every((e) => e.length === 7));
  });

  it('makes a move pay the transition cost within its window', () => {
    const from = configIndex(START);
    const to = configIndex({ ...START, replicas: 3 });
    const moving = dynamics.window(from, to, 120);
    const settled = dynamics.window(to, to, 120);
    assert.ok(moving.servedRps < settled.servedRps || moving.p99Ms > settled.p99Ms, 'a new pod is not ready at once');
    const table = dynamics.rewardsAt(120);
    assert.ok(table[from * 7 + Action.INCREASE_REPLICA] < table[to * 7 + Action.DO_NOTHING]);
    // A rolling update (CPU change) loses the in-flight requests of the replaced pods.
    const resized = dynamics.window(from, configIndex({ ...START, cpuMillis: 800 }), 60);
    assert.ok(resized.servedRps < 60);
  });

  it('refuses bad input with a message naming it', () => {
    assert.throws(() => new LoadEnv({ dynamics, sources: [] }), /at least one load source/);
    assert.throws(() => new LoadEnv({ dynamics, sources: [markovSource(CHAIN)], start: { replicas: 9, cpuMillis: 900, heapMB: 900 } }), /start 9x 900m cpu 900MB heap is outside the bounds/);
    const env = new LoadEnv({ dynamics, sources: [markovSource(CHAIN)] });
    assert.throws(() => env.step(0), /before reset/);
    env.reset({ seed: 0 });
    assert.throws(() => env.step(9), /action 9 is not one of 0..6/);
    assert.throws(() => checkMarkovLoad({ name: 'bad', levels: [10, 5], transition: [[1, 0], [0, 1]] }), /levels must ascend/);
    assert.throws(() => checkMarkovLoad({ name: 'bad', levels: [10, 20], transition: [[0.5, 0.4], [0, 1]] }), /transition\[0\] sums to 0.9/);
  });
});

describe('Markov load', () => {
  it('is fitted from a trace: its levels are the bin means, its rows count the moves', () => {
    const rates = windowRates(TRACE, 60);
    const chain = fitMarkovLoad(rates, { levels: 4, smoothing: 0 });
    assert.deepEqual(chain.levels, [30, 50, 110], 'the empty bin between 50 and 110 is dropped');
    // 10 windows at 30: nine stay, one moves to 110.
    assert.ok(Math.abs(chain.transition[0][0] - 0.9) < 1e-12);
    assert.ok(Math.abs(chain.transition[0][2] - 0.1) < 1e-12);
    const pi = stationaryDistribution(CHAIN);
    assert.ok(Math.abs(pi.reduce((s, p) => s + p, 0) - 1) < 1e-9);
  });
});

describe('exact yardsticks', () => {
  const horizon = 20;
  const source = markovSource(CHAIN);
  const task = new LoadTask(dynamics, source, { horizon, start: START, episodes: 300, seed: 2 });

  it('the Markov optimum is exact: acting it in the environment returns its value within the Monte-Carlo interval', () => {
    const optimum = solveMarkovOptimum(dynamics, source, horizon);
    const evaluation = task.evaluate(markovOptimalPolicy(optimum, CHAIN));
    assert.ok(evaluation.ci95![0] <= optimum.valueOf(START) && optimum.valueOf(START) <= evaluation.ci95![1], `${optimum.valueOf(START)} outside ${evaluation.ci95}`);
  });

  it('exact evaluation of a level policy agrees with Monte Carlo', () => {
    const target = { replicas: 3, cpuMillis: 800, heapMB: 500 };
    const policy = staticLoadPolicy(target, 'fixed');
    const exact = evaluateLevelPolicy(dynamics, source, (c) => policy.act({ ...configFromIndex(c), usedCpu: 0, usedRam: 0, arrivalRate: 0, previousArrivalRate: 0 }, [], 0), horizon, START);
    const mc = task.evaluate(policy);
    assert.ok(mc.ci95![0] <= exact && exact <= mc.ci95![1], `${exact} outside ${mc.ci95}`);
  });

  it('no policy beats the Markov optimum beyond its Monte-Carlo interval', () => {
    const report = loadBaselines(task);
    const optimum = report.returns.optimum.mean;
    for (const policy of [randomNetwork(1), randomNetwork(2)]) {
      const r = task.evaluate(policy);
      assert.ok(r.ci95![0] <= optimum + 1e-9, `${policy.name}: ${r.return} ${r.ci95} above the optimum ${optimum}`);
    }
    for (const [name, r] of Object.entries(report.returns)) {
      const lower = r.exact ? r.mean : r.ci95![0];
      assert.ok(lower <= optimum + 1e-9, `${name}: ${r.mean} above the optimum ${optimum}`);
    }
    assert.ok(optimum > report.returns['do-nothing'].mean);
    assert.ok(report.returns['static-best'].mean >= report.returns['do-nothing'].mean - 1e-9);
  });

  it('the clairvoyant optimum of a trace is attained by acting it, and bounds every policy', () => {
    const trace = traceSource(TRACE, 60);
    const traceTask = new LoadTask(dynamics, trace, { start: START, episodes: 2, seed: 3 });
    const optimum = solveClairvoyant(dynamics, trace.rates);
    assert.equal(traceTask.horizon, 29);
    const acted = runLoadEpisode(traceTask.env(false), clairvoyantPolicy(optimum), 0);
    assert.ok(Math.abs(acted.return - optimum.valueOf(START)) < 1e-4);
    for (const policy of [hpaLoadPolicy(), vpaLoadPolicy(), doNothingLoadPolicy(), randomLoadPolicy(4), randomNetwork(3)]) {
      const r = traceTask.evaluate(policy);
      assert.ok(r.return <= optimum.valueOf(START) + 1e-4, `${policy.name}: ${r.return} above ${optimum.valueOf(START)}`);
    }
    const staticBest = traceTask.staticBest();
    const gain = gainShare(optimum.valueOf(START), staticBest.value, optimum.valueOf(START));
    assert.equal(gain, 1);
  });

  it('evaluates as Autothrottle reports: SLO attainment, cores, memory, cost, served share, changes', () => {
    const trace = traceSource(TRACE, 60);
    const traceTask = new LoadTask(dynamics, trace, { start: START, seed: 3, observationNoise: false });
    const still = traceTask.evaluate(doNothingLoadPolicy());
    assert.equal(still.changes, 0);
    assert.ok(Math.abs(still.meanCores - 1.4) < 1e-9, 'two pods of 700m throughout');
    assert.ok(still.sloAttainment >= 0 && still.sloAttainment <= 1);
    const optimum = traceTask.evaluate(traceTask.optimum().policy);
    assert.ok(optimum.changes > 0);
    assert.ok(optimum.servedShare >= still.servedShare - 1e-9 || optimum.meanCores < still.meanCores);
  });
});

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { VectorLoadEnv } from '../src/env/load-env';
import { traceSource } from '../src/env/load-source';
import { stepsProfile } from '../src/load/profile-shapes';
import { makeRequestReward } from '../src/request-reward';
import { Action, CONFIG_COUNT, configFromIndex, withinBounds, type Bounds } from '../src/space';
import { solveClairvoyant } from '../src/agent/load-optimal';

const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 600, heapMB: 400 }, max: { replicas: 4, cpuMillis: 900, heapMB: 500 } };
const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward('slo'), bounds: BOUNDS });
const TRACE = stepsProfile([{ atSeconds: 0, rate: 30 }, { atSeconds: 600, rate: 110 }, { atSeconds: 1200, rate: 50 }], 1800);
const START = { replicas: 2, cpuMillis: 700, heapMB: 400 };

describe('the learner’s reward under load', () => {
  it('the best stay reward at a rate is the highest stay reward of any configuration within the bounds', () => {
    for (const rate of [30, 110]) {
      const table = dynamics.rewardsAt(rate);
      let best = -Infinity;
      for (let c = 0; c < CONFIG_COUNT; c++) if (withinBounds(configFromIndex(c), BOUNDS)) best = Math.max(best, table[c * 7]);
      assert.equal(dynamics.bestStayRewardAt(rate), best);
    }
    assert.ok(dynamics.bestStayRewardAt(30) !== dynamics.bestStayRewardAt(110), 'the baseline follows the load');
  });

  it('centred and scaled, pays (reward - best stay reward at the window) x scale, and reports returns in the reward’s units', () => {
    const make = (learningReward?: { centre: boolean; scale: number }) =>
      new VectorLoadEnv(1, { dynamics, sources: [traceSource(TRACE, 60)], maxSteps: 20, start: START, randomStart: false, learningReward });
    const raw = make();
    const centred = make({ centre: true, scale: 10 });
    raw.reset(1);
    centred.reset(1);
    const actions = [Action.INCREASE_REPLICA, Action.DO_NOTHING, Action.INCREASE_CPU, Action.DECREASE_REPLICA];
    for (let t = 0; t < 20; t++) {
      const a = actions[t % actions.length];
      const r = raw.step([a]).rewards[0];
      const rate = raw.states[0].lastRate;
      const c = centred.step([a]).rewards[0];
      assert.ok(Math.abs(c - (r - dynamics.bestStayRewardAt(rate)) * 10) < 1e-4, `step ${t}: ${c} against ${r}`);
    }
    const [rawEpisode] = raw.drainCompletedEpisodes();
    const [centredEpisode] = centred.drainCompletedEpisodes();
    assert.ok(Math.abs(rawEpisode.return - centredEpisode.return) < 1e-9);
    assert.throws(() => make({ centre: true, scale: 0 }), /learningReward.scale must be a positive number/);
  });

  it('the centred return of the clairvoyant optimum is at most 0: no path beats the best configuration of every window', () => {
    const rates = traceSource(TRACE, 60).rates;
    const optimum = solveClairvoyant(dynamics, rates);
    // The centred return of any path is its return minus a sum fixed by the trace alone, so
    // centring shifts every policy's return by the same amount.
    const baseline = Array.from(rates.subarray(1), (r) => dynamics.bestStayRewardAt(r)).reduce((s, b) => s + b, 0);
    const centredOptimum = optimum.valueOf(START) - baseline;
    assert.ok(centredOptimum <= 1e-9, 'no path beats the best configuration of every window');
    assert.ok(centredOptimum > -rates.length, 'and the optimum stays close to it');
  });
});

describe('where load training starts', () => {
  it('reads the PPO config’s start: a configuration, or drawn within the bounds; a dataset row is refused', async () => {
    const { loadStartOfConfig } = await import('../src/agent/load-train');
    assert.deepEqual(loadStartOfConfig('config:2,800,500'), { replicas: 2, cpuMillis: 800, heapMB: 500 });
    assert.equal(loadStartOfConfig('random-row'), 'random');
    assert.throws(() => loadStartOfConfig('row:558'), /the load environment has no dataset rows/);
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCliInProcess } from './support/cli-in-process';
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { VectorLoadEnv } from '../src/env/load-env';
import { markovSource, traceSource } from '../src/env/load-source';
import { stepsProfile } from '../src/load/profile-shapes';
import { allocatedCostPerHour, makeRequestReward, type RequestMeasurement } from '../src/request-reward';
import { ACTION_COUNT, Action, CONFIG_COUNT, configFromIndex, configIndex, type Bounds } from '../src/space';
import { LoadTask } from '../src/agent/load-evaluate';
import { doNothingLoadPolicy, networkLoadPolicy, randomLoadPolicy, staticLoadPolicy } from '../src/agent/load-policies';
import { checkMarkovLoad } from '../src/load/markov';
import { comingRates, shieldedLoadPolicy, shieldVectorAction, SloShield } from '../src/agent/slo-shield';
import { logProbOfAction, PpoPolicy, defaultNetworkSpec, initPolicyWeights } from '../src/agent/policy';
import { RolloutCollector } from '../src/agent/ppo';
import { saveLoadCheckpoint, trainLoad } from '../src/agent/load-train';
import { loadObservationSize } from '../src/load-space';
import { Rng } from '../src/random';

// A slice of the grid from too small to ample for the rates below keeps the model's predictions few.
const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 500, heapMB: 400 }, max: { replicas: 4, cpuMillis: 800, heapMB: 500 } };
const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward('slo'), bounds: BOUNDS });
const P99 = 250;
const P95 = 150;
const RATES = [20, 60, 100, 140];
const inBounds = Array.from({ length: CONFIG_COUNT }, (_, c) => c).filter((c) => dynamics.next[c * ACTION_COUNT] >= 0);

/** The SLO judged straight from the environment's window, independently of the shield's tables. */
function meets(w: RequestMeasurement): boolean {
  return w.servedRps <= 0 || (w.p99Ms <= P99 && w.p95Ms <= P95);
}

function allowed(c: number): number[] {
  return Array.from({ length: ACTION_COUNT }, (_, a) => a).filter((a) => dynamics.next[c * ACTION_COUNT + a] >= 0);
}

/** Whether some sequence of moves, starting with `a` in c, keeps every window of `rates` within the SLO (brute force). */
function keepsAll(c: number, a: number, rates: readonly number[]): boolean {
  const to = dynamics.next[c * ACTION_COUNT + a];
  if (to < 0 || !meets(dynamics.window(c, to, rates[0]))) return false;
  return rates.length === 1 || allowed(to).some((b) => keepsAll(to, b, rates.slice(1)));
}

function randomNetwork(seed: number) {
  return networkLoadPolicy(new PpoPolicy(initPolicyWeights({ ...defaultNetworkSpec([16]), observationSize: loadObservationSize(2) }, new Rng(seed)), { name: `net-${seed}` }));
}

describe('SloShield', () => {
  const shield = new SloShield(dynamics);

  it('takes its targets from the reward', () => {
    assert.equal(shield.p99TargetMs, P99);
    assert.equal(shield.p95TargetMs, P95);
    assert.throws(() => new SloShield(dynamics, { latencyFactor: 0 }), /latency factor must be a positive number, got 0/);
  });

  it('leaves safe actions alone and never picks a violating action when a safe one exists (one window)', () => {
    let replaced = 0;
    let safeSomewhere = 0;
    for (const rate of RATES) {
      for (const c of inBounds) {
        const safe = allowed(c).filter((a) => keepsAll(c, a, [rate]));
        for (const a of allowed(c)) {
          const chosen = shield.shield(c, a, [rate]);
          if (safe.includes(a)) assert.equal(chosen, a, `safe action ${a} in ${c} at ${rate} req/s was replaced`);
          else if (safe.length) {
            safeSomewhere++;
            assert.ok(safe.includes(chosen), `${a} in ${c} at ${rate} req/s became ${chosen}, which breaks the SLO though ${safe} keep it`);
            const cost = (b: number) => allocatedCostPerHour(configFromIndex(dynamics.next[c * ACTION_COUNT + b]));
            assert.equal(cost(chosen), Math.min(...safe.map(cost)), 'the replacement is the cheapest safe action');
          }
          if (chosen !== a) replaced++;
        }
      }
    }
    // The slice holds both kinds at these rates: the checks above were not vacuous.
    assert.ok(replaced > 0 && safeSomewhere > 0, `replaced ${replaced}, unsafe with a safe alternative ${safeSomewhere}`);
  });

  it('looks ahead over the coming windows: an action is kept only if some path meets the SLO in all of them', () => {
    let ahead = 0;
    for (const rates of [[20, 140], [60, 100, 140], [140, 20, 140]]) {
      for (const c of inBounds) {
        const safe = allowed(c).filter((a) => keepsAll(c, a, rates));
        for (const a of allowed(c)) {
          const chosen = shield.shield(c, a, rates);
          if (safe.includes(a)) assert.equal(chosen, a);
          else if (safe.length) assert.ok(safe.includes(chosen), `${a} in ${c} under ${rates} became ${chosen}, not one of ${safe}`);
          // Safe for the next window alone but not for what follows: the forecast changed the answer.
          if (!safe.includes(a) && keepsAll(c, a, [rates[0]]) && safe.length) ahead++;
        }
      }
    }
    assert.ok(ahead > 0, 'some action safe for one window is unsafe over the forecast');
  });

  it('takes the action leading to the most capacity when none keeps the next window', () => {
    const smallest = configIndex(BOUNDS.min);
    const rate = 400;
    assert.ok(allowed(smallest).every((a) => !keepsAll(smallest, a, [rate])), 'nothing in reach serves 400 req/s within the SLO');
    const chosen = shield.shield(smallest, Action.DECREASE_REPLICA, [rate]);
    const capacity = (a: number) => dynamics.predictionsAt(rate)[dynamics.next[smallest * ACTION_COUNT + a]].capacityRps;
    assert.equal(capacity(chosen), Math.max(...allowed(smallest).map(capacity)));
  });

  it('is deterministic: the same inputs give the same action, in a fresh shield too', () => {
    const fresh = new SloShield(dynamics);
    for (const c of inBounds) for (const a of allowed(c)) for (const rates of [[100], [20, 140, 60]]) assert.equal(fresh.shield(c, a, rates), shield.shield(c, a, rates));
  });

  it('keeps a policy within the SLO on a trace with a jump, without beating the clairvoyant bound', () => {
    const trace = stepsProfile([{ atSeconds: 0, rate: 20 }, { atSeconds: 600, rate: 130 }, { atSeconds: 1200, rate: 40 }], 1800);
    // Two pods of 800m meet the SLO at 20 req/s, not at 130; the smallest configuration meets it at neither.
    const start = { replicas: 2, cpuMillis: 800, heapMB: 400 };
    const task = new LoadTask(dynamics, traceSource(trace, 60), { start, observationNoise: false, forecastSteps: 3 });
    const optimum = task.optimum().value;
    for (const [policy, strictly] of [[doNothingLoadPolicy(), true], [staticLoadPolicy(BOUNDS.min, 'smallest'), true], [randomLoadPolicy(3), false]] as const) {
      const plain = task.evaluate(policy, { episodes: 1 });
      const guarded = task.evaluate(shieldedLoadPolicy(policy, new SloShield(dynamics)), { episodes: 1 });
      assert.ok(strictly ? guarded.sloAttainment > plain.sloAttainment : guarded.sloAttainment >= plain.sloAttainment, `${policy.name}: SLO ${plain.sloAttainment} -> ${guarded.sloAttainment}`);
      assert.ok(guarded.return <= optimum + 1e-6, `${policy.name}+shield returned ${guarded.return} over the bound ${optimum}`);
    }
    // The step up to 130 req/s is seen three windows ahead: the shielded do-nothing rule adds the pods in time.
    assert.equal(task.evaluate(shieldedLoadPolicy(doNothingLoadPolicy(), new SloShield(dynamics))).sloAttainment, 1);
  });

  it('never beats the exact optimum of a Markov load: its exact value and its Monte-Carlo interval stay below', () => {
    const chain = checkMarkovLoad({ name: 'three-levels', levels: [20, 60, 120], transition: [[0.8, 0.2, 0], [0.1, 0.8, 0.1], [0, 0.3, 0.7]] });
    const task = new LoadTask(dynamics, markovSource(chain), { horizon: 12, start: { replicas: 2, cpuMillis: 800, heapMB: 400 }, forecastSteps: 2, episodes: 100, seed: 1 });
    const optimum = task.optimum().value;
    for (const policy of [doNothingLoadPolicy(), randomNetwork(1), randomNetwork(2)]) {
      const guarded = shieldedLoadPolicy(policy, new SloShield(dynamics));
      const exact = task.exactMarkovValue(guarded);
      assert.ok(exact <= optimum + 1e-6, `${guarded.name}: exact ${exact} above the optimum ${optimum}`);
      const mc = task.evaluate(guarded);
      assert.ok(mc.ci95![0] <= optimum + 1e-9, `${guarded.name}: ${mc.return} ${mc.ci95} above the optimum ${optimum}`);
    }
  });

  it('reads the same windows from a vectorised environment as from its named observation', () => {
    const trace = stepsProfile([{ atSeconds: 0, rate: 30 }, { atSeconds: 300, rate: 140 }, { atSeconds: 900, rate: 50 }], 1800);
    for (const forecastSteps of [0, 3]) {
      const envs = new VectorLoadEnv(3, { dynamics, sources: [traceSource(trace, 60)], maxSteps: 20, start: 'random', seed: 5, forecastSteps });
      envs.reset(5);
      for (let t = 0; t < 20; t++) {
        const actions = [Action.DECREASE_REPLICA, Action.DO_NOTHING, Action.DECREASE_CPU];
        const shielded = actions.map((a, i) => {
          const viaObservation = shield.shield(configIndex(envs.observation(i)), a, comingRates(envs.observation(i)));
          assert.equal(shieldVectorAction(shield, envs, i, a), viaObservation);
          return viaObservation;
        });
        envs.step(shielded);
      }
    }
  });
});

describe('shielding in training', () => {
  const trace = stepsProfile([{ atSeconds: 0, rate: 30 }, { atSeconds: 300, rate: 140 }, { atSeconds: 900, rate: 50 }], 1800);

  it('the rollout records the action the filter ran, with its log-probability under the policy', () => {
    const envs = new VectorLoadEnv(4, { dynamics, sources: [traceSource(trace, 60)], maxSteps: 10, start: 'random', seed: 2, forecastSteps: 2 });
    envs.reset(2);
    const weights = initPolicyWeights({ ...defaultNetworkSpec([8]), observationSize: loadObservationSize(2) }, new Rng(4));
    const shield = new SloShield(dynamics);
    let replaced = 0;
    const collector = new RolloutCollector(envs, 16, new Rng(9), true, (i, action) => {
      const chosen = shieldVectorAction(shield, envs, i, action);
      if (chosen !== action) replaced++;
      return chosen;
    });
    const t = collector.collect(weights);
    assert.ok(replaced > 0, 'a random network under a step to 140 req/s has actions replaced');
    const policy = new PpoPolicy(weights);
    const logits = new Float32Array(ACTION_COUNT);
    const width = loadObservationSize(2);
    for (let k = 0; k < t.actions.length; k++) {
      policy.logits(t.observations.subarray(k * width, (k + 1) * width), 1, logits);
      const expected = logProbOfAction(logits, 0, ACTION_COUNT, t.actions[k], t.masks!, k * ACTION_COUNT);
      assert.ok(Math.abs(t.logProbs[k] - expected) < 1e-4, `step ${k}: log-probability ${t.logProbs[k]} of the action that ran, expected ${expected}`);
    }
  });

  it('trainLoad with the shield records it in the run description', async () => {
    const result = await trainLoad({ dynamics, sources: [traceSource(trace, 60)], maxSteps: 10, forecastSteps: 2, shield: 'slo', config: { totalSteps: 256, numEnvs: 4, numSteps: 32, hidden: [8], seed: 1 } });
    assert.equal(result.environment.trainingShield, 'slo');
    const plain = await trainLoad({ dynamics, sources: [traceSource(trace, 60)], maxSteps: 10, forecastSteps: 2, config: { totalSteps: 128, numEnvs: 4, numSteps: 32, hidden: [8], seed: 1 } });
    assert.equal(plain.environment.trainingShield, 'none');
  });
});

describe('evaluate --env load --shield', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'slo-shield-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cli = runCliInProcess;

  it('judges the policy behind the shield by default when it was trained behind it, and without it on request', async () => {
    const trace = stepsProfile([{ atSeconds: 0, rate: 20 }, { atSeconds: 600, rate: 130 }, { atSeconds: 1200, rate: 40 }], 1800);
    const result = await trainLoad({ dynamics, sources: [traceSource(trace, 60)], maxSteps: 10, forecastSteps: 3, shield: 'slo', config: { totalSteps: 256, numEnvs: 4, numSteps: 32, hidden: [8], seed: 2 } });
    const dir = await saveLoadCheckpoint(path.join(tmp, 'shielded'), result);
    const profile = 'steps:0=20,10m=130,20m=40:for=30m';
    const shielded = await cli(['evaluate', '--env', 'load', '--checkpoint', dir, '--load-profile', profile, '--json']);
    assert.equal(shielded.code, 0, shielded.err);
    const a = JSON.parse(shielded.out);
    assert.equal(a.shield, 'slo');
    assert.ok(a.shieldReplaced.checked > 0);
    // Three windows of forecast are enough to add the pods before the step up: every window meets the SLO.
    assert.equal(a.evaluation.sloAttainment, 1);
    assert.ok(a.return <= a.optimum + 1e-6 && a.gain <= 1 + 1e-9, `return ${a.return} against the bound ${a.optimum}`);
    const plain = await cli(['evaluate', '--env', 'load', '--checkpoint', dir, '--load-profile', profile, '--shield', 'none', '--json']);
    assert.equal(plain.code, 0, plain.err);
    const b = JSON.parse(plain.out);
    assert.equal(b.shield, 'none');
    assert.equal(b.shieldReplaced, undefined);
    assert.ok(b.return <= b.optimum + 1e-6);
    const bad = await cli(['evaluate', '--env', 'load', '--checkpoint', dir, '--load-profile', profile, '--shield', 'always']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--shield must be one of none, slo, got "always"/);
  });
});

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runCliInProcess } from './support/cli-in-process';
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { LoadEnv, VectorLoadEnv } from '../src/env/load-env';
import { markovSource, traceSource } from '../src/env/load-source';
import { checkMarkovLoad } from '../src/load/markov';
import { stepsProfile } from '../src/load/profile-shapes';
import { makeRequestReward } from '../src/request-reward';
import { LOAD_OBSERVATION_SIZE, RATE_SCALE, encodeLoadObservation, forecastStepsOfSchema, forecastStepsOfSize, loadObservationSize } from '../src/load-space';
import { Action, type Bounds } from '../src/space';
import { LoadTask } from '../src/agent/load-evaluate';
import { forecastControlPolicy } from '../src/agent/load-forecast';
import { loadCheckpoint, readCheckpointMeta } from '../src/agent/checkpoint';
import { networkLoadPolicy } from '../src/agent/load-policies';
import { saveLoadCheckpoint, trainLoad } from '../src/agent/load-train';

const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 600, heapMB: 400 }, max: { replicas: 4, cpuMillis: 900, heapMB: 500 } };
const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward('slo'), bounds: BOUNDS });
const START = { replicas: 1, cpuMillis: 600, heapMB: 400 };
// A sudden rise a policy can only meet in time if it sees it coming.
const TRACE = stepsProfile([{ atSeconds: 0, rate: 20 }, { atSeconds: 600, rate: 120 }, { atSeconds: 1200, rate: 40 }], 1800);

describe('load forecast', () => {
  it('observes the next windows’ rates after the two it had, and sizes the observation by them', () => {
    const env = new LoadEnv({ dynamics, sources: [traceSource(TRACE, 60)], maxSteps: 29, start: START, randomStart: false, forecastSteps: 3 });
    let { observation } = env.reset({ seed: 1 });
    assert.deepEqual(observation.forecast, [20, 20, 20]);
    for (let t = 1; t <= 8; t++) observation = env.step(Action.DO_NOTHING).observation;
    assert.deepEqual(observation.forecast, [20, 120, 120], 'window 10 brings the rise');
    for (let t = 9; t <= 28; t++) observation = env.step(Action.DO_NOTHING).observation;
    assert.deepEqual(observation.forecast, [40, 40, 40], 'past the end of the trace the forecast holds its last window');
    const encoded = encodeLoadObservation(observation);
    assert.equal(encoded.length, LOAD_OBSERVATION_SIZE + 3);
    assert.ok(Math.abs(encoded[LOAD_OBSERVATION_SIZE + 2] - 40 / RATE_SCALE) < 1e-6);
    assert.equal(loadObservationSize(3), LOAD_OBSERVATION_SIZE + 3);
    assert.equal(forecastStepsOfSize(LOAD_OBSERVATION_SIZE + 3), 3);
    assert.throws(() => forecastStepsOfSize(LOAD_OBSERVATION_SIZE - 1), /a load observation has/);
    assert.throws(() => new LoadEnv({ dynamics, sources: [traceSource(TRACE, 60)], forecastSteps: -1 }), /forecastSteps must be an integer/);
  });

  it('a Markov episode’s forecast is the path its levels will take', () => {
    const chain = checkMarkovLoad({ name: 'two', levels: [20, 100], transition: [[0.5, 0.5], [0.5, 0.5]] });
    const env = new VectorLoadEnv(1, { dynamics, sources: [markovSource(chain)], maxSteps: 10, forecastSteps: 2, seed: 4 });
    env.reset(4);
    const seen: number[][] = [];
    for (let t = 0; t < 9; t++) {
      seen.push([...env.observation(0).forecast!]);
      env.step([Action.DO_NOTHING]);
      assert.equal(env.observation(0).arrivalRate, seen[t][0], `step ${t}: the first forecast window is the one the step ran in`);
      if (t > 0) assert.equal(seen[t][0], seen[t - 1][1]);
    }
  });

  it('a policy that plans on the forecast beats the same planner without one, and never the clairvoyant bound', () => {
    const source = traceSource(TRACE, 60);
    const blind = new LoadTask(dynamics, source, { start: START, observationNoise: false });
    const seeing = new LoadTask(dynamics, source, { start: START, observationNoise: false, forecastSteps: 3 });
    const bound = seeing.optimum().value;
    const withForecast = seeing.evaluate(forecastControlPolicy(dynamics)).return;
    const without = blind.evaluate(forecastControlPolicy(dynamics)).return;
    assert.ok(withForecast > without, `${withForecast} against ${without}`);
    assert.ok(withForecast <= bound + 1e-6, `${withForecast} beats the bound ${bound}`);
  });
});

describe('exact yardsticks with a forecast', () => {
  const chain = checkMarkovLoad({ name: 'three', levels: [20, 70, 120], transition: [[0.7, 0.3, 0], [0.2, 0.6, 0.2], [0, 0.4, 0.6]] });
  const source = markovSource(chain);
  const horizon = 12;

  it('the forecast optimum is worth at least the blind one, and its exact evaluation agrees with its value and with Monte Carlo', () => {
    const blind = new LoadTask(dynamics, source, { horizon, start: START, observationNoise: false });
    const seeing = new LoadTask(dynamics, source, { horizon, start: START, observationNoise: false, forecastSteps: 2, episodes: 3000, seed: 5 });
    const optimum = seeing.optimum();
    assert.ok(optimum.value >= blind.optimum().value - 1e-9, `${optimum.value} against ${blind.optimum().value}`);
    // The optimum acts on the steps left, which the memoryless evaluation does not see: compare Monte Carlo.
    const mc = seeing.evaluate(optimum.policy);
    assert.ok(mc.ci95 && optimum.value >= mc.ci95[0] - 1e-6 && optimum.value <= mc.ci95[1] + 1e-6, `${optimum.value} outside ${mc.ci95}`);
    // A memoryless rule that reads the forecast: exact evaluation against Monte Carlo, and never above the optimum.
    const rule = forecastControlPolicy(dynamics, { lookahead: 4 });
    const exact = seeing.exactMarkovValue(rule);
    const sampled = seeing.evaluate(rule);
    assert.ok(sampled.ci95 && exact >= sampled.ci95[0] - 1e-6 && exact <= sampled.ci95[1] + 1e-6, `${exact} outside ${sampled.ci95}`);
    assert.ok(exact <= optimum.value + 1e-9);
  });
});

describe('checkpoints that read a forecast', () => {
  it('record the forecast in their schema, load back, and refuse an observation without it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-forecast-'));
    try {
      const chain = checkMarkovLoad({ name: 'two', levels: [30, 90], transition: [[0.9, 0.1], [0.2, 0.8]] });
      const result = await trainLoad({ dynamics, sources: [markovSource(chain)], maxSteps: 10, forecastSteps: 2, config: { totalSteps: 128, numEnvs: 2, numSteps: 32, hidden: [8], seed: 2 } });
      assert.equal(result.policy.spec.observationSize, LOAD_OBSERVATION_SIZE + 2);
      assert.equal(result.environment.forecastSteps, 2);
      const dir = await saveLoadCheckpoint(path.join(tmp, 'f2'), result);
      const meta = readCheckpointMeta(dir);
      assert.equal(forecastStepsOfSchema(meta.schema), 2);
      assert.equal(meta.schema.observation.size, LOAD_OBSERVATION_SIZE + 2);
      assert.deepEqual(meta.schema.observation.fields.slice(-2), ['forecast1', 'forecast2']);
      const policy = networkLoadPolicy(loadCheckpoint(dir, { observation: 'load' }).policy);
      const seeing = new LoadTask(dynamics, markovSource(chain), { horizon: 10, start: START, forecastSteps: 2, episodes: 2 });
      assert.ok(Number.isFinite(seeing.exactMarkovValue(policy)));
      const blind = new LoadTask(dynamics, markovSource(chain), { horizon: 10, start: START, episodes: 2 });
      assert.throws(() => blind.evaluate(policy), /reads a forecast of 2 windows, but the observation holds 0/);
      // A schema naming an impossible forecast is refused with the file named.
      const metaFile = path.join(dir, 'meta.json');
      const written = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
      written.schema.observation.forecastSteps = 99;
      fs.writeFileSync(metaFile, JSON.stringify(written));
      assert.throws(() => readCheckpointMeta(dir), (err: Error) => err.message.includes('meta.json') && /forecastSteps must be an integer within 0\.\.16, got 99/.test(err.message));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('--forecast on the command line', () => {
  const cli = runCliInProcess;

  it('baselines with a forecast add the forecast planner, never above the clairvoyant bound; a bad value is a usage error', async () => {
    const { code, out } = await cli(['baselines', '--env', 'load', '--load-profile', 'steps:0=40,5m=120:for=12m', '--forecast', '3', '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.ok('forecast-control' in report.returns);
    for (const [name, value] of Object.entries(report.returns)) assert.ok((value as number) <= report.returns.optimum + 1e-6, `${name} above the optimum`);
    const bad = await cli(['baselines', '--env', 'load', '--load-profile', 'app2scale', '--forecast', 'two']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--forecast must be an integer within 0\.\.16, got "two"/);
    assert.equal((await cli(['baselines', '--load-profile', 'app2scale', '--forecast', '2'])).code, 2);
  });
});

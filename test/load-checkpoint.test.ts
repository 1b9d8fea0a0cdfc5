import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCliInProcess } from './support/cli-in-process';
import { teastoreModel } from '../src/model';
import { LoadDynamics } from '../src/env/load-dynamics';
import { markovSource } from '../src/env/load-source';
import { checkMarkovLoad } from '../src/load/markov';
import { makeRequestReward } from '../src/request-reward';
import { LOAD_OBSERVATION_SIZE, LOAD_SPACE_SCHEMA } from '../src/load-space';
import { OBSERVATION_SIZE, SPACE_SCHEMA, type Bounds } from '../src/space';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint, CheckpointError } from '../src/agent/checkpoint';
import { defaultNetworkSpec, initPolicyWeights } from '../src/agent/policy';
import { ppoConfig } from '../src/agent/ppo';
import { saveLoadCheckpoint, trainLoad } from '../src/agent/load-train';
import { networkLoadPolicy } from '../src/agent/load-policies';
import { LoadTask } from '../src/agent/load-evaluate';
import { Rng } from '../src/random';
import { makeReward, datasetNormalisers } from '../src/reward';
import { loadTeastoreData } from '../src/data';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-checkpoint-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BOUNDS: Bounds = { min: { replicas: 1, cpuMillis: 700, heapMB: 400 }, max: { replicas: 3, cpuMillis: 900, heapMB: 500 } };
const dynamics = new LoadDynamics({ model: teastoreModel(), reward: makeRequestReward('cost-under-slo'), bounds: BOUNDS });
const chain = checkMarkovLoad({ name: 'two-levels', levels: [30, 90], transition: [[0.9, 0.1], [0.2, 0.8]] });

async function classicCheckpoint(dir: string): Promise<string> {
  const weights = initPolicyWeights(defaultNetworkSpec([8]), new Rng(1));
  return saveCheckpoint(dir, {
    policy: weights,
    config: ppoConfig({ hidden: [8] }),
    backend: 'cpu',
    reward: makeReward('classic', datasetNormalisers(loadTeastoreData())),
    data: { file: 'data/teastore_data.csv', sha256: 'x', rowCount: 1 },
  });
}

describe('load-aware checkpoints', () => {
  let loadDir = '';

  it('training on the load environment writes a checkpoint with observation schema v2', async () => {
    const result = await trainLoad({
      dynamics,
      sources: [markovSource(chain)],
      maxSteps: 10,
      config: { totalSteps: 512, numEnvs: 4, numSteps: 32, hidden: [16], seed: 3 },
    });
    assert.equal(result.history.length, 4);
    assert.equal(result.policy.spec.observationSize, LOAD_OBSERVATION_SIZE);
    loadDir = await saveLoadCheckpoint(path.join(tmp, 'load'), result);
    const meta = readCheckpointMeta(loadDir);
    assert.deepEqual(meta.schema, JSON.parse(JSON.stringify(LOAD_SPACE_SCHEMA)));
    assert.equal(meta.reward.name, 'cost-under-slo');
    assert.equal(meta.metrics.env, 'load');
    assert.equal(meta.metrics.sources, 'markov:two-levels');
    const loaded = loadCheckpoint(loadDir, { observation: 'load' });
    const task = new LoadTask(dynamics, markovSource(chain), { horizon: 10, start: { replicas: 2, cpuMillis: 800, heapMB: 400 }, episodes: 5 });
    const evaluation = task.evaluate(networkLoadPolicy(loaded.policy));
    assert.ok(Number.isFinite(evaluation.return));
  });

  it('a load checkpoint refuses an environment without load, with a clear error', () => {
    assert.throws(
      () => loadCheckpoint(loadDir),
      (err: Error) => err instanceof CheckpointError && /expects observations with load \(schema version 2: .*arrivalRate, previousArrivalRate\).*--env load/.test(err.message),
    );
  });

  it('classic checkpoints still load and act in the classic environment, and refuse the load one', async () => {
    const dir = await classicCheckpoint(path.join(tmp, 'classic'));
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.meta.schema, JSON.parse(JSON.stringify(SPACE_SCHEMA)));
    assert.equal(loaded.policy.spec.observationSize, OBSERVATION_SIZE);
    const action = loaded.policy.act({ replicas: 1, cpuMillis: 500, heapMB: 500, usedCpu: 0.3, usedRam: 0.5 });
    assert.ok(action >= 0 && action < 7);
    assert.throws(() => loadCheckpoint(dir, { observation: 'load' }), /trained on the classic observation \(schema version 1\)/);
    assert.throws(() => networkLoadPolicy(loaded.policy), /reads 29 observation floats, but the load observation has 31/);
  });

  it('an unknown schema version is named', async () => {
    const dir = await classicCheckpoint(path.join(tmp, 'future'));
    const metaFile = path.join(dir, 'meta.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    meta.schema.version = 7;
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    assert.throws(() => readCheckpointMeta(dir), /schema.version 7 is not supported/);
  });
});

describe('the CLI with --env load', () => {
  const cli = runCliInProcess;

  it('baselines --json reports the returns object with the clairvoyant optimum on top', async () => {
    const { code, out } = await cli(['baselines', '--env', 'load', '--load-profile', 'steps:0=40,5m=90:for=12m', '--reward', 'cost-under-slo', '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.equal(report.kind, 'trace');
    assert.equal(report.horizon, 11);
    assert.deepEqual(Object.keys(report.returns).sort(), ['do-nothing', 'hpa', 'optimum', 'random', 'static-best', 'vpa']);
    for (const [name, value] of Object.entries(report.returns)) assert.ok((value as number) <= report.returns.optimum + 1e-6, `${name} above the optimum`);
    assert.equal(report.gains.optimum, 1);
  });

  it('evaluate judges a load checkpoint on a profile; a classic evaluation of it is refused', async () => {
    const { code, out } = await cli(['evaluate', '--env', 'load', '--checkpoint', path.join(tmp, 'load'), '--load-profile', 'steps:0=40,5m=90:for=12m', '--json']);
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.ok(report.return <= report.optimum + 1e-6);
    assert.ok(report.evaluation.sloAttainment >= 0 && report.evaluation.sloAttainment <= 1);
    const classic = await cli(['evaluate', '--checkpoint', path.join(tmp, 'load')]);
    assert.equal(classic.code, 1);
    assert.match(classic.err, /expects observations with load/);
  });

  it('names a wrong --env and a missing --load-profile', async () => {
    const cases: [string[], RegExp][] = [
      [['baselines', '--env', 'cluster'], /--env must be classic or load, got "cluster"/],
      [['baselines', '--env', 'load'], /--load-profile SPEC\|FILE is required with --env load/],
      [['baselines', '--load-profile', 'app2scale'], /--load-profile goes with --env load/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.err, message);
    }
  });
});

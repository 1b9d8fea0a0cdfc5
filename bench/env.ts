/**
 * Environment throughput: scalar DatasetEnv steps/s (inside its episode wrappers, as evaluations
 * use it; the bare environment's figure is printed beside it) and VectorDatasetEnv steps/s, with
 * uniformly random actions from random-row starts.
 * Prints `RESULT dataset-env steps_per_s=N vector_steps_per_s=M`.
 */
import { DatasetEnv, DatasetModel, makeDatasetEnv } from '../src/env/dataset-env';
import type { SyncEnv } from '../src/env/types';
import { VectorDatasetEnv } from '../src/env/vector-env';
import { Rng } from '../src/random';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const NUM_ENVS = 256;

function timeLoop(body: () => number): number {
  body(); // warm up
  let steps = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) steps += body();
  return steps / ((performance.now() - start) / 1000);
}

const model = new DatasetModel();
const rng = new Rng(1);

function scalarSteps(env: SyncEnv, endEvery: number): number {
  env.reset();
  let steps = 0;
  return timeLoop(() => {
    for (let i = 0; i < 10_000; i++) {
      const step = env.step(rng.int(7));
      // The bare environment has no time limit: end its episodes at the same length.
      if (step.truncated || step.terminated || ++steps % endEvery === 0) env.reset();
    }
    return 10_000;
  });
}

const bare = scalarSteps(new DatasetEnv({ model, start: { kind: 'random-row' }, seed: 1 }), 50);
const scalar = scalarSteps(makeDatasetEnv({ model, start: { kind: 'random-row' }, seed: 1 }), Infinity);

const vec = new VectorDatasetEnv(NUM_ENVS, { model, start: { kind: 'random-row' }, seed: 1 });
vec.reset();
const actions = new Int32Array(NUM_ENVS);
const vector = timeLoop(() => {
  for (let k = 0; k < 100; k++) {
    for (let i = 0; i < NUM_ENVS; i++) actions[i] = rng.int(7);
    vec.step(actions);
  }
  return 100 * NUM_ENVS;
});

console.log(`scalar DatasetEnv, bare: ${Math.round(bare).toLocaleString('en-US')} steps/s`);
console.log(`scalar DatasetEnv, wrapped: ${Math.round(scalar).toLocaleString('en-US')} steps/s`);
console.log(`VectorDatasetEnv (${NUM_ENVS} envs): ${Math.round(vector).toLocaleString('en-US')} steps/s`);
console.log(`RESULT dataset-env steps_per_s=${Math.round(scalar)} vector_steps_per_s=${Math.round(vector)}`);

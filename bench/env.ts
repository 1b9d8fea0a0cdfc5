/**
 * Environment throughput: scalar DatasetEnv steps/s and VectorDatasetEnv steps/s, with uniformly
 * random actions from random-row starts. Prints `RESULT dataset-env steps_per_s=N vector_steps_per_s=M`.
 */
import { DatasetEnv, DatasetModel } from '../src/env/dataset-env';
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

const env = DatasetEnv.fromModel(model, { start: { kind: 'random-row' }, seed: 1 });
env.reset();
const scalar = timeLoop(() => {
  for (let i = 0; i < 10_000; i++) {
    const step = env.step(rng.int(7));
    if (step.truncated || step.terminated) env.reset();
  }
  return 10_000;
});

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

console.log(`scalar DatasetEnv: ${Math.round(scalar).toLocaleString('en-US')} steps/s`);
console.log(`VectorDatasetEnv (${NUM_ENVS} envs): ${Math.round(vector).toLocaleString('en-US')} steps/s`);
console.log(`RESULT dataset-env steps_per_s=${Math.round(scalar)} vector_steps_per_s=${Math.round(vector)}`);

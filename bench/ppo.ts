/**
 * PPO from scratch on the offline task, seeds 1, 2 and 3 (fast preset, random-row starts).
 *
 * After every iteration the greedy policy's exact expected return is computed (evaluation time is
 * kept off the training clock and reported separately). Reports, as the worst of the three seeds,
 * the training seconds and environment steps until the greedy policy first reaches 95% and 99% of
 * the optimum's return, the fraction the final policy holds, and training throughput. Seed 1's
 * final policy is saved as a checkpoint.
 *
 * Fraction of the optimum = V_policy / V_optimum: exact expected undiscounted 50-step returns
 * from random-row starts (the optimum's is positive, about 17.93, under the classic reward).
 *
 * Options: --seeds 1,2,3   --compare (also: rllib-2.4 preset in the same time budget, and the
 * training throughput of each available backend).
 */
import * as path from 'node:path';
import { initBackend, type BackendName } from '../src/agent/backend';
import { newRunId, saveTrainResult } from '../src/agent/checkpoint';
import { evaluateExact } from '../src/agent/evaluate';
import { ppoConfig, train, type PpoConfig, type PresetName } from '../src/agent/ppo';
import { DatasetModel } from '../src/env/dataset-env';

const RANDOM_ROW = { kind: 'random-row' } as const;
const ROW_558 = { kind: 'row', row: 558 } as const;

interface SeedResult {
  seed: number;
  secondsTo95: number;
  stepsTo95: number;
  secondsTo99: number;
  stepsTo99: number;
  finalFraction: number;
  finalFractionRow558: number;
  minFractionAfter99: number;
  trainingSeconds: number;
  evaluationSeconds: number;
  envSteps: number;
  stepsPerSecond: number;
  checkpoint: string | null;
}

async function runSeed(model: DatasetModel, config: PpoConfig, preset: PresetName, options: { budgetSeconds?: number; save?: boolean; backend?: BackendName }): Promise<SeedResult> {
  const r: SeedResult = {
    seed: config.seed,
    secondsTo95: Infinity,
    stepsTo95: Infinity,
    secondsTo99: Infinity,
    stepsTo99: Infinity,
    finalFraction: NaN,
    finalFractionRow558: NaN,
    minFractionAfter99: NaN,
    trainingSeconds: 0,
    evaluationSeconds: 0,
    envSteps: 0,
    stepsPerSecond: 0,
    checkpoint: null,
  };
  const result = await train(config, {
    model,
    preset,
    backend: options.backend,
    // Evaluation runs between iterations, so it stays off the training clock.
    onIteration: (stats, trainer) => {
      r.trainingSeconds = stats.trainingSeconds;
      r.envSteps = stats.envSteps;
      const t0 = performance.now();
      const { fraction } = evaluateExact(trainer.policy(), model, RANDOM_ROW, { masked: config.maskActions });
      r.evaluationSeconds += (performance.now() - t0) / 1000;
      r.finalFraction = fraction;
      if (fraction >= 0.95 && r.secondsTo95 === Infinity) [r.secondsTo95, r.stepsTo95] = [stats.trainingSeconds, stats.envSteps];
      if (fraction >= 0.99 && r.secondsTo99 === Infinity) [r.secondsTo99, r.stepsTo99] = [stats.trainingSeconds, stats.envSteps];
      if (r.secondsTo99 !== Infinity) r.minFractionAfter99 = Math.min(Number.isNaN(r.minFractionAfter99) ? 1 : r.minFractionAfter99, fraction);
      return r.trainingSeconds < (options.budgetSeconds ?? Infinity);
    },
  });
  r.stepsPerSecond = r.envSteps / r.trainingSeconds;
  r.finalFractionRow558 = evaluateExact(result.policy, model, ROW_558, { masked: config.maskActions }).fraction;
  if (options.save) {
    const runId = `bench-${newRunId(config.seed)}`;
    const dir = await saveTrainResult(path.resolve(__dirname, '..', 'checkpoints', runId), result, {
      runId,
      metrics: {
        fractionOfOptimumRandomRow: r.finalFraction,
        fractionOfOptimumRow558: r.finalFractionRow558,
        secondsTo95: r.secondsTo95,
        secondsTo99: r.secondsTo99,
      },
    });
    r.checkpoint = path.relative(path.resolve(__dirname, '..'), dir);
  }
  return r;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'never');

function describe(label: string, r: SeedResult): string {
  return (
    `${label} seed ${r.seed}: 95% at ${fmt(r.secondsTo95)} s / ${r.stepsTo95} steps, 99% at ${fmt(r.secondsTo99)} s / ${r.stepsTo99} steps; ` +
    `final fraction ${fmt(r.finalFraction, 4)} (row:558 ${fmt(r.finalFractionRow558, 4)}), lowest after first 99%: ${fmt(r.minFractionAfter99, 4)}; ` +
    `${r.envSteps} steps in ${fmt(r.trainingSeconds)} s training (${Math.round(r.stepsPerSecond)} steps/s), ${fmt(r.evaluationSeconds)} s evaluating (excluded)`
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seedsArg = args.indexOf('--seeds');
  const seeds = seedsArg >= 0 ? args[seedsArg + 1].split(',').map(Number) : [1, 2, 3];
  const compare = args.includes('--compare');

  const backend = await initBackend();
  console.log(`backend: ${backend.name}`);
  const model = new DatasetModel();
  const results: SeedResult[] = [];
  for (const seed of seeds) {
    const r = await runSeed(model, ppoConfig({ seed }), 'fast', { save: seed === seeds[0] });
    console.log(describe('fast', r));
    results.push(r);
  }

  if (compare) {
    const budget = Math.max(60, ...results.map((r) => r.trainingSeconds));
    const rllib = await runSeed(model, ppoConfig({ seed: 1 }, 'rllib-2.4'), 'rllib-2.4', { budgetSeconds: budget });
    console.log(describe(`rllib-2.4 (budget ${fmt(budget)} s)`, rllib));
    const unmasked = await runSeed(model, ppoConfig({ seed: 1, maskActions: false }), 'fast', {});
    console.log(describe('fast without masking', unmasked));
    for (const name of ['wasm', 'cpu'] as BackendName[]) {
      try {
        await initBackend(name);
        const r = await runSeed(model, ppoConfig({ seed: 1, totalSteps: 20_480 }), 'fast', { backend: name });
        console.log(`throughput ${name}: ${Math.round(r.stepsPerSecond)} env steps/s of training (fast preset)`);
      } catch (err) {
        console.log(`throughput ${name}: unavailable (${(err as Error).message})`);
      }
    }
    await initBackend(backend.name as BackendName);
  }

  const worst = (key: keyof SeedResult, pick: (...v: number[]) => number) => pick(...results.map((r) => r[key] as number));
  console.log(
    `RESULT ppo-offline seconds_to_95=${fmt(worst('secondsTo95', Math.max))} steps_to_95=${worst('stepsTo95', Math.max)} ` +
      `seconds_to_99=${fmt(worst('secondsTo99', Math.max))} fraction_of_optimum=${fmt(worst('finalFraction', Math.min), 4)} ` +
      `steps_per_s=${Math.round(worst('stepsPerSecond', Math.min))} checkpoint=${results[0].checkpoint}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

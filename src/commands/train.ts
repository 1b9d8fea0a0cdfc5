/** `rl-autoscaler train`: trains PPO on the dataset replay and saves a checkpoint. */
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { initBackend, BACKEND_NAMES, type BackendName } from '../agent/backend';
import { newRunId, saveTrainResult } from '../agent/checkpoint';
import { evaluateExact } from '../agent/evaluate';
import { OFFLINE_PRESET_NAMES, ppoConfig, train, type IterationStats, type PresetName } from '../agent/ppo';
import { DEFAULT_DATA_PATH } from '../data';
import { DatasetModel } from '../env/dataset-env';
import { ORIGINAL_START } from '../env/start';
import { datasetOption, intOption, parseOptions, rewardOption } from './args';
import { UsageError } from './types';
import { TRAIN } from './definitions';
import { runLoadTrain, wantsLoadEnv } from './load-env';

export const DEFAULT_CHECKPOINT_ROOT = path.resolve(__dirname, '..', '..', 'checkpoints');

function describeIteration(s: IterationStats): string {
  const ret = s.episodicReturn ? s.episodicReturn.mean.toFixed(2) : '-';
  return `iter ${s.iteration}/${s.iterations} steps ${s.envSteps} return ${ret} entropy ${s.entropy.toFixed(3)} kl ${s.approxKl.toFixed(4)} ${Math.round(s.stepsPerSecond)} steps/s`;
}


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, TRAIN.options);
  if (wantsLoadEnv(opts)) return runLoadTrain(opts);
  const preset = opts.preset as PresetName;
  if (!OFFLINE_PRESET_NAMES.includes(preset)) throw new UsageError(`--preset must be one of ${OFFLINE_PRESET_NAMES.join(', ')}`);
  const reward = rewardOption(opts.reward);
  if (opts.backend !== undefined && !BACKEND_NAMES.includes(opts.backend as BackendName)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  const overrides: Parameters<typeof ppoConfig>[0] = { seed: intOption(opts.seed, 'seed', 1) };
  if (opts.steps !== undefined) overrides.totalSteps = intOption(opts.steps, 'steps', 0);
  if (opts['no-mask']) overrides.maskActions = false;
  if (opts.start !== undefined) overrides.start = opts.start;
  const table = datasetOption(opts);
  // The presets start from the original's row 558 of the bundled dataset; another dataset has no such row.
  const bundled = table.file === DEFAULT_DATA_PATH;
  if (!bundled && opts.start === undefined) overrides.start = 'random-row';
  let config;
  try {
    config = ppoConfig(overrides, preset);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const backend = await initBackend(opts.backend as BackendName | undefined);
  console.log(`backend: ${backend.name}${backend.skipped.length ? ` (skipped: ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`);
  console.log(`preset ${preset}, seed ${config.seed}, ${config.totalSteps} steps, start ${config.start}, masking ${config.maskActions ? 'on' : 'off'}, reward ${reward}`);
  const model = new DatasetModel({ reward, table });
  const iterations = Math.ceil(config.totalSteps / (config.numEnvs * config.numSteps));
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: 'train |{bar}| {value}/{total} steps | return {ret} | {sps} steps/s | {eta_formatted}', stream: process.stderr }, Presets.shades_classic)
    : null;
  bar?.start(iterations * config.numEnvs * config.numSteps, 0, { ret: '-', sps: 0 });
  let result;
  try {
    result = await train(config, {
      model,
      preset,
      backend: backend.name as BackendName,
      onIteration: (s) => {
        if (bar) bar.update(s.envSteps, { ret: s.episodicReturn ? s.episodicReturn.mean.toFixed(2) : '-', sps: Math.round(s.stepsPerSecond) });
        else if (s.iteration % Math.max(1, Math.round(s.iterations / 10)) === 0 || s.iteration === s.iterations) console.error(describeIteration(s));
      },
    });
  } finally {
    bar?.stop();
  }
  const { policy } = result;
  const last = result.history[result.history.length - 1];
  const masked = config.maskActions;
  const fromRandom = evaluateExact(policy, model, { kind: 'random-row' }, { masked });
  const fromOriginal = bundled ? evaluateExact(policy, model, ORIGINAL_START, { masked }) : null;
  const runId = newRunId(config.seed);
  const dir = await saveTrainResult(opts.out ?? path.join(DEFAULT_CHECKPOINT_ROOT, runId), result, {
    runId,
    metrics: {
      ...(fromOriginal ? { fractionOfOptimumRow558: fromOriginal.fraction, exactReturnRow558: fromOriginal.value } : {}),
      fractionOfOptimumRandomRow: fromRandom.fraction,
      exactReturnRandomRow: fromRandom.value,
    },
  });
  console.log(`trained ${last.envSteps} steps in ${last.trainingSeconds.toFixed(1)} s (${Math.round(last.envSteps / last.trainingSeconds)} steps/s)`);
  for (const e of fromOriginal ? [fromOriginal, fromRandom] : [fromRandom]) {
    const start = e.start.kind === 'row' ? `row:${e.start.row}` : e.start.kind;
    console.log(`greedy exact return from ${start}: ${e.value.toFixed(3)} (optimum ${e.optimum.toFixed(3)}, fraction ${e.fraction.toFixed(4)})`);
  }
  console.log(`checkpoint: ${dir}`);
  return 0;
}

/**
 * One point of a sweep: the `train` path (PPO on the dataset replay, exact evaluation, an atomic
 * checkpoint folder) with the point's seed and settings, returning the figures of its table row.
 */
import * as path from 'node:path';
import { BACKEND_NAMES, initBackend, type BackendName } from '../agent/backend';
import { saveTrainResult } from '../agent/checkpoint';
import { evaluateExact } from '../agent/evaluate';
import { OFFLINE_PRESET_NAMES, ppoConfig, train, type PpoConfig, type PresetName } from '../agent/ppo';
import { DEFAULT_DATA_PATH, loadTeastoreData } from '../data';
import { DatasetModel } from '../env/dataset-env';
import { ORIGINAL_START } from '../env/start';
import { REWARD_NAMES, type RewardName } from '../reward';
import { ppoKeyOf, SweepPlanError, type Settings, type SweepPoint } from './plan';

/** What a point trains with, checked: the PPO config and what lives beside it. */
export interface PointTraining {
  config: PpoConfig;
  preset: PresetName;
  reward: RewardName;
  backend?: BackendName;
  data?: string;
  dataRate?: number;
  /** Whether the bundled dataset is replayed (then row 558, the original's start, is evaluated too). */
  bundled: boolean;
}

/** The base settings with the point's values over them (the point wins). */
export function effectiveSettings(base: Settings, point: SweepPoint): Settings {
  return { ...base, ...point.settings };
}

/** Turns settings (in `train`'s option vocabulary, plus PPO keys) into a checked training setup; errors name the point. */
export function pointTraining(settings: Settings, seed: number, where = 'sweep'): PointTraining {
  const fail = (message: string): never => {
    throw new SweepPlanError(`${where}: ${message}`);
  };
  const preset = String(settings.preset ?? 'fast') as PresetName;
  if (!OFFLINE_PRESET_NAMES.includes(preset)) fail(`preset must be one of ${OFFLINE_PRESET_NAMES.join(', ')}, got ${JSON.stringify(preset)}`);
  const reward = String(settings.reward ?? 'classic') as RewardName;
  if (!REWARD_NAMES.includes(reward)) fail(`reward must be one of ${REWARD_NAMES.join(', ')}, got ${JSON.stringify(reward)}`);
  const backend = settings.backend === undefined ? undefined : (String(settings.backend) as BackendName);
  if (backend !== undefined && !BACKEND_NAMES.includes(backend)) fail(`backend must be one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(backend)}`);
  const data = settings.data === undefined ? undefined : String(settings.data);
  const bundled = data === undefined || path.resolve(data) === DEFAULT_DATA_PATH;
  let dataRate: number | undefined;
  if (settings['data-rate'] !== undefined) {
    if (data === undefined) fail('data-rate goes with data (a v2 dataset)');
    dataRate = Number(settings['data-rate']);
    if (!Number.isFinite(dataRate) || dataRate <= 0) fail(`data-rate must be a positive request rate, got ${JSON.stringify(settings['data-rate'])}`);
  }

  const overrides: Partial<PpoConfig> = { seed };
  if (settings.steps !== undefined) {
    const steps = Number(settings.steps);
    if (!Number.isInteger(steps) || steps < 1) fail(`steps must be a positive integer, got ${JSON.stringify(settings.steps)}`);
    overrides.totalSteps = steps;
  }
  if (settings['no-mask'] === true) overrides.maskActions = false;
  if (settings.start !== undefined) overrides.start = String(settings.start);
  // The presets start from the original's row 558 of the bundled dataset; another dataset has no such row.
  else if (!bundled) overrides.start = 'random-row';
  for (const [key, value] of Object.entries(settings)) {
    const ppoKey = ppoKeyOf(key);
    if (ppoKey) (overrides as Record<string, unknown>)[ppoKey] = value;
  }
  let config: PpoConfig;
  try {
    config = ppoConfig(overrides, preset);
  } catch (err) {
    return fail((err as Error).message);
  }
  return { config, preset, reward, backend, data, dataRate, bundled };
}

/** A point's row of the summary table; also the one JSON line an index prints. */
export interface PointResult {
  sweep: string;
  index: number;
  points: number;
  seed: number;
  settings: Settings;
  /** Mean training episodic return of the last iteration (null if no episode ended). */
  finalReturn: number | null;
  /** Exact expected return of the greedy policy from a uniformly drawn row, over the optimum's. */
  fractionOfOptimum: number;
  exactReturn: number;
  optimum: number;
  /** The same from row 558 (the original's start), on the bundled dataset only. */
  fractionOfOptimumRow558: number | null;
  envSteps: number;
  /** Wall-clock seconds of the whole point: data, training, evaluation and checkpoint. */
  seconds: number;
  checkpoint: string;
}

/** The folder of point `index` inside the sweep's folder (fixed, so a retried index replaces its own). */
export function pointFolder(sweepDir: string, index: number): string {
  return path.join(sweepDir, `point-${String(index).padStart(4, '0')}`);
}

/** Trains one point and saves its checkpoint into the sweep folder; resolves to its row. */
export async function trainPoint(options: { sweep: string; points: number; point: SweepPoint; base: Settings; sweepDir: string }): Promise<PointResult> {
  const started = performance.now();
  const { point } = options;
  const setup = pointTraining(effectiveSettings(options.base, point), point.seed, `point ${point.index}`);
  const table = loadTeastoreData(setup.data, { offeredRps: setup.dataRate });
  const model = new DatasetModel({ reward: setup.reward, table });
  const backend = await initBackend(setup.backend);
  const result = await train(setup.config, { model, preset: setup.preset, backend: backend.name as BackendName });
  const masked = setup.config.maskActions;
  const fromRandom = evaluateExact(result.policy, model, { kind: 'random-row' }, { masked });
  const fromOriginal = setup.bundled ? evaluateExact(result.policy, model, ORIGINAL_START, { masked }) : null;
  const last = result.history[result.history.length - 1];
  const checkpoint = await saveTrainResult(pointFolder(options.sweepDir, point.index), result, {
    runId: `${options.sweep}-point-${point.index}-seed${point.seed}`,
    overwrite: true,
    metrics: {
      ...(fromOriginal ? { fractionOfOptimumRow558: fromOriginal.fraction, exactReturnRow558: fromOriginal.value } : {}),
      fractionOfOptimumRandomRow: fromRandom.fraction,
      exactReturnRandomRow: fromRandom.value,
    },
  });
  return {
    sweep: options.sweep,
    index: point.index,
    points: options.points,
    seed: point.seed,
    settings: point.settings,
    finalReturn: last?.episodicReturn ? last.episodicReturn.mean : null,
    fractionOfOptimum: fromRandom.fraction,
    exactReturn: fromRandom.value,
    optimum: fromRandom.optimum,
    fractionOfOptimumRow558: fromOriginal ? fromOriginal.fraction : null,
    envSteps: last?.envSteps ?? 0,
    seconds: (performance.now() - started) / 1000,
    checkpoint,
  };
}

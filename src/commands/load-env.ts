/**
 * `train`, `evaluate` and `baselines` with `--env load`: the same commands on the load-aware
 * offline environment (env/load-env.ts) instead of the dataset replay.
 */
import * as path from 'node:path';
import { loadCheckpoint } from '../agent/checkpoint';
import { DEFAULT_EVALUATION_START, gainShare, LoadTask, loadBaselines, type LoadEvaluation } from '../agent/load-evaluate';
import { networkLoadPolicy } from '../agent/load-policies';
import { isShieldName, SHIELD_NAMES, shieldedLoadPolicy, SloShield, type ShieldName } from '../agent/slo-shield';
import { saveLoadCheckpoint, trainLoad } from '../agent/load-train';
import { newRunId } from '../agent/checkpoint';
import { LoadDynamics, DEFAULT_INTERVAL_SECONDS } from '../env/load-dynamics';
import { LOAD_TASK_BOUNDS, parseLoadSource, parseLoadSources } from '../env/load-setup';
import { DEFAULT_MARKOV_COPIES, trainingLoadSources } from '../env/load-training-set';
import type { LoadSource } from '../env/load-source';
import type { LoadStart } from '../env/load-env';
import { teastoreModel } from '../model';
import { isRequestRewardName, makeRequestReward, REQUEST_REWARD_NAMES, type RequestReward } from '../request-reward';
import { assertOnGrid, formatConfig, type Bounds, type ScalingConfig } from '../space';
import { intOption } from './args';
import { MAX_FORECAST_STEPS, forecastStepsOfSchema } from '../load-space';
import { UsageError } from './types';

/** The options `--env load` reads (declared in definitions.ts, LOAD_ENV_OPTIONS). */
export interface LoadEnvArgs {
  env?: string;
  'load-profile'?: string;
  profiles?: string;
  interval?: string;
  horizon?: string;
  forecast?: string;
  reward?: string;
  start?: string;
  seed?: string;
  episodes?: string;
  json?: boolean;
}

const LOAD_ONLY_OPTIONS = ['load-profile', 'profiles', 'interval', 'horizon', 'forecast', 'markov-copies', 'shield'] as const;

/** True when the command runs on the load environment; an unknown --env, or a load option without it, is a usage error. */
export function wantsLoadEnv(opts: { env?: string } & Record<string, unknown>): boolean {
  if (opts.env === undefined || opts.env === 'classic') {
    const stray = LOAD_ONLY_OPTIONS.find((name) => opts[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --env load`);
    return false;
  }
  if (opts.env === 'load') return true;
  throw new UsageError(`--env must be classic or load, got ${JSON.stringify(opts.env)}`);
}

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function intervalOption(opts: LoadEnvArgs, fallback = DEFAULT_INTERVAL_SECONDS): number {
  if (opts.interval === undefined) return fallback;
  const seconds = Number(opts.interval);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--interval must be positive seconds, got ${JSON.stringify(opts.interval)}`);
  return seconds;
}

/** `--forecast N`: windows of oracle load forecast in the observation (default 0). */
function forecastOption(opts: LoadEnvArgs): number {
  if (opts.forecast === undefined) return 0;
  const steps = Number(opts.forecast);
  if (!Number.isInteger(steps) || steps < 0 || steps > MAX_FORECAST_STEPS) throw new UsageError(`--forecast must be an integer within 0..${MAX_FORECAST_STEPS}, got ${JSON.stringify(opts.forecast)}`);
  return steps;
}

/** `--reward` under --env load: a request-level reward; the classic default means slo. */
function loadRewardOption(text: string | undefined): RequestReward {
  if (text === undefined || text === 'classic') return makeRequestReward('slo');
  if (!isRequestRewardName(text)) throw new UsageError(`--reward under --env load must be one of ${REQUEST_REWARD_NAMES.join(', ')}, got ${JSON.stringify(text)}`);
  return makeRequestReward(text);
}

/**
 * `--start` under --env load: config:R,CPU,HEAP; any dataset start (the classic default) means
 * the evaluation default, moved into the bounds.
 */
function loadStartOption(text: string | undefined, bounds: Bounds = LOAD_TASK_BOUNDS): ScalingConfig {
  if (text === undefined || text.startsWith('row:') || text === 'random-row') {
    const d = DEFAULT_EVALUATION_START;
    const clamp = (k: keyof ScalingConfig) => Math.min(bounds.max[k], Math.max(bounds.min[k], d[k]));
    return { replicas: clamp('replicas'), cpuMillis: clamp('cpuMillis'), heapMB: clamp('heapMB') };
  }
  const match = /^config:(\d+),(\d+),(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--start under --env load must be config:R,CPU,HEAP, got ${JSON.stringify(text)}`);
  const config = { replicas: Number(match[1]), cpuMillis: Number(match[2]), heapMB: Number(match[3]) };
  usage(() => assertOnGrid(config, '--start'));
  return config;
}

function evaluationSource(opts: LoadEnvArgs, interval: number): LoadSource {
  if (opts['load-profile'] === undefined) throw new UsageError('--load-profile SPEC|FILE is required with --env load (a profile spec, a CSV trace file, markov:FILE.json or markov-fit:LEVELS:SPEC)');
  const spec = opts['load-profile'];
  // A bare path is a CSV trace: the same file the `file:` spec reads.
  const text = /^[a-z-]+:/.test(spec) || !/[/.]/.test(spec) ? spec : `file:${spec}`;
  return usage(() => parseLoadSource(text, interval));
}

function formatEvaluations(evaluations: LoadEvaluation[], values: Record<string, number>, gains: Record<string, number>): string {
  const head = `  ${'policy'.padEnd(12)} ${'return'.padStart(9)} ${'gain'.padStart(7)} ${'SLO'.padStart(6)} ${'run p99'.padStart(8)} ${'cores'.padStart(6)} ${'mem GiB'.padStart(8)} ${'$/h'.padStart(7)} ${'served'.padStart(7)} ${'changes'.padStart(8)}`;
  const rows = evaluations.map((e) =>
    [
      `  ${e.policy.padEnd(12)}`,
      (values[e.policy] ?? e.return).toFixed(3).padStart(9),
      (gains[e.policy] ?? NaN).toFixed(3).padStart(7),
      e.sloAttainment.toFixed(3).padStart(6),
      (e.runMeetsSlo === 1 ? 'met' : e.runMeetsSlo === 0 ? 'missed' : e.runMeetsSlo.toFixed(2)).padStart(8),
      e.meanCores.toFixed(2).padStart(6),
      e.meanMemoryGiB.toFixed(2).padStart(8),
      e.meanCostPerHour.toFixed(4).padStart(7),
      e.servedShare.toFixed(3).padStart(7),
      e.changes.toFixed(1).padStart(8),
    ].join(' '),
  );
  return [head, ...rows].join('\n');
}

function describeTask(task: LoadTask, reward: RequestReward): string {
  const start = task.start === 'random' ? 'random' : formatConfig(task.start);
  const what = task.source.kind === 'markov' ? `Markov load ${task.source.name} (${task.source.chain.levels.length} levels), optimum exact` : `trace ${task.source.name}, optimum clairvoyant`;
  return `${what}; ${task.horizon} steps of ${task.dynamics.intervalSeconds} s from ${start}; reward ${reward.name} v${reward.version}; SLO p99 <= ${reward.params.p99TargetMs ?? 250} ms`;
}

export async function runLoadBaselines(opts: LoadEnvArgs): Promise<number> {
  const interval = intervalOption(opts);
  const reward = loadRewardOption(opts.reward);
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward, bounds: LOAD_TASK_BOUNDS, intervalSeconds: interval });
  const source = evaluationSource(opts, interval);
  const task = new LoadTask(dynamics, source, {
    horizon: opts.horizon === undefined ? undefined : intOption(opts.horizon, 'horizon', 60),
    start: loadStartOption(opts.start),
    episodes: opts.episodes === undefined ? undefined : intOption(opts.episodes, 'episodes', 200),
    seed: intOption(opts.seed, 'seed', 0),
    forecastSteps: forecastOption(opts),
  });
  const report = loadBaselines(task);
  const values = Object.fromEntries(Object.entries(report.returns).map(([k, r]) => [k, r.mean]));
  const gains = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, gainShare(v, values['static-best'], values.optimum)]));
  if (opts.json) {
    console.log(JSON.stringify({ env: 'load', profile: report.profile, kind: report.kind, horizon: report.horizon, start: task.start, reward: reward.name, returns: values, gains, evaluations: report.evaluations }));
    return 0;
  }
  console.log(describeTask(task, reward));
  console.log(formatEvaluations(report.evaluations, values, gains));
  return 0;
}

function boundsOf(recorded: unknown): Bounds {
  if (typeof recorded !== 'string') return LOAD_TASK_BOUNDS;
  try {
    return JSON.parse(recorded) as Bounds;
  } catch {
    return LOAD_TASK_BOUNDS;
  }
}

/** `--shield none|slo`, defaulting to `fallback`. */
function shieldOption(text: string | undefined, fallback: ShieldName): ShieldName {
  if (text === undefined) return fallback;
  if (!isShieldName(text)) throw new UsageError(`--shield must be one of ${SHIELD_NAMES.join(', ')}, got ${JSON.stringify(text)}`);
  return text;
}

export async function runLoadEvaluate(opts: LoadEnvArgs & { checkpoint?: string; shield?: string }): Promise<number> {
  if (opts.checkpoint === undefined) throw new UsageError('--checkpoint DIR is required');
  const { policy, meta } = loadCheckpoint(opts.checkpoint, { observation: 'load' });
  const forecastSteps = forecastStepsOfSchema(meta.schema);
  if (opts.forecast !== undefined && forecastOption(opts) !== forecastSteps) throw new UsageError(`${opts.checkpoint} reads a forecast of ${forecastSteps} windows, not ${opts.forecast}`);
  const trained = meta.reward.name;
  if (!isRequestRewardName(trained)) throw new UsageError(`${opts.checkpoint}: trained on reward ${JSON.stringify(trained)}, not a request-level one`);
  const params = Object.fromEntries(Object.entries(meta.reward.params).filter(([k, v]) => typeof v === 'number' && !['costScale', 'coresScale'].includes(k))) as Record<string, number>;
  const reward = opts.reward !== undefined && opts.reward !== 'classic' ? loadRewardOption(opts.reward) : makeRequestReward(trained, params);
  const interval = intervalOption(opts, Number(meta.metrics.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS));
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward, bounds: boundsOf(meta.metrics.bounds), intervalSeconds: interval });
  const task = new LoadTask(dynamics, evaluationSource(opts, interval), {
    horizon: opts.horizon === undefined ? undefined : intOption(opts.horizon, 'horizon', 60),
    start: loadStartOption(opts.start, dynamics.bounds),
    episodes: opts.episodes === undefined ? undefined : intOption(opts.episodes, 'episodes', 200),
    seed: intOption(opts.seed, 'seed', 0),
    forecastSteps,
  });
  const optimum = task.optimum();
  const staticBest = task.staticBest();
  const trainedShield = meta.metrics.trainingShield;
  const shielding = shieldOption(opts.shield, trainedShield === 'slo' ? 'slo' : 'none');
  const shield = shielding === 'slo' ? new SloShield(dynamics) : null;
  // The shield is part of the policy (a function of the observation), so the exact yardsticks judge the pair.
  const network = shield ? { ...shieldedLoadPolicy(networkLoadPolicy(policy), shield), name: 'ppo+shield' } : networkLoadPolicy(policy, { name: 'ppo' });
  const evaluation = task.evaluate(network);
  // Counted over the evaluation episodes (the table's row).
  const shieldReport = shield ? { replaced: shield.replaced, checked: shield.checked } : null;
  const value = task.source.kind === 'markov' ? task.exactMarkovValue(network) : task.evaluate(network, { observationNoise: false }).return;
  const gain = gainShare(value, staticBest.value, optimum.value);
  const evaluations = [evaluation, task.evaluate(optimum.policy), task.evaluate(staticBest.policy)];
  if (opts.json) {
    console.log(JSON.stringify({ env: 'load', checkpoint: meta.runId, profile: task.source.name, kind: task.source.kind, horizon: task.horizon, reward: reward.name, shield: shielding, ...(shieldReport ? { shieldReplaced: shieldReport } : {}), return: value, optimum: optimum.value, staticBest: staticBest.value, gain, evaluation }));
    return 0;
  }
  console.log(`checkpoint ${meta.runId} (seed ${meta.seed}); ${describeTask(task, reward)}`);
  console.log(formatEvaluations(evaluations, { [network.name]: value, optimum: optimum.value, 'static-best': staticBest.value }, { [network.name]: gain, optimum: 1, 'static-best': 0 }));
  console.log(`${network.name} return ${value.toFixed(3)} (${task.source.kind === 'markov' ? 'exact, expected usage observed' : 'replayed without noise'}); share of the achievable gain ${gain.toFixed(3)}`);
  if (shieldReport) console.log(`the SLO shield replaced ${shieldReport.replaced} of ${shieldReport.checked} actions (trained ${trainedShield === 'slo' ? 'behind the shield' : 'without it'})`);
  return 0;
}

/** `--markov-copies N`: the Markov task's copies in the default training set (bench:load-ppo's meaning and default). */
function markovCopiesOption(opts: { 'markov-copies'?: string; profiles?: string }): number {
  const text = opts['markov-copies'];
  if (text === undefined) return DEFAULT_MARKOV_COPIES;
  if (opts.profiles !== undefined) throw new UsageError('--markov-copies sets the default training set; with --profiles, list the Markov task (markov:FILE.json) as often as you want it');
  const copies = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(copies)) throw new UsageError(`--markov-copies must be an integer >= 0, got ${JSON.stringify(text)}`);
  return copies;
}

export async function runLoadTrain(opts: LoadEnvArgs & { steps?: string; out?: string; backend?: string; 'markov-copies'?: string; shield?: string }): Promise<number> {
  const interval = intervalOption(opts);
  const reward = loadRewardOption(opts.reward);
  const dynamics = new LoadDynamics({ model: teastoreModel(), reward, bounds: LOAD_TASK_BOUNDS, intervalSeconds: interval });
  const markovCopies = markovCopiesOption(opts);
  const sources = opts.profiles !== undefined ? usage(() => parseLoadSources(opts.profiles!, interval)) : trainingLoadSources(markovCopies, interval);
  const seed = intOption(opts.seed, 'seed', 1);
  const totalSteps = intOption(opts.steps, 'steps', 200_000);
  if (totalSteps < 1) throw new UsageError('--steps must be at least 1');
  const start: LoadStart = opts.start === undefined ? 'random' : loadStartOption(opts.start);
  const forecastSteps = forecastOption(opts);
  const shield = shieldOption(opts.shield, 'none');
  console.log(`load environment: ${sources.length} training sources (${sources.map((s) => s.name).join(', ')}), ${interval} s per step, reward ${reward.name}, forecast ${forecastSteps} windows, shield ${shield}, seed ${seed}, ${totalSteps} steps`);
  const result = await trainLoad({
    dynamics,
    sources,
    start,
    forecastSteps,
    shield,
    config: { seed, totalSteps },
    backend: opts.backend as never,
    onIteration: (s) => {
      if (s.iteration % Math.max(1, Math.round(s.iterations / 10)) === 0 || s.iteration === s.iterations) {
        console.error(`iter ${s.iteration}/${s.iterations} steps ${s.envSteps} return ${s.episodicReturn ? s.episodicReturn.mean.toFixed(2) : '-'} ${Math.round(s.stepsPerSecond)} steps/s`);
      }
    },
  });
  const runId = newRunId(seed).replace(/^ppo-/, 'ppo-load-');
  const dir = await saveLoadCheckpoint(opts.out ?? path.resolve(__dirname, '..', '..', 'checkpoints', runId), result);
  const last = result.history[result.history.length - 1];
  console.log(`trained ${last.envSteps} steps in ${last.trainingSeconds.toFixed(1)} s`);
  console.log(`checkpoint: ${dir}`);
  return 0;
}

/**
 * `rl-autoscaler sweep`: offline PPO trainings over seeds x a grid, run here in parallel
 * (processes), one point at a time (`--index`, as an Indexed Job's pod does), or emitted as a
 * Kubernetes Indexed Job manifest.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { indexedJobManifest } from '../sweep/indexed-job';
import { runPointsLocally } from '../sweep/local';
import { parseGrid, parseSeeds, pointAt, pointCount, sweepId, sweepPoints, SweepPlanError, type Grid, type Settings } from '../sweep/plan';
import { formatMarkdown, isFailure, writeSummary } from '../sweep/summary';
import { effectiveSettings, pointTraining, trainPoint } from '../sweep/train-point';
import { parseOptions } from './args';
import { SWEEP } from './definitions';
import { DEFAULT_CHECKPOINT_ROOT } from './train';
import { UsageError } from './types';

/** The options every point trains with (the grid varies some of them, or PPO hyperparameters). */
const BASE_OPTIONS = ['preset', 'steps', 'start', 'reward', 'no-mask', 'backend', 'data', 'data-rate'] as const;

type Options = ReturnType<typeof parseOptions<typeof SWEEP.options>>;

/** A non-negative integer option (or env var), naming it in the error. */
function indexOf(text: string, source: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${source} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** The sweep as parsed and checked: every point's training setup is valid before anything runs. */
interface SweepSpec {
  id: string;
  seedsText: string;
  seeds: number[];
  gridEntries: string[];
  grid: Grid;
  base: Settings;
  /** The base options as arguments, in a fixed order. */
  baseArgs: string[];
}

function sweepSpec(opts: Options): SweepSpec {
  if (opts.seeds === undefined) throw new UsageError('--seeds is required, e.g. --seeds 1..4');
  const gridEntries = [...(opts.grid ?? [])];
  try {
    const seeds = parseSeeds(opts.seeds);
    const grid = parseGrid(gridEntries);
    const base: Settings = {};
    const baseArgs: string[] = [];
    for (const key of BASE_OPTIONS) {
      const value = opts[key];
      if (value === undefined || value === false) continue;
      if (grid.some((g) => g.key === key)) throw new UsageError(`--${key} and --grid ${key}=... are both given; keep one`);
      base[key] = value;
      baseArgs.push(...(value === true ? [`--${key}`] : [`--${key}`, value]));
    }
    // Check every point's setup now: a bad value fails the sweep before any training starts.
    const count = pointCount(seeds, grid);
    for (let i = 0; i < count; i++) {
      const point = pointAt(seeds, grid, i);
      pointTraining(effectiveSettings(base, point), point.seed, `point ${i} (seed ${point.seed}${Object.entries(point.settings).map(([k, v]) => `, ${k}=${v}`).join('')})`);
    }
    return { id: sweepId(seeds, grid, base), seedsText: opts.seeds, seeds, gridEntries, grid, base, baseArgs };
  } catch (err) {
    if (err instanceof SweepPlanError) throw new UsageError(err.message);
    throw err;
  }
}

/** The arguments that define the sweep, as every point (local process or Job pod) receives them. */
function sweepArgs(spec: SweepSpec, out: string): string[] {
  return ['--seeds', spec.seedsText, ...spec.gridEntries.flatMap((g) => ['--grid', g]), ...spec.baseArgs, '--out', out];
}

async function runIndex(spec: SweepSpec, index: number, sweepDir: string): Promise<number> {
  const points = pointCount(spec.seeds, spec.grid);
  let point;
  try {
    point = pointAt(spec.seeds, spec.grid, index);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  console.error(`${spec.id}: point ${index} of ${points}: seed ${point.seed}${Object.entries(point.settings).map(([k, v]) => `, ${k}=${v}`).join('')}`);
  const result = await trainPoint({ sweep: spec.id, points, point, base: spec.base, sweepDir });
  // The one line on stdout: what the sweep table (or `kubectl logs`) collects.
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

function emitIndexedJob(spec: SweepSpec, opts: Options): number {
  if (opts.emit !== 'indexed-job') throw new UsageError(`--emit must be indexed-job, got ${JSON.stringify(opts.emit)}`);
  if (!opts.pvc) throw new UsageError('--emit indexed-job needs --pvc NAME: the PersistentVolumeClaim the checkpoint folders go to');
  const mountPath = opts['mount-path'];
  if (!path.posix.isAbsolute(mountPath)) throw new UsageError(`--mount-path must be an absolute path, got ${JSON.stringify(mountPath)}`);
  const completions = pointCount(spec.seeds, spec.grid);
  let manifest;
  try {
    manifest = indexedJobManifest({
      name: opts['job-name'] ?? spec.id,
      namespace: opts.namespace,
      image: opts.image,
      pvc: opts.pvc,
      mountPath,
      completions,
      parallelism: positiveInt(opts.parallel, 'parallel', completions),
      backoffLimitPerIndex: opts['backoff-limit-per-index'] === undefined ? 1 : indexOf(opts['backoff-limit-per-index'], '--backoff-limit-per-index'),
      sweepArgs: sweepArgs(spec, path.posix.join(mountPath, spec.id)),
      labels: { 'rl-autoscaler/sweep': spec.id },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const text = stringify(manifest, { aliasDuplicateObjects: false });
  if (opts.manifest) {
    fs.writeFileSync(opts.manifest, text);
    console.error(`${spec.id}: ${completions} points; Indexed Job manifest written to ${opts.manifest}`);
  } else process.stdout.write(text);
  return 0;
}

async function runLocally(spec: SweepSpec, opts: Options, sweepDir: string): Promise<number> {
  const points = sweepPoints(spec.seeds, spec.grid);
  const parallel = positiveInt(opts.parallel, 'parallel', os.availableParallelism());
  console.log(`${spec.id}: ${points.length} point${points.length === 1 ? '' : 's'}, ${Math.min(parallel, points.length)} at a time, into ${sweepDir}`);
  const started = performance.now();
  const rows = await runPointsLocally({
    sweep: spec.id,
    sweepDir,
    points,
    args: sweepArgs(spec, sweepDir),
    parallel,
    onPoint: (row) =>
      console.error(isFailure(row) ? `point ${row.index} FAILED: ${row.error}` : `point ${row.index} seed ${row.seed}: fraction of optimum ${row.fractionOfOptimum.toFixed(4)} in ${row.seconds.toFixed(1)} s`),
  });
  const seconds = (performance.now() - started) / 1000;
  const files = writeSummary(sweepDir, rows, spec.grid, { sweep: spec.id, seeds: spec.seeds, base: spec.base, parallel, seconds });
  console.log(formatMarkdown(rows, spec.grid));
  const failed = rows.filter(isFailure).length;
  console.log(`${rows.length - failed}/${rows.length} points trained in ${seconds.toFixed(1)} s; summary: ${files.markdown}, ${files.csv}, ${files.json}`);
  return failed === 0 ? 0 : 1;
}

export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, SWEEP.options);
  const spec = sweepSpec(opts);
  if (opts.emit !== undefined) {
    if (opts.index !== undefined) throw new UsageError('--index and --emit go separately: --emit writes the Job whose pods run --index');
    if (opts.out !== undefined) throw new UsageError('--out does not apply to --emit: the sweep folder is <mount-path>/<sweep-id> on the claim');
    return emitIndexedJob(spec, opts);
  }
  const sweepDir = path.resolve(opts.out ?? path.join(DEFAULT_CHECKPOINT_ROOT, spec.id));
  const indexText = opts.index ?? process.env.JOB_COMPLETION_INDEX;
  if (indexText !== undefined) return runIndex(spec, indexOf(indexText, opts.index !== undefined ? '--index' : 'JOB_COMPLETION_INDEX'), sweepDir);
  // Here the dataset must be readable before the points start (a Job's pods read it in the image or on the claim).
  const data = spec.base.data ?? spec.grid.find((g) => g.key === 'data')?.values[0];
  if (typeof data === 'string' && !fs.existsSync(data)) throw new UsageError(`--data ${data} does not exist`);
  return runLocally(spec, opts, sweepDir);
}

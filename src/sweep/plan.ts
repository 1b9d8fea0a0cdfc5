/**
 * A sweep's plan: seeds x grid, as an ordered list of points. Point `i` is the same point wherever
 * it runs (locally, or as index `i` of a Kubernetes Indexed Job), so the order is part of the
 * contract: seeds outermost, then the grid keys in the order given, the last key varying fastest
 * (like nested loops, or Python's itertools.product(seeds, *values)).
 */
import { createHash } from 'node:crypto';
import { PPO_DEFAULTS, type PpoConfig } from '../agent/ppo-config';

/** One setting's value, in the vocabulary of the command line (`--steps 2048`, `--no-mask`). */
export type SettingValue = string | number | boolean | null;
export type Settings = Record<string, SettingValue>;

/** The `train` options a grid may vary (seed and out belong to the sweep itself). */
const TRAIN_GRID_KEYS: Record<string, 'string' | 'int' | 'boolean'> = {
  preset: 'string',
  steps: 'int',
  start: 'string',
  reward: 'string',
  'no-mask': 'boolean',
  'data-rate': 'string',
};

/** PPO hyperparameters a grid may vary, by their kebab-case name: every scalar of the config that `train` does not already name. */
const PPO_GRID_KEYS: Record<string, keyof PpoConfig> = Object.fromEntries(
  (Object.keys(PPO_DEFAULTS) as (keyof PpoConfig)[])
    .filter((k) => !['seed', 'totalSteps', 'maskActions', 'start', 'hidden'].includes(k))
    .filter((k) => ['number', 'boolean', 'string'].includes(typeof PPO_DEFAULTS[k]) || PPO_DEFAULTS[k] === null)
    .map((k) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), k]),
);

/** PPO hyperparameters whose values are names: the choices, checked when the grid is read. */
const PPO_CHOICES: Partial<Record<keyof PpoConfig, readonly string[]>> = {
  activation: ['tanh', 'relu'],
  normalizeAdvantages: ['minibatch', 'batch', 'none'],
  valueClipMode: ['old-value', 'loss'],
};

/** PPO hyperparameters that may be switched off (null), written `none` in a grid. */
const PPO_NULLABLE: readonly (keyof PpoConfig)[] = ['maxGradNorm', 'valueClip', 'targetKl'];

/** Every key `--grid` accepts, sorted. */
export const GRID_KEYS: readonly string[] = [...Object.keys(TRAIN_GRID_KEYS), ...Object.keys(PPO_GRID_KEYS)].sort();

export class SweepPlanError extends Error {
  override name = 'SweepPlanError';
}

/** The PPO config field a grid key sets, if it is a hyperparameter (not a `train` option). */
export function ppoKeyOf(key: string): keyof PpoConfig | undefined {
  return PPO_GRID_KEYS[key];
}

/** `1..4`, `3`, `1,5,9` or a mix (`1..3,10`): distinct integer seeds in the order written. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(-?\d+)\.\.(-?\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new SweepPlanError(`--seeds: the range ${part} is empty (it must go upwards)`);
      if (to - from >= 10_000) throw new SweepPlanError(`--seeds: the range ${part} has more than 10000 seeds`);
      for (let s = from; s <= to; s++) seeds.push(s);
    } else if (/^-?\d+$/.test(part)) seeds.push(Number(part));
    else throw new SweepPlanError(`--seeds must be like 1..8 or 1,2,5, got ${JSON.stringify(text)} (${JSON.stringify(part)} is neither an integer nor a range)`);
  }
  const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (repeated !== undefined) throw new SweepPlanError(`--seeds: seed ${repeated} appears twice`);
  return seeds;
}

function parseValue(key: string, text: string): SettingValue {
  const kind = TRAIN_GRID_KEYS[key];
  const ppoKey = PPO_GRID_KEYS[key];
  const choices = ppoKey ? PPO_CHOICES[ppoKey] : undefined;
  if (choices && !choices.includes(text)) throw new SweepPlanError(`--grid ${key}: values must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
  if (ppoKey && PPO_NULLABLE.includes(ppoKey) && text === 'none') return null;
  const expected: string | undefined = kind ?? (ppoKey ? (PPO_DEFAULTS[ppoKey] === null ? 'number' : typeof PPO_DEFAULTS[ppoKey]) : undefined);
  if (expected === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new SweepPlanError(`--grid ${key}: values must be true or false, got ${JSON.stringify(text)}`);
    return text === 'true';
  }
  if (expected === 'int' || expected === 'number') {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || (expected === 'int' && !Number.isInteger(n))) {
      throw new SweepPlanError(`--grid ${key}: values must be ${expected === 'int' ? 'integers' : 'numbers'}, got ${JSON.stringify(text)}`);
    }
    return n;
  }
  if (text === '') throw new SweepPlanError(`--grid ${key}: an empty value`);
  return text;
}

/** The grid as written: `key=v1,v2` per entry; keys checked against the training options. */
export type Grid = { key: string; values: SettingValue[] }[];

/** Parses `--grid key=v1,v2,...` entries (a key once; values split on commas unless the key's values contain them, like `start=config:1,500,500`, which takes `|`). */
export function parseGrid(entries: readonly string[]): Grid {
  const grid: Grid = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new SweepPlanError(`--grid must be key=v1,v2,..., got ${JSON.stringify(entry)}`);
    const key = entry.slice(0, eq).trim();
    if (!GRID_KEYS.includes(key)) {
      throw new SweepPlanError(`--grid: unknown training option ${JSON.stringify(key)}; a grid may vary ${GRID_KEYS.join(', ')}`);
    }
    if (grid.some((g) => g.key === key)) throw new SweepPlanError(`--grid: ${key} is given twice; list all its values in one entry`);
    const rest = entry.slice(eq + 1);
    const texts = rest.includes('|') ? rest.split('|') : rest.split(',');
    const values = texts.map((t) => parseValue(key, t.trim()));
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) throw new SweepPlanError(`--grid ${key}: value ${JSON.stringify(repeated)} appears twice`);
    grid.push({ key, values });
  }
  return grid;
}

/** One training of the sweep. `settings` holds the grid's values only (the base is the sweep's). */
export interface SweepPoint {
  index: number;
  seed: number;
  settings: Settings;
}

/** Number of points: seeds x the product of the grid's value counts. */
export function pointCount(seeds: readonly number[], grid: Grid): number {
  return grid.reduce((n, g) => n * g.values.length, seeds.length);
}

/** Point `index` (0-based) in the documented order, without listing the others. */
export function pointAt(seeds: readonly number[], grid: Grid, index: number): SweepPoint {
  const count = pointCount(seeds, grid);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new SweepPlanError(`point index ${index} is out of range: this sweep has ${count} point${count === 1 ? '' : 's'} (0..${count - 1})`);
  }
  let rest = index;
  const settings: Settings = {};
  for (let k = grid.length - 1; k >= 0; k--) {
    const { key, values } = grid[k];
    settings[key] = values[rest % values.length];
    rest = Math.floor(rest / values.length);
  }
  const ordered: Settings = {};
  for (const { key } of grid) ordered[key] = settings[key];
  return { index, seed: seeds[rest], settings: ordered };
}

/** Every point, in order. */
export function sweepPoints(seeds: readonly number[], grid: Grid): SweepPoint[] {
  return Array.from({ length: pointCount(seeds, grid) }, (_, i) => pointAt(seeds, grid, i));
}

/** A short id naming the sweep by what it trains (seeds, grid and base settings), stable across runs. */
export function sweepId(seeds: readonly number[], grid: Grid, base: Settings): string {
  const canonical = JSON.stringify({ seeds, grid, base: Object.fromEntries(Object.entries(base).sort(([a], [b]) => a.localeCompare(b))) });
  return `sweep-${createHash('sha256').update(canonical).digest('hex').slice(0, 10)}`;
}

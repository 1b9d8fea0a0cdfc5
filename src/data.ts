/**
 * Loads and validates the recorded TeaStore dataset (data/teastore_data.csv).
 *
 * The file is whitespace-separated with a 17-token header that repeats names (re heap cpu ...
 * cpu ... re heap cpu). Columns are therefore matched by position against the exact expected
 * header once, here, and exposed under names that say what they mean.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ACTION_COUNT, CONFIG_COUNT, LEVELS, configIndex } from './space';
import { isDatasetV2, parseDatasetV2, tableFromDatasetV2 } from './dataset-v2';

export const DEFAULT_DATA_PATH = path.resolve(__dirname, '..', 'data', 'teastore_data.csv');

export const EXPECTED_HEADER = [
  're', 'heap', 'cpu', 'inc_tps', 'out_tps', 'max_sess', 'curr_sess', 'cpu', 'ram', 'cost',
  'goodness', 'reward', 're', 'heap', 'cpu', 'actionstate', 'Qvalue',
] as const;

/** Meaningful name of each file column, in file order. */
export const COLUMN_NAMES = [
  'replicas', 'heapMB', 'cpuMillis', 'incomingPacketsPerSec', 'outgoingPacketsPerSec',
  'maxSessionRate', 'currentSessionRate', 'usedCpuCores', 'usedRamGiB', 'costPerHour',
  'goodness', 'loggedReward', 'nextReplicas', 'nextHeapMB', 'nextCpuCores', 'actionState', 'qValue',
] as const;

export type NumericColumn = Exclude<(typeof COLUMN_NAMES)[number], 'actionState'>;
const NAN_ALLOWED = new Set<string>(['incomingPacketsPerSec', 'outgoingPacketsPerSec']);
const NUMBER_PATTERN = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const INFINITY_PATTERN = /^[-+]?inf(inity)?$/i;

/**
 * What a value of each numeric column can physically be. Every value must also be finite; NaN is
 * allowed only in the two packet-rate columns (the original's query returned nothing there).
 * - grid: a knob setting, `unit` x 1..LEVELS (the next CPU limit is logged in cores, unit 0.1);
 * - count: a non-negative integer (HAProxy's session rates, parsed as integers by the recorder);
 * - nonNegative: a rate, usage or cost, >= 0;
 * - any: a signed score (goodness, its difference, the Q estimate).
 */
type ColumnRule = { kind: 'grid'; unit: number } | { kind: 'count' } | { kind: 'nonNegative' } | { kind: 'any' };
export const COLUMN_RULES: Readonly<Record<NumericColumn, ColumnRule>> = {
  replicas: { kind: 'grid', unit: 1 },
  heapMB: { kind: 'grid', unit: 100 },
  cpuMillis: { kind: 'grid', unit: 100 },
  incomingPacketsPerSec: { kind: 'nonNegative' },
  outgoingPacketsPerSec: { kind: 'nonNegative' },
  maxSessionRate: { kind: 'count' },
  currentSessionRate: { kind: 'count' },
  usedCpuCores: { kind: 'nonNegative' },
  usedRamGiB: { kind: 'nonNegative' },
  costPerHour: { kind: 'nonNegative' },
  goodness: { kind: 'any' },
  loggedReward: { kind: 'any' },
  nextReplicas: { kind: 'grid', unit: 1 },
  nextHeapMB: { kind: 'grid', unit: 100 },
  nextCpuCores: { kind: 'grid', unit: 0.1 },
  qValue: { kind: 'any' },
};

/** `prevReplicas-prevHeapMB-prevCpuMillis-prevAction`, each on its grid, the action one of 0..6. */
const ACTION_STATE_PATTERN = new RegExp(`^[1-${LEVELS}]-[1-${LEVELS}]00-[1-${LEVELS}]00-[0-${ACTION_COUNT - 1}]$`);

export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: string,
    readonly value?: string,
  ) {
    super(message);
  }
}

/** The dataset as columns (typed arrays), plus an index from configuration to its rows. */
export interface TeastoreTable {
  file: string;
  sha256: string;
  rowCount: number;
  replicas: Uint8Array;
  cpuMillis: Uint16Array;
  heapMB: Uint16Array;
  /** Mean received packets/s per pod (NaN where the original query returned nothing). */
  incomingPacketsPerSec: Float64Array;
  /** Mean transmitted packets/s per pod (NaN where the original query returned nothing). */
  outgoingPacketsPerSec: Float64Array;
  maxSessionRate: Float64Array;
  currentSessionRate: Float64Array;
  usedCpuCores: Float64Array;
  usedRamGiB: Float64Array;
  /** Logged cost in USD/hour: (usedRam*0.004237 + usedCpu*0.031611) * replicas. */
  costPerHour: Float64Array;
  goodness: Float64Array;
  /** The generator's own reward (goodness difference), kept for reference only. */
  loggedReward: Float64Array;
  nextReplicas: Uint8Array;
  nextHeapMB: Uint16Array;
  nextCpuCores: Float64Array;
  actionState: string[];
  qValue: Float64Array;
  /** Config index (see space.configIndex) of each row. */
  config: Uint16Array;
  /** Rows of config c are rowsOfConfig[configStart[c] .. configStart[c+1]). */
  configStart: Int32Array;
  rowsOfConfig: Int32Array;
}

function invalid(file: string, line: number, column: string, token: string, why: string): DatasetError {
  return new DatasetError(`${file}:${line}: column ${column}: ${token} ${why}`, file, line, column, token);
}

/** `value` is unit x k for an integer k in 1..LEVELS (exactly; within rounding for the 0.1-core unit). */
function onGrid(value: number, unit: number): boolean {
  const level = Math.round(value / unit);
  const tolerance = Number.isInteger(unit) ? 0 : 1e-9 * unit;
  return level >= 1 && level <= LEVELS && Math.abs(value - level * unit) <= tolerance;
}

function parseNumber(token: string, column: NumericColumn, file: string, line: number): number {
  if (token === 'NaN') {
    if (NAN_ALLOWED.has(column)) return Number.NaN;
    throw new DatasetError(`${file}:${line}: column ${column}: NaN is not allowed here (only in incomingPacketsPerSec/outgoingPacketsPerSec)`, file, line, column, token);
  }
  if (INFINITY_PATTERN.test(token)) throw invalid(file, line, column, token, 'is infinite; every value must be finite');
  if (!NUMBER_PATTERN.test(token)) {
    throw new DatasetError(`${file}:${line}: column ${column}: ${JSON.stringify(token)} is not a number`, file, line, column, token);
  }
  const value = Number(token);
  if (!Number.isFinite(value)) throw invalid(file, line, column, token, 'is infinite (out of the double range); every value must be finite');
  const rule = COLUMN_RULES[column];
  switch (rule.kind) {
    case 'grid':
      if (!onGrid(value, rule.unit)) {
        const step = rule.unit < 1 ? rule.unit.toFixed(1) : String(rule.unit);
        const top = rule.unit < 1 ? (rule.unit * LEVELS).toFixed(1) : String(rule.unit * LEVELS);
        throw invalid(file, line, column, token, `is not on the grid ${step}..${top} step ${step}`);
      }
      break;
    case 'count':
      if (value < 0 || !Number.isInteger(value)) throw invalid(file, line, column, token, 'is not a non-negative integer (a session rate is a whole count)');
      break;
    case 'nonNegative':
      if (value < 0) throw invalid(file, line, column, token, 'is negative (a rate, usage or cost cannot be)');
      break;
    case 'any':
      break;
  }
  return value;
}

/** Each row's configuration index, and the rows of each configuration (see TeastoreTable). */
export function indexByConfig(replicas: ArrayLike<number>, cpuMillis: ArrayLike<number>, heapMB: ArrayLike<number>): Pick<TeastoreTable, 'config' | 'configStart' | 'rowsOfConfig'> {
  const n = replicas.length;
  const config = new Uint16Array(n);
  const counts = new Int32Array(CONFIG_COUNT + 1);
  for (let i = 0; i < n; i++) {
    config[i] = configIndex({ replicas: replicas[i], cpuMillis: cpuMillis[i], heapMB: heapMB[i] });
    counts[config[i] + 1]++;
  }
  const configStart = new Int32Array(CONFIG_COUNT + 1);
  for (let c = 0; c < CONFIG_COUNT; c++) configStart[c + 1] = configStart[c] + counts[c + 1];
  const fill = configStart.slice(0, CONFIG_COUNT);
  const rowsOfConfig = new Int32Array(n);
  for (let i = 0; i < n; i++) rowsOfConfig[fill[config[i]]++] = i;
  return { config, configStart, rowsOfConfig };
}

/** Parses and validates the dataset text. `file` names the source in error messages. */
export function parseTeastoreData(text: string, file = '<memory>'): TeastoreTable {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0 || lines[0].trim() === '') throw new DatasetError(`${file}: the file is empty (expected a header line)`, file, 1);
  const header = lines[0].trim().split(/\s+/);
  if (header.join(' ') !== EXPECTED_HEADER.join(' ')) {
    throw new DatasetError(
      `${file}:1: unexpected header ${JSON.stringify(header.join(' '))}; expected ${JSON.stringify(EXPECTED_HEADER.join(' '))}`,
      file, 1, 'header', lines[0],
    );
  }
  const n = lines.length - 1;
  if (n === 0) throw new DatasetError(`${file}: the file has a header but no data rows`, file, 2);

  const numeric: Record<NumericColumn, Float64Array> = {} as Record<NumericColumn, Float64Array>;
  for (const name of COLUMN_NAMES) if (name !== 'actionState') numeric[name] = new Float64Array(n);
  const actionState: string[] = new Array(n);

  for (let i = 0; i < n; i++) {
    const lineNo = i + 2;
    const tokens = lines[i + 1].trim().split(/\s+/);
    if (tokens.length !== COLUMN_NAMES.length) {
      throw new DatasetError(`${file}:${lineNo}: expected ${COLUMN_NAMES.length} fields, found ${tokens.length}`, file, lineNo, undefined, lines[i + 1]);
    }
    for (let c = 0; c < COLUMN_NAMES.length; c++) {
      const name = COLUMN_NAMES[c];
      if (name === 'actionState') {
        if (!ACTION_STATE_PATTERN.test(tokens[c])) {
          throw invalid(file, lineNo, name, tokens[c], `is not prevReplicas-prevHeapMB-prevCpuMillis-prevAction (replicas 1..${LEVELS}, heap and CPU 100..${100 * LEVELS} step 100, action 0..${ACTION_COUNT - 1})`);
        }
        actionState[i] = tokens[c];
      } else numeric[name][i] = parseNumber(tokens[c], name, file, lineNo);
    }
  }

  const { config, configStart, rowsOfConfig } = indexByConfig(numeric.replicas, numeric.cpuMillis, numeric.heapMB);

  return {
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    rowCount: n,
    replicas: Uint8Array.from(numeric.replicas),
    cpuMillis: Uint16Array.from(numeric.cpuMillis),
    heapMB: Uint16Array.from(numeric.heapMB),
    incomingPacketsPerSec: numeric.incomingPacketsPerSec,
    outgoingPacketsPerSec: numeric.outgoingPacketsPerSec,
    maxSessionRate: numeric.maxSessionRate,
    currentSessionRate: numeric.currentSessionRate,
    usedCpuCores: numeric.usedCpuCores,
    usedRamGiB: numeric.usedRamGiB,
    costPerHour: numeric.costPerHour,
    goodness: numeric.goodness,
    loggedReward: numeric.loggedReward,
    nextReplicas: Uint8Array.from(numeric.nextReplicas),
    nextHeapMB: Uint16Array.from(numeric.nextHeapMB),
    nextCpuCores: numeric.nextCpuCores,
    actionState,
    qValue: numeric.qValue,
    config,
    configStart,
    rowsOfConfig,
  };
}

const cache = new Map<string, TeastoreTable>();

export interface LoadDataOptions {
  /** For a v2 (collected) dataset with several load levels: the offered load to replay, req/s. */
  offeredRps?: number;
}

/**
 * Reads and validates a dataset file (the bundled one by default): the recorded v1 format, or a
 * v2 file written by `rl-autoscaler collect` (dataset-v2.ts). Results are cached per path and level.
 */
export function loadTeastoreData(file: string = DEFAULT_DATA_PATH, options: LoadDataOptions = {}): TeastoreTable {
  const resolved = path.resolve(file);
  const key = options.offeredRps === undefined ? resolved : `${resolved}@${options.offeredRps}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(`${resolved}: cannot read the dataset (${code ?? String(err)})`, resolved);
  }
  const table = isDatasetV2(text) ? tableFromDatasetV2(parseDatasetV2(text, resolved), options.offeredRps) : parseTeastoreData(text, resolved);
  cache.set(key, table);
  return table;
}

/** One row as a plain object with meaningful names. */
export function rowRecord(table: TeastoreTable, row: number): Record<(typeof COLUMN_NAMES)[number], number | string> {
  const record = {} as Record<(typeof COLUMN_NAMES)[number], number | string>;
  for (const name of COLUMN_NAMES) record[name] = name === 'actionState' ? table.actionState[row] : (table[name] as ArrayLike<number>)[row];
  return record;
}

/** Mean of `values` over each configuration's rows, ignoring NaN (NaN where a config has none). */
export function meanByConfig(table: TeastoreTable, values: ArrayLike<number>): Float64Array {
  const means = new Float64Array(CONFIG_COUNT);
  for (let c = 0; c < CONFIG_COUNT; c++) {
    let sum = 0;
    let count = 0;
    for (let k = table.configStart[c]; k < table.configStart[c + 1]; k++) {
      const v = values[table.rowsOfConfig[k]];
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    means[c] = count > 0 ? sum / count : Number.NaN;
  }
  return means;
}

/**
 * The dataset as a danfojs-node DataFrame with meaningful column names, for notebooks.
 * danfojs-node is loaded on first use only: it is slow to import and the environments do not need it.
 */
export function toDataFrame(table: TeastoreTable): import('danfojs-node').DataFrame {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dfd = require('danfojs-node') as typeof import('danfojs-node');
  const columns: Record<string, unknown[]> = {};
  for (const name of COLUMN_NAMES) columns[name] = name === 'actionState' ? table.actionState : Array.from(table[name] as ArrayLike<number>);
  return new dfd.DataFrame(columns);
}

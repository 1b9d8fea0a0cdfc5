/**
 * Per-configuration statistics of the recorded dataset, for notebooks, plots and reports.
 *
 * Every statistic ignores NaN (the packet rates are NaN where the original query returned
 * nothing) and reports how many NaNs it skipped, so a mean over few real values stands out.
 */
import { COLUMN_NAMES, meanByConfig, type NumericColumn, type TeastoreTable } from './data';
import { CONFIG_COUNT, LEVELS, configFromIndex, configIndex, type ScalingConfig } from './space';

/** The numeric columns worth summarising per configuration. */
export const METRIC_COLUMNS = ['outgoingPacketsPerSec', 'incomingPacketsPerSec', 'usedCpuCores', 'usedRamGiB', 'costPerHour'] as const;
export type MetricColumn = (typeof METRIC_COLUMNS)[number];

/** Axis labels with units, one per metric. */
export const METRIC_LABELS: Readonly<Record<MetricColumn, string>> = {
  outgoingPacketsPerSec: 'throughput (outgoing packets/s per pod)',
  incomingPacketsPerSec: 'incoming packets/s per pod',
  usedCpuCores: 'used CPU (cores per pod)',
  usedRamGiB: 'used memory (GiB per pod)',
  costPerHour: 'cost (USD/hour)',
};

export interface ConfigStats extends ScalingConfig {
  config: number;
  rows: number;
  /** Rows whose outgoing packet rate is NaN (the classic reward is 0 there). */
  nanThroughputRows: number;
  meanThroughput: number;
  stdThroughput: number;
  meanCostPerHour: number;
  meanUsedCpuCores: number;
  meanUsedRamGiB: number;
  /** Expected step reward of moving to (or staying in) this configuration, when given. */
  meanReward?: number;
}

function meanAndStd(table: TeastoreTable, values: ArrayLike<number>, config: number): { mean: number; std: number; nan: number } {
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  let nan = 0;
  for (let k = table.configStart[config]; k < table.configStart[config + 1]; k++) {
    const v = values[table.rowsOfConfig[k]];
    if (Number.isNaN(v)) {
      nan++;
      continue;
    }
    sum += v;
    sumSq += v * v;
    count++;
  }
  const mean = count > 0 ? sum / count : Number.NaN;
  const std = count > 1 ? Math.sqrt(Math.max(0, (sumSq - count * mean * mean) / (count - 1))) : Number.NaN;
  return { mean, std, nan };
}

/** One row of statistics per configuration, in config-index order. */
export function configStatistics(table: TeastoreTable, expectedReward?: ArrayLike<number>): ConfigStats[] {
  const cost = meanByConfig(table, table.costPerHour);
  const cpu = meanByConfig(table, table.usedCpuCores);
  const ram = meanByConfig(table, table.usedRamGiB);
  const stats: ConfigStats[] = [];
  for (let c = 0; c < CONFIG_COUNT; c++) {
    const throughput = meanAndStd(table, table.outgoingPacketsPerSec, c);
    stats.push({
      config: c,
      ...configFromIndex(c),
      rows: table.configStart[c + 1] - table.configStart[c],
      nanThroughputRows: throughput.nan,
      meanThroughput: throughput.mean,
      stdThroughput: throughput.std,
      meanCostPerHour: cost[c],
      meanUsedCpuCores: cpu[c],
      meanUsedRamGiB: ram[c],
      ...(expectedReward ? { meanReward: expectedReward[c] } : {}),
    });
  }
  return stats;
}

/** Summary of one column: every statistic is over its non-NaN values only. */
export interface ValueSummary {
  /** Non-NaN values, the ones the statistics are computed from. */
  count: number;
  /** NaN values, skipped. */
  nanCount: number;
  mean: number;
  /** Sample standard deviation (n - 1), as pandas and danfojs compute it; NaN below 2 values. */
  std: number;
  min: number;
  /** Quartiles by linear interpolation between the sorted values (pandas' default). */
  q25: number;
  median: number;
  q75: number;
  max: number;
}

export interface ColumnSummary extends ValueSummary {
  column: NumericColumn;
}

/** Quantile q of ascending `sorted` values, interpolating linearly at position (n - 1) * q. */
function quantileOfSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** Count, NaN count, mean, std, min, quartiles and max of `values`, skipping NaN. */
export function summarizeValues(values: ArrayLike<number>): ValueSummary {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) kept.push(values[i]);
  const sorted = Float64Array.from(kept).sort();
  const count = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = count > 0 ? sum / count : Number.NaN;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) * (v - mean);
  return {
    count,
    nanCount: values.length - count,
    mean,
    std: count > 1 ? Math.sqrt(squares / (count - 1)) : Number.NaN,
    min: count > 0 ? sorted[0] : Number.NaN,
    q25: quantileOfSorted(sorted, 0.25),
    median: quantileOfSorted(sorted, 0.5),
    q75: quantileOfSorted(sorted, 0.75),
    max: count > 0 ? sorted[count - 1] : Number.NaN,
  };
}

/**
 * A describe() table of the given columns, one record per column: the statistics over the
 * non-NaN values, how many those are (`count`) and how many NaNs were skipped (`nanCount`).
 * danfojs's DataFrame.describe counts non-NaN values too, but lets NaN through into the mean,
 * std and median, so it has no summary at all for the packet rates.
 */
export function describeColumns(table: TeastoreTable, columns: readonly NumericColumn[]): ColumnSummary[] {
  return columns.map((column) => ({ column, ...summarizeValues(table[column]) }));
}

/** NaN count of every numeric column (the text column `actionState` is left out). */
export function nanCounts(table: TeastoreTable): { column: string; nanRows: number; percent: number }[] {
  const counts: { column: string; nanRows: number; percent: number }[] = [];
  for (const name of COLUMN_NAMES) {
    if (name === 'actionState') continue;
    const values = table[name] as ArrayLike<number>;
    let n = 0;
    for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) n++;
    counts.push({ column: name, nanRows: n, percent: (100 * n) / table.rowCount });
  }
  return counts;
}

/**
 * A per-configuration value laid out as a CPU x heap grid for one replica count:
 * grid[heapLevel-1][cpuLevel-1], the orientation plotly heatmaps expect (rows are y).
 */
export function cpuHeapGrid(valueOfConfig: ArrayLike<number>, replicas: number): number[][] {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > LEVELS) throw new RangeError(`replicas ${replicas} is not one of 1..${LEVELS}`);
  const grid: number[][] = [];
  for (let heap = 1; heap <= LEVELS; heap++) {
    const row: number[] = [];
    for (let cpu = 1; cpu <= LEVELS; cpu++) row.push(valueOfConfig[configIndex({ replicas, cpuMillis: cpu * 100, heapMB: heap * 100 })]);
    grid.push(row);
  }
  return grid;
}

/** The `count` configurations with the highest value, best first. */
export function topConfigs(valueOfConfig: ArrayLike<number>, count: number): { config: ScalingConfig; value: number }[] {
  const order = Array.from({ length: valueOfConfig.length }, (_, c) => c).filter((c) => !Number.isNaN(valueOfConfig[c]));
  order.sort((a, b) => valueOfConfig[b] - valueOfConfig[a]);
  return order.slice(0, count).map((c) => ({ config: configFromIndex(c), value: valueOfConfig[c] }));
}

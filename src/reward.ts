/**
 * Named, versioned reward functions.
 *
 * A reward maps one measurement of the running system (from a dataset row offline, from
 * Prometheus live) to a number. Normalisers come from the dataset and are recorded with every run,
 * so offline and live rewards mean the same thing.
 */
import type { TeastoreTable } from './data';
import type { Measurement } from './measurement';

/** Min/max over the dataset (NaN ignored) used to scale throughput and cost to [0, 1]. */
export interface RewardNormalisers {
  outgoingMin: number;
  outgoingMax: number;
  totalOutgoingMin: number;
  totalOutgoingMax: number;
  costMin: number;
  costMax: number;
}

export type RewardName = 'classic' | 'total-throughput';
export const REWARD_NAMES: readonly RewardName[] = ['classic', 'total-throughput'];

export interface RewardFunction {
  name: string;
  version: number;
  /** Everything the value depends on, recorded with each run. */
  params: Record<string, number | string>;
  /** Paid for a move that would leave the bounds (the move is refused). */
  invalidPenalty: number;
  compute(m: Measurement): number;
}

export const DEFAULT_INVALID_PENALTY = -5;

function minMax(values: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

export function datasetNormalisers(table: TeastoreTable): RewardNormalisers {
  const total = table.outgoingPacketsPerSec.map((v, i) => v * table.replicas[i]);
  const [outgoingMin, outgoingMax] = minMax(table.outgoingPacketsPerSec);
  const [totalOutgoingMin, totalOutgoingMax] = minMax(total);
  const [costMin, costMax] = minMax(table.costPerHour);
  return { outgoingMin, outgoingMax, totalOutgoingMin, totalOutgoingMax, costMin, costMax };
}

const scale = (v: number, min: number, max: number) => (v - min) / (max - min);

export interface RewardOptions {
  invalidPenalty?: number;
}

/**
 * Normalised throughput minus normalised cost; 0 when outgoing packets/s was not measured (NaN).
 * The two built-in rewards differ only in what counts as throughput.
 */
function throughputMinusCost(
  name: RewardName,
  norm: RewardNormalisers,
  options: RewardOptions,
  throughput: (m: Measurement) => number,
  range: [min: number, max: number],
): RewardFunction {
  const invalidPenalty = options.invalidPenalty ?? DEFAULT_INVALID_PENALTY;
  return {
    name,
    version: 1,
    params: { ...norm, invalidPenalty },
    invalidPenalty,
    compute(m) {
      if (Number.isNaN(m.outgoingPacketsPerSec)) return 0;
      return scale(throughput(m), range[0], range[1]) - scale(m.costPerHour, norm.costMin, norm.costMax);
    },
  };
}

/** The original offline reward: normalised per-pod outgoing packets/s minus normalised cost. */
export function classicReward(norm: RewardNormalisers, options: RewardOptions = {}): RewardFunction {
  return throughputMinusCost('classic', norm, options, (m) => m.outgoingPacketsPerSec, [norm.outgoingMin, norm.outgoingMax]);
}

/**
 * Like classic, but with total throughput (per-pod packets/s x replicas), so adding a replica is
 * no longer punished twice (once by cost, once by the lower per-pod average).
 */
export function totalThroughputReward(norm: RewardNormalisers, options: RewardOptions = {}): RewardFunction {
  return throughputMinusCost('total-throughput', norm, options, (m) => m.outgoingPacketsPerSec * m.config.replicas, [norm.totalOutgoingMin, norm.totalOutgoingMax]);
}

export function makeReward(name: RewardName, norm: RewardNormalisers, options: RewardOptions = {}): RewardFunction {
  switch (name) {
    case 'classic':
      return classicReward(norm, options);
    case 'total-throughput':
      return totalThroughputReward(norm, options);
    default:
      throw new Error(`unknown reward ${JSON.stringify(name)}; expected one of ${REWARD_NAMES.join(', ')}`);
  }
}

/** The measurement a dataset row records (cost as logged). */
export function measurementOfRow(table: TeastoreTable, row: number): Measurement {
  return {
    config: { replicas: table.replicas[row], cpuMillis: table.cpuMillis[row], heapMB: table.heapMB[row] },
    incomingPacketsPerSec: table.incomingPacketsPerSec[row],
    outgoingPacketsPerSec: table.outgoingPacketsPerSec[row],
    usedCpuCores: table.usedCpuCores[row],
    usedRamGiB: table.usedRamGiB[row],
    costPerHour: table.costPerHour[row],
  };
}

/** The reward of every dataset row, for the offline environments and the exact solvers. */
export function rowRewards(table: TeastoreTable, reward: RewardFunction): Float64Array {
  const out = new Float64Array(table.rowCount);
  for (let row = 0; row < table.rowCount; row++) out[row] = reward.compute(measurementOfRow(table, row));
  return out;
}

/** A reward's identity for run metadata. */
export function describeReward(reward: RewardFunction): { name: string; version: number; params: Record<string, number | string> } {
  return { name: reward.name, version: reward.version, params: reward.params };
}

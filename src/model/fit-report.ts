/**
 * The fit report: for every configuration, the dataset's means beside the model's predictions at
 * the dataset's offered rate, and per metric the R-squared and median absolute percentage error,
 * plus the Spearman correlation of the classic reward's ranking of configurations. Anyone can
 * recompute the statistics from the rows.
 */
import type { TeastoreTable } from '../data';
import { costPerHour } from '../measurement';
import { classicReward, datasetNormalisers } from '../reward';
import type { ScalingConfig } from '../space';
import { configMeans, DATASET_OFFERED_RPS } from './dataset-means';
import { medianAbsPercentError, rSquared, spearman } from './statistics';
import type { PerformanceModel } from './types';

export const FIT_METRICS = ['cpuCores', 'memoryGiB', 'outPacketsPerSec', 'totalOutPacketsPerSec', 'inPacketsPerSec', 'classicReward'] as const;
export type FitMetric = (typeof FIT_METRICS)[number];

export type MetricValues = Record<FitMetric, number>;

export interface FitRow {
  config: ScalingConfig;
  rows: number;
  data: MetricValues;
  model: MetricValues;
}

export interface MetricFit {
  metric: FitMetric;
  rSquared: number;
  medianAbsPercentError: number;
}

export interface FitReport {
  offeredRps: number;
  dataSha256: string;
  metrics: MetricFit[];
  /** Spearman correlation of the configurations' classic rewards, data against model. */
  classicRewardSpearman: number;
  rows: FitRow[];
}

export function fitReport(model: PerformanceModel, table: TeastoreTable, offeredRps: number = DATASET_OFFERED_RPS): FitReport {
  const reward = classicReward(datasetNormalisers(table));
  const classic = (config: ScalingConfig, cpu: number, ram: number, out: number, inc: number) =>
    reward.compute({ config, usedCpuCores: cpu, usedRamGiB: ram, outgoingPacketsPerSec: out, incomingPacketsPerSec: inc, costPerHour: costPerHour(cpu, ram, config.replicas) });
  const rows: FitRow[] = configMeans(table)
    .filter((m) => Number.isFinite(m.cpuCores))
    .map((m) => {
      const p = model.predict(m.config, offeredRps);
      return {
        config: m.config,
        rows: m.rows,
        data: {
          cpuCores: m.cpuCores,
          memoryGiB: m.memoryGiB,
          outPacketsPerSec: m.outPacketsPerSec,
          totalOutPacketsPerSec: m.outPacketsPerSec * m.config.replicas,
          inPacketsPerSec: m.inPacketsPerSec,
          classicReward: classic(m.config, m.cpuCores, m.memoryGiB, m.outPacketsPerSec, m.inPacketsPerSec),
        },
        model: {
          cpuCores: p.cpuCores,
          memoryGiB: p.memoryGiB,
          outPacketsPerSec: p.transmittedPacketsPerSec,
          totalOutPacketsPerSec: p.transmittedPacketsPerSec * m.config.replicas,
          inPacketsPerSec: p.receivedPacketsPerSec,
          classicReward: classic(m.config, p.cpuCores, p.memoryGiB, p.transmittedPacketsPerSec, p.receivedPacketsPerSec),
        },
      };
    });
  const metrics = FIT_METRICS.map((metric) => {
    const observed = rows.map((r) => r.data[metric]);
    const predicted = rows.map((r) => r.model[metric]);
    return { metric, rSquared: rSquared(observed, predicted), medianAbsPercentError: medianAbsPercentError(observed, predicted) };
  });
  return {
    offeredRps,
    dataSha256: table.sha256,
    metrics,
    classicRewardSpearman: spearman(rows.map((r) => r.data.classicReward), rows.map((r) => r.model.classicReward)),
    rows,
  };
}

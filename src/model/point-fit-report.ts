/**
 * The fit report for collected points (dataset v2): every point's measurements beside the model's
 * predictions at the point's own offered load, with R-squared and median absolute percentage error
 * per metric. Latency is compared at unsaturated points only (a saturated point's latency is a
 * queue still filling, see point-calibration.ts); its cells are NaN elsewhere.
 */
import { planWindowS, type CollectedPoint, type DatasetV2 } from '../dataset-v2';
import type { ScalingConfig } from '../space';
import { pointRole, type PointRole } from './point-calibration';
import { medianAbsPercentError, rSquared } from './statistics';
import type { PerformanceModel } from './types';

export const POINT_FIT_METRICS = ['servedRps', 'failedRps', 'latencyP50Ms', 'latencyP95Ms', 'cpuCores', 'memoryGiB', 'outPacketsPerSec'] as const;
export type PointFitMetric = (typeof POINT_FIT_METRICS)[number];

export interface PointFitRow {
  point: number;
  config: ScalingConfig;
  offeredRps: number;
  role: PointRole;
  data: Record<PointFitMetric, number>;
  model: Record<PointFitMetric, number>;
}

export interface PointFitReport {
  dataSha256: string;
  metrics: { metric: PointFitMetric; rSquared: number; medianAbsPercentError: number }[];
  rows: PointFitRow[];
}

function measured(p: CollectedPoint, latency: boolean): Record<PointFitMetric, number> {
  return {
    servedRps: p.servedRps,
    failedRps: p.failedRps,
    latencyP50Ms: latency ? p.latencyMs.p50 : Number.NaN,
    latencyP95Ms: latency ? p.latencyMs.p95 : Number.NaN,
    cpuCores: p.usage.usedCpuCores,
    memoryGiB: p.usage.usedRamGiB,
    outPacketsPerSec: p.usage.outgoingPacketsPerSec,
  };
}

export function pointFitReport(model: PerformanceModel, dataset: DatasetV2): PointFitReport {
  const windowS = planWindowS(dataset);
  const rows: PointFitRow[] = dataset.points.map((p) => {
    const role = pointRole(p, windowS);
    const latency = role === 'unsaturated';
    const q = model.predict(p.config, p.offeredRps);
    return {
      point: p.point,
      config: p.config,
      offeredRps: p.offeredRps,
      role,
      data: measured(p, latency),
      model: {
        servedRps: q.servedRps,
        failedRps: q.failedRps,
        latencyP50Ms: latency ? q.latencyMs.p50 : Number.NaN,
        latencyP95Ms: latency ? q.latencyMs.p95 : Number.NaN,
        cpuCores: q.cpuCores,
        memoryGiB: q.memoryGiB,
        outPacketsPerSec: q.transmittedPacketsPerSec,
      },
    };
  });
  const metrics = POINT_FIT_METRICS.map((metric) => {
    const observed = rows.map((r) => r.data[metric]);
    const predicted = rows.map((r) => r.model[metric]);
    return { metric, rSquared: rSquared(observed, predicted), medianAbsPercentError: medianAbsPercentError(observed, predicted) };
  });
  return { dataSha256: dataset.sha256, metrics, rows };
}

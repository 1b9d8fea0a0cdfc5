/**
 * What one step measures of the running pods, declared once, and what it costs. The Prometheus
 * client (metric.ts) measures `PodUsage` per pod, `toStepMetrics` adds the deployment's cost to the
 * pods' mean, and a reward reads the result with the configuration (`Measurement`). A dataset row
 * records the same fields.
 */
import type { ScalingConfig } from './space';

/** Usage of one pod (or the mean over pods) over a measurement window. */
export interface PodUsage {
  incomingPacketsPerSec: number;
  outgoingPacketsPerSec: number;
  usedCpuCores: number;
  usedRamGiB: number;
}

/** A step's measurement: the pods' mean usage and the deployment's cost, USD/hour. */
export interface StepMetrics extends PodUsage {
  costPerHour: number;
}

/** One measurement of the system under a configuration; packet rates are per pod. */
export interface Measurement extends StepMetrics {
  config: ScalingConfig;
}

/** Prices of the original's kubecost table, USD per core-hour and per GiB-hour. */
const CPU_PRICE_PER_CORE_HOUR = 0.031611;
const RAM_PRICE_PER_GIB_HOUR = 0.004237;

/** Cost of running the deployment, USD/hour: (cpu*0.031611 + ram*0.004237) * replicas. */
export function costPerHour(usedCpuCores: number, usedRamGiB: number, replicas: number): number {
  return (usedCpuCores * CPU_PRICE_PER_CORE_HOUR + usedRamGiB * RAM_PRICE_PER_GIB_HOUR) * replicas;
}

/** A step's metrics from the pods' mean usage (cost from the mean usage and the replica count). */
export function toStepMetrics(mean: PodUsage, replicas: number): StepMetrics {
  const { incomingPacketsPerSec, outgoingPacketsPerSec, usedCpuCores, usedRamGiB } = mean;
  return { incomingPacketsPerSec, outgoingPacketsPerSec, usedCpuCores, usedRamGiB, costPerHour: costPerHour(usedCpuCores, usedRamGiB, replicas) };
}

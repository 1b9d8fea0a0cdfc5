/**
 * What a pod uses when the simulator's web UI has load: the performance model's CPU, memory and
 * packets for the arrivals the pod actually received over a window, times the noise of the
 * dataset row the pod currently reports (that row's value over its configuration's mean), so the
 * metrics vary as the recorded ones do. Without load a pod falls to the model's idle usage.
 */
import { meanByConfig, type TeastoreTable } from '../data';
import type { PodUsage } from '../measurement';
import type { PerformanceModel } from '../model/types';
import { configIndex, type ScalingConfig } from '../space';

/** The load a pod received, cumulative (the app's queue counters). */
export interface PodCounters {
  arrivals: number;
  served: number;
  cpuMillis: number;
  heapMB: number;
}

/** Where the counters come from (the simulator's web UI). */
export interface LoadSource {
  readonly everLoaded: boolean;
  podLoad(pod: string): PodCounters | undefined;
}

/** The dataset row a pod reports now, for its noise. */
export interface ReportedRow extends PodUsage {
  config: ScalingConfig;
  networkSkipped: boolean;
}

export class LoadDrivenUsage {
  private readonly means: { cpu: Float64Array; ram: Float64Array; out: Float64Array; inc: Float64Array };
  private readonly packetsPerRequest = new Map<string, { out: number; inc: number }>();

  constructor(
    private readonly model: PerformanceModel,
    table: TeastoreTable,
  ) {
    this.means = {
      cpu: meanByConfig(table, table.usedCpuCores),
      ram: meanByConfig(table, table.usedRamGiB),
      out: meanByConfig(table, table.outgoingPacketsPerSec),
      inc: meanByConfig(table, table.incomingPacketsPerSec),
    };
  }

  /**
   * Mean usage over a window in which the pod received `arrivals` and answered `served`
   * requests in `seconds`, with the noise of `row`.
   */
  usage(resources: { cpuMillis: number; heapMB: number }, arrivals: number, served: number, seconds: number, row: ReportedRow): PodUsage {
    const config = { replicas: 1, ...resources };
    const rate = seconds > 0 ? arrivals / seconds : 0;
    const servedRate = seconds > 0 ? served / seconds : 0;
    const p = this.model.predict(config, rate);
    const perRequest = this.perRequest(config);
    const c = configIndex(row.config);
    const ratio = (value: number, mean: number) => (Number.isFinite(value) && mean > 0 && value > 0 ? value / mean : 1);
    return {
      usedCpuCores: Math.min(resources.cpuMillis / 1000, p.cpuCores * ratio(row.usedCpuCores, this.means.cpu[c])),
      usedRamGiB: p.memoryGiB * ratio(row.usedRamGiB, this.means.ram[c]),
      outgoingPacketsPerSec: servedRate * perRequest.out * (row.networkSkipped ? 1 : ratio(row.outgoingPacketsPerSec, this.means.out[c])),
      incomingPacketsPerSec: servedRate * perRequest.inc * (row.networkSkipped ? 1 : ratio(row.incomingPacketsPerSec, this.means.inc[c])),
    };
  }

  /** Packets per served request, read off the model's prediction at a light load. */
  private perRequest(config: ScalingConfig): { out: number; inc: number } {
    const key = `${config.cpuMillis}/${config.heapMB}`;
    let cached = this.packetsPerRequest.get(key);
    if (!cached) {
      const light = this.model.predict(config, Math.min(1, this.model.capacity(config) / 10));
      cached = light.servedRps > 0 ? { out: light.transmittedPacketsPerSec / light.servedRps, inc: light.receivedPacketsPerSec / light.servedRps } : { out: 0, inc: 0 };
      this.packetsPerRequest.set(key, cached);
    }
    return cached;
  }
}

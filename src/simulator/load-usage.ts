/**
 * What a pod uses when the simulator's web UI has load: the performance model's CPU, memory and
 * packets for the arrivals the pod actually received over a window, with the noise of the
 * dataset row the pod currently reports (that row's value over its configuration's mean, means
 * taken without the metrics-server gaps), so the metrics vary as the recorded ones do. Without
 * load a pod falls to the model's idle usage.
 *
 * The noise keeps each measurement an unbiased sample of the model's mean: memory and packets
 * are multiplied by the ratio (its mean is 1); CPU moves by (ratio - 1) times the busy share's
 * distance to its nearer bound (0 or the limit), so it never leaves [idle, limit] for ratios up
 * to 2 and a saturated pod reports exactly its limit, as a throttled container does.
 */
import type { TeastoreTable } from '../data';
import type { PodUsage } from '../measurement';
import { configMeans } from '../model/dataset-means';
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
  private readonly idleCores = new Map<string, number>();

  constructor(
    private readonly model: PerformanceModel,
    table: TeastoreTable,
  ) {
    const means = configMeans(table);
    this.means = {
      cpu: Float64Array.from(means, (m) => m.cpuCores),
      ram: Float64Array.from(means, (m) => m.memoryGiB),
      out: Float64Array.from(means, (m) => m.outPacketsPerSec),
      inc: Float64Array.from(means, (m) => m.inPacketsPerSec),
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
      usedCpuCores: noisyCpu(p.cpuCores, this.idleCpu(config), resources.cpuMillis / 1000, ratio(row.usedCpuCores, this.means.cpu[c])),
      usedRamGiB: p.memoryGiB * ratio(row.usedRamGiB, this.means.ram[c]),
      outgoingPacketsPerSec: servedRate * perRequest.out * (row.networkSkipped ? 1 : ratio(row.outgoingPacketsPerSec, this.means.out[c])),
      incomingPacketsPerSec: servedRate * perRequest.inc * (row.networkSkipped ? 1 : ratio(row.incomingPacketsPerSec, this.means.inc[c])),
    };
  }

  /** CPU of the pod without load, the floor of its noise. */
  private idleCpu(config: ScalingConfig): number {
    const key = `${config.cpuMillis}/${config.heapMB}`;
    let cached = this.idleCores.get(key);
    if (cached === undefined) {
      cached = this.model.predict(config, 0).cpuCores;
      this.idleCores.set(key, cached);
    }
    return cached;
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

/**
 * CPU with noise `ratio` (mean 1) around the model's `cores`, between the pod's `idle` use and
 * its `limit`: the busy share (cores - idle) / (limit - idle) moves by (ratio - 1) times its
 * distance to the nearer bound, so the mean stays the model's and a saturated pod stays at its limit.
 */
export function noisyCpu(cores: number, idle: number, limit: number, ratio: number): number {
  const span = limit - idle;
  if (!(span > 0)) return Math.min(cores, limit);
  const share = Math.min(1, Math.max(0, (cores - idle) / span));
  const noisy = share + (ratio - 1) * Math.min(share, 1 - share);
  return idle + span * Math.min(1, Math.max(0, noisy));
}

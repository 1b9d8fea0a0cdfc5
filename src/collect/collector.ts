/**
 * Measures a deployment the way the bundled dataset was measured, generalised to changing load:
 * for each point of a plan, start an open-loop generator at the point's load, apply the
 * configuration (waiting for its rollout), wait a warm-up, then measure a window: what the
 * generator saw (offered, served, failed, latency) and what Prometheus saw of the pods (CPU,
 * memory, packets); then abort what is still in flight. A pod that carries over from the previous
 * point (a change of replicas or load only) still holds that point's queue: a warm-up as long as
 * the time-out lets it drain.
 * Every point is on disk (fsynced) before the next begins; a killed collection resumes from its file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectedPoint } from '../dataset-v2';
import type { DeploymentClient } from '../kube';
import { startLoad, type LoadStats } from '../load/generator';
import { REQUESTS_PER_SESSION, type ScenarioName } from '../load/scenarios';
import { costPerHour } from '../measurement';
import type { MetricClient } from '../metric';
import { formatConfig, type ScalingConfig } from '../space';
import { planPoints, PlanError, type PlanSpec } from './plan';
import { PointLog } from './point-log';

export interface CollectTimings {
  /** After the configuration and load are in place, before measuring. */
  warmupS: number;
  /** Measurement window, whole seconds (Prometheus `rate` over the same window). */
  windowS: number;
  /** Give up waiting for a rollout after this long. */
  rolloutTimeoutMs: number;
}

export interface CollectOptions {
  plan: PlanSpec;
  timings: CollectTimings;
  /** The application's base URL, where the load goes. */
  targetUrl: string;
  scenario: ScenarioName;
  /** Output file (dataset v2); an existing one of the same plan is resumed. */
  file: string;
  kube: DeploymentClient;
  metrics: MetricClient;
  onProgress?: (line: string) => void;
  /**
   * Open sockets to the application (default COLLECT_MAX_SOCKETS): enough that requests wait in
   * the pods' queues, which refuse when full, rather than in the client's pool.
   */
  maxSockets?: number;
  /** Aborting stops after the current phase; every point already measured is kept. */
  signal?: AbortSignal;
}

/**
 * Default socket pool of a collection: above the requests a deployment holds when every pod's
 * queue is full (a TeaStore pod holds what it serves within the 10 s time-out: up to ~750 at
 * 900 millicores), so overload shows as refusals, as it does against a real Service.
 */
export const COLLECT_MAX_SOCKETS = 4096;

export interface CollectResult {
  file: string;
  planned: number;
  /** Points found in the file when it was opened. */
  resumedFrom: number;
  /** Points measured by this call. */
  measured: number;
  /** Bytes of a partly written row cut off on resuming. */
  cutBytes: number;
  points: CollectedPoint[];
  /** Stopped by the signal before the plan was done. */
  interrupted: boolean;
}

/** What the file records about how its points were chosen and measured (resuming checks it). */
export function collectionRecord(o: Pick<CollectOptions, 'plan' | 'timings' | 'scenario'> & { deployment: string }): Record<string, unknown> {
  return { ...o.plan, warmupS: o.timings.warmupS, windowS: o.timings.windowS, scenario: o.scenario, deployment: o.deployment };
}

const sameConfig = (a: ScalingConfig, b: ScalingConfig) => a.replicas === b.replicas && a.cpuMillis === b.cpuMillis && a.heapMB === b.heapMB;

export async function collect(o: CollectOptions): Promise<CollectResult> {
  const plan = planPoints(o.plan);
  const { namespace, container, deployment } = o.kube.target;
  const log = PointLog.open(o.file, collectionRecord({ ...o, deployment: `${namespace}/${deployment}` }));
  const resumedFrom = log.recorded.length;
  if (resumedFrom > plan.length) {
    log.close();
    throw new PlanError(`${o.file} holds ${resumedFrom} points but the plan has only ${plan.length}`);
  }
  const points = [...log.recorded];
  if (resumedFrom > 0) o.onProgress?.(`resuming ${o.file}: ${resumedFrom}/${plan.length} points recorded${log.cutBytes > 0 ? `, a partly written row of ${log.cutBytes} bytes cut off` : ''}`);
  const perSession = REQUESTS_PER_SESSION[o.scenario];
  const aborted = () => o.signal?.aborted === true;
  const wait = (ms: number) => sleep(ms, undefined, { signal: o.signal }).catch(() => undefined);
  try {
    for (let i = resumedFrom; i < plan.length && !aborted(); i++) {
      const { config, offeredRps } = plan[i];
      // A generator per point, started before the rollout: the new pods start under the point's
      // own load, and no request of an earlier point (still waiting in the client) reaches them.
      const generator = startLoad(o.targetUrl, offeredRps / perSession, { scenario: o.scenario, seed: o.plan.seed + i, maxSockets: o.maxSockets ?? COLLECT_MAX_SOCKETS });
      try {
        if (!sameConfig(await o.kube.readConfig(), config)) await o.kube.applyConfig(config);
        await o.kube.waitForRollout({ timeoutMs: o.timings.rolloutTimeoutMs });
        await wait(o.timings.warmupS * 1000);
        generator.takeWindow();
        await wait(o.timings.windowS * 1000);
        if (aborted()) break;
        const load = generator.takeWindow();
        const pods = await o.kube.listReadyPods();
        const usage = await o.metrics.collect({ namespace, container, pods, windowSeconds: o.timings.windowS });
        const point = toPoint(i, config, load, perSession, usage.mean, usage.at);
        log.append(point);
        points.push(point);
        o.onProgress?.(progressLine(point, plan.length));
      } finally {
        // What is still in flight belongs to this point: aborted, never counted in the next.
        await generator.stop({ drainMs: 0 });
      }
    }
  } finally {
    log.close();
  }
  return { file: o.file, planned: plan.length, resumedFrom, measured: points.length - resumedFrom, cutBytes: log.cutBytes, points, interrupted: points.length < plan.length };
}

function toPoint(index: number, config: ScalingConfig, load: LoadStats, perSession: number, usage: CollectedPoint['usage'], at: Date): CollectedPoint {
  const seconds = load.endS - load.startS;
  const { requests, latencyMs } = load;
  const served = latencyMs.count > 0;
  return {
    time: at.toISOString(),
    point: index,
    config,
    offeredRps: ((load.expectedArrivals ?? load.arrivals) * perSession) / seconds,
    servedRps: requests.ok / seconds,
    // A dropped session never sent its requests: each of them failed.
    failedRps: (requests.failedTotal + load.dropped * perSession) / seconds,
    latencyMs: { p50: served ? latencyMs.p50 : Number.NaN, p95: served ? latencyMs.p95 : Number.NaN, p99: served ? latencyMs.p99 : Number.NaN },
    usage,
    costPerHour: costPerHour(usage.usedCpuCores, usage.usedRamGiB, config.replicas),
  };
}

function progressLine(p: CollectedPoint, planned: number): string {
  const f = (v: number, digits = 1) => (Number.isNaN(v) ? '-' : v.toFixed(digits));
  return `point ${p.point + 1}/${planned} ${formatConfig(p.config)} offered ${f(p.offeredRps)} served ${f(p.servedRps)} failed ${f(p.failedRps)} req/s, p95 ${f(p.latencyMs.p95)} ms, cpu ${f(p.usage.usedCpuCores, 3)} cores/pod`;
}

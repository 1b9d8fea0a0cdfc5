/**
 * The public face of the TeaStore web UI performance model: what a configuration does with a
 * given arrival rate. The simulator's TeaStore, the offline load environment, the CLI and the
 * notebooks all use these types, so they agree on units.
 *
 * Units: rates in requests/s, latency in milliseconds, CPU in cores, memory in GiB, packets in
 * packets/s. A configuration is the project's `ScalingConfig` (replicas, cpuMillis, heapMB).
 */
import type { Rng } from '../random';
import type { ScalingConfig } from '../space';

/** A deployment configuration in physical units (replicas, CPU limit millicores, heap MB). */
export type ModelConfig = ScalingConfig;

/** Latency percentiles of served requests, in milliseconds. */
export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** What one pod does (the deployment's pods share the load equally). */
export interface PodPrediction {
  /** CPU used per pod, cores. */
  cpuCores: number;
  /** Memory (working set) per pod, GiB. */
  memoryGiB: number;
  /** Transmitted packets/s per pod (the dataset's `out_tps`). */
  transmittedPacketsPerSec: number;
  /** Received packets/s per pod (the dataset's `inc_tps`). */
  receivedPacketsPerSec: number;
  /** Fraction of the pod's capacity in use, 0..1. */
  utilisation: number;
}

/** The model's answer for one configuration under one steady arrival rate. */
export interface Prediction extends PodPrediction {
  config: ModelConfig;
  /** Offered load, req/s, as given. */
  offeredRps: number;
  /** Requests served within the time-out, req/s (<= offeredRps). */
  servedRps: number;
  /** Requests refused (full queue) or timed out, req/s; servedRps + failedRps = offeredRps. */
  failedRps: number;
  /** Latency of served requests. */
  latencyMs: LatencyPercentiles;
  /** Highest rate the deployment serves, req/s (all pods together). */
  capacityRps: number;
}

/** The cost of moving from one configuration to another. */
export interface TransitionCost {
  /** Seconds before a new pod is ready (0 when no pod is started). */
  startDelaySec: number;
  /** Seconds after readiness during which a new pod runs below full capacity (JVM warm-up). */
  warmUpSec: number;
  /** Pods started (replicas added or every pod replaced by a rolling update). */
  podsStarted: number;
  /** Pods stopped. */
  podsStopped: number;
  /** Requests lost while pods stop, at the given offered rate (in-flight requests of stopped pods). */
  requestsLost: number;
}

export interface PerformanceModel {
  /** Names the calibration: the data file's sha256 and the fitted parameters. */
  readonly describe: () => Record<string, number | string>;
  /** Steady-state prediction for `config` under `offeredRps` req/s (noise-free). */
  predict(config: ModelConfig, offeredRps: number): Prediction;
  /** Highest rate the configuration serves, req/s. */
  capacity(config: ModelConfig): number;
  /** A prediction with measurement noise like the dataset's, drawn from `rng`. */
  sampleMeasurement(config: ModelConfig, offeredRps: number, rng: Rng): Prediction;
  /** What changing from `from` to `to` costs, at `offeredRps` req/s (default 100). */
  transition(from: ModelConfig, to: ModelConfig, offeredRps?: number): TransitionCost;
  /** Mean service time of one request on a pod of this configuration, ms (for real-time queues). */
  serviceTimeMs(config: ModelConfig): number;
  /** Requests a pod of this configuration holds (in service and waiting) before it refuses more. */
  queueRoom(config: ModelConfig): number;
}

/**
 * A configuration under a steady arrival rate: the deployment's pods share the load equally
 * (a Service spreads requests evenly), and each pod is an M/M/1/K queue (queue.ts) whose service
 * rate is its capacity. Requests refused by a full pod or answered after the time-out are failures.
 */
import type { ModelConfig } from './types';
import type { ModelParameters } from './parameters';
import { queueState, responseTimeTail, stationaryDistribution } from './queue';

/** Capacity fraction left by a heap of `heapMB`: 1 - penalty * exp(-(heap - 100 MB) / scale). */
export function heapFactor(p: ModelParameters, heapMB: number): number {
  return 1 - p.heapPenalty * Math.exp(-Math.max(0, heapMB - 100) / Math.max(p.heapScaleMB, 1e-9));
}

/** Highest rate one pod serves, req/s: c0 * cores^a * heapFactor(heap). */
export function podCapacity(p: ModelParameters, config: ModelConfig): number {
  return p.capacityPerCore * Math.pow(config.cpuMillis / 1000, p.cpuExponent) * heapFactor(p, config.heapMB);
}

/**
 * Room for requests in one pod: as many as it serves within the time-out with 99% probability
 * (the 99% point of Erlang(K, mu) is about (K + 2.33 sqrt(K)) / mu); a request beyond that would
 * time out anyway, so it is refused at once (as a Tomcat with a bounded accept queue does).
 */
export function queueRoom(p: ModelParameters, mu: number): number {
  const served = mu * p.timeoutSec;
  return Math.max(1, Math.floor(served - 2.33 * Math.sqrt(served)));
}

export interface PodSteadyState {
  /** Arrivals per pod, req/s. */
  lambda: number;
  /** Service rate (capacity) per pod, req/s. */
  mu: number;
  k: number;
  /** Served within the time-out per pod, req/s. */
  served: number;
  /** Fraction of time the pod is busy. */
  busy: number;
  /** Stationary distribution of requests in the pod. */
  distribution: Float64Array;
}

export function checkConfig(config: ModelConfig): void {
  for (const knob of ['replicas', 'cpuMillis', 'heapMB'] as const) {
    const v = config[knob];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`configuration ${knob}=${String(v)} is not a finite number > 0`);
  }
  if (!Number.isInteger(config.replicas)) throw new RangeError(`configuration replicas=${config.replicas} is not an integer`);
}

export function checkRate(offeredRps: number): void {
  if (typeof offeredRps !== 'number' || !Number.isFinite(offeredRps) || offeredRps < 0) throw new RangeError(`offered rate ${String(offeredRps)} is not a finite number of req/s >= 0`);
}

/** One pod's steady state when the deployment receives `offeredRps`. */
export function podSteadyState(p: ModelParameters, config: ModelConfig, offeredRps: number): PodSteadyState {
  checkConfig(config);
  checkRate(offeredRps);
  const lambda = offeredRps / config.replicas;
  const mu = podCapacity(p, config);
  const k = queueRoom(p, mu);
  const distribution = stationaryDistribution(lambda, mu, k);
  const state = queueState(lambda, mu, k);
  const late = lambda > 0 ? responseTimeTail(distribution, mu, p.timeoutSec) : 0;
  return { lambda, mu, k, served: state.throughput * (1 - late), busy: state.utilisation, distribution };
}

/** CPU used by a pod, cores: idle + (limit - idle) * busy^beta, never above the limit. */
export function podCpuCores(p: ModelParameters, config: ModelConfig, busy: number): number {
  const limit = config.cpuMillis / 1000;
  const idle = Math.min(p.idleCpuCores, limit);
  return idle + (limit - idle) * Math.pow(Math.min(1, Math.max(0, busy)), p.cpuBusyExponent);
}

/** Memory of a pod, GiB: base + heap in use * (idle share + busy share * busy). */
export function podMemoryGiB(p: ModelParameters, config: ModelConfig, busy: number): number {
  const heapGiB = Math.min(config.heapMB, p.memoryHeapCapMB) / 1024;
  return p.memoryBaseGiB + heapGiB * (p.memoryHeapIdle + p.memoryHeapBusy * Math.min(1, Math.max(0, busy)));
}

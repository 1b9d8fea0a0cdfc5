/**
 * The performance model of a TeaStore web UI deployment, calibrated on data/teastore_data.csv.
 *
 * Assumptions (the same list is in docs/model.md; parameters in parameters.ts):
 *  1. Load is spread evenly over the ready pods (a Service); each pod is an M/M/1/K queue:
 *     Poisson arrivals, exponential service, FIFO, room for what it serves within the time-out.
 *  2. A pod's capacity (its service rate) is c0 * (CPU limit in cores)^a * heapFactor(heap), with
 *     heapFactor = 1 - penalty * exp(-(heap - 100 MB) / scale): small heaps cost capacity.
 *  3. Requests refused by a full pod, or answered after timeoutSec, are failures.
 *  4. CPU per pod follows a utilisation law, idle + (limit - idle) * busy^beta: at full load a pod
 *     uses its limit; beta < 1 because the data's pods use more CPU per request at low load.
 *  5. Packets (sent and received) are proportional to served requests; memory is a base plus the
 *     heap in use (up to a cap), growing with load. Noise: the data's own per-configuration
 *     residuals. A change of CPU or heap replaces every pod (rolling update); pods start after
 *     podStartSec and warm up over warmUpSec; a stopped pod loses its in-flight requests.
 * c0, a, penalty, scale, beta, packets per request and the memory coefficients are fitted; the
 * time-out, idle CPU, start delay and warm-up are stated, and a user may override any of them.
 */
import { DEFAULT_DATA_PATH, loadTeastoreData, type TeastoreTable } from '../data';
import { planWindowS, readDatasetV2File, type DatasetV2 } from '../dataset-v2';
import type { Rng } from '../random';
import { calibrate } from './calibration';
import { configMeans, residualRatios } from './dataset-means';
import { noNoise, residualNoise, type NoiseSource } from './noise';
import { checkParameters, type ModelParameters } from './parameters';
import { calibrateFromPoints } from './point-calibration';
import { responseTimeQuantile } from './queue';
import { checkConfig, podCapacity, podCpuCores, podMemoryGiB, podSteadyState, queueRoom } from './steady-state';
import { transitionCost } from './transition';
import type { ModelConfig, PerformanceModel, Prediction } from './types';

export interface ModelSource {
  /** Where the calibration came from (a file path, or a description). */
  dataFile?: string;
  /** The data file's sha256. */
  dataSha256?: string;
}

/** A model from explicit parameters and a noise source (no data needed). */
export function createPerformanceModel(parameters: ModelParameters, noise: NoiseSource = noNoise, source: ModelSource = {}): PerformanceModel & { readonly parameters: Readonly<ModelParameters> } {
  const p: Readonly<ModelParameters> = Object.freeze(checkParameters({ ...parameters }));

  const predict = (config: ModelConfig, offeredRps: number): Prediction => {
    const pod = podSteadyState(p, config, offeredRps);
    const served = pod.served * config.replicas;
    // Of requests answered within the time-out; with no load an arrival finds the pod empty.
    const percentile = (q: number) => 1000 * responseTimeQuantile(pod.distribution, pod.mu, q, p.timeoutSec);
    return {
      config: { ...config },
      offeredRps,
      servedRps: served,
      failedRps: Math.max(0, offeredRps - served),
      latencyMs: { p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99) },
      capacityRps: pod.mu * config.replicas,
      cpuCores: podCpuCores(p, config, pod.busy),
      memoryGiB: podMemoryGiB(p, config, pod.busy),
      transmittedPacketsPerSec: pod.served * p.outPacketsPerRequest,
      receivedPacketsPerSec: pod.served * p.inPacketsPerRequest,
      utilisation: pod.busy,
    };
  };

  return {
    parameters: p,
    describe: () => ({ ...p, dataFile: source.dataFile ?? 'none', dataSha256: source.dataSha256 ?? 'none' }),
    predict,
    capacity(config) {
      checkConfig(config);
      return podCapacity(p, config) * config.replicas;
    },
    sampleMeasurement(config, offeredRps, rng: Rng) {
      const exact = predict(config, offeredRps);
      const r = noise.draw(config, rng);
      return {
        ...exact,
        cpuCores: Math.min(config.cpuMillis / 1000, exact.cpuCores * r.cpu),
        memoryGiB: exact.memoryGiB * r.memory,
        transmittedPacketsPerSec: exact.transmittedPacketsPerSec * r.outPackets,
        receivedPacketsPerSec: exact.receivedPacketsPerSec * r.inPackets,
      };
    },
    transition: (from, to, offeredRps = 100) => transitionCost(p, from, to, offeredRps),
    serviceTimeMs(config) {
      checkConfig(config);
      return 1000 / podCapacity(p, config);
    },
    queueRoom(config) {
      checkConfig(config);
      return queueRoom(p, podCapacity(p, config));
    },
  };
}

/** A model calibrated on a loaded table. */
export function modelFromTable(table: TeastoreTable, overrides: Partial<ModelParameters> = {}, source: ModelSource = {}): ReturnType<typeof createPerformanceModel> {
  const fitted = calibrate(table, { start: overrides });
  const parameters = { ...fitted, ...overrides };
  return createPerformanceModel(parameters, residualNoise(residualRatios(table, configMeans(table))), { dataSha256: table.sha256, ...source });
}

/**
 * A model calibrated on collected points (dataset v2, point-calibration.ts). Without noise: a v2
 * file holds one row per point, so it has no per-configuration residuals to lend.
 */
export function modelFromDatasetV2(dataset: DatasetV2, overrides: Partial<ModelParameters> = {}, source: ModelSource = {}): ReturnType<typeof createPerformanceModel> {
  const { parameters } = calibrateFromPoints(dataset.points, { start: overrides, windowS: planWindowS(dataset) });
  return createPerformanceModel({ ...parameters, ...overrides }, noNoise, { dataSha256: dataset.sha256, ...source });
}

const cache = new Map<string, ReturnType<typeof createPerformanceModel>>();

/**
 * The model calibrated on a dataset file (the bundled data by default), cached per file when no
 * overrides are given. Overrides replace fitted or assumed parameters after the fit. A v2 file
 * (written by `collect`) is calibrated from its points' requests (modelFromDatasetV2).
 */
export function loadPerformanceModel(dataFile: string = DEFAULT_DATA_PATH, overrides: Partial<ModelParameters> = {}): ReturnType<typeof createPerformanceModel> {
  const plain = Object.keys(overrides).length === 0;
  const cached = plain ? cache.get(dataFile) : undefined;
  if (cached) return cached;
  const collected = dataFile === DEFAULT_DATA_PATH ? undefined : readDatasetV2File(dataFile);
  const model = collected ? modelFromDatasetV2(collected, overrides, { dataFile }) : modelFromTable(loadTeastoreData(dataFile), overrides, { dataFile });
  if (plain) cache.set(dataFile, model);
  return model;
}

/** The TeaStore web UI model calibrated on the bundled dataset. */
export function teastoreModel(): ReturnType<typeof createPerformanceModel> {
  return loadPerformanceModel();
}

/**
 * Calibration: fits the model's capacity, CPU, packet and memory parameters to a dataset's
 * per-configuration means at the dataset's offered rate.
 *
 * - Capacity (c0, a, heap penalty and scale) and the CPU busy exponent are fitted together by
 *   Nelder-Mead, maximising R-squared of CPU per pod plus R-squared of total transmitted packets;
 *   packets per request are, for each candidate, the least-squares slope through the origin.
 * - Memory is then linear in its three coefficients given the heap cap: least squares per cap on
 *   the 100 MB grid, keeping the best.
 * During the search a pod's served rate and busy fraction come from the closed-form M/M/1/K
 * blocking (time-outs left out, for speed); the fit report uses the full model.
 */
import type { TeastoreTable } from '../data';
import { configMeans, DATASET_OFFERED_RPS, type ConfigMeans } from './dataset-means';
import { nelderMead } from './optimise';
import { checkParameters, DEFAULT_PARAMETERS, type ModelParameters } from './parameters';
import { podCapacity, podCpuCores, podMemoryGiB, queueRoom } from './steady-state';
import { rSquared } from './statistics';

/** Served rate and busy fraction of one M/M/1/K pod, closed form. */
function blockingState(lambda: number, mu: number, k: number): { served: number; busy: number } {
  if (lambda === 0) return { served: 0, busy: 0 };
  const rho = lambda / mu;
  if (Math.abs(rho - 1) < 1e-9) return { served: lambda * (k / (k + 1)), busy: k / (k + 1) };
  // p0 = (1 - rho) / (1 - rho^(k+1)); blocking = p0 rho^k; computed in logs when rho > 1.
  let p0: number;
  let blocking: number;
  if (rho < 1) {
    const rk = Math.pow(rho, k);
    p0 = (1 - rho) / (1 - rk * rho);
    blocking = p0 * rk;
  } else {
    const inv = 1 / rho;
    const ik = Math.pow(inv, k);
    blocking = (1 - inv) / (1 - ik * inv);
    p0 = blocking * ik;
  }
  return { served: lambda * (1 - blocking), busy: 1 - p0 };
}

interface Candidate {
  served: Float64Array;
  busy: Float64Array;
}

function evaluate(p: ModelParameters, means: ConfigMeans[], offeredRps: number): Candidate {
  const served = new Float64Array(means.length);
  const busy = new Float64Array(means.length);
  means.forEach((m, i) => {
    const mu = podCapacity(p, m.config);
    const state = blockingState(offeredRps / m.config.replicas, mu, queueRoom(p, mu));
    served[i] = state.served * m.config.replicas;
    busy[i] = state.busy;
  });
  return { served, busy };
}

/** Least-squares slope through the origin of y on x (finite pairs). */
export function slopeThroughOrigin(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    sxy += x[i] * y[i];
    sxx += x[i] * x[i];
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** Solves the 3x3 system A x = b by Gaussian elimination with partial pivoting. */
function solve3(a: number[][], b: number[]): number[] {
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < 3; r++) {
      if (r === col || m[col][col] === 0) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c < 4; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[3] / row[i]);
}

/** Memory coefficients given each configuration's mean working set and its pods' utilisation. */
export function fitMemory(p: ModelParameters, means: Pick<ConfigMeans, 'config' | 'memoryGiB'>[], busy: Float64Array): Pick<ModelParameters, 'memoryBaseGiB' | 'memoryHeapIdle' | 'memoryHeapBusy' | 'memoryHeapCapMB'> {
  let best = { memoryBaseGiB: p.memoryBaseGiB, memoryHeapIdle: p.memoryHeapIdle, memoryHeapBusy: p.memoryHeapBusy, memoryHeapCapMB: p.memoryHeapCapMB };
  let bestError = Infinity;
  for (let cap = 100; cap <= 900; cap += 100) {
    const ata = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const atb = [0, 0, 0];
    means.forEach((m, i) => {
      if (!Number.isFinite(m.memoryGiB)) return;
      const h = Math.min(m.config.heapMB, cap) / 1024;
      const row = [1, h, h * busy[i]];
      for (let r = 0; r < 3; r++) {
        atb[r] += row[r] * m.memoryGiB;
        for (let c = 0; c < 3; c++) ata[r][c] += row[r] * row[c];
      }
    });
    const [base, idle, perBusy] = solve3(ata, atb);
    const candidate = { memoryBaseGiB: Math.max(0, base), memoryHeapIdle: Math.max(0, idle), memoryHeapBusy: Math.max(0, perBusy), memoryHeapCapMB: cap };
    let error = 0;
    means.forEach((m, i) => {
      if (Number.isFinite(m.memoryGiB)) error += (m.memoryGiB - podMemoryGiB({ ...p, ...candidate }, m.config, busy[i])) ** 2;
    });
    if (error < bestError) [best, bestError] = [candidate, error];
  }
  return best;
}

export interface CalibrationOptions {
  /** Offered rate the dataset was recorded at, req/s (default 100). */
  offeredRps?: number;
  /** Starting point and the assumed (not fitted) parameters. */
  start?: Partial<ModelParameters>;
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

/** Fits the model to the dataset; deterministic for a given table. */
export function calibrate(table: TeastoreTable, options: CalibrationOptions = {}): ModelParameters {
  const offeredRps = options.offeredRps ?? DATASET_OFFERED_RPS;
  const start = checkParameters({ ...DEFAULT_PARAMETERS, ...options.start });
  const means = configMeans(table).filter((m) => Number.isFinite(m.cpuCores));
  if (means.length < 10) throw new RangeError(`the dataset has measurements of ${means.length} configurations; calibration needs at least 10`);
  const cpuObserved = means.map((m) => m.cpuCores);
  const outTotalObserved = means.map((m) => m.outPacketsPerSec * m.config.replicas);
  const inTotalObserved = means.map((m) => m.inPacketsPerSec * m.config.replicas);

  const decode = (x: number[]): ModelParameters => ({
    ...start,
    capacityPerCore: Math.exp(x[0]),
    cpuExponent: x[1],
    heapPenalty: logistic(x[2]),
    heapScaleMB: Math.exp(x[3]),
    cpuBusyExponent: Math.exp(x[4]),
  });
  const objective = (x: number[]) => {
    const p = decode(x);
    if (p.cpuExponent < 0.1 || p.cpuExponent > 6) return Infinity;
    const { served, busy } = evaluate(p, means, offeredRps);
    const cpu = means.map((m, i) => podCpuCores(p, m.config, busy[i]));
    const k = slopeThroughOrigin(served, outTotalObserved);
    const packets = Array.from(served, (s) => s * k);
    return 2 - rSquared(cpuObserved, cpu) - rSquared(outTotalObserved, packets);
  };
  const x0 = [Math.log(start.capacityPerCore), start.cpuExponent, logit(Math.min(0.99, Math.max(0.01, start.heapPenalty))), Math.log(start.heapScaleMB), Math.log(start.cpuBusyExponent)];
  const result = nelderMead(objective, x0, { steps: [0.3, 0.3, 0.5, 0.3, 0.3], maxIterations: 1500 });
  const fitted = decode(result.x);
  const { served, busy } = evaluate(fitted, means, offeredRps);
  return checkParameters({
    ...fitted,
    outPacketsPerRequest: slopeThroughOrigin(served, outTotalObserved),
    inPacketsPerRequest: slopeThroughOrigin(served, inTotalObserved),
    ...fitMemory(fitted, means, busy),
  });
}

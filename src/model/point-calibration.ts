/**
 * Calibration from collected points (dataset v2, `rl-autoscaler collect`): each point is one
 * configuration under one offered load with what was served, what failed and the latency
 * percentiles, so capacity is fitted from the requests themselves instead of being inferred from
 * CPU (as the classic dataset, which has no request columns, forces calibration.ts to do).
 *
 * 1. Capacity (c0, the cores exponent a, the heap penalty and scale) by Nelder-Mead over every
 *    point, through the model's own M/M/1/K pod (steady-state.ts, queue.ts):
 *    - served rate against the model's at the point's offered rate: at a saturated point served
 *      is about replicas x capacity (less refusals); at an unsaturated one it only bounds the
 *      capacity from below (a capacity under the offered load would serve less than was served);
 *    - at unsaturated points, the median latency against the model's plus a constant the client
 *      adds (network, the generator's send lateness; fitted too when latency comes from two or
 *      more CPU limits), as log ratios weighted by LATENCY_WEIGHT. The median, not the p95: from the few dozen requests of a
 *      short window at a low rate, a p95 is the third-largest latency and scatters by 20% or more.
 *      Saturated points' latencies are left out: their queues fill for longer than any warm-up
 *      (at 10% overload a pod needs K / (0.1 mu), minutes, to fill), so they are transients.
 *    Only what the points identify is fitted: the exponent needs two CPU limits, the heap penalty
 *    two heap sizes and its scale three; the rest keep their starting values.
 * 2. The CPU curve separately, from CPU against utilisation (served per pod over the fitted
 *    capacity): beta by golden-section search; the idle CPU stays the stated assumption.
 * 3. Packets per request: all points' packets over all their served requests, with a standard error.
 * 4. Memory: as calibration.ts, linear least squares per heap cap with the utilisation above
 *    (with a single heap size, only the base and the busy share).
 */
import type { CollectedPoint } from '../dataset-v2';
import { fitMemory } from './calibration';
import { nelderMead } from './optimise';
import { checkParameters, DEFAULT_PARAMETERS, type ModelParameters } from './parameters';
import { responseTimeQuantile } from './queue';
import { podCapacity, podCpuCores, podSteadyState } from './steady-state';

/**
 * A point is taken as saturated when it failed more than this share of its offered load, or
 * served less than the offered load by more than this many standard deviations of the arrival
 * count (Poisson: sqrt(offered x window)); without a window, 5% less.
 */
const SATURATED_FAILED_SHARE = 0.02;
const SATURATED_SERVED_SIGMAS = 3;
const SATURATED_SERVED_SHARE = 0.95;
/**
 * Weight of a median-latency residual against a served-rate one, about the inverse ratio of their
 * variances: a saturated 10 s window's served rate scatters by 5-8% (Poisson completions), the
 * median latency of a few dozen requests at a low rate by 30-50% (their sojourns share busy
 * periods, so they are far from independent samples; seen: +58% and +94% at 500 millicores).
 */
const LATENCY_WEIGHT = 0.1;
/** Nelder-Mead runs, each from the last one's best (a fresh simplex escapes a collapsed one on the heap ridge). */
const RESTARTS = 4;
/** Stationary probabilities below this are cut off before latency percentiles (speed only). */
const NEGLIGIBLE_TAIL = 1e-12;

export type PointRole = 'saturated' | 'unsaturated';

export interface PointCalibration {
  parameters: ModelParameters;
  /** Parameters the points identified; the others kept their starting values. */
  fitted: (keyof ModelParameters)[];
  /** Standard errors of the parameters estimated as means over points (NaN from a single point). */
  standardErrors: Partial<Record<keyof ModelParameters, number>>;
  /** Per input point: saturated or not (as observed), and whether its latency entered the fit. */
  roles: { role: PointRole; latencyUsed: boolean }[];
  /**
   * Latency the client adds to every request beyond the pod's queue (network, the generator's
   * own send lateness), ms: fitted beside capacity when latency enters the fit, else 0.
   */
  latencyOverheadMs: number;
}

export interface PointCalibrationOptions {
  /** Starting point and the assumed (not fitted) parameters. */
  start?: Partial<ModelParameters>;
  /** The collection's measurement window, s (the v2 plan line's windowS): how noisy a served rate is. */
  windowS?: number;
}

/** Saturated or not, as observed; `windowS` (the measurement window) sets how much arrival noise to allow. */
export function pointRole(p: CollectedPoint, windowS?: number): PointRole {
  const expected = windowS && windowS > 0 ? p.offeredRps * windowS : undefined;
  const servedFloor = expected ? p.offeredRps * Math.max(0, 1 - SATURATED_SERVED_SIGMAS / Math.sqrt(expected)) : SATURATED_SERVED_SHARE * p.offeredRps;
  return p.servedRps < servedFloor || p.failedRps > SATURATED_FAILED_SHARE * p.offeredRps ? 'saturated' : 'unsaturated';
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

/** The stationary distribution without its negligible tail, renormalised (latency percentiles only). */
function truncated(distribution: Float64Array): Float64Array {
  let cumulative = 0;
  for (let n = 0; n < distribution.length - 1; n++) {
    cumulative += distribution[n];
    if (1 - cumulative < NEGLIGIBLE_TAIL) {
      const cut = distribution.slice(0, n + 2);
      const sum = cut.reduce((s, v) => s + v, 0);
      return cut.map((v) => v / sum);
    }
  }
  return distribution;
}

const squaredLogRatio = (observed: number, predicted: number) => Math.log(observed / predicted) ** 2;

interface Usable {
  point: CollectedPoint;
  role: PointRole;
  latencyUsed: boolean;
}

/**
 * Sum of squared log residuals of served rates and, at unsaturated points, of the median latency
 * (the model's plus `overheadMs`). The served residuals get a floor of 1% of the offered load, so
 * a point that served nothing stays finite.
 */
function capacityLoss(p: ModelParameters, usable: Usable[], overheadMs: number): number {
  let loss = 0;
  for (const { point, latencyUsed } of usable) {
    const pod = podSteadyState(p, point.config, point.offeredRps);
    const floor = 0.01 * point.offeredRps;
    loss += squaredLogRatio(point.servedRps + floor, pod.served * point.config.replicas + floor);
    if (latencyUsed) {
      const distribution = truncated(pod.distribution);
      const ms = (q: number) => 1000 * responseTimeQuantile(distribution, pod.mu, q, p.timeoutSec) + overheadMs;
      loss += LATENCY_WEIGHT * squaredLogRatio(point.latencyMs.p50, ms(0.5));
    }
  }
  return loss;
}

const distinct = (values: number[]) => new Set(values).size;

type CapacityName = 'capacityPerCore' | 'cpuExponent' | 'heapPenalty' | 'heapScaleMB';

/** Nelder-Mead over the identified capacity parameters, in unconstrained coordinates, with restarts. */
function fitCapacity(start: ModelParameters, usable: Usable[]): { parameters: ModelParameters; fitted: CapacityName[]; overheadMs: number } {
  const informative = usable.filter((u) => u.role === 'saturated' || u.latencyUsed).map((u) => u.point.config);
  if (informative.length === 0) {
    throw new RangeError('no collected point identifies capacity: it needs points above saturation (served < offered) or with a median latency below it');
  }
  const fitted: CapacityName[] = ['capacityPerCore'];
  if (distinct(informative.map((c) => c.cpuMillis)) >= 2) fitted.push('cpuExponent');
  const heaps = distinct(informative.map((c) => c.heapMB));
  if (heaps >= 2) fitted.push('heapPenalty');
  if (heaps >= 3) fitted.push('heapScaleMB');

  const encode: Record<CapacityName, (v: number) => number> = {
    capacityPerCore: Math.log,
    cpuExponent: (v) => v,
    heapPenalty: (v) => logit(Math.min(0.99, Math.max(0.01, v))),
    heapScaleMB: Math.log,
  };
  const decode: Record<CapacityName, (x: number) => number> = { capacityPerCore: Math.exp, cpuExponent: (x) => x, heapPenalty: logistic, heapScaleMB: Math.exp };
  const parameters = (x: number[]): ModelParameters => {
    const p = { ...start };
    fitted.forEach((name, i) => (p[name] = decode[name](x[i])));
    return p;
  };
  // The client's overhead is a constant added to every latency: identified by latency at two or
  // more CPU limits (their service times differ), fitted as its square root (so 0 is reachable).
  const withOverhead = distinct(usable.filter((u) => u.latencyUsed).map((u) => u.point.config.cpuMillis)) >= 2;
  const overhead = (x: number[]) => (withOverhead ? x[fitted.length] ** 2 : 0);
  const objective = (x: number[]) => {
    const p = parameters(x);
    // Outside these the model is meaningless (or the heap scale runs off along a flat ridge).
    if (p.cpuExponent < 0.1 || p.cpuExponent > 6 || p.heapScaleMB < 1 || p.heapScaleMB > 1e5 || overhead(x) > 1000) return Infinity;
    return capacityLoss(p, usable, overhead(x));
  };
  let x = [...fitted.map((name) => encode[name](start[name])), ...(withOverhead ? [1] : [])];
  const steps = [...fitted.map((name) => (name === 'heapPenalty' ? 0.5 : 0.3)), ...(withOverhead ? [1] : [])];
  for (let round = 0; round < RESTARTS; round++) x = nelderMead(objective, x, { steps, maxIterations: 600 * x.length, tolerance: 1e-14 }).x;
  return { parameters: parameters(x), fitted, overheadMs: overhead(x) };
}

/** Golden-section minimum of a unimodal function on [low, high]. */
function goldenSection(f: (x: number) => number, low: number, high: number, iterations = 80): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [low, high];
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < iterations; i++) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - r * (b - a);
      fc = f(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + r * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/** Utilisation of a point's pods: served per pod over the fitted capacity, at most 1. */
export function pointUtilisation(p: ModelParameters, point: CollectedPoint): number {
  return Math.min(1, point.servedRps / point.config.replicas / podCapacity(p, point.config));
}

/** beta of the CPU curve, minimising squared errors of CPU relative to each pod's limit. */
function fitBusyExponent(p: ModelParameters, points: CollectedPoint[], busy: number[]): number {
  const loss = (logBeta: number) => {
    const candidate = { ...p, cpuBusyExponent: Math.exp(logBeta) };
    let sum = 0;
    points.forEach((point, i) => {
      if (!Number.isFinite(point.usage.usedCpuCores)) return;
      const limit = point.config.cpuMillis / 1000;
      sum += ((point.usage.usedCpuCores - podCpuCores(candidate, point.config, busy[i])) / limit) ** 2;
    });
    return sum;
  };
  return Math.exp(goldenSection(loss, Math.log(0.02), Math.log(5)));
}

/** An estimate with its standard error. */
export interface Estimate {
  value: number;
  standardError: number;
}

/**
 * Packets per served request: all points' packets over all their served requests (packets are
 * counted per request, so a point weighs by its requests), with the ratio estimator's standard
 * error, sqrt(sum (y - R x)^2 / (n (n - 1))) / mean x. A least-squares slope through the origin
 * would weigh by requests squared and let the two or three busiest points decide; a mean of
 * per-point ratios would let the quietest count as much, and at a few requests per second a
 * window's request count scatters enough to lift those ratios by a few percent.
 */
function perRequest(points: readonly CollectedPoint[], perPod: (p: CollectedPoint) => number): Estimate {
  const used = points.filter((p) => p.servedRps > 0 && Number.isFinite(perPod(p)));
  const x = used.map((p) => p.servedRps);
  const y = used.map((p) => perPod(p) * p.config.replicas);
  const n = used.length;
  const sumX = x.reduce((a, b) => a + b, 0);
  if (n === 0 || !(sumX > 0)) return { value: 0, standardError: Number.NaN };
  const ratio = y.reduce((a, b) => a + b, 0) / sumX;
  const residuals = y.reduce((a, yi, i) => a + (yi - ratio * x[i]) ** 2, 0);
  const standardError = n > 1 ? Math.sqrt(residuals / (n * (n - 1))) / (sumX / n) : Number.NaN;
  return { value: ratio, standardError };
}

/**
 * Memory coefficients. With two or more heap sizes, as calibration.ts fits them; with one, the
 * heap's own share cannot be told from the base, so the idle share keeps its starting value and
 * the base and the busy share are a straight line of memory against utilisation.
 */
function fitPointMemory(p: ModelParameters, points: readonly CollectedPoint[], busy: number[]): ReturnType<typeof fitMemory> {
  const measured = points.map((point, i) => ({ config: point.config, memoryGiB: point.usage.usedRamGiB, busy: busy[i] })).filter((m) => Number.isFinite(m.memoryGiB));
  if (distinct(measured.map((m) => m.config.heapMB)) >= 2) return fitMemory(p, measured, Float64Array.from(measured, (m) => m.busy));
  const kept = { memoryBaseGiB: p.memoryBaseGiB, memoryHeapIdle: p.memoryHeapIdle, memoryHeapBusy: p.memoryHeapBusy, memoryHeapCapMB: p.memoryHeapCapMB };
  if (measured.length < 2 || distinct(measured.map((m) => m.busy)) < 2) return kept;
  const n = measured.length;
  const mx = measured.reduce((s, m) => s + m.busy, 0) / n;
  const my = measured.reduce((s, m) => s + m.memoryGiB, 0) / n;
  const slope = measured.reduce((s, m) => s + (m.busy - mx) * (m.memoryGiB - my), 0) / measured.reduce((s, m) => s + (m.busy - mx) ** 2, 0);
  const heapGiB = Math.min(measured[0].config.heapMB, p.memoryHeapCapMB) / 1024;
  return { ...kept, memoryBaseGiB: Math.max(0, my - slope * mx - heapGiB * p.memoryHeapIdle), memoryHeapBusy: Math.max(0, slope / heapGiB) };
}

function memoryFitted(points: readonly CollectedPoint[]): (keyof ModelParameters)[] {
  return distinct(points.map((p) => p.config.heapMB)) >= 2 ? ['memoryBaseGiB', 'memoryHeapIdle', 'memoryHeapBusy', 'memoryHeapCapMB'] : ['memoryBaseGiB', 'memoryHeapBusy'];
}

/** Fits the model to collected points; deterministic for given points. */
export function calibrateFromPoints(points: readonly CollectedPoint[], options: PointCalibrationOptions = {}): PointCalibration {
  const start = checkParameters({ ...DEFAULT_PARAMETERS, ...options.start });
  const roles = points.map((point) => {
    const role = pointRole(point, options.windowS);
    const latencyUsed = role === 'unsaturated' && point.servedRps > 0 && point.latencyMs.p50 > 0 && point.latencyMs.p95 > 0;
    return { role, latencyUsed };
  });
  const usable: Usable[] = points.map((point, i) => ({ point, ...roles[i] })).filter((u) => u.point.offeredRps > 0);
  if (usable.length < 2) throw new RangeError(`the collection has ${usable.length} points under load; calibration needs at least 2`);

  const capacity = fitCapacity(start, usable);
  const busy = points.map((point) => pointUtilisation(capacity.parameters, point));
  const withBeta = { ...capacity.parameters, cpuBusyExponent: fitBusyExponent(capacity.parameters, [...points], busy) };
  const memory = fitPointMemory(withBeta, points, busy);
  const outPackets = perRequest(points, (p) => p.usage.outgoingPacketsPerSec);
  const inPackets = perRequest(points, (p) => p.usage.incomingPacketsPerSec);
  const parameters = checkParameters({
    ...withBeta,
    outPacketsPerRequest: outPackets.value,
    inPacketsPerRequest: inPackets.value,
    ...memory,
  });
  return {
    parameters,
    standardErrors: { outPacketsPerRequest: outPackets.standardError, inPacketsPerRequest: inPackets.standardError },
    fitted: [...capacity.fitted, 'cpuBusyExponent', 'outPacketsPerRequest', 'inPacketsPerRequest', ...memoryFitted(points)],
    roles,
    latencyOverheadMs: capacity.overheadMs,
  };
}

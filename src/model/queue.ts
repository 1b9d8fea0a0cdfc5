/**
 * Queue maths of one pod: an M/M/1/K queue (Poisson arrivals, exponential service, FIFO, room for
 * K requests in the pod including the one in service). A request that finds the pod full is
 * refused. An accepted request that finds n requests ahead waits n + 1 service times, so its
 * response time is Erlang(n + 1, mu); percentiles come from that mixture.
 *
 * Pure functions, no calibration: rates in requests/s, times in seconds.
 */

export interface QueueState {
  /** Probability that an arrival finds the pod full and is refused. */
  blocking: number;
  /** Arrivals accepted, req/s. */
  throughput: number;
  /** Fraction of time the server is busy, 0..1. */
  utilisation: number;
  /** Mean number of requests in the pod. */
  meanInSystem: number;
}

function checkQueue(lambda: number, mu: number, k: number): void {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`arrival rate ${lambda} is not a finite rate >= 0`);
  if (!(mu > 0) || !Number.isFinite(mu)) throw new RangeError(`service rate ${mu} is not a finite rate > 0`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`queue room ${k} is not an integer >= 1`);
}

/**
 * Stationary probabilities p[0..k] of n requests in the pod, computed without overflow:
 * p_n is proportional to rho^n, scaled by the largest term.
 */
export function stationaryDistribution(lambda: number, mu: number, k: number): Float64Array {
  checkQueue(lambda, mu, k);
  const p = new Float64Array(k + 1);
  const logRho = lambda === 0 ? -Infinity : Math.log(lambda / mu);
  const top = logRho > 0 ? k * logRho : 0;
  let sum = 0;
  for (let n = 0; n <= k; n++) {
    p[n] = n === 0 ? Math.exp(-top) : Math.exp(n * logRho - top);
    sum += p[n];
  }
  for (let n = 0; n <= k; n++) p[n] /= sum;
  return p;
}

/** Blocking, throughput, utilisation and mean occupancy of an M/M/1/K queue. */
export function queueState(lambda: number, mu: number, k: number): QueueState {
  const p = stationaryDistribution(lambda, mu, k);
  let meanInSystem = 0;
  for (let n = 1; n <= k; n++) meanInSystem += n * p[n];
  const blocking = p[k];
  return { blocking, throughput: lambda * (1 - blocking), utilisation: 1 - p[0], meanInSystem };
}

/**
 * Probability that an accepted request's response time exceeds t seconds:
 * sum over n < k of P(n ahead | accepted) * P(Erlang(n + 1, mu) > t), where the Erlang tail is a
 * Poisson(mu t) cumulative sum, accumulated in one pass over n.
 */
export function responseTimeTail(p: Float64Array, mu: number, t: number): number {
  const k = p.length - 1;
  const accepted = 1 - p[k];
  if (accepted <= 0) return 1;
  if (t <= 0) return 1;
  const x = mu * t;
  const logX = Math.log(x);
  let logTerm = -x; // log of the Poisson(x) pmf at j = 0
  let poissonCdf = 0;
  let tail = 0;
  for (let n = 0; n < k; n++) {
    if (n > 0) logTerm += logX - Math.log(n);
    poissonCdf += Math.exp(logTerm);
    tail += (p[n] / accepted) * Math.min(1, poissonCdf);
  }
  return Math.min(1, Math.max(0, tail));
}

/**
 * The q-quantile (0 < q < 1) of an accepted request's response time, seconds, by bisection; with
 * `limit`, of the requests answered within `limit` seconds (the others timed out).
 */
export function responseTimeQuantile(p: Float64Array, mu: number, q: number, limit = Infinity): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile ${q} is not in (0, 1)`);
  const k = p.length - 1;
  const within = Number.isFinite(limit) ? 1 - responseTimeTail(p, mu, limit) : 1;
  const targetTail = 1 - q * within;
  let low = 0;
  // The longest an accepted request waits is k service times; its (1 - 1e-9) point is well below this.
  let high = Math.min(limit, (k + 10 * Math.sqrt(k) + 25) / mu);
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (responseTimeTail(p, mu, mid) > targetTail) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * Nelder-Mead minimisation of a function of a few parameters, deterministic (no random restarts),
 * for the model's calibration. Standard coefficients: reflection 1, expansion 2, contraction 0.5,
 * shrink 0.5.
 */
export interface MinimiseOptions {
  /** Initial simplex edge per parameter (default 10% of the start value, or 0.1 when it is 0). */
  steps?: number[];
  maxIterations?: number;
  /** Stop when the spread of values over the simplex falls below this. */
  tolerance?: number;
}

export interface MinimiseResult {
  x: number[];
  value: number;
  iterations: number;
}

export function nelderMead(f: (x: number[]) => number, start: number[], options: MinimiseOptions = {}): MinimiseResult {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 400 * n;
  const tolerance = options.tolerance ?? 1e-10;
  const steps = options.steps ?? start.map((v) => (v === 0 ? 0.1 : Math.abs(v) * 0.1));
  const safe = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let simplex = [start.slice()];
  for (let i = 0; i < n; i++) {
    const x = start.slice();
    x[i] += steps[i];
    simplex.push(x);
  }
  let values = simplex.map(safe);
  let iterations = 0;
  const combine = (a: number[], b: number[], t: number) => a.map((v, i) => v + t * (b[i] - v));
  for (; iterations < maxIterations; iterations++) {
    const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
    simplex = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    if (Math.abs(values[n] - values[0]) < tolerance) break;
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i][j] / n;
    const reflected = combine(centroid, simplex[n], -1);
    const fr = safe(reflected);
    if (fr < values[0]) {
      const expanded = combine(centroid, simplex[n], -2);
      const fe = safe(expanded);
      if (fe < fr) [simplex[n], values[n]] = [expanded, fe];
      else [simplex[n], values[n]] = [reflected, fr];
    } else if (fr < values[n - 1]) {
      [simplex[n], values[n]] = [reflected, fr];
    } else {
      const contracted = fr < values[n] ? combine(centroid, reflected, 0.5) : combine(centroid, simplex[n], 0.5);
      const fc = safe(contracted);
      if (fc < Math.min(fr, values[n])) [simplex[n], values[n]] = [contracted, fc];
      else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = combine(simplex[0], simplex[i], 0.5);
          values[i] = safe(simplex[i]);
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i <= n; i++) if (values[i] < values[best]) best = i;
  return { x: simplex[best], value: values[best], iterations };
}

/** Goodness-of-fit statistics for the fit report: R-squared, median absolute % error, Spearman. */

function finitePairs(observed: ArrayLike<number>, predicted: ArrayLike<number>): [number[], number[]] {
  if (observed.length !== predicted.length) throw new RangeError(`observed (${observed.length}) and predicted (${predicted.length}) differ in length`);
  const o: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < observed.length; i++) {
    if (Number.isFinite(observed[i]) && Number.isFinite(predicted[i])) {
      o.push(observed[i]);
      p.push(predicted[i]);
    }
  }
  return [o, p];
}

/** 1 - SS_res / SS_tot over pairs where both are finite (NaN when the observations do not vary). */
export function rSquared(observed: ArrayLike<number>, predicted: ArrayLike<number>): number {
  const [o, p] = finitePairs(observed, predicted);
  const mean = o.reduce((s, v) => s + v, 0) / o.length;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < o.length; i++) {
    res += (o[i] - p[i]) ** 2;
    tot += (o[i] - mean) ** 2;
  }
  return tot > 0 ? 1 - res / tot : Number.NaN;
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median of |predicted - observed| / |observed|, in percent, over pairs with observed != 0. */
export function medianAbsPercentError(observed: ArrayLike<number>, predicted: ArrayLike<number>): number {
  const [o, p] = finitePairs(observed, predicted);
  const errors: number[] = [];
  for (let i = 0; i < o.length; i++) if (o[i] !== 0) errors.push((100 * Math.abs(p[i] - o[i])) / Math.abs(o[i]));
  return median(errors);
}

/** Ranks 1..n, ties sharing their mean rank. */
function ranks(values: number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const r = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson's correlation of the ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [x, y] = finitePairs(a, b);
  const rx = ranks(x);
  const ry = ranks(y);
  const n = rx.length;
  const mx = rx.reduce((s, v) => s + v, 0) / n;
  const my = ry.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

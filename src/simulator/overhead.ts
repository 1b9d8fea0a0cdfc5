/**
 * The web UI's own overhead per request: how late a response leaves after the time the model
 * says it completes (timer lateness, routing, writing). Counted in 10 µs buckets up to 1 s (one
 * overflow bucket beyond), so recording costs an array increment.
 */
const BUCKET_MS = 0.01;
const BUCKETS = 100_000;

export class OverheadHistogram {
  private counts = new Uint32Array(BUCKETS + 1);
  private total = 0;

  record(ms: number): void {
    const bucket = Math.min(BUCKETS, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[bucket]++;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Upper edge of the bucket holding the q-quantile, ms (NaN when empty; Infinity past 1 s). */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= rank) return b === BUCKETS ? Infinity : (b + 1) * BUCKET_MS;
    }
    return Infinity;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

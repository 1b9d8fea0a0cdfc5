/**
 * Request-level measurements read back from Prometheus: what the load generator's metrics
 * (metrics.ts) say about a window. On a real cluster the web UI exports nothing of its own, so
 * these series, scraped from the generator (in-process, or the `deploy/` Job), are the
 * measurement of load, served requests and latency. Percentiles come from `histogram_quantile`
 * over the latency histogram's buckets, so they are interpolated within a bucket.
 */
import { PrometheusDriver } from 'prometheus-query';

export interface RequestWindow {
  /** Session arrivals per second the generator aimed at (mean of its target-rate gauge). */
  targetSessionsPerSec: number;
  /** Session arrivals per second (sent or dropped). */
  arrivalsPerSec: number;
  droppedPerSec: number;
  /** Requests answered below status 400, per second. */
  servedRps: number;
  /** Requests failed by status, time-out or connection error, per second. */
  failedRps: number;
  /** Of every request ended in the window; NaN when none did. */
  latencyMs: { p50: number; p95: number; p99: number };
  windowSeconds: number;
  at: Date;
}

export interface RequestMetricOptions {
  /** Prometheus base URL. */
  url: string;
  /** Label matchers picking the generator's series, e.g. `job="load"` (default: every series). */
  selector?: string;
  requestTimeoutMs?: number;
}

export class RequestMetricError extends Error {
  override name = 'RequestMetricError';
  constructor(
    message: string,
    readonly query: string,
  ) {
    super(message);
  }
}

export class RequestMetricClient {
  readonly url: string;
  private readonly selector: string;
  private readonly driver: PrometheusDriver;

  constructor(options: RequestMetricOptions) {
    if (!/^https?:\/\//.test(options.url)) throw new RequestMetricError(`Prometheus URL ${JSON.stringify(options.url)} must start with http:// or https://`, '');
    this.url = options.url.replace(/\/+$/, '');
    this.selector = options.selector ?? '';
    this.driver = new PrometheusDriver({ endpoint: this.url, baseURL: '/api/v1', timeout: options.requestTimeoutMs ?? 5000 });
  }

  /** The window of `windowSeconds` ending at `at` (default now). */
  async collect(windowSeconds: number, at: Date = new Date()): Promise<RequestWindow> {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw new RequestMetricError(`windowSeconds must be a positive integer, got ${windowSeconds}`, '');
    const w = `${windowSeconds}s`;
    const sel = (extra = '') => `{${[this.selector, extra].filter(Boolean).join(', ')}}`;
    const rate = (metric: string, extra = '') => `sum(rate(${metric}${sel(extra)}[${w}]))`;
    const quantile = (q: number) => `1000 * histogram_quantile(${q}, sum by (le) (rate(load_generator_request_duration_seconds_bucket${sel()}[${w}])))`;
    const where = `in Prometheus at ${this.url}${this.selector ? ` (selector ${this.selector})` : ''}`;
    const never = `no load generator series ${where}: is it scraping the generator's /metrics?`;
    const gone = `the load generator's series ${where} had ended by ${at.toISOString()}: the generator stopped, or Prometheus can no longer scrape its /metrics`;
    const [targetSessionsPerSec, arrivalsPerSec, droppedPerSec, servedRps, failedRps, p50, p95, p99] = await Promise.all([
      this.scalar(`sum(avg_over_time(load_generator_target_rate${sel()}[${w}]))`, at, never),
      this.scalar(rate('load_generator_arrivals_total'), at, never),
      this.scalar(rate('load_generator_dropped_arrivals_total'), at, never),
      this.scalar(rate('load_generator_requests_total', 'outcome="ok"'), at),
      this.scalar(rate('load_generator_requests_total', 'outcome=~"http|timeout|connection"'), at),
      this.scalar(quantile(0.5), at),
      this.scalar(quantile(0.95), at),
      this.scalar(quantile(0.99), at),
    ]);
    // A generator that died inside the window still has samples in it: require a live series at its end.
    await this.scalar(`count(load_generator_target_rate${sel()})`, at, gone);
    return { targetSessionsPerSec, arrivalsPerSec, droppedPerSec, servedRps, failedRps, latencyMs: { p50, p95, p99 }, windowSeconds, at };
  }

  /**
   * One number. A series that does not exist yet (no request of that outcome so far) reads as 0 for
   * counts and NaN for percentiles, unless `missing` is given: the generator's own gauges must be
   * there, and their absence is the error `missing` describes.
   */
  private async scalar(query: string, at: Date, missing?: string): Promise<number> {
    let result;
    try {
      result = await this.driver.instantQuery(query, at);
    } catch (err) {
      const e = err as { message?: string; error?: string; errorType?: string };
      throw new RequestMetricError(`Prometheus at ${this.url} failed the query ${query}: ${e.error ?? e.message ?? String(err)}`, query);
    }
    const series = result.result as { value: { value: number } }[];
    if (series.length === 0) {
      if (missing) throw new RequestMetricError(missing, query);
      return query.includes('histogram_quantile') ? Number.NaN : 0;
    }
    return Number(series[0].value.value);
  }
}

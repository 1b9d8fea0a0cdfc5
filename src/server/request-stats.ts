/**
 * Requests by route and status, and their latency histogram by route, counted in plain numbers on
 * the request path and turned into Prometheus series only when /metrics is scraped. prom-client's
 * own Counter and Histogram validate and hash their labels on every call, which costs more than
 * the rest of the bookkeeping of a request; here a route's counters are found with one Map lookup.
 *
 * Each of the two families is registered with the prom-client registry as a metric whose get()
 * returns the series in prom-client's own shape, so they print exactly as its metrics do.
 */
import type * as client from 'prom-client';

interface RouteEntry {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  byStatus: Map<number, number>;
}

interface SeriesValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface RequestStatsNames {
  requests: { name: string; help: string };
  latency: { name: string; help: string; buckets: readonly number[] };
}

export class RequestStats {
  private readonly routes = new Map<string, RouteEntry>();
  private readonly bounds: readonly number[];

  constructor(
    private readonly names: RequestStatsNames,
    registry: client.Registry,
  ) {
    this.bounds = [...names.latency.buckets].sort((a, b) => a - b);
    registry.registerMetric(this.family(names.requests.name, names.requests.help, 'counter', () => this.requestSeries()));
    registry.registerMetric(this.family(names.latency.name, names.latency.help, 'histogram', () => this.latencySeries()));
  }

  /** Counts one answered request of `route` with its status and latency in seconds. */
  observe(route: string, status: number, seconds: number): void {
    let entry = this.routes.get(route);
    if (!entry) {
      entry = { buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0, byStatus: new Map() };
      this.routes.set(route, entry);
    }
    entry.byStatus.set(status, (entry.byStatus.get(status) ?? 0) + 1);
    let b = 0;
    while (b < this.bounds.length && seconds > this.bounds[b]) b++;
    entry.buckets[b]++;
    entry.sum += seconds;
    entry.count++;
  }

  private requestSeries(): SeriesValue[] {
    const values: SeriesValue[] = [];
    for (const [route, entry] of this.routes) {
      for (const [status, count] of entry.byStatus) values.push({ labels: { route, status: String(status) }, value: count });
    }
    return values;
  }

  private latencySeries(): SeriesValue[] {
    const name = this.names.latency.name;
    const values: SeriesValue[] = [];
    for (const [route, entry] of this.routes) {
      let cumulative = 0;
      for (let b = 0; b <= this.bounds.length; b++) {
        cumulative += entry.buckets[b];
        values.push({ labels: { le: b < this.bounds.length ? this.bounds[b] : '+Inf', route }, value: cumulative, metricName: `${name}_bucket` });
      }
      values.push({ labels: { route }, value: entry.sum, metricName: `${name}_sum` });
      values.push({ labels: { route }, value: entry.count, metricName: `${name}_count` });
    }
    return values;
  }

  /** A metric in the shape prom-client's registry reads (name, help, type, get, reset). */
  private family(name: string, help: string, type: 'counter' | 'histogram', series: () => SeriesValue[]): client.Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: async () => ({ name, help, type, values: series(), aggregator: 'sum' as const }),
      reset: () => this.routes.clear(),
    };
    return metric as unknown as client.Metric;
  }
}

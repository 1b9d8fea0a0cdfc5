/**
 * The load generator's Prometheus metrics, on a registry of their own: requests by name and
 * outcome, a latency histogram (timed as the generator's own statistics: a session's first
 * request from its intended start), arrivals, dropped arrivals, the target rate, sessions in
 * flight, and the mode as an info gauge. A run feeds them through its `observer` option;
 * `serveLoadMetrics` serves them on /metrics.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'prom-client';
import type { LoadControl } from './run';
import type { LoadMode, LoadObserver } from './stats';
import type { Outcome } from './target';

function geometricBuckets(first: number, last: number, factor: number): number[] {
  const bounds: number[] = [];
  for (let v = first; v < last * 0.999; v *= factor) bounds.push(Number(v.toPrecision(3)));
  return [...bounds, last];
}

/**
 * Seconds: 1 ms to 10 s, each bucket 20% wider than the one before. Prometheus interpolates a
 * percentile linearly inside its bucket, so narrow relative widths keep a `histogram_quantile`
 * close to the generator's own HDR percentile anywhere from 5 ms to 10 s.
 */
export const LATENCY_BUCKETS_SECONDS = geometricBuckets(0.001, 10, 1.2);

export interface LoadMetricsInfo {
  mode: LoadMode;
  scenario: string;
  /** The profile spec (open loop) or a description of the users (closed loop). */
  profile: string;
}

export class LoadMetrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'load_generator_requests_total',
    help: 'Requests that ended, by scenario request name and outcome (ok, http, timeout, connection)',
    labelNames: ['name', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'load_generator_request_duration_seconds',
    help: "Request latency by request name; a session's first request is timed from its intended start",
    labelNames: ['name'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly arrivals = new client.Counter({ name: 'load_generator_arrivals_total', help: 'Session arrivals (sent or dropped)', registers: [this.registry] });
  readonly dropped = new client.Counter({ name: 'load_generator_dropped_arrivals_total', help: 'Arrivals dropped because the cap on sessions in flight was reached', registers: [this.registry] });
  readonly targetRate: client.Gauge;
  readonly inFlight: client.Gauge;
  readonly info = new client.Gauge({
    name: 'load_generator_info',
    help: 'Always 1: the run mode (open-loop or closed-loop), scenario and profile',
    labelNames: ['mode', 'scenario', 'profile'] as const,
    registers: [this.registry],
  });

  private readonly byName = new Map<string, { latency: client.Histogram.Internal<'name'>; byOutcome: Map<Outcome, client.Counter.Internal> }>();
  private run: LoadControl | undefined;
  private rate: ((tSeconds: number) => number) | undefined;

  /** Pass as the run's `observer` option. */
  readonly observer: LoadObserver = {
    onArrival: (count) => this.arrivals.inc(count),
    onDrop: (count) => this.dropped.inc(count),
    onRequest: (name, outcome, latencyMs) => this.observeRequest(name, outcome, latencyMs),
  };

  constructor(info?: LoadMetricsInfo) {
    if (info) this.info.set(info, 1);
    // Gauges read at scrape time, so they are current whatever the scrape interval.
    const owner = this;
    this.targetRate = new client.Gauge({
      name: 'load_generator_target_rate',
      help: 'The rate the run aims at, in session arrivals per second',
      registers: [this.registry],
      collect() {
        if (!owner.run || !owner.rate) return;
        const r = owner.run.isStopped ? 0 : owner.rate(owner.run.nowS());
        this.set(Number.isFinite(r) && r > 0 ? r : 0);
      },
    });
    this.inFlight = new client.Gauge({
      name: 'load_generator_sessions_in_flight',
      help: 'Sessions started and not ended',
      registers: [this.registry],
      collect() {
        if (owner.run) this.set(owner.run.sessionsInFlight);
      },
    });
  }

  /** Reads sessions in flight and (given `rate`, arrivals/s at run time t) the target rate from `run` at each scrape. */
  attach(run: LoadControl, rate?: (tSeconds: number) => number): void {
    this.run = run;
    this.rate = rate;
  }

  /** Counts one request; aborted ones (cut off by stop) are neither ok nor failed and are left out. */
  observeRequest(name: string, outcome: Outcome, latencyMs: number): void {
    if (outcome === 'aborted') return;
    let entry = this.byName.get(name);
    if (!entry) {
      entry = { latency: this.latency.labels({ name }), byOutcome: new Map() };
      this.byName.set(name, entry);
    }
    let counter = entry.byOutcome.get(outcome);
    if (!counter) {
      counter = this.requests.labels({ name, outcome });
      entry.byOutcome.set(outcome, counter);
    }
    counter.inc();
    entry.latency.observe(latencyMs / 1000);
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface MetricsServer {
  /** The /metrics URL. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `metrics` on http://host:port/metrics (port 0: a free one); loopback unless `host` says otherwise. */
export async function serveLoadMetrics(port: number, metrics: LoadMetrics, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    metrics.exposition().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${actual}/metrics`,
    port: actual,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

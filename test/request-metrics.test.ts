/**
 * Request-level measurements read back from a real Prometheus scraping the load generator agree
 * with the generator's own statistics over the same window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLoad } from '../src/load/generator';
import { LATENCY_BUCKETS_SECONDS, LoadMetrics, serveLoadMetrics, type MetricsServer } from '../src/load/metrics';
import { RequestMetricClient, RequestMetricError } from '../src/load/request-metrics';
import { startTestTarget, type TestTarget } from '../src/load/test-target';
import { findBinary, startPrometheus, type PrometheusHandle } from '../src/prometheus-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('latency buckets: 1 ms to 10 s, increasing, each at most 21% wider than the one before', () => {
  assert.equal(LATENCY_BUCKETS_SECONDS[0], 0.001);
  assert.equal(LATENCY_BUCKETS_SECONDS.at(-1), 10);
  for (let i = 1; i < LATENCY_BUCKETS_SECONDS.length; i++) {
    const ratio = LATENCY_BUCKETS_SECONDS[i] / LATENCY_BUCKETS_SECONDS[i - 1];
    assert.ok(ratio > 1 && ratio <= 1.21, `bucket ${i}: ratio ${ratio}`);
  }
});

describe('request metrics through Prometheus', { skip: findBinary('prometheus') ? false : 'no prometheus binary on PATH' }, () => {
  let target: TestTarget;
  let server: MetricsServer;
  let prometheus: PrometheusHandle;
  const metrics = new LoadMetrics({ mode: 'open-loop', scenario: 'home', profile: 'constant:120' });
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 25, errorRate: 0.1, seed: 4 });
    server = await serveLoadMetrics(0, metrics);
    prometheus = await startPrometheus({ targets: [server.url] });
  });
  after(async () => {
    await prometheus.stop();
    await server.close();
    await target.close();
  });

  it('refuses a bad URL and says when no generator series is scraped', async () => {
    assert.throws(() => new RequestMetricClient({ url: 'localhost:9090' }), /must start with http/);
    const client = new RequestMetricClient({ url: prometheus.url, selector: 'job="nothing-here"' });
    await assert.rejects(client.collect(5), (err: unknown) => err instanceof RequestMetricError && /no load generator series .*\(selector job="nothing-here"\)/.test(err.message));
  });

  it('rates and p95 over a window agree with the generator\'s own', { timeout: 60_000 }, async () => {
    const run = startLoad(target.url, 120, { process: 'even', observer: metrics.observer, seed: 3 });
    metrics.attach(run, () => 120);
    try {
      await sleep(3000);
      // Align the generator's window with Prometheus' scrapes: both end at a scrape after 10 s.
      run.takeWindow();
      const startMs = Date.now();
      await sleep(10_000);
      const own = run.takeWindow();
      const seconds = (Date.now() - startMs) / 1000;
      await sleep(1500); // the last scrape of the window
      const client = new RequestMetricClient({ url: prometheus.url });
      const read = await client.collect(10, new Date(startMs + 10_000));
      const ownServed = own.requests.ok / seconds;
      const ownFailed = own.requests.failedTotal / seconds;
      assert.ok(Math.abs(read.targetSessionsPerSec - 120) < 1e-6, `target ${read.targetSessionsPerSec}`);
      assert.ok(Math.abs(read.arrivalsPerSec - 120) / 120 < 0.1, `arrivals ${read.arrivalsPerSec}`);
      assert.ok(Math.abs(read.servedRps - ownServed) / ownServed < 0.1, `served ${read.servedRps} vs ${ownServed}`);
      assert.ok(read.failedRps > 0 && Math.abs(read.failedRps - ownFailed) / ownFailed < 0.35, `failed ${read.failedRps} vs ${ownFailed}`);
      const ratio = read.latencyMs.p95 / own.latencyMs.p95;
      assert.ok(ratio >= 0.8 && ratio <= 1.25, `p95 ${read.latencyMs.p95} ms vs the generator's ${own.latencyMs.p95} ms`);
      assert.ok(read.latencyMs.p50 <= read.latencyMs.p95 && read.latencyMs.p95 <= read.latencyMs.p99);
    } finally {
      await run.stop({ drainMs: 0 });
    }
  });
});

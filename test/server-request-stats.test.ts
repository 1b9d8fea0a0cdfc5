import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'prom-client';
import { RequestStats } from '../src/server/request-stats';
import { Rng } from '../src/random';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const NAMES = {
  requests: { name: 'demo_requests_total', help: 'Requests by route and status' },
  latency: { name: 'demo_request_duration_seconds', help: 'Latency by route', buckets: BUCKETS },
};

test('request stats print exactly what prom-client\'s Counter and Histogram print for the same requests', async () => {
  const fast = new client.Registry();
  const stats = new RequestStats(NAMES, fast);
  const reference = new client.Registry();
  const counter = new client.Counter({ name: NAMES.requests.name, help: NAMES.requests.help, labelNames: ['route', 'status'], registers: [reference] });
  const histogram = new client.Histogram({ name: NAMES.latency.name, help: NAMES.latency.help, labelNames: ['route'], buckets: BUCKETS, registers: [reference] });
  const rng = new Rng(7);
  const routes = ['POST /v1/episodes/:id/action', 'POST /v1/episodes/:id/returns', 'GET /healthz'];
  const statuses = [200, 200, 200, 400, 409];
  for (let i = 0; i < 5000; i++) {
    const route = routes[rng.int(routes.length)];
    const status = statuses[rng.int(statuses.length)];
    // Latencies across all buckets, some exactly on a bound (which counts in that bucket).
    const seconds = i % 50 === 0 ? BUCKETS[rng.int(BUCKETS.length)] : Math.exp(-9 + 9 * rng.next());
    stats.observe(route, status, seconds);
    counter.inc({ route, status: String(status) });
    histogram.observe({ route }, seconds);
  }
  const sortLines = (text: string) => text.split('\n').filter(Boolean).sort();
  const ours = await fast.metrics();
  const theirs = await reference.metrics();
  assert.match(ours, /^demo_request_duration_seconds_bucket\{le="\+Inf",route="GET \/healthz"\} \d+$/m);
  assert.deepEqual(sortLines(ours), sortLines(theirs));
});

test('request stats start empty and are cleared by a registry reset', async () => {
  const registry = new client.Registry();
  const stats = new RequestStats(NAMES, registry);
  assert.doesNotMatch(await registry.metrics(), /demo_requests_total\{/);
  stats.observe('GET /healthz', 200, 0.001);
  assert.match(await registry.metrics(), /^demo_requests_total\{route="GET \/healthz",status="200"\} 1$/m);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /demo_requests_total\{/);
});

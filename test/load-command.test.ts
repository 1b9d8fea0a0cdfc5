/**
 * `rl-autoscaler load` as users run it (a child process against the local test target), and its
 * metrics scraped by a real Prometheus.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLoad, type LoadStats } from '../src/load/generator';
import { LATENCY_BUCKETS_SECONDS, LoadMetrics, serveLoadMetrics } from '../src/load/metrics';
import { startTestTarget, type TestTarget } from '../src/load/test-target';
import { findBinary, startPrometheus } from '../src/prometheus-server';
import { runCli } from './support/run-cli';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the CLI without blocking this process's event loop (the target lives here). */
const cli = (args: string[]) => runCli(['load', ...args], { timeoutMs: 60_000 });

describe('rl-autoscaler load', () => {
  let target: TestTarget;
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 2, seed: 1 });
  });
  after(() => target.close());

  it('runs a short open-loop load and prints consistent JSON totals', async () => {
    const before = target.counts.requests;
    const r = await cli(['--target', target.url, '--profile', 'constant:40', '--duration', '1500ms', '--process', 'even', '--scenario', 'browse', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as LoadStats & { profile: string; scenario: string };
    assert.equal(out.mode, 'open-loop');
    assert.equal(out.profile, 'constant:40');
    assert.equal(out.scenario, 'browse');
    // 60 evenly spaced arrivals expected; a busy machine may start a little late but not lose many.
    assert.ok(out.expectedArrivals !== null && Math.abs(out.expectedArrivals - 60) < 3, `${out.expectedArrivals} expected`);
    assert.ok(out.arrivals >= 50 && out.arrivals <= 62, `${out.arrivals} arrivals`);
    assert.equal(out.arrivals, out.sent + out.dropped);
    assert.equal(out.dropped, 0);
    assert.equal(out.completed, out.sent);
    assert.equal(out.ok, out.completed);
    assert.equal(out.requests.sent, 8 * out.sent);
    assert.equal(out.requests.ok + out.requests.failedTotal + out.requests.aborted, out.requests.sent);
    assert.equal(out.requests.failedTotal, 0);
    assert.equal(out.latencyMs.count, out.requests.ok);
    assert.equal(target.counts.requests - before, out.requests.ok);
    assert.ok(out.servedRatio !== null && Math.abs(out.servedRatio - out.ok / out.expectedArrivals) < 1e-9);
    assert.match(r.stderr, /open-loop, constant:40 session arrivals\/s/);
  });

  it('refuses a malformed profile with exit 2 before sending anything', async () => {
    const quiet = await startTestTarget();
    try {
      for (const args of [
        ['--profile', 'ramp:10:oops:5m', '--duration', '2s'],
        ['--profile', 'constant:10', '--duration', '2s', '--scenario', 'checkout'],
        ['--profile', 'constant:10', '--duration', 'soon'],
        ['--profile', 'constant:10'],
      ]) {
        const r = await cli(['--target', quiet.url, ...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /usage: rl-autoscaler load/);
        assert.equal(r.stdout, '');
      }
      const bad = await cli(['--target', quiet.url, '--profile', 'ramp:10:oops:5m', '--duration', '2s']);
      assert.match(bad.stderr, /--profile: profile spec "ramp:10:oops:5m"/);
      assert.equal(quiet.counts.requests, 0);
    } finally {
      await quiet.close();
    }
  });

  it('counts an unreachable target as connection failures, runs on and exits 0 with a summary', async () => {
    const gone = await startTestTarget();
    await gone.close();
    const r = await cli(['--target', gone.url, '--profile', 'constant:30', '--process', 'even', '--duration', '1s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^load summary: open-loop/);
    const count = (label: string) => Number(new RegExp(`^  ${label}\\s+(\\d+)$`, 'm').exec(r.stdout)?.[1]);
    assert.ok(count('failed connection') >= 20, r.stdout);
    assert.equal(count('failed connection'), count('sent'));
    assert.equal(count('ok'), 0);
    assert.match(r.stdout, /latency \(ms\)\s+count\s+p50\s+p90\s+p95\s+p99\s+max/);
  });

  it('says closed-loop in a closed-loop summary', async () => {
    const r = await cli(['--target', target.url, '--closed-loop-users', '2', '--think-time-ms', '20', '--duration', '800ms']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^load summary: closed-loop/);
    assert.match(r.stdout, /closed-loop: arrivals wait for responses/);
  });
});

async function query(url: string, promql: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  const value = body.data?.result?.[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

describe('load metrics scraped by Prometheus', { skip: findBinary('prometheus') ? false : 'no prometheus binary on PATH' }, () => {
  it('the ok counter and the latency histogram agree with the totals', async () => {
    const target = await startTestTarget({ serviceTimeMs: 15, seed: 2 });
    const metrics = new LoadMetrics({ mode: 'open-loop', scenario: 'home', profile: 'constant:80' });
    const server = await serveLoadMetrics(0, metrics);
    const prometheus = await startPrometheus({ targets: [server.url] });
    try {
      const run = startLoad(target.url, 80, { process: 'even', observer: metrics.observer });
      metrics.attach(run, () => 80);
      await sleep(1500);
      // Scraped while running: the target rate and the mode.
      let rate: number | undefined;
      for (let i = 0; i < 30 && rate === undefined; i++) {
        rate = await query(prometheus.url, 'load_generator_target_rate * on() group_left load_generator_info{mode="open-loop"}');
        if (rate === undefined) await sleep(200);
      }
      assert.equal(rate, 80);
      await sleep(500);
      const totals = await run.stop();
      assert.ok(totals.requests.ok >= 80, `${totals.requests.ok} ok`);

      // Wait for a scrape after the stop: the counter then holds the final total.
      let ok: number | undefined;
      for (let deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
        ok = await query(prometheus.url, 'sum(load_generator_requests_total{outcome="ok"})');
        if (ok === totals.requests.ok) break;
      }
      assert.equal(ok, totals.requests.ok);
      assert.equal(await query(prometheus.url, 'sum(load_generator_request_duration_seconds_count)'), totals.latencyMs.count);
      assert.equal(await query(prometheus.url, 'sum(load_generator_dropped_arrivals_total)'), 0);

      // The quantile Prometheus interpolates lies in the bucket holding the generator's own (or at its edge).
      for (const [q, own] of [
        [0.5, totals.latencyMs.p50],
        [0.9, totals.latencyMs.p90],
      ] as const) {
        const estimate = await query(prometheus.url, `histogram_quantile(${q}, sum by (le) (load_generator_request_duration_seconds_bucket))`);
        assert.ok(estimate !== undefined && Number.isFinite(estimate), `q${q}: ${estimate}`);
        const ownS = own / 1000;
        const upper = LATENCY_BUCKETS_SECONDS.find((b) => b >= ownS) ?? Infinity;
        const lower = [...LATENCY_BUCKETS_SECONDS].reverse().find((b) => b < ownS) ?? 0;
        assert.ok(estimate >= lower - 1e-9 && estimate <= upper + 1e-9, `q${q}: Prometheus ${estimate} s, generator ${ownS} s (bucket ${lower}..${upper})`);
      }
      // A 15 ms service time puts the median above the first bucket.
      assert.ok(totals.latencyMs.p50 >= 15, `p50 ${totals.latencyMs.p50} ms`);
    } finally {
      await prometheus.stop();
      await server.close();
      await target.close();
    }
  });
});

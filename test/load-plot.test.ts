/** Figures of load: profiles over time and a generator run window by window. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfileSpec } from '../src/load/profile-spec';
import type { LoadStats } from '../src/load/stats';
import { loadRunFigure, profileFigure } from '../src/plot/load';

test('profileFigure samples each profile over the span, in the unit the span calls for', () => {
  const steps = parseProfileSpec('steps:0=50,10m=200:for=1h');
  const ramp = parseProfileSpec('ramp:0:100:30m');
  const figure = profileFigure([steps, ramp], { points: 60 });
  assert.equal(figure.data.length, 2);
  assert.match(String((figure.layout.xaxis as { title: { text: string } }).title.text), /min/);
  const [a, b] = figure.data;
  assert.equal((a.x as number[]).length, 61);
  // At 5 min the steps profile is at 50, from 10 min at 200; the ramp is halfway at 15 min.
  const at = (trace: typeof a, minute: number) => (trace.y as number[])[(trace.x as number[]).findIndex((x) => Math.abs(x - minute) < 1e-9)];
  assert.equal(at(a, 5), 50);
  assert.equal(at(a, 20), 200);
  assert.ok(Math.abs(at(b, 15) - 50) < 1e-9);
  assert.equal(at(b, 45), 0, 'the ramp has ended');
});

function windowStats(startS: number, sent: number, p99: number, failedHttp = 0, dropped = 0): LoadStats {
  const latency = { count: sent, mean: 2, p50: 2, p90: 3, p95: 4, p99, max: p99 };
  return {
    mode: 'open-loop', startS, endS: startS + 2, expectedArrivals: 200, arrivals: sent + dropped, sent, dropped, completed: sent, ok: sent - failedHttp, servedRatio: (sent - failedHttp) / 200,
    requests: { sent, ok: sent - failedHttp, failed: { http: failedHttp, timeout: 0, connection: 0 }, failedTotal: failedHttp, aborted: 0 },
    latencyMs: latency, latencyByNameMs: { home: latency }, sessionLatencyMs: latency, sendLatenessMs: latency,
  };
}

test('loadRunFigure shows rates per second, latency percentiles and outcomes per window', () => {
  const windows = [windowStats(0, 198, 5), windowStats(2, 150, 900, 10, 40)];
  const figure = loadRunFigure(windows);
  const trace = (name: string) => {
    const found = figure.data.find((t) => t.name === name);
    assert.ok(found, `no trace ${name}`);
    return found;
  };
  assert.deepEqual(trace('expected arrivals/s').y, [100, 100]);
  assert.deepEqual(trace('sent sessions/s').y, [99, 75]);
  assert.deepEqual(trace('latency p99').y, [5, 900]);
  assert.deepEqual(trace('HTTP >= 400').y, [0, 10]);
  assert.deepEqual(trace('dropped arrivals').y, [0, 40]);
  assert.deepEqual(trace('ok requests').x, ['0.0-2.0', '2.0-4.0']);
  assert.match(String(figure.layout.title?.text), /open-loop/);
  assert.equal((figure.layout.yaxis2 as { type: string }).type, 'log');
});

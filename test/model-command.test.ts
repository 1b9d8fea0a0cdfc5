/** `rl-autoscaler model` as users run it: predictions and the fit report, as JSON anyone can recompute. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rSquared, spearman, type FitReport, type Prediction } from '../src/model';
import { runCli } from './support/run-cli';

const cli = (args: string[]) => runCli(['model', ...args], { timeoutMs: 60_000 });

describe('rl-autoscaler model', () => {
  it('prints one prediction per rate, served never above offered, latency rising with load', async () => {
    const r = await cli(['--config', '2,600,500', '--rate', '10,40,80', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { config: unknown; predictions: Prediction[] };
    assert.deepEqual(out.config, { replicas: 2, cpuMillis: 600, heapMB: 500 });
    assert.deepEqual(out.predictions.map((p) => p.offeredRps), [10, 40, 80]);
    for (const p of out.predictions) assert.ok(p.servedRps <= p.offeredRps + 1e-9);
    assert.ok(out.predictions[2].latencyMs.p95 > out.predictions[0].latencyMs.p95);
  });

  it('prints a readable table by default', async () => {
    const r = await cli(['--config', '1,500,500']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /capacity [\d.]+ req\/s/);
    assert.match(r.stdout, /offered\s+served\s+failed/);
  });

  it('--fit --json gives every configuration with data beside model; its statistics recompute', async () => {
    const r = await cli(['--fit', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as FitReport;
    assert.equal(report.rows.length, 729);
    for (const metric of report.metrics) {
      const recomputed = rSquared(report.rows.map((row) => row.data[metric.metric]), report.rows.map((row) => row.model[metric.metric]));
      assert.ok(Math.abs(recomputed - metric.rSquared) < 1e-9, `${metric.metric}: ${recomputed} vs ${metric.rSquared}`);
    }
    const rho = spearman(report.rows.map((row) => row.data.classicReward), report.rows.map((row) => row.model.classicReward));
    assert.ok(Math.abs(rho - report.classicRewardSpearman) < 1e-9);
    assert.ok(report.metrics.find((m) => m.metric === 'cpuCores')!.rSquared >= 0.85);
  });

  it('names a malformed configuration, rate or data file', async () => {
    const bad = await cli(['--config', '1,500']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--config must be <replicas>,<cpuMillis>,<heapMB>/);
    const rate = await cli(['--rate', '10,-5']);
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /--rate must be request rates/);
    const missing = await cli(['--data', '/nonexistent/data.csv']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /\/nonexistent\/data\.csv/);
  });
});

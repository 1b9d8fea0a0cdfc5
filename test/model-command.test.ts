/** `rl-autoscaler model` as users run it: predictions and the fit report, as JSON anyone can recompute. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { datasetV2Header, formatPointRow, type CollectedPoint } from '../src/dataset-v2';
import { rSquared, spearman, teastoreModel, type FitReport, type Prediction } from '../src/model';
import type { PointFitReport } from '../src/model/point-fit-report';
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

  it('--fit --data on a collected (v2) dataset calibrates from its points and compares each at its own load', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'model-command-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const truth = teastoreModel();
    const points: CollectedPoint[] = [];
    for (const cpuMillis of [500, 900]) {
      for (const rate of [6, 110]) {
        const config = { replicas: 1, cpuMillis, heapMB: 500 };
        const q = truth.predict(config, rate);
        points.push({ time: '2026-01-01T00:00:00.000Z', point: points.length, config, offeredRps: rate, servedRps: q.servedRps, failedRps: q.failedRps, latencyMs: q.latencyMs, usage: { usedCpuCores: q.cpuCores, usedRamGiB: q.memoryGiB, incomingPacketsPerSec: q.receivedPacketsPerSec, outgoingPacketsPerSec: q.transmittedPacketsPerSec }, costPerHour: 0.01 });
      }
    }
    const file = path.join(dir, 'collected.csv');
    writeFileSync(file, datasetV2Header({ kind: 'grid', windowS: 10 }) + points.map(formatPointRow).join(''));
    const json = await cli(['--fit', '--data', file, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as PointFitReport & { parameters: Record<string, number> };
    assert.equal(out.rows.length, 4);
    assert.deepEqual(out.rows.map((r) => r.role), ['unsaturated', 'saturated', 'unsaturated', 'saturated']);
    for (const r of out.rows) assert.ok(Math.abs(r.model.servedRps - r.data.servedRps) / r.data.servedRps < 0.01, JSON.stringify(r));
    assert.ok(Math.abs(out.parameters.cpuExponent - truth.parameters.cpuExponent) / truth.parameters.cpuExponent < 0.01);
    const table = await cli(['--fit', '--data', file]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /fit over 4 collected points, 2 saturated/);
    assert.match(table.stdout, /calibrated: capacityPerCore=/);
    assert.match(table.stdout, /not identified by these points, kept at their starting values: heapPenalty, heapScaleMB/);
    assert.ok(!(out as unknown as { fitted: string[] }).fitted.includes('heapPenalty'));
  });
});

/**
 * `collect`: the v2 dataset schema (written, read back, validated, replayed offline), the plans,
 * and the command itself on the cluster simulator with a real Prometheus, killed with SIGKILL and
 * resumed without losing or repeating a point.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planPoints, PlanError } from '../src/collect/plan';
import { PointLog } from '../src/collect/point-log';
import { DatasetError, loadTeastoreData } from '../src/data';
import { datasetV2Header, formatPointRow, parseDatasetV2, tableFromDatasetV2, type CollectedPoint } from '../src/dataset-v2';
import { DatasetModel } from '../src/env/dataset-env';
import { startTestTarget, type TestTarget } from '../src/load/test-target';
import { teastoreModel } from '../src/model/model';
import { Rng } from '../src/random';
import { configIndex, type ScalingConfig } from '../src/space';
import { runCli, type CliOptions } from './support/run-cli';

const dir = mkdtempSync(path.join(os.tmpdir(), 'collect-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function point(i: number, config: ScalingConfig, offeredRps: number, rng = new Rng(i)): CollectedPoint {
  const cpu = 0.1 + rng.next() * 0.3;
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    point: i,
    config,
    offeredRps,
    servedRps: offeredRps * 0.99,
    failedRps: offeredRps * 0.01,
    latencyMs: { p50: 5 + i, p95: 20 + i, p99: 40 + i },
    usage: { usedCpuCores: cpu, usedRamGiB: 0.5, incomingPacketsPerSec: 300 + i, outgoingPacketsPerSec: 320 + i },
    costPerHour: 0.01 * config.replicas,
  };
}

describe('dataset v2', () => {
  const plan = { kind: 'grid', seed: 1 };
  const points = [point(0, { replicas: 1, cpuMillis: 500, heapMB: 500 }, 100), point(1, { replicas: 2, cpuMillis: 500, heapMB: 500 }, 100)];
  const text = datasetV2Header(plan) + points.map(formatPointRow).join('');

  it('reads back exactly what it wrote, plan included', () => {
    const dataset = parseDatasetV2(text, 'a.csv');
    assert.deepEqual(dataset.plan, plan);
    assert.deepEqual(dataset.points, points);
    assert.equal(dataset.tornTail, false);
  });

  it('keeps an empty latency (nothing served) as NaN and a torn last row out', () => {
    const idle = { ...point(2, { replicas: 1, cpuMillis: 100, heapMB: 100 }, 100), servedRps: 0, latencyMs: { p50: NaN, p95: NaN, p99: NaN } };
    const dataset = parseDatasetV2(text + formatPointRow(idle) + '2026-01-01T00:03:00.000Z,3,1,1', 'b.csv');
    assert.equal(dataset.points.length, 3);
    assert.ok(Number.isNaN(dataset.points[2].latencyMs.p95));
    assert.equal(dataset.tornTail, true);
  });

  it('names the file, line, column and value of bad input', () => {
    const bad = (row: string) => datasetV2Header(plan) + row + '\n';
    const cases: [string, RegExp][] = [
      ['2026-01-01T00:00:00.000Z,0,1,500,500,-5,1,0,1,2,3,0.1,0.5,1,1,0.01', /c\.csv:4: column offered_rps: -5 is negative/],
      ['2026-01-01T00:00:00.000Z,0,1,500,500,abc,1,0,1,2,3,0.1,0.5,1,1,0.01', /c\.csv:4: column offered_rps: "abc" is not a finite number/],
      ['2026-01-01T00:00:00.000Z,0,1,550,500,5,1,0,1,2,3,0.1,0.5,1,1,0.01', /c\.csv:4: .*cpuMillis/],
      ['yesterday,0,1,500,500,5,1,0,1,2,3,0.1,0.5,1,1,0.01', /c\.csv:4: column time: "yesterday"/],
      ['2026-01-01T00:00:00.000Z,0,1,500,500,5,1,0', /c\.csv:4: expected 16 fields, found 8/],
    ];
    for (const [row, message] of cases) assert.throws(() => parseDatasetV2(bad(row), 'c.csv'), message);
    assert.throws(() => parseDatasetV2('time,point\n', 'd.csv'), /d\.csv:1: expected "# rl-autoscaler dataset v2"/);
    assert.throws(() => parseDatasetV2('# rl-autoscaler dataset v2\n# plan {oops\n', 'e.csv'), /e\.csv:2: the plan is not valid JSON/);
    assert.throws(() => parseDatasetV2(datasetV2Header(plan).replace('offered_rps', 'offered'), 'f.csv'), /f\.csv:3: unexpected column header/);
  });

  it('replays offline at one load level, through the same loader as the bundled dataset', () => {
    const configs: ScalingConfig[] = [];
    for (const replicas of [1, 2]) for (const cpuMillis of [400, 500]) configs.push({ replicas, cpuMillis, heapMB: 500 });
    const rows = configs.flatMap((c, i) => [point(2 * i, c, 50), point(2 * i + 1, c, 100)]);
    const file = path.join(dir, 'two-levels.csv');
    writeFileSync(file, datasetV2Header(plan) + rows.map(formatPointRow).join(''));
    assert.throws(() => loadTeastoreData(file), /holds 2 load levels \(50, 100 req\/s\); pick one/);
    assert.throws(() => loadTeastoreData(file, { offeredRps: 75 }), /no point was measured at 75 req\/s/);
    const table = loadTeastoreData(file, { offeredRps: 100 });
    assert.equal(table.rowCount, 4);
    assert.deepEqual([...table.usedCpuCores], rows.filter((r) => r.offeredRps === 100).map((r) => r.usage.usedCpuCores));
    const model = new DatasetModel({ table, bounds: { min: { replicas: 1, cpuMillis: 400, heapMB: 500 }, max: { replicas: 2, cpuMillis: 500, heapMB: 500 } } });
    const row = model.sampleRow(configIndex({ replicas: 2, cpuMillis: 400, heapMB: 500 }), new Rng(0));
    assert.deepEqual([table.replicas[row], table.cpuMillis[row]], [2, 400]);
    assert.ok(Number.isFinite(model.rewards[row]));
    assert.throws(() => tableFromDatasetV2({ ...parseDatasetV2(datasetV2Header(plan), 'g.csv') }), /g\.csv: the dataset has a header but no measured points/);
  });
});

describe('offline commands on a collected dataset (--data)', () => {
  const plan = { kind: 'grid', seed: 2 };
  const box: ScalingConfig[] = [];
  for (const replicas of [1, 2, 3]) for (const cpuMillis of [400, 500]) box.push({ replicas, cpuMillis, heapMB: 500 });
  const rng = new Rng(11);
  const rows = box.flatMap((c, i) => [0, 1, 2].map((k) => point(3 * i + k, c, 100, rng)));

  const run = (args: string[]) => runCli(args, { timeoutMs: 180_000 });

  it('baselines and train replay it within the bounds it measured; a hole in the box is named', { timeout: 180_000 }, async () => {
    const file = path.join(dir, 'box.csv');
    writeFileSync(file, datasetV2Header(plan) + rows.map(formatPointRow).join(''));
    const baselines = await run(['baselines', '--data', file, '--start', 'random-row', '--episodes', '200', '--json']);
    assert.equal(baselines.code, 0, baselines.stderr);
    const { returns } = JSON.parse(baselines.stdout) as { returns: Record<string, number> };
    for (const [name, value] of Object.entries(returns)) assert.ok(value <= returns.optimum + 1e-9, `${name} ${value} beats the optimum ${returns.optimum}`);
    const out = path.join(dir, 'box-checkpoint');
    const train = await run(['train', '--data', file, '--steps', '2048', '--seed', '3', '--out', out]);
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stdout, /greedy exact return from random-row: .* fraction/);
    assert.doesNotMatch(train.stdout, /row:558/);
    const evaluate = await run(['evaluate', '--data', file, '--checkpoint', out, '--start', 'random-row', '--episodes', '20']);
    assert.equal(evaluate.code, 0, evaluate.stderr);
    const [, exact, optimum] = /exact expected return (\S+); optimum (\S+);/.exec(evaluate.stdout)!;
    assert.ok(Number(exact) <= Number(optimum) + 1e-9, evaluate.stdout);

    const holed = path.join(dir, 'holed.csv');
    writeFileSync(holed, datasetV2Header(plan) + rows.filter((r) => !(r.config.replicas === 2 && r.config.cpuMillis === 400)).map(formatPointRow).join(''));
    const refused = await run(['baselines', '--data', holed, '--start', 'random-row', '--json']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /holed\.csv: no rows for 2x 400m cpu 500MB heap/);
  });
});

describe('collection plans', () => {
  const bounds = { min: { replicas: 1, cpuMillis: 300, heapMB: 300 }, max: { replicas: 3, cpuMillis: 500, heapMB: 400 } };

  it('grid: every configuration within the bounds at every level, replicas changing fastest', () => {
    const points = planPoints({ kind: 'grid', bounds, ratesRps: [50, 100], seed: 0 });
    assert.equal(points.length, 3 * 3 * 2 * 2);
    assert.deepEqual(points.slice(0, 4).map((p) => [p.config.replicas, p.offeredRps]), [[1, 50], [1, 100], [2, 50], [2, 100]]);
    assert.equal(new Set(points.map((p) => `${configIndex(p.config)}@${p.offeredRps}`)).size, points.length);
  });

  it('walk: seeded, one knob by one level per move, never outside the bounds', () => {
    const spec = { kind: 'walk' as const, bounds, ratesRps: [100], configs: 40, seed: 7 };
    const a = planPoints(spec);
    assert.deepEqual(planPoints(spec), a);
    assert.notDeepEqual(planPoints({ ...spec, seed: 8 }), a);
    for (let i = 1; i < a.length; i++) {
      const [p, q] = [a[i - 1].config, a[i].config];
      const moved = Math.abs(p.replicas - q.replicas) + Math.abs(p.cpuMillis - q.cpuMillis) / 100 + Math.abs(p.heapMB - q.heapMB) / 100;
      assert.equal(moved, 1, `move ${i}`);
      assert.ok(q.replicas >= 1 && q.replicas <= 3 && q.cpuMillis >= 300 && q.cpuMillis <= 500 && q.heapMB >= 300 && q.heapMB <= 400);
    }
  });

  it('refuses load levels that are not positive and a start outside the bounds', () => {
    assert.throws(() => planPoints({ kind: 'grid', bounds, ratesRps: [0], seed: 0 }), PlanError);
    assert.throws(() => planPoints({ kind: 'walk', bounds, ratesRps: [10], seed: 0, start: { replicas: 9, cpuMillis: 900, heapMB: 900 } }), /outside the bounds/);
  });
});

describe('the point log', () => {
  it('resumes after a torn row and refuses another plan', () => {
    const file = path.join(dir, 'log.csv');
    const log = PointLog.open(file, { kind: 'walk', seed: 3 });
    log.append(point(0, { replicas: 1, cpuMillis: 500, heapMB: 500 }, 100));
    log.close();
    appendFileSync(file, '2026-01-01T00:01:00.000Z,1,2,50');
    const again = PointLog.open(file, { kind: 'walk', seed: 3 });
    assert.equal(again.recorded.length, 1);
    assert.equal(again.cutBytes, '2026-01-01T00:01:00.000Z,1,2,50'.length);
    again.append(point(1, { replicas: 2, cpuMillis: 500, heapMB: 500 }, 100));
    again.close();
    assert.deepEqual(parseDatasetV2(readFileSync(file, 'utf8')).points.map((p) => p.point), [0, 1]);
    assert.throws(() => PointLog.open(file, { kind: 'walk', seed: 4 }), (err: unknown) => err instanceof DatasetError && /another plan/.test(err.message));
  });
});

describe('rl-autoscaler collect on the simulator', () => {
  let target: TestTarget;
  before(async () => {
    target = await startTestTarget({ serviceTimeMs: 1, seed: 1 });
  });
  after(() => target.close());

  const cli = (args: string[], onLine?: CliOptions['onLine']) => runCli(['collect', ...args], { onLine });

  it('refuses bad options before anything starts', async () => {
    const noTarget = await cli(['--prometheus', 'http://127.0.0.1:1']);
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /--target URL is required/);
    const badTarget = await cli(['--simulator', '--target', 'teastore:8080']);
    assert.equal(badTarget.code, 2);
    assert.match(badTarget.stderr, /--target must be an http:\/\/ or https:\/\/ URL, got "teastore:8080"/);
    const badRates = await cli(['--simulator', '--target', 'http://127.0.0.1:1/', '--rates', '10,-1']);
    assert.equal(badRates.code, 2);
    assert.match(badRates.stderr, /--rates must be positive/);
    const badStride = await cli(['--simulator', '--plan', 'grid', '--stride', '1,150,100']);
    assert.equal(badStride.code, 2);
    assert.match(badStride.stderr, /grid stride cpuMillis=150 is not a positive multiple of 100/);
  });

  it("collects from the simulator's own web UI by default, and measures what the model predicts", { timeout: 120_000 }, async () => {
    const out = path.join(dir, 'own-ui.csv');
    const run = await cli(['--simulator', '--plan', 'grid', '--min', '2,700,500', '--max', '2,700,500', '--rates', '20', '--warmup-s', '4', '--window-s', '6', '--out', out]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /load to http:\/\/127\.0\.0\.1:\d+\/tools\.descartes\.teastore\.webui\//);
    const [point] = parseDatasetV2(readFileSync(out, 'utf8'), out).points;
    const predicted = teastoreModel().predict(point.config, 20);
    assert.ok(Math.abs(point.servedRps - 20) / 20 < 0.25 && point.failedRps === 0, JSON.stringify(point));
    assert.ok(Math.abs(point.usage.usedCpuCores - predicted.cpuCores) / predicted.cpuCores < 0.3, `cpu ${point.usage.usedCpuCores} cores/pod measured, ${predicted.cpuCores} predicted`);
  });

  it('measures each point, survives SIGKILL and resumes without losing or repeating a point', { timeout: 180_000 }, async () => {
    const out = path.join(dir, 'sim.csv');
    const args = ['--simulator', '--target', target.url, '--plan', 'grid', '--min', '1,500,500', '--max', '3,500,500', '--rates', '40', '--warmup-s', '1', '--window-s', '3', '--seed', '5', '--out', out];
    const first = await cli(args, (line, kill) => {
      if (line.startsWith('point 1/3')) kill();
    });
    assert.equal(first.signal, 'SIGKILL', first.stdout + first.stderr);
    assert.equal(parseDatasetV2(readFileSync(out, 'utf8')).points.length, 1);
    const second = await cli(args);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /resuming .*: 1\/3 points recorded/);
    const dataset = parseDatasetV2(readFileSync(out, 'utf8'), out);
    assert.deepEqual(dataset.points.map((p) => [p.point, p.config.replicas]), [[0, 1], [1, 2], [2, 3]]);
    for (const p of dataset.points) {
      assert.ok(Math.abs(p.offeredRps - 40) / 40 < 0.3, `offered ${p.offeredRps}`);
      assert.ok(p.servedRps > 0.7 * p.offeredRps && p.failedRps === 0, JSON.stringify(p));
      assert.ok(p.latencyMs.p50 >= 1 && p.latencyMs.p50 <= p.latencyMs.p99);
      assert.ok(p.usage.usedCpuCores > 0 && p.costPerHour > 0);
    }
    assert.ok(existsSync(out));
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { EpisodeRecord } from '../src/agent/episode';
import { loadTeastoreData } from '../src/data';
import { cpuHeapGrid } from '../src/dataset-stats';
import {
  actionFrequencyFigure, episodeFigure, figureHtml, figureToPng, findChromium, metricHistograms, rewardLandscape,
  standaloneHtml, throughputCostHeatmaps, trainingFigure, type Figure, type Trace,
} from '../src/plot';
import { Action, CONFIG_COUNT } from '../src/space';

const table = loadTeastoreData();

/** Titles of every axis in the layout. */
function axisTitles(figure: Figure): string[] {
  return Object.entries(figure.layout)
    .filter(([key]) => /^[xy]axis\d*$/.test(key))
    .map(([, axis]) => (axis as { title?: { text?: string } }).title?.text ?? '')
    .filter(Boolean);
}

function trace(figure: Figure, predicate: (t: Trace) => boolean): Trace {
  const found = figure.data.find(predicate);
  assert.ok(found, 'trace not found');
  return found;
}

/** A short made-up episode: start at 1 replica, try to go below 1 (refused), then scale up. */
const episode: EpisodeRecord = {
  observations: [
    { replicas: 1, cpuMillis: 500, heapMB: 300, usedCpu: 0.4, usedRam: 0.5 },
    { replicas: 1, cpuMillis: 500, heapMB: 300, usedCpu: 0.45, usedRam: 0.5 },
    { replicas: 2, cpuMillis: 500, heapMB: 300, usedCpu: 0.3, usedRam: 0.25 },
    { replicas: 2, cpuMillis: 600, heapMB: 300, usedCpu: 0.35, usedRam: 0.75 },
  ],
  actions: [Action.DECREASE_REPLICA, Action.INCREASE_REPLICA, Action.INCREASE_CPU],
  rewards: [-5, 0.1, 0.2],
  invalid: [true, false, false],
  return: -4.7,
};

test('the throughput/cost heatmaps name their axes with units and follow the CPU x heap grid', () => {
  const figure = throughputCostHeatmaps(table, 3);
  const titles = axisTitles(figure);
  assert.ok(titles.includes('CPU limit (millicores)'));
  assert.ok(titles.includes('JVM heap -Xmx (MB)'));
  assert.equal(figure.data.length, 2);
  for (const heatmap of figure.data) {
    assert.equal(heatmap.z!.length, 9, 'one row per heap level');
    assert.ok(heatmap.z!.every((row) => row.length === 9), 'one column per CPU level');
  }
  // The cost panel holds the mean logged cost of 3 replicas, 100m CPU, 100 MB heap at [0][0].
  const c = 2 * 81;
  let sum = 0;
  for (let k = table.configStart[c]; k < table.configStart[c + 1]; k++) sum += table.costPerHour[table.rowsOfConfig[k]];
  assert.ok(Math.abs((figure.data[1].z![0][0] as number) - sum / (table.configStart[c + 1] - table.configStart[c])) < 1e-12);
});

test('cpuHeapGrid puts heap on rows and CPU on columns', () => {
  const values = Float64Array.from({ length: CONFIG_COUNT }, (_, c) => c);
  const grid = cpuHeapGrid(values, 2);
  // config index = ((replicas-1)*9 + cpuLevel-1)*9 + heapLevel-1
  assert.equal(grid[4][0], (1 * 9 + 0) * 9 + 4);
  assert.equal(grid[0][4], (1 * 9 + 4) * 9 + 0);
  assert.throws(() => cpuHeapGrid(values, 10), /replicas 10/);
});

test('the metric histograms leave NaN out and say how many', () => {
  const figure = metricHistograms(table, ['outgoingPacketsPerSec', 'costPerHour']);
  const nan = Array.from(table.outgoingPacketsPerSec).filter(Number.isNaN).length;
  assert.ok(nan > 0);
  assert.equal((figure.data[0].x as number[]).length, table.rowCount - nan);
  assert.equal((figure.data[1].x as number[]).length, table.rowCount);
  assert.ok(JSON.stringify(figure.layout.annotations).includes(`${nan} NaN rows left out`));
  assert.ok(axisTitles(figure).includes('cost (USD/hour)'));
});

test('the reward landscape has one heatmap per replica count on a shared colour scale', () => {
  const reward = Float64Array.from({ length: CONFIG_COUNT }, (_, c) => (c % 7) / 10 - 0.2);
  const figure = rewardLandscape(reward);
  assert.equal(figure.data.length, 9);
  assert.ok(figure.data.every((t) => t.coloraxis === 'coloraxis'));
  const axis = figure.layout.coloraxis as { cmin: number; cmax: number };
  assert.ok(Math.abs(axis.cmax - 0.4) < 1e-12, `cmax ${axis.cmax}`);
  assert.ok(Math.abs(axis.cmin + 0.4) < 1e-12, `cmin ${axis.cmin}`);
});

test('the episode figure follows the record and marks refused moves', () => {
  const figure = episodeFigure([{ label: 'agent', record: episode }], 'test episode');
  const titles = axisTitles(figure);
  for (const expected of ['step', 'replicas (pods)', 'CPU (millicores)', 'memory (MiB)', 'reward', 'return']) assert.ok(titles.includes(expected), `missing axis ${expected}`);
  const replicas = trace(figure, (t) => String(t.name).startsWith('agent (return'));
  assert.deepEqual(replicas.x, [0, 1, 2, 3]);
  assert.deepEqual(replicas.y, [1, 1, 2, 2]);
  const usedCpu = trace(figure, (t) => t.name === 'agent: CPU used (millicores)');
  assert.deepEqual(usedCpu.y, [400, 450, 300, 350]);
  const cumulative = trace(figure, (t) => t.name === 'agent: cumulative reward');
  assert.deepEqual(cumulative.x, [1, 2, 3]);
  assert.ok(Math.abs((cumulative.y as number[])[2] - -4.7) < 1e-12);
  const refused = trace(figure, (t) => (t.meta as { role?: string } | undefined)?.role === 'invalid-moves');
  assert.deepEqual(refused.x, [1]);
  assert.deepEqual(refused.y, ['DECREASE_REPLICA']);
});

test('an episode without refused moves has no refused-move marks, and a second episode gets its own colour', () => {
  const clean: EpisodeRecord = { ...episode, invalid: [false, false, false] };
  const figure = episodeFigure([{ label: 'agent', record: clean }, { label: 'optimum', record: episode }]);
  const refused = figure.data.filter((t) => (t.meta as { role?: string } | undefined)?.role === 'invalid-moves');
  assert.equal(refused.length, 1);
  assert.ok(String(refused[0].name).includes('optimum'));
  const agent = trace(figure, (t) => t.name === 'agent: cumulative reward').line as { color: string };
  const optimum = trace(figure, (t) => t.name === 'optimum: cumulative reward').line as { color: string };
  assert.notEqual(agent.color, optimum.color);
});

test('the training figure plots return against environment steps with the optimum as a line', () => {
  const history = [1, 2, 3].map((i) => ({ envSteps: i * 1000, episodicReturnMean: i, episodicReturnMin: i - 1, episodicReturnMax: i + 1, policyLoss: -0.01 * i, valueLoss: 1 / i, entropy: 1.9 - 0.1 * i, approxKl: 0.001 * i, clipFraction: 0.05 }));
  const figure = trainingFigure(history, [{ label: 'optimum', value: 30 }]);
  const titles = axisTitles(figure);
  for (const expected of ['environment steps', 'episodic return', 'policy loss', 'value loss', 'entropy (nats)', 'approx KL (nats)', 'clip fraction']) assert.ok(titles.includes(expected), `missing axis ${expected}`);
  const mean = trace(figure, (t) => t.name === 'mean episodic return');
  assert.deepEqual(mean.x, [1000, 2000, 3000]);
  const optimum = trace(figure, (t) => String(t.name).startsWith('optimum'));
  assert.deepEqual(optimum.y, [30, 30]);
  assert.deepEqual(optimum.x, [0, 3000]);
  assert.deepEqual(trace(figure, (t) => t.name === 'approx KL (nats)').y, [0.001, 0.002, 0.003]);
});

test('action frequencies are shares of steps per policy', () => {
  const figure = actionFrequencyFigure([{ label: 'agent', actions: [0, 0, 1, 6] }]);
  assert.deepEqual(figure.data[0].y, [50, 25, 0, 0, 0, 0, 25]);
  assert.ok(axisTitles(figure).includes('share of steps (%)'));
});

test('HTML snippets embed the figure JSON safely and inline plotly only when asked', () => {
  const figure = trainingFigure([{ envSteps: 1, episodicReturnMean: 0 }], [], 'a </script> title');
  const bare = figureHtml(figure);
  assert.ok(!bare.includes('window.Plotly = Plotly'));
  assert.ok(!bare.includes('a </script>'), 'a closing script tag in the data must be escaped');
  assert.ok(figureHtml(figure, { includePlotly: true }).includes('window.Plotly = Plotly'));
  const page = standaloneHtml([figure], { title: 'page' });
  assert.equal(page.split('window.Plotly = Plotly').length - 1, 1, 'one plotly bundle per page');
});

test('a figure renders to a non-blank PNG through headless Chromium', { skip: findChromium() ? false : 'no Chromium installed (Debian package chromium)' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'plot-test-'));
  try {
    const png = await figureToPng(episodeFigure([{ label: 'agent', record: episode }]), path.join(dir, 'episode.png'));
    const bytes = readFileSync(png);
    assert.deepEqual([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    assert.equal(width, 920);
    assert.equal(height, 1170);
    // A blank white page of this size compresses to a few kB; drawn lines, text and markers do not.
    assert.ok(bytes.length > 40_000, `PNG is only ${bytes.length} bytes: probably blank`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

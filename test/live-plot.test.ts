import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { StepTimings } from '../src/env/cluster-env';
import { StepLog, type StepLogRecord } from '../src/env/step-log';
import { episodesByIndex, liveEpisodesFromLog } from '../src/live/log-episodes';
import { liveComparisonFigure, liveEpisodeFigure, stepTimingFigure, type Trace } from '../src/plot';
import { liveReportParts } from '../src/report';
import { Action, type Observation } from '../src/space';

const timings = (rolloutMs: number, overheadMs = 20): StepTimings => ({ rolloutMs, warmupMs: 2000, measureMs: 3000, overheadMs, totalMs: rolloutMs + 5000 + overheadMs });
const obs = (replicas: number, cpuMillis = 500): Observation => ({ replicas, cpuMillis, heapMB: 500, usedCpu: 0.3, usedRam: 0.6 });

/** Records as runLive writes them: a header, then per episode a reset and its steps. */
function testRun(runId: string): Omit<StepLogRecord, 'time'>[] {
  const records: Omit<StepLogRecord, 'time'>[] = [{ type: 'run', runId, config: { mode: 'test' } }];
  ['ppo', 'static-best'].forEach((policy, p) => {
    for (let e = 0; e < 2; e++) {
      const episode = p * 2 + e;
      records.push({ type: 'reset', runId, mode: 'test', policy, episode, observation: obs(1), info: {} });
      records.push({ type: 'step', runId, mode: 'test', policy, episode, step: 1, action: Action.INCREASE_REPLICA, reward: 0.25, observation: obs(2), terminated: false, truncated: false, info: { invalidAction: false, timings: timings(800) } });
      records.push({ type: 'step', runId, mode: 'test', policy, episode, step: 2, action: Action.DECREASE_REPLICA, reward: -5, observation: obs(2), terminated: false, truncated: true, info: { invalidAction: e === 1, timings: timings(0, 5) } });
    }
  });
  records.push({ type: 'end', runId, summary: {} });
  return records;
}

test('liveEpisodesFromLog groups a step log into one labelled episode per policy and episode', () => {
  const records = testRun('run-a') as StepLogRecord[];
  const episodes = liveEpisodesFromLog(records);
  assert.deepEqual(episodes.map((e) => e.label), ['ppo, episode 1', 'ppo, episode 2', 'static-best, episode 1', 'static-best, episode 2']);
  assert.deepEqual(episodes.map((e) => e.index), [0, 1, 0, 1]);
  const first = episodes[0];
  assert.equal(first.policy, 'ppo');
  assert.equal(first.complete, true);
  assert.deepEqual(first.record.actions, [Action.INCREASE_REPLICA, Action.DECREASE_REPLICA]);
  assert.deepEqual(first.record.observations.map((o) => o.replicas), [1, 2, 2], 'the start, then the state after each step');
  assert.equal(first.record.return, -4.75);
  assert.deepEqual(episodes.map((e) => e.record.invalid), [[false, false], [false, true], [false, false], [false, true]]);
  assert.deepEqual(first.timings.map((t) => t.rolloutMs), [800, 0]);
  assert.deepEqual(episodesByIndex(episodes).map((g) => g.map((e) => e.label)), [['ppo, episode 1', 'static-best, episode 1'], ['ppo, episode 2', 'static-best, episode 2']]);
});

test('liveEpisodesFromLog reads a log file: the last run by default, a resumed episode stays one episode, a torn last line is ignored', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'live-episodes-'));
  try {
    const file = path.join(dir, 'steps.jsonl');
    const log = new StepLog(file);
    for (const r of testRun('old-run')) log.append(r);
    const runId = 'tuning';
    log.append({ type: 'run', runId, config: { mode: 'finetune' } });
    log.append({ type: 'reset', runId, mode: 'finetune', policy: 'ppo', episode: 0, observation: obs(3), info: {} });
    log.append({ type: 'step', runId, mode: 'finetune', policy: 'ppo', episode: 0, step: 1, action: Action.INCREASE_CPU, reward: 0.1, observation: obs(3, 600), terminated: false, truncated: false, info: { invalidAction: false, timings: timings(500) } });
    // Interrupted here; the resumed run re-measures what runs and carries on with step 2.
    log.append({ type: 'reset', runId, mode: 'finetune', policy: 'ppo', episode: 0, resumed: true, observation: obs(3, 600), info: {} });
    log.append({ type: 'step', runId, mode: 'finetune', policy: 'ppo', episode: 0, step: 2, action: Action.DO_NOTHING, reward: 0.2, observation: obs(3, 600), terminated: false, truncated: false, info: { invalidAction: false, timings: timings(10) } });
    // A reset that no step followed is no episode.
    log.append({ type: 'reset', runId, mode: 'finetune', policy: 'ppo', episode: 1, observation: obs(1), info: {} });
    log.close();
    appendFileSync(file, '{"type":"step","runId":"tuning","epi');

    const episodes = liveEpisodesFromLog(file);
    assert.equal(episodes.length, 1);
    const [e] = episodes;
    assert.equal(e.label, 'ppo fine-tuning, episode 1 (unfinished)');
    assert.equal(e.mode, 'finetune');
    assert.deepEqual(e.record.observations.map((o) => o.cpuMillis), [500, 600, 600], 'the resume adds no start state');
    assert.ok(Math.abs(e.record.return - 0.3) < 1e-12);
    assert.equal(e.complete, false);

    const all = liveEpisodesFromLog(file, { run: 'all' });
    assert.equal(all.length, 5);
    assert.equal(all[0].label, 'ppo, episode 1 [old-run]');
    assert.equal(liveEpisodesFromLog(file, { run: 'old-run' }).length, 4);
    assert.deepEqual(liveEpisodesFromLog(path.join(dir, 'missing.jsonl')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('liveEpisodeFigure draws live episodes with whole-step ticks and marks refused moves', () => {
  const episodes = liveEpisodesFromLog(testRun('run-a') as StepLogRecord[]);
  const figure = liveEpisodeFigure(episodesByIndex(episodes)[1], 'Live episode 2');
  assert.equal((figure.layout.xaxis as { dtick?: number }).dtick, 1);
  const refused = figure.data.filter((t) => (t.meta as { role?: string } | undefined)?.role === 'invalid-moves');
  assert.deepEqual(refused.map((t) => t.name), ['refused move (ppo, episode 2: 1)', 'refused move (static-best, episode 2: 1)']);
  assert.ok(figure.data.some((t) => t.name === 'ppo, episode 2 (return -4.75)'));
});

test('stepTimingFigure stacks the four phases per step, in ms, grouped by episode', () => {
  const figure = stepTimingFigure([{ label: 'ppo, episode 1', timings: [timings(800), timings(0, 30)] }, { label: 'threshold, episode 1', timings: [timings(400, 10)] }]);
  assert.equal(figure.layout.barmode, 'stack');
  assert.deepEqual(figure.data.map((t) => t.type), ['bar', 'bar', 'bar', 'bar']);
  assert.deepEqual(figure.data.map((t) => t.name), ['rollout (median 400 ms)', 'warm-up (median 2000 ms)', 'measurement window (median 3000 ms)', 'overhead (median 20 ms)']);
  const x = figure.data[0].x as unknown as string[][];
  assert.deepEqual(x, [['ppo, episode 1', 'ppo, episode 1', 'threshold, episode 1'], ['1', '2', '1']]);
  assert.deepEqual(figure.data[0].y, [800, 0, 400]);
  // The stacked phases add up to each step's total.
  for (let k = 0; k < 3; k++) {
    const sum = figure.data.reduce((s, t: Trace) => s + (t.y as number[])[k], 0);
    assert.equal(sum, [timings(800), timings(0, 30), timings(400, 10)][k].totalMs);
  }
  const yaxis = figure.layout.yaxis as { title: { text: string } };
  const xaxis = figure.layout.xaxis as { title: { text: string }; type: string };
  assert.equal(yaxis.title.text, 'wall time per step (ms)');
  assert.equal(xaxis.type, 'multicategory');
  assert.match(xaxis.title.text, /^step within each episode \(median total \d+ ms per step\)$/);
  assert.throws(() => stepTimingFigure([{ label: 'none', timings: [] }]), /at least one timed step/);
});

test('liveComparisonFigure shows the mean return per policy with each episode as a point', () => {
  const figure = liveComparisonFigure([
    { policy: 'ppo', meanReturn: 0.5, returns: [0.4, 0.6] },
    { policy: 'static-best', meanReturn: 0.45, returns: [0.45] },
    { policy: 'threshold', meanReturn: -0.2, returns: [0.1, -0.5] },
  ], 'Live comparison', 4);
  const [bars, points] = figure.data;
  assert.deepEqual(bars.x, ['ppo', 'static-best', 'threshold']);
  assert.deepEqual(bars.y, [0.5, 0.45, -0.2]);
  assert.deepEqual(points.x, ['ppo', 'ppo', 'static-best', 'threshold', 'threshold']);
  assert.deepEqual(points.y, [0.4, 0.6, 0.45, 0.1, -0.5]);
  const yaxis = figure.layout.yaxis as { title: { text: string }; range: [number, number] };
  assert.equal(yaxis.title.text, 'return over a 4-step episode (sum of step rewards)');
  assert.ok(yaxis.range[0] < -0.5 && yaxis.range[1] > 0.6, 'every point inside the axis range');
  const ticks = (figure.layout.xaxis as { ticktext: string[] }).ticktext;
  assert.equal(ticks[0], 'ppo<br>mean 0.500, 2 episodes');
  assert.equal(ticks[1], 'static-best<br>mean 0.450, 1 episode');
});

test('the report has a live section: comparison table and figure, an episode figure per episode index, the step timings', () => {
  const testEpisodes = liveEpisodesFromLog(testRun('run-a') as StepLogRecord[]);
  const comparison = ['ppo', 'static-best'].map((policy) => ({ policy, episodes: 2, meanReturn: -4.75, returns: [-4.75, -4.75], meanStepReward: -2.375, invalidMoves: 1 }));
  const parts = liveReportParts({ where: 'cluster simulator', comparison, stepsPerEpisode: 2, testEpisodes });
  const titles = parts.map((p) => ('layout' in p ? (p.layout.title?.text ?? '') : p.html));
  assert.equal(titles[0], '<h2>Live on the cluster simulator</h2>');
  assert.match(titles[1], /live test, 2-step episodes/);
  assert.deepEqual(titles.slice(2), [
    'Live test on the cluster simulator: return per policy',
    'Live test episode 1 on the cluster simulator: ppo vs static-best',
    'Live test episode 2 on the cluster simulator: ppo vs static-best',
    'Where the time of each live step went (cluster simulator)',
  ]);
});

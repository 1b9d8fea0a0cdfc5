import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { doNothingPolicy } from '../src/agent/baselines';
import { saveCheckpoint } from '../src/agent/checkpoint';
import { defaultNetworkSpec, initPolicyWeights } from '../src/agent/policy';
import { ppoConfig } from '../src/agent/ppo';
import { Rng } from '../src/random';
import { DatasetModel } from '../src/env/dataset-env';
import { ORIGINAL_START } from '../src/env/start';
import { actionsOverEpisodes, episodesAgainstOptimum, returnsTableRows, writeReport, type ReturnsByStart } from '../src/report';

const model = new DatasetModel();
const returns: ReturnsByStart = {
  'row:558': { ppo: { mean: 13.5, exact: true }, optimum: { mean: 13.96, exact: true }, threshold: { mean: -6.6, exact: false, episodes: 100, ci95: [-6.7, -6.5] } },
  'random-row': { ppo: { mean: 17.9, exact: true }, optimum: { mean: 17.93, exact: true } },
};

test('the returns table puts the trained policy first, then the optimum and the baselines, one column per start', () => {
  const rows = returnsTableRows(returns);
  assert.deepEqual(rows.map((r) => r.policy), ['ppo', 'optimum', 'threshold']);
  assert.equal(rows[0]['return from row:558'], 13.5);
  assert.equal(rows[0]['return from random-row'], 17.9);
  assert.ok(Number.isNaN(rows[2]['return from random-row'] as number), 'a policy missing from a start shows NaN there');
  assert.match(String(rows[2]['how (row:558)']), /Monte Carlo, 100 episodes, 95% CI \[-6\.70, -6\.50\]/);
});

test('an episode beside the optimum replays the same start; the optimum earns at least as much here', async () => {
  const [agent, optimum] = await episodesAgainstOptimum(model, doNothingPolicy(), ORIGINAL_START, 3, 'still');
  assert.equal(agent.label, 'still');
  assert.equal(optimum.label, 'optimum');
  assert.deepEqual(agent.record.observations[0], optimum.record.observations[0]);
  assert.ok(agent.record.actions.every((a) => a === 0));
  assert.ok(optimum.record.return > agent.record.return);
  assert.equal((await actionsOverEpisodes(model, doNothingPolicy(), ORIGINAL_START, 3)).length, 150);
});

test('the report is one self-contained page with the table, the training curve and the episodes', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'report-test-'));
  try {
    const episodes = await episodesAgainstOptimum(model, doNothingPolicy(), ORIGINAL_START, 3);
    const file = writeReport(path.join(dir, 'out', 'report.html'), {
      run: { 'run id': 'test-run' },
      returns,
      trainingHistory: [{ envSteps: 1024, episodicReturnMean: -3 }, { envSteps: 2048, episodicReturnMean: 5 }],
      optimum: [{ label: 'optimum from random-row', value: 17.93 }],
      episodes: [{ title: 'do-nothing against the optimum', episodes }],
    });
    const html = readFileSync(file, 'utf8');
    assert.equal(html.split('window.Plotly = Plotly').length - 1, 1, 'plotly inlined exactly once');
    assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts');
    assert.ok(html.includes('<td>test-run</td>'));
    assert.ok(html.includes('<td>13.500</td>'));
    // Two returns charts, the training curve, one episode and the action frequencies.
    assert.equal(html.split('class="plotly-figure"').length - 1, 5);
    assert.ok(html.includes('do-nothing against the optimum'));
    assert.ok(html.includes('optimum from random-row'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('given a checkpoint, the report draws the training curve from its history.jsonl and names its reward', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'report-test-'));
  try {
    const reward = new DatasetModel({ reward: 'total-throughput' }).reward;
    const record = (i: number) => ({
      iteration: i, env_steps: 1000 * i, episodes: 3, episodic_return_mean: 4.25 * i, episodic_return_min: 1, episodic_return_max: 9, step_reward_mean: 0.1,
      policy_loss: -0.01, value_loss: 0.5, entropy: 1.2, approx_kl: 0.01, clip_fraction: 0.1, explained_variance: 0.3, learning_rate: 3e-3, kl_coef: 0,
      steps_per_s: 5000, time_s: i, update_s: 0.1, time: '2025-01-01T00:00:00.000Z',
    });
    const config = ppoConfig({ hidden: [8] });
    const checkpoint = await saveCheckpoint(path.join(dir, 'run'), {
      policy: initPolicyWeights(defaultNetworkSpec(config.hidden), new Rng(1)), config, backend: 'cpu', reward,
      data: { file: 'x', sha256: 'y', rowCount: 1 }, history: [record(1), record(2)],
    });
    const file = writeReport(path.join(dir, 'report.html'), { returns, checkpoint, optimum: [], episodes: [] });
    const html = readFileSync(file, 'utf8');
    assert.ok(html.includes('<td>total-throughput v1</td>'), 'the run table names the checkpoint\'s reward');
    assert.ok(html.includes('[1000,2000]') && html.includes('[4.25,8.5]'), 'the curve is the history\'s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

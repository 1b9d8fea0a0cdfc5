/**
 * The main job (`npm start`): on the bundled dataset with the embedded defaults, trains PPO with
 * the fast preset, saves a checkpoint, evaluates the greedy policy from both starts beside the
 * exact optimum and the baselines, then (when a Prometheus binary is there) fine-tunes and tests it
 * briefly live on the cluster simulator, and writes the report (out/report.html).
 */
import * as path from 'node:path';
import { baselineReturns } from './agent/baselines';
import { newRunId, saveTrainResult } from './agent/checkpoint';
import { evaluateExact, optimumOf } from './agent/evaluate';
import { ppoConfig, train } from './agent/ppo';
import { formatBaselineTable } from './commands/baselines';
import { DEFAULT_CHECKPOINT_ROOT } from './commands/train';
import { DatasetModel } from './env/dataset-env';
import { formatStart, ORIGINAL_START, parseStart, type Start } from './env/start';
import { findPrometheus, PROMETHEUS_HINT, runLiveDemo, type LiveDemoResult } from './live/demo';
import { formatComparison, formatTimings } from './live/summary';
import { runLiveLoadDemo } from './live/load-demo';
import type { LiveLoadSection } from './live/load-report';
import { episodesAgainstOptimum, writeReport, type LiveSection, type ReturnsByStart } from './report';

const REPORT_FILE = path.resolve(__dirname, '..', 'out', 'report.html');
const LIVE_LOG_DIR = path.resolve(__dirname, '..', 'out', 'live');

/** Fine-tunes (1 update of 4 steps) and tests (1 episode of 4 steps per policy) on the simulator. */
async function livePhase(checkpoint: string): Promise<LiveSection | undefined> {
  if (!findPrometheus()) {
    console.log(`live phase skipped: no prometheus binary on PATH; ${PROMETHEUS_HINT}\n`);
    return undefined;
  }
  console.log('live phase on the cluster simulator with a real Prometheus: fine-tune 1 update of 4 steps, then test 1 episode of 4 steps per policy');
  const demo: LiveDemoResult = await runLiveDemo({ checkpoint, checkpointsDir: DEFAULT_CHECKPOINT_ROOT, logDir: LIVE_LOG_DIR, onProgress: (line) => console.log(`  ${line}`) });
  console.log(`fine-tuned checkpoint ${demo.tunedCheckpoint} (parent ${demo.parent})`);
  console.log(`live comparison on the cluster simulator, ${demo.testSteps}-step episodes (ppo is the fine-tuned policy):\n${formatComparison(demo.test.comparison ?? [])}`);
  console.log(`live step time (${demo.finetune.timings.length + demo.test.timings.length} steps):\n${formatTimings([...demo.finetune.timings, ...demo.test.timings])}`);
  console.log(`step logs ${demo.finetune.logFile}, ${demo.test.logFile}\n`);
  return {
    where: 'cluster simulator',
    run: { 'fine-tuned checkpoint': demo.tunedCheckpoint, parent: demo.parent ?? '', 'fine-tuning step log': demo.finetune.logFile, 'test step log': demo.test.logFile },
    comparison: demo.test.comparison ?? [],
    stepsPerEpisode: demo.testSteps,
    testEpisodes: demo.testEpisodes,
    finetuneEpisodes: demo.finetuneEpisodes,
  };
}

/**
 * A few live steps under a step profile on the simulator: a small load-aware policy trained
 * offline, fine-tuned for 2 steps, then tested for 4 steps beside static-best and HPA.
 */
async function liveLoadPhase(): Promise<LiveLoadSection | undefined> {
  if (!findPrometheus()) return undefined;
  console.log('live under load on the cluster simulator: a small load-aware policy, fine-tuned 2 steps, then tested 4 steps per policy under a step profile');
  const demo = await runLiveLoadDemo({ checkpointsDir: DEFAULT_CHECKPOINT_ROOT, logDir: LIVE_LOG_DIR, trainSteps: 4096, finetuneSteps: 2, testSteps: 4, onProgress: (line) => console.log(`  ${line}`) });
  console.log(`live comparison under load (${demo.profile}), ${demo.testSteps}-step episodes:\n${formatComparison(demo.test.comparison ?? [])}\n`);
  return {
    where: 'cluster simulator',
    run: { 'offline checkpoint': demo.checkpoint, 'fine-tuned checkpoint': demo.tunedCheckpoint, profile: demo.profile, 'seconds per step (profile)': demo.stepSeconds, application: demo.appUrl, 'test step log': demo.test.logFile },
    comparison: demo.test.comparison ?? [],
    stepsPerEpisode: demo.testSteps,
    testEpisodes: demo.testEpisodes,
    p99TargetMs: demo.p99TargetMs,
    stepSeconds: demo.stepSeconds,
  };
}

async function main(): Promise<void> {
  const model = new DatasetModel();
  console.log(`dataset ${model.table.file}: ${model.table.rowCount} rows, sha256 ${model.table.sha256}`);
  console.log(`reward ${model.reward.name} v${model.reward.version}, invalid-move penalty ${model.reward.invalidPenalty}\n`);

  const config = ppoConfig({}, 'fast');
  console.log(`training PPO: preset fast, ${config.totalSteps} steps, seed ${config.seed}, start ${config.start}`);
  const result = await train(config, {
    model,
    preset: 'fast',
    onIteration: (s) => {
      if (s.iteration % Math.ceil(s.iterations / 10) === 0 || s.iteration === s.iterations) {
        console.log(`  ${s.envSteps} steps: return ${s.episodicReturn?.mean.toFixed(2) ?? '-'}, entropy ${s.entropy.toFixed(3)}, ${Math.round(s.stepsPerSecond)} steps/s`);
      }
    },
  });
  const last = result.history[result.history.length - 1];
  console.log(`trained ${last.envSteps} steps in ${last.trainingSeconds.toFixed(1)} s on ${result.backend}`);

  const starts: Start[] = [ORIGINAL_START, { kind: 'random-row' }];
  const exact = starts.map((start) => evaluateExact(result.policy, model, start, { masked: config.maskActions }));
  const runId = newRunId(config.seed);
  const checkpoint = await saveTrainResult(path.join(DEFAULT_CHECKPOINT_ROOT, runId), result, {
    runId,
    metrics: { exactReturnRow558: exact[0].value, exactReturnRandomRow: exact[1].value },
  });
  console.log(`checkpoint ${checkpoint}\n`);

  const returns: ReturnsByStart = {};
  starts.forEach((start, i) => {
    const label = formatStart(start);
    returns[label] = { ppo: { mean: exact[i].value, exact: true }, ...baselineReturns(model, start) };
    console.log(`${formatBaselineTable(label, returns[label])}\n  ${'ppo'.padEnd(12)} ${exact[i].value.toFixed(3).padStart(9)}  exact, greedy; ${(100 * exact[i].fraction).toFixed(1)}% of the optimum\n`);
  });

  const episodes = [];
  for (const start of starts) episodes.push({ title: `PPO against the optimum from ${formatStart(start)}`, episodes: await episodesAgainstOptimum(model, result.policy, start, 0, 'PPO') });
  const live = await livePhase(checkpoint);
  const liveLoad = await liveLoadPhase();
  const report = writeReport(REPORT_FILE, {
    title: 'rl-autoscaler: PPO trained offline on the TeaStore dataset',
    run: { 'run id': runId, checkpoint, preset: 'fast', seed: config.seed, 'environment steps': last.envSteps, 'training seconds': Number(last.trainingSeconds.toFixed(1)), backend: result.backend, 'dataset sha256': model.table.sha256 },
    returns,
    checkpoint,
    optimum: [
      { label: `optimum from ${config.start} (the training start)`, value: optimumOf(model).valueOf(parseStart(config.start)) },
      { label: 'optimum from row:558', value: exact[0].optimum },
    ],
    episodes,
    live,
    liveLoad,
  });
  console.log(`report ${report}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

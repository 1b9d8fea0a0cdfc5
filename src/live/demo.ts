/**
 * The short live phase of the main job: on the cluster simulator with a real Prometheus,
 * fine-tune a checkpoint briefly, then test the fine-tuned policy against static-best and the
 * threshold rule. Each run keeps its own step log, from which the episodes are read back.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { newRunId, readCheckpointMeta, saveTrainResult, trainedRewardName } from '../agent/checkpoint';
import { ppoConfig, train } from '../agent/ppo';
import { ClusterEnv, SIMULATOR_TIMINGS } from '../env/cluster-env';
import { findBinary } from '../prometheus-server';
import type { ScalingConfig } from '../space';
import { liveEpisodesFromLog, type LiveEpisode } from './log-episodes';
import { runLive, type LiveRunResult } from './run';
import { startSimulatorStack } from './simulator-stack';

export const PROMETHEUS_HINT = 'install it with `apt-get install prometheus` (Debian, Ubuntu) or put a `prometheus` binary on PATH';

/** The `prometheus` binary on PATH, if any: the live phase needs a real one. */
export const findPrometheus = (): string | undefined => findBinary('prometheus');

/**
 * `preferred` when it holds a checkpoint (notebook 03's), otherwise a quick PPO run (30k steps,
 * seconds) saved in `fallback`, so a live notebook also runs on its own.
 */
export async function checkpointOrQuickTrain(preferred: string, fallback: string, totalSteps = 30_000): Promise<{ dir: string; trained: boolean }> {
  if (existsSync(path.join(preferred, 'meta.json'))) return { dir: path.resolve(preferred), trained: false };
  const config = ppoConfig({ totalSteps });
  const result = await train(config, { preset: 'fast' });
  const dir = await saveTrainResult(fallback, result, { runId: newRunId(config.seed), overwrite: true });
  return { dir, trained: true };
}

export interface LiveDemoOptions {
  /** The checkpoint to fine-tune. */
  checkpoint: string;
  /** Receives the fine-tuned checkpoints (one folder per update). */
  checkpointsDir: string;
  /** Receives the two step logs. */
  logDir: string;
  seed?: number;
  /** Fine-tuning: updates, each on one episode of `stepsPerUpdate` steps. */
  updates?: number;
  stepsPerUpdate?: number;
  /** Testing: episodes per policy and steps per episode. */
  testEpisodes?: number;
  testSteps?: number;
  /** Where every episode starts (the CLI's default). */
  startConfig?: ScalingConfig;
  onProgress?: (line: string) => void;
}

export interface LiveDemoResult {
  finetune: LiveRunResult;
  test: LiveRunResult;
  /** The fine-tuned checkpoint that was tested, and the checkpoint it was tuned from. */
  tunedCheckpoint: string;
  parent: string | null;
  finetuneEpisodes: LiveEpisode[];
  testEpisodes: LiveEpisode[];
  testSteps: number;
}

export async function runLiveDemo(options: LiveDemoOptions): Promise<LiveDemoResult> {
  const seed = options.seed ?? 1;
  const updates = options.updates ?? 1;
  const stepsPerUpdate = options.stepsPerUpdate ?? 4;
  const testEpisodes = options.testEpisodes ?? 1;
  const testSteps = options.testSteps ?? 4;
  const startConfig = options.startConfig ?? { replicas: 1, cpuMillis: 500, heapMB: 500 };
  const progress = options.onProgress ?? (() => {});
  const stamp = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);
  const finetuneLog = path.join(options.logDir, `finetune-${stamp}.jsonl`);
  const testLog = path.join(options.logDir, `test-${stamp}.jsonl`);

  progress('starting the cluster simulator and a local Prometheus...');
  const stack = await startSimulatorStack({ seed });
  try {
    // The reward the checkpoint was trained on, for fine-tuning, testing and static-best alike.
    const reward = trainedRewardName(readCheckpointMeta(options.checkpoint), options.checkpoint);
    const setup = { timings: SIMULATOR_TIMINGS, startConfig, simulator: true, reward };
    const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward, timings: SIMULATOR_TIMINGS, startConfig });
    const finetune = await runLive(
      env,
      { mode: 'finetune', checkpoint: path.resolve(options.checkpoint), episodes: updates, steps: stepsPerUpdate, seed, finetune: { batchSteps: stepsPerUpdate }, setup },
      finetuneLog,
      options.checkpointsDir,
      { onProgress: progress },
    );
    const tunedCheckpoint = finetune.checkpoint ?? path.resolve(options.checkpoint);
    const test = await runLive(
      env,
      { mode: 'test', checkpoint: tunedCheckpoint, episodes: testEpisodes, steps: testSteps, seed, setup },
      testLog,
      options.checkpointsDir,
      { onProgress: progress },
    );
    return {
      finetune,
      test,
      tunedCheckpoint,
      parent: readCheckpointMeta(tunedCheckpoint).parent,
      finetuneEpisodes: liveEpisodesFromLog(finetuneLog),
      testEpisodes: liveEpisodesFromLog(testLog),
      testSteps,
    };
  } finally {
    await stack.stop();
  }
}

/**
 * Live under load, end to end on the cluster simulator with a real Prometheus: train a small
 * load-aware checkpoint offline on the training profiles, fine-tune it live under a held-out step
 * profile, then test it beside static-best for that profile and the HPA-like rule on the same
 * episodes. Shared by notebook 10 and the main job's load-aware section.
 *
 * The load goes to the simulator's TeaStore web UI (pods as queues following the performance
 * model), or to `appUrl` when given.
 */
import * as path from 'node:path';
import { DEFAULT_EVALUATION_START } from '../agent/load-evaluate';
import { saveLoadCheckpoint, trainLoad } from '../agent/load-train';
import { ClusterEnv, SIMULATOR_TIMINGS, type LiveTimings } from '../env/cluster-env';
import { LoadDynamics } from '../env/load-dynamics';
import { LOAD_TASK_BOUNDS, parseLoadSources, TRAINING_PROFILE_SPECS } from '../env/load-setup';
import { parseProfileSpec } from '../load/profile-spec';
import { teastoreModel } from '../model';
import { makeRequestReward, type RequestRewardName } from '../request-reward';
import type { Bounds, ScalingConfig } from '../space';
import { checkProfileCovers, GeneratedLoad, serveLiveLoadMetrics } from './live-load';
import { comparisonSloMs } from './load-comparison';
import { liveLoadEpisodesFromLog, type LiveLoadEpisode } from './log-load-episodes';
import { runLive, type LiveRunResult } from './run';
import { startSimulatorStack } from './simulator-stack';

/** Held out from training (TRAINING_PROFILE_SPECS): a step up, a step further, then down. */
export const HELD_OUT_STEP_PROFILE = 'steps:0=40,2m=100,4m=130,6m=60:for=2h';

export interface LiveLoadDemoOptions {
  checkpointsDir: string;
  logDir: string;
  seed?: number;
  reward?: RequestRewardName;
  /** Offline training budget (environment steps); 0 skips training and needs `checkpoint`. */
  trainSteps?: number;
  /** A load-aware checkpoint to start from instead of training one. */
  checkpoint?: string;
  /** The held-out profile of the live runs, played one point per step. */
  profile?: string;
  /** Profile seconds per step (the control interval a step stands for). */
  stepSeconds?: number;
  /** Fine-tuning steps (one update); 0 skips fine-tuning. */
  finetuneSteps?: number;
  testSteps?: number;
  testEpisodes?: number;
  bounds?: Bounds;
  startConfig?: ScalingConfig;
  timings?: Partial<LiveTimings>;
  /** The application's URL; default the simulator's TeaStore web UI. */
  appUrl?: string;
  onProgress?: (line: string) => void;
}

export interface LiveLoadDemoResult {
  /** The offline checkpoint, the fine-tuned one (tested) and the runs. */
  checkpoint: string;
  tunedCheckpoint: string;
  finetune?: LiveRunResult;
  test: LiveRunResult;
  testEpisodes: LiveLoadEpisode[];
  finetuneEpisodes: LiveLoadEpisode[];
  profile: string;
  stepSeconds: number;
  testSteps: number;
  p99TargetMs: number;
  appUrl: string;
}

export async function runLiveLoadDemo(options: LiveLoadDemoOptions): Promise<LiveLoadDemoResult> {
  const seed = options.seed ?? 1;
  const reward = makeRequestReward(options.reward ?? 'slo');
  const bounds = options.bounds ?? LOAD_TASK_BOUNDS;
  const stepSeconds = options.stepSeconds ?? 60;
  const profileSpec = options.profile ?? HELD_OUT_STEP_PROFILE;
  const finetuneSteps = options.finetuneSteps ?? 4;
  const testSteps = options.testSteps ?? 6;
  const testEpisodes = options.testEpisodes ?? 1;
  // The offline evaluation's start: pods that meet the SLO at light load, fair to the HPA-like rule.
  const startConfig = options.startConfig ?? { ...DEFAULT_EVALUATION_START };
  const timings = { ...SIMULATOR_TIMINGS, ...options.timings };
  const progress = options.onProgress ?? (() => {});
  const profile = parseProfileSpec(profileSpec);
  // Before anything starts: the profile must cover the longest episode.
  checkProfileCovers(profile, { pacing: 'per-step', steps: Math.max(finetuneSteps, testSteps), stepSeconds, realTimeSeconds: 0 });

  let checkpoint = options.checkpoint;
  if (!checkpoint) {
    const trainSteps = options.trainSteps ?? 16_384;
    progress(`training a load-aware policy offline: ${trainSteps} steps on the training profiles under reward ${reward.name}`);
    const dynamics = new LoadDynamics({ model: teastoreModel(), reward, bounds, intervalSeconds: stepSeconds });
    const result = await trainLoad({ dynamics, sources: parseLoadSources(TRAINING_PROFILE_SPECS, stepSeconds), maxSteps: 30, config: { totalSteps: trainSteps, seed, hidden: [32, 32] } });
    checkpoint = await saveLoadCheckpoint(path.join(options.checkpointsDir, `load-offline-seed${seed}-${Date.now()}`), result);
    progress(`offline checkpoint ${checkpoint}`);
  }

  const served = await serveLiveLoadMetrics({ scenario: 'home', profile: profileSpec });
  let stack: Awaited<ReturnType<typeof startSimulatorStack>> | undefined;
  let load: GeneratedLoad | undefined;
  try {
    progress('starting the cluster simulator and a local Prometheus...');
    stack = await startSimulatorStack({ seed, scrapeTargets: [served.server.url] });
    const appUrl = options.appUrl ?? stack.simulator.appUrl;
    load = new GeneratedLoad({ targetUrl: appUrl, profile, pacing: 'per-step', stepSeconds, prometheusUrl: stack.prometheus.url, seed }, served.metrics);
    const env = new ClusterEnv({ kube: stack.kube, metrics: stack.metrics, reward, bounds, timings, startConfig, load });
    const setup = { timings, bounds, startConfig, simulator: true, reward: reward.name, load: { profile: profileSpec, pacing: 'per-step', stepSeconds, scenario: 'home', app: appUrl } };
    const stamp = new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15);
    let finetune: LiveRunResult | undefined;
    let tunedCheckpoint = checkpoint;
    if (finetuneSteps > 0) {
      finetune = await runLive(env, { mode: 'finetune', checkpoint, episodes: 1, steps: finetuneSteps, seed, finetune: { batchSteps: finetuneSteps }, setup }, path.join(options.logDir, `finetune-load-${stamp}.jsonl`), options.checkpointsDir, { onProgress: progress });
      tunedCheckpoint = finetune.checkpoint ?? checkpoint;
    }
    const test = await runLive(env, { mode: 'test', checkpoint: tunedCheckpoint, episodes: testEpisodes, steps: testSteps, seed, setup }, path.join(options.logDir, `test-load-${stamp}.jsonl`), options.checkpointsDir, { onProgress: progress });
    return {
      checkpoint,
      tunedCheckpoint,
      finetune,
      test,
      testEpisodes: liveLoadEpisodesFromLog(test.logFile),
      finetuneEpisodes: finetune ? liveLoadEpisodesFromLog(finetune.logFile) : [],
      profile: profileSpec,
      stepSeconds,
      testSteps,
      p99TargetMs: comparisonSloMs(reward),
      appUrl,
    };
  } finally {
    await load?.close();
    await stack?.stop();
    await served.server.close();
  }
}

/**
 * A live run: fine-tune a checkpoint on the cluster, or test its greedy policy against the
 * static-best configuration and the threshold baseline on the same setup. Every step goes to an
 * append-only step log first; a run interrupted at any point (even SIGKILL) resumes from its log
 * and its latest checkpoint, keeping every completed step.
 */
import { staticBestPolicy, thresholdPolicy } from '../agent/baselines';
import { runEpisode, type Policy } from '../agent/episode';
import { gitCommit, observationKindOf, packageVersions, readCheckpointMeta } from '../agent/checkpoint';
import { loadTeastoreData } from '../data';
import { DatasetModel } from '../env/dataset-env';
import type { ClusterEnv, LiveStepInfo, StepTimings } from '../env/cluster-env';
import { readStepLog, StepLog, type StepLogRecord } from '../env/step-log';
import { withEpisodeWrappers } from '../env/episode-wrappers';
import { StepLogger } from '../env/wrappers';
import type { Observation, ScalingConfig } from '../space';
import { describeLiveReward, isRequestReward, type LiveReward } from './live-reward';
import { checkpointPolicy, comparisonSloMs, hpaPolicy, LOAD_TEST_POLICIES, profileRates, staticBestForProfile, staticBestPolicyFor, summariseLiveLoad, type LiveLoadStep } from './load-comparison';
import { finetune, type Experience, type FinetuneSettings, type FinetuneUpdate } from './finetune';

export type LiveMode = 'finetune' | 'test';

export interface LiveRunConfig {
  mode: LiveMode;
  /** Checkpoint to fine-tune or test. */
  checkpoint: string;
  episodes: number;
  /** Steps per episode. */
  steps: number;
  seed: number;
  /** Fine-tuning settings (batch size, learning rate...). */
  finetune?: Partial<FinetuneSettings>;
  /** Anything else worth recording with the run (target, timings, dry run, reward...). */
  setup?: Record<string, unknown>;
}

export interface PolicyResult {
  policy: string;
  episodes: number;
  meanReturn: number;
  returns: number[];
  meanStepReward: number;
  invalidMoves: number;
  /** Under load: what the policy did to the requests and what it allocated. */
  load?: LoadPolicyFigures;
  /** static-best: the configuration it holds. */
  config?: ScalingConfig;
}

/** Per policy under load: share of steps with p99 <= SLO, mean allocated cores, served/offered, changes per episode. */
export interface LoadPolicyFigures {
  sloAttainment: number;
  p99TargetMs: number;
  meanCores: number;
  servedShare: number;
  changes: number;
}

export interface LiveRunResult {
  runId: string;
  logFile: string;
  mode: LiveMode;
  resumed: boolean;
  /** Test mode: one row per policy. */
  comparison?: PolicyResult[];
  /** Fine-tune mode: the updates made and the last checkpoint. */
  updates?: FinetuneUpdate[];
  checkpoint?: string;
  timings: StepTimings[];
}

export interface LiveRunHooks {
  /** A line of progress (the CLI prints it; notebooks may ignore it). */
  onProgress?: (line: string) => void;
}

interface StepRecord extends StepLogRecord {
  policy?: string;
  episode: number;
  step: number;
  action: number;
  mask?: boolean[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  observation: Observation;
  info: LiveStepInfo;
}

/** The unfinished run at the end of a log (its header and records), if there is one. */
export function unfinishedRun(logFile: string): { header: StepLogRecord; records: StepLogRecord[] } | null {
  const { records } = readStepLog(logFile);
  let start = -1;
  for (let k = records.length - 1; k >= 0; k--) {
    if (records[k].type === 'run') {
      start = k;
      break;
    }
  }
  if (start < 0) return null;
  const runId = records[start].runId;
  const own = records.slice(start).filter((r) => r.runId === runId);
  if (own.some((r) => r.type === 'end')) return null;
  return { header: records[start], records: own };
}

const TEST_POLICIES = ['ppo', 'static-best', 'threshold'] as const;

/** The policies of a test run: under load the load-aware set (load-comparison.ts), else the classic one. */
function testPolicies(env: ClusterEnv, config: LiveRunConfig): { name: string; make: () => Policy; config?: ScalingConfig }[] {
  const reward = env.reward;
  if (env.hasLoad) {
    const rates = profileRates(env.liveLoad!, config.steps);
    const best = staticBestForProfile(reward, rates, env.bounds, env.liveLoad!.stepSeconds ?? 60);
    return LOAD_TEST_POLICIES.map((name) => {
      if (name === 'ppo') return { name, make: () => checkpointPolicy(config.checkpoint, true) };
      if (name === 'hpa') return { name, make: hpaPolicy };
      // Without the profile's rates or with a classic reward, the dataset's static-best.
      if (best) return { name, make: () => staticBestPolicyFor(best), config: best };
      return { name, make: () => classicStaticBest(reward) };
    });
  }
  return TEST_POLICIES.map((name) => ({
    name,
    make: () => (name === 'ppo' ? checkpointPolicy(config.checkpoint, false) : name === 'static-best' ? classicStaticBest(reward) : thresholdPolicy()),
  }));
}

function classicStaticBest(reward: LiveReward): Policy {
  if (isRequestReward(reward)) throw new Error(`static-best under reward ${reward.name} needs the load profile's rates: run the generator here (--load-profile) rather than reading one from Prometheus`);
  // Best under the reward the run is scored with, or the comparison would be unfair to it.
  return staticBestPolicy(new DatasetModel({ reward }));
}

/** Refuses, before anything starts, a checkpoint that reads the load on an environment without a load source. */
function checkCheckpointFits(env: ClusterEnv, checkpoint: string): void {
  if (!checkpoint || env.hasLoad) return;
  if (observationKindOf(readCheckpointMeta(checkpoint)) === 'load') {
    throw new Error(`${checkpoint}: the policy reads the load observation (schema version 2), but the live environment has no load source: give it one (--load-profile SPEC --app URL, or --load-selector)`);
  }
}

/**
 * Runs (or, with `resume`, continues) a live run on `env`, the unwrapped live environment: the run
 * gives it its episode wrappers (`config.steps` steps, or the logged run's) and its step log.
 */
export async function runLive(env: ClusterEnv, config: LiveRunConfig, logFile: string, checkpointsDir: string, options: LiveRunHooks & { resume?: boolean } = {}): Promise<LiveRunResult> {
  const progress = options.onProgress ?? (() => {});
  const previous = options.resume ? unfinishedRun(logFile) : null;
  if (options.resume && !previous) throw new Error(`${logFile}: no unfinished run to resume`);
  const runConfig: LiveRunConfig = previous ? (previous.header.config as LiveRunConfig) : config;
  checkCheckpointFits(env, runConfig.checkpoint);
  const log = new StepLog(logFile);
  const runId = previous ? previous.header.runId : `live-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-seed${runConfig.seed}`;
  if (!previous) {
    // What makes the run reproducible: its settings, the data behind the reward's normalisers, versions.
    const table = loadTeastoreData();
    log.append({ type: 'run', runId, config: runConfig, reward: describeLiveReward(env.reward), data: { file: table.file, sha256: table.sha256 }, packages: packageVersions(), gitCommit: gitCommit() });
  }
  // The logger outermost, so it records what the policy saw (the time limit's truncation included).
  const logger = new StepLogger(withEpisodeWrappers(env, runConfig.steps), log, { runId, context: { mode: runConfig.mode } });
  const timings: StepTimings[] = [];
  const steps = (previous?.records ?? []).filter((r): r is StepRecord => r.type === 'step');
  for (const s of steps) if (s.info?.timings) timings.push(s.info.timings);
  const recordTimings = (info: unknown) => {
    const t = (info as LiveStepInfo).timings;
    if (t) timings.push(t);
  };
  try {
    const result =
      runConfig.mode === 'test'
        ? await runTest(logger, env, runConfig, steps, recordTimings, progress)
        : await runFinetune(logger, env, runConfig, steps, previous?.records ?? [], log, checkpointsDir, recordTimings, progress);
    log.append({ type: 'end', runId, summary: { ...result, timings: undefined } });
    return { ...result, runId, logFile, resumed: previous !== null, timings };
  } finally {
    log.close();
  }
}

async function runTest(
  logger: StepLogger,
  env: ClusterEnv,
  config: LiveRunConfig,
  logged: StepRecord[],
  recordTimings: (info: unknown) => void,
  progress: (line: string) => void,
): Promise<Omit<LiveRunResult, 'runId' | 'logFile' | 'resumed' | 'timings'>> {
  const comparison: PolicyResult[] = [];
  const sloMs = comparisonSloMs(env.reward);
  for (const [p, { name, make, config: held }] of testPolicies(env, config).entries()) {
    const policy = make();
    logger.context = { mode: 'test', policy: name };
    const returns: number[] = [];
    const stepsOf: LiveLoadStep[][] = [];
    let rewardSum = 0;
    let stepCount = 0;
    let invalidMoves = 0;
    for (let e = 0; e < config.episodes; e++) {
      const episode = p * config.episodes + e;
      const done = logged.filter((r) => r.episode === episode);
      const played: LiveLoadStep[] = done.map((r) => ({ action: r.action, info: r.info }));
      stepsOf.push(played);
      for (const r of done) {
        rewardSum += r.reward;
        stepCount++;
        if (r.info.invalidAction) invalidMoves++;
      }
      let total = done.reduce((s, r) => s + r.reward, 0);
      const last = done[done.length - 1];
      if (last && (last.truncated || last.terminated)) {
        returns.push(total);
        continue;
      }
      logger.startEpisodeAt(episode);
      // An interrupted episode continues where its log ends.
      const onStep = (step: { info: unknown }, action: number) => {
        recordTimings(step.info);
        played.push({ action, info: step.info as LiveStepInfo });
      };
      const record = await runEpisode(logger, policy, config.seed + episode, { resumeAfterStep: last?.step, onStep });
      total += record.return;
      rewardSum += record.return;
      stepCount += record.actions.length;
      invalidMoves += record.invalid.filter(Boolean).length;
      returns.push(total);
      progress(`test ${name} episode ${e + 1}/${config.episodes}: return ${total.toFixed(3)}`);
    }
    comparison.push({
      policy: name,
      episodes: returns.length,
      meanReturn: returns.reduce((s, r) => s + r, 0) / returns.length,
      returns,
      meanStepReward: stepCount ? rewardSum / stepCount : 0,
      invalidMoves,
      ...loadFigures(summariseLiveLoad(name, stepsOf, sloMs)),
      ...(held ? { config: held } : {}),
    });
  }
  return { mode: 'test', comparison };
}

function loadFigures(e: ReturnType<typeof summariseLiveLoad>): { load?: LoadPolicyFigures } {
  if (!e) return {};
  return { load: { sloAttainment: e.sloAttainment, p99TargetMs: e.p99TargetMs, meanCores: e.meanCores, servedShare: e.servedShare, changes: e.changes } };
}

async function runFinetune(
  logger: StepLogger,
  env: ClusterEnv,
  config: LiveRunConfig,
  logged: StepRecord[],
  records: StepLogRecord[],
  log: StepLog,
  checkpointsDir: string,
  recordTimings: (info: unknown) => void,
  progress: (line: string) => void,
): Promise<Omit<LiveRunResult, 'runId' | 'logFile' | 'resumed' | 'timings'>> {
  logger.context = { mode: 'finetune', policy: 'ppo' };
  // The latest checkpoint of the run, and the steps taken with it since (they are not lost).
  const checkpoints = records.filter((r) => r.type === 'checkpoint');
  const latest = checkpoints.length ? (checkpoints[checkpoints.length - 1] as StepLogRecord & { checkpoint: string; update: number }) : null;
  const since = latest ? records.indexOf(latest) : -1;
  const pending = experienceOf(records).filter((e) => e.recordIndex > since);
  const last = logged[logged.length - 1];
  const interrupted = last && !(last.truncated || last.terminated);
  logger.startEpisodeAt(!last ? 0 : interrupted ? last.episode : last.episode + 1);
  const initialObservation = (await logger.reset(interrupted ? { resumeAfterStep: last.step } : { seed: config.seed })).observation;
  const { checkpoint, updates } = await finetune({
    checkpoint: latest?.checkpoint ?? config.checkpoint,
    env: {
      actionCount: logger.actionCount,
      actionMask: () => logger.actionMask(),
      reset: (o) => logger.reset(o),
      step: async (a) => {
        const step = await logger.step(a);
        recordTimings(step.info);
        return step;
      },
    },
    checkpointsDir,
    reward: env.reward,
    settings: { ...config.finetune, totalSteps: config.episodes * config.steps, seed: config.seed },
    pending: pending.map(({ recordIndex: _, ...e }) => e),
    stepsDone: logged.length,
    updatesDone: latest?.update ?? 0,
    initialObservation,
    onUpdate: (u) => {
      log.append({ type: 'checkpoint', runId: logger.runId, checkpoint: u.checkpoint, update: u.update, envSteps: u.envSteps, stats: u.stats, meanReward: u.meanReward });
      progress(`fine-tune update ${u.update}: ${u.envSteps} steps, mean reward ${u.meanReward.toFixed(3)}, checkpoint ${u.checkpoint}`);
    },
  });
  return { mode: 'finetune', updates, checkpoint };
}

/** Experience from logged records: each step with the observation it started from. */
function experienceOf(records: StepLogRecord[]): (Experience & { recordIndex: number })[] {
  const out: (Experience & { recordIndex: number })[] = [];
  let before: Observation | null = null;
  for (const [recordIndex, r] of records.entries()) {
    if (r.type === 'reset') before = r.observation as Observation;
    if (r.type !== 'step' || before === null) continue;
    const s = r as StepRecord;
    out.push({ recordIndex, observation: before, mask: s.mask ?? new Array(7).fill(true), action: s.action, reward: s.reward, done: s.terminated || s.truncated, truncated: s.truncated && !s.terminated, nextObservation: s.observation });
    before = s.observation;
  }
  return out;
}

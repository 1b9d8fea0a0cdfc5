/**
 * Fine-tuning on live experience: starts from a checkpoint, collects small batches from any `Env`
 * (the live cluster, a step taking seconds), runs a PPO update on each batch and checkpoints after
 * every update. Each new checkpoint's meta.json names its parent and records the reward of the
 * experience; its history.jsonl holds the run's updates so far. A load-aware checkpoint (schema
 * v2) reads the load observation and its fine-tuned checkpoints keep that schema.
 */
import * as path from 'node:path';
import { initBackend } from '../agent/backend';
import { loadCheckpoint, newRunId, observationKindOf, readCheckpointMeta, saveCheckpoint, type LoadedCheckpoint } from '../agent/checkpoint';
import { historyToContinue, updateHistoryRecord, type HistoryRecord } from '../agent/history';
import { PpoLearner, ppoConfig, type PpoConfig, type Trajectory, type UpdateStats } from '../agent/ppo';
import { ActorCritic, PpoPolicy, sampleFromLogits } from '../agent/policy';
import { loadTeastoreData } from '../data';
import type { Env } from '../env/types';
import { Rng } from '../random';
import type { RewardFunction } from '../reward';
import { ACTION_COUNT, OBSERVATION_SIZE, encodeObservation, type Observation } from '../space';
import { encodeLoadObservation, LOAD_OBSERVATION_SIZE, type LoadObservation, type ObservationKind } from '../load-space';

/**
 * Fine-tuning settings as live runs name them (and record them in their step logs): overrides of
 * the `live-finetune` preset. `batchSteps` sets both numSteps and minibatchSize (one minibatch per
 * update).
 */
export interface FinetuneSettings {
  /** Environment steps per update (small: a live step takes seconds). */
  batchSteps: number;
  /** Total environment steps. */
  totalSteps: number;
  learningRate: number;
  epochs: number;
  seed: number;
}

/**
 * The PPO config of a fine-tuning run: the starting checkpoint's config (its network and loss
 * settings carry over), then the `live-finetune` preset, then the run's settings.
 */
export function finetuneConfig(start: PpoConfig, settings: Partial<FinetuneSettings> = {}): PpoConfig {
  const { batchSteps, ...rest } = settings;
  const batch = batchSteps === undefined ? {} : { numSteps: batchSteps, minibatchSize: batchSteps };
  return ppoConfig({ ...rest, ...batch }, 'live-finetune', start);
}

/** One experienced step, as the step log records it. */
export interface Experience {
  observation: Observation;
  mask: boolean[];
  action: number;
  reward: number;
  /** The episode ended here (terminated or truncated). */
  done: boolean;
  truncated: boolean;
  /** The observation the step led to. */
  nextObservation: Observation;
}

export interface FinetuneUpdate {
  update: number;
  envSteps: number;
  stats: UpdateStats;
  checkpoint: string;
  meanReward: number;
}

export interface FinetuneOptions {
  /** Checkpoint to start from. */
  checkpoint: string;
  env: Env;
  /** Folder that receives one checkpoint folder per update. */
  checkpointsDir: string;
  /** The reward `env` computes (classic or request-level): the one the new checkpoints record. */
  reward: Pick<RewardFunction, 'name' | 'version' | 'params'>;
  settings?: Partial<FinetuneSettings>;
  /** Steps already experienced with the starting checkpoint's policy (a resumed run): used first. */
  pending?: Experience[];
  /** Updates already made (a resumed run numbers its checkpoints on from there). */
  updatesDone?: number;
  /** Steps already taken in total (a resumed run counts them against totalSteps). */
  stepsDone?: number;
  onStep?: (experience: Experience) => void;
  onUpdate?: (update: FinetuneUpdate) => void;
  /** The environment has been reset by the caller and this is its current observation. */
  initialObservation?: Observation;
}

/** How a checkpoint of `kind` encodes an observation: its size and encoder. */
export function observationEncoding(kind: ObservationKind): { size: number; encode: (obs: Observation, out: Float32Array, offset: number) => void } {
  if (kind === 'classic') return { size: OBSERVATION_SIZE, encode: (obs, out, offset) => void encodeObservation(obs, out, offset) };
  return {
    size: LOAD_OBSERVATION_SIZE,
    encode: (obs, out, offset) => {
      const o = obs as LoadObservation;
      if (!Number.isFinite(o.arrivalRate) || !Number.isFinite(o.previousArrivalRate)) {
        throw new Error(`the policy reads the load observation, but the observation has arrivalRate ${o.arrivalRate} and previousArrivalRate ${o.previousArrivalRate}: fine-tune it under a load source whose rate is known`);
      }
      encodeLoadObservation(o, out, offset);
    },
  };
}

/**
 * Builds a PPO trajectory (numEnvs = 1) from consecutive experience, with log-probabilities and
 * values recomputed under `policy` (the policy that acted, so they are exact).
 */
export function trajectoryOf(experience: Experience[], policy: PpoPolicy, kind: ObservationKind = 'classic'): Trajectory {
  const n = experience.length;
  const { size, encode } = observationEncoding(kind);
  const observations = new Float32Array(n * size);
  const finals = new Float32Array(n * size);
  const masks = new Uint8Array(n * ACTION_COUNT);
  experience.forEach((e, k) => {
    encode(e.observation, observations, k * size);
    encode(e.nextObservation, finals, k * size);
    e.mask.forEach((allowed, a) => (masks[k * ACTION_COUNT + a] = allowed ? 1 : 0));
  });
  const logits = policy.logits(observations, n);
  const values = policy.values(observations, n);
  const nextValues = policy.values(finals, n);
  const logProbs = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let max = -Infinity;
    for (let a = 0; a < ACTION_COUNT; a++) if (masks[k * ACTION_COUNT + a] && logits[k * ACTION_COUNT + a] > max) max = logits[k * ACTION_COUNT + a];
    let total = 0;
    for (let a = 0; a < ACTION_COUNT; a++) if (masks[k * ACTION_COUNT + a]) total += Math.exp(logits[k * ACTION_COUNT + a] - max);
    logProbs[k] = logits[k * ACTION_COUNT + experience[k].action] - max - Math.log(total);
  }
  const last = experience[n - 1];
  return {
    numSteps: n,
    numEnvs: 1,
    observations,
    actions: Int32Array.from(experience, (e) => e.action),
    logProbs,
    values: Float32Array.from(values),
    rewards: Float32Array.from(experience, (e) => e.reward),
    dones: Uint8Array.from(experience, (e) => (e.done ? 1 : 0)),
    // A time limit is not a terminal state: bootstrap from the observation the episode was cut at.
    truncatedValues: Float32Array.from(experience, (e, k) => (e.truncated ? nextValues[k] : 0)),
    nextValues: Float32Array.of(last.done ? 0 : nextValues[n - 1]),
    masks,
  };
}

/** Runs live fine-tuning; resolves to the last checkpoint written. */
export async function finetune(options: FinetuneOptions): Promise<{ checkpoint: string; updates: FinetuneUpdate[] }> {
  const backend = await initBackend();
  const kind = observationKindOf(readCheckpointMeta(options.checkpoint));
  const encoding = observationEncoding(kind);
  let parent: LoadedCheckpoint = loadCheckpoint(options.checkpoint, { observation: kind });
  const config = finetuneConfig(parent.meta.config, options.settings);
  const networks = ActorCritic.fromWeights(parent.weights);
  const learner = new PpoLearner(networks, config, new Rng(config.seed));
  const rng = new Rng(config.seed + 1);
  const table = loadTeastoreData();
  const updates: FinetuneUpdate[] = [];
  let policy = new PpoPolicy(parent.weights, { seed: config.seed });
  let batch: Experience[] = [...(options.pending ?? [])];
  let envSteps = options.stepsDone ?? batch.length;
  const updateOffset = options.updatesDone ?? 0;
  // A resumed run goes on with the history of its latest checkpoint; a new run starts its own.
  const history: HistoryRecord[] = updateOffset > 0 ? historyToContinue(parent.dir) : [];
  const secondsBefore = history[history.length - 1]?.time_s ?? 0;
  const runStarted = performance.now();
  let batchStarted = runStarted;
  // Returns of episodes seen from their start (a resumed run joins its current episode midway).
  let episodeReturn: number | null = envSteps === 0 ? 0 : null;
  let batchReturns: number[] = [];
  const env = options.env;
  let observation = options.initialObservation ?? (await env.reset({ seed: config.seed })).observation;
  const scratch = new Float32Array(encoding.size);
  try {
    while (envSteps < config.totalSteps || batch.length > 0) {
      if (batch.length < config.numSteps && envSteps < config.totalSteps) {
        const mask = env.actionMask();
        encoding.encode(observation, scratch, 0);
        const logits = policy.logits(scratch, 1);
        const { action } = sampleFromLogits(logits, 0, ACTION_COUNT, rng, config.maskActions ? mask : undefined);
        const step = await env.step(action);
        const experience: Experience = { observation, mask, action, reward: step.reward, done: step.terminated || step.truncated, truncated: step.truncated && !step.terminated, nextObservation: step.observation };
        batch.push(experience);
        envSteps++;
        options.onStep?.(experience);
        if (episodeReturn !== null) episodeReturn += step.reward;
        if (experience.done) {
          if (episodeReturn !== null) batchReturns.push(episodeReturn);
          episodeReturn = 0;
        }
        // No new episode once the budget is spent: it would only apply and measure the start.
        const more = envSteps < config.totalSteps;
        observation = experience.done && more ? (await env.reset({ seed: config.seed + envSteps })).observation : step.observation;
        continue;
      }
      // A full batch (or the last, partial one): update, then checkpoint.
      const updateStarted = performance.now();
      const stats = learner.update(trajectoryOf(batch, policy, kind), config.learningRate);
      const now = performance.now();
      const weights = networks.getWeights();
      policy = new PpoPolicy(weights, { seed: config.seed });
      const number = updateOffset + updates.length + 1;
      const meanReward = batch.reduce((s, e) => s + e.reward, 0) / batch.length;
      history.push(
        updateHistoryRecord(stats, {
          iteration: number,
          envSteps,
          episodeReturns: batchReturns,
          runSeconds: secondsBefore + (now - runStarted) / 1000,
          batchSeconds: (now - batchStarted) / 1000,
          batchSteps: batch.length,
          updateSeconds: (now - updateStarted) / 1000,
        }),
      );
      const runId = `${newRunId(config.seed).replace(/^ppo-/, 'live-')}-u${number}`;
      const dir = await saveCheckpoint(path.join(options.checkpointsDir, runId), {
        policy: weights,
        config,
        preset: 'live-finetune',
        backend: backend.name,
        reward: options.reward,
        observation: kind,
        data: { file: table.file, sha256: table.sha256, rowCount: table.rowCount },
        history,
        metrics: { envSteps, updates: number, meanReward },
        parent: parent.dir,
        runId,
      });
      const update: FinetuneUpdate = { update: number, envSteps, stats, checkpoint: dir, meanReward };
      updates.push(update);
      options.onUpdate?.(update);
      parent = loadCheckpoint(dir, { observation: kind });
      batch = [];
      batchReturns = [];
      batchStarted = performance.now();
    }
  } finally {
    learner.dispose();
    networks.dispose();
  }
  return { checkpoint: parent.dir, updates };
}

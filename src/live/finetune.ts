/**
 * Fine-tuning on live experience: starts from a checkpoint, collects small batches from any `Env`
 * (the live cluster, a step taking seconds), runs a PPO update on each batch and checkpoints after
 * every update. Each new checkpoint's meta.json names its parent.
 */
import * as path from 'node:path';
import { initBackend } from '../agent/backend';
import { loadCheckpoint, newRunId, saveCheckpoint, type LoadedCheckpoint } from '../agent/checkpoint';
import { PpoLearner, type PpoConfig, type Trajectory, type UpdateStats } from '../agent/ppo';
import { ActorCritic, PpoPolicy, sampleFromLogits } from '../agent/policy';
import { loadTeastoreData } from '../data';
import type { Env } from '../env/types';
import { Rng } from '../random';
import type { RewardFunction } from '../reward';
import { ACTION_COUNT, OBSERVATION_SIZE, encodeObservation, type Observation } from '../space';

export interface FinetuneSettings {
  /** Environment steps per update (small: a live step takes seconds). */
  batchSteps: number;
  /** Total environment steps. */
  totalSteps: number;
  learningRate: number;
  epochs: number;
  seed: number;
}

export const DEFAULT_FINETUNE: FinetuneSettings = { batchSteps: 16, totalSteps: 64, learningRate: 3e-4, epochs: 4, seed: 1 };

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
  reward: RewardFunction;
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

/**
 * Builds a PPO trajectory (numEnvs = 1) from consecutive experience, with log-probabilities and
 * values recomputed under `policy` (the policy that acted, so they are exact).
 */
export function trajectoryOf(experience: Experience[], policy: PpoPolicy): Trajectory {
  const n = experience.length;
  const observations = new Float32Array(n * OBSERVATION_SIZE);
  const finals = new Float32Array(n * OBSERVATION_SIZE);
  const masks = new Uint8Array(n * ACTION_COUNT);
  experience.forEach((e, k) => {
    encodeObservation(e.observation, observations, k * OBSERVATION_SIZE);
    encodeObservation(e.nextObservation, finals, k * OBSERVATION_SIZE);
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
  const settings = { ...DEFAULT_FINETUNE, ...options.settings };
  const backend = await initBackend();
  let parent: LoadedCheckpoint = loadCheckpoint(options.checkpoint);
  const config: PpoConfig = { ...parent.meta.config, learningRate: settings.learningRate, epochs: settings.epochs, minibatchSize: settings.batchSteps, annealLearningRate: false, seed: settings.seed };
  const networks = ActorCritic.fromWeights(parent.weights);
  const learner = new PpoLearner(networks, config, new Rng(settings.seed));
  const rng = new Rng(settings.seed + 1);
  const table = loadTeastoreData();
  const updates: FinetuneUpdate[] = [];
  let policy = new PpoPolicy(parent.weights, { seed: settings.seed });
  let batch: Experience[] = [...(options.pending ?? [])];
  let envSteps = options.stepsDone ?? batch.length;
  const updateOffset = options.updatesDone ?? 0;
  const env = options.env;
  let observation = options.initialObservation ?? (await env.reset({ seed: settings.seed })).observation;
  const scratch = new Float32Array(OBSERVATION_SIZE);
  try {
    while (envSteps < settings.totalSteps || batch.length > 0) {
      if (batch.length < settings.batchSteps && envSteps < settings.totalSteps) {
        const mask = env.actionMask();
        const logits = policy.logits(encodeObservation(observation, scratch), 1);
        const { action } = sampleFromLogits(logits, 0, ACTION_COUNT, rng, config.maskActions ? mask : undefined);
        const step = await env.step(action);
        const experience: Experience = { observation, mask, action, reward: step.reward, done: step.terminated || step.truncated, truncated: step.truncated && !step.terminated, nextObservation: step.observation };
        batch.push(experience);
        envSteps++;
        options.onStep?.(experience);
        // No new episode once the budget is spent: it would only apply and measure the start.
        const more = envSteps < settings.totalSteps;
        observation = experience.done && more ? (await env.reset({ seed: settings.seed + envSteps })).observation : step.observation;
        continue;
      }
      // A full batch (or the last, partial one): update, then checkpoint.
      const stats = learner.update(trajectoryOf(batch, policy), settings.learningRate);
      const weights = networks.getWeights();
      policy = new PpoPolicy(weights, { seed: settings.seed });
      const runId = `${newRunId(settings.seed).replace(/^ppo-/, 'live-')}-u${updateOffset + updates.length + 1}`;
      const dir = await saveCheckpoint(path.join(options.checkpointsDir, runId), {
        policy: weights,
        config,
        preset: 'live-finetune',
        backend: backend.name,
        reward: options.reward,
        data: { file: table.file, sha256: table.sha256, rowCount: table.rowCount },
        metrics: { envSteps, updates: updateOffset + updates.length + 1, meanReward: batch.reduce((s, e) => s + e.reward, 0) / batch.length },
        parent: parent.dir,
        runId,
      });
      const update: FinetuneUpdate = { update: updateOffset + updates.length + 1, envSteps, stats, checkpoint: dir, meanReward: batch.reduce((s, e) => s + e.reward, 0) / batch.length };
      updates.push(update);
      options.onUpdate?.(update);
      parent = loadCheckpoint(dir);
      batch = [];
    }
  } finally {
    learner.dispose();
    networks.dispose();
  }
  return { checkpoint: parent.dir, updates };
}

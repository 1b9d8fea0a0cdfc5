/**
 * The server's view of the learning algorithm: act on a batch, update on a batch of experience,
 * save, and hand out weights. `PpoBackend` implements it over the project's PPO (src/agent); the
 * HTTP, validation, persistence and batching layers only know this interface.
 */
import * as path from 'node:path';
import { initBackend } from '../agent/backend';
import { loadCheckpoint, saveCheckpoint } from '../agent/checkpoint';
import type { HistoryRecord } from '../agent/history';
import { ActorCritic, PpoPolicy, defaultNetworkSpec, initPolicyWeights, type PolicyWeights } from '../agent/policy';
import { PPO_DEFAULTS, PpoLearner, ppoConfig, PRESETS, type PpoConfig, type Trajectory } from '../agent/ppo';
import { loadTeastoreData } from '../data';
import { Rng } from '../random';
import { decideBatch, type Decision, type DecisionRequest } from './batch-decisions';
import { datasetNormalisers, makeReward, type RewardFunction, type RewardName } from '../reward';

export interface LearnerBackend {
  /** Number of updates behind the current weights (0 for the starting policy). */
  readonly version: number;
  decide(requests: readonly DecisionRequest[]): Decision[];
  /** One PPO update on a batch (whose arrays it may take over); resolves to the update's statistics. */
  update(batch: Trajectory): Promise<Record<string, number>>;
  /** Writes a complete checkpoint at `dir` atomically (replacing one already there). */
  save(dir: string, record: CheckpointRecord): Promise<void>;
  /** The acting weights (a snapshot). */
  weights(): PolicyWeights;
  /** The `GET /v1/weights` body of the current version, when the backend prepares it off the event loop. */
  weightsBody?(): { version: number; body: string } | null;
  /** Releases what the backend holds (a learner thread). */
  close?(): Promise<void>;
}

/** What a server checkpoint records besides the weights. */
export interface CheckpointRecord {
  /** Numbers stored in the checkpoint's meta.json `metrics` (the server's resume point, update stats). */
  metrics: Record<string, number>;
  parent: string | null;
  /** The experience log the updates learned from, and how many of its events they covered. */
  experienceLog: string;
  experienceEvents: number;
  /** The server's per-update history so far (history.jsonl). */
  history: readonly HistoryRecord[];
}

/** Steps per update when the server is not told (--train-batch). */
export const DEFAULT_TRAIN_BATCH = PRESETS['policy-server'].numSteps!;

/**
 * PPO settings for learning from a live stream: the starting checkpoint's config (its network and
 * loss settings carry over; the defaults for a fresh policy), then the `policy-server` preset,
 * with `trainBatch` steps per update.
 */
export function serverPpoConfig(trainBatch: number, seed: number, overrides: Partial<PpoConfig> = {}, start: PpoConfig = PPO_DEFAULTS): PpoConfig {
  const minibatch = Math.min(PRESETS['policy-server'].minibatchSize!, trainBatch);
  return ppoConfig({ seed, numSteps: trainBatch, totalSteps: trainBatch, minibatchSize: minibatch, ...overrides }, 'policy-server', start);
}

/**
 * The reward the server's clients are to compute (the dataset's normalisers, as offline and live):
 * the server cannot check it, but its checkpoints record it and clients default to it.
 */
export function serverReward(name: RewardName): RewardFunction {
  return makeReward(name, datasetNormalisers(loadTeastoreData()));
}

/** Policy weights of a checkpoint folder (src/agent/checkpoint.ts format, checked on load). */
export function loadPolicyWeights(dir: string): PolicyWeights {
  return loadCheckpoint(dir).weights;
}

export interface PpoBackendOptions {
  config: PpoConfig;
  /** The reward the clients compute, recorded in every checkpoint. */
  reward: RewardFunction;
  /** Start from these weights; otherwise a fresh seeded initialisation. */
  weights?: PolicyWeights;
  /** Updates already behind `weights` (when resuming). */
  version?: number;
}

export class PpoBackend implements LearnerBackend {
  private policy: PpoPolicy;
  private readonly networks: ActorCritic;
  private readonly learner: PpoLearner;
  private readonly actRng: Rng;
  private readonly config: PpoConfig;
  private readonly reward: RewardFunction;
  backendName = 'unknown';
  version: number;

  private constructor(options: PpoBackendOptions, root: Rng) {
    const initRng = root.fork();
    this.actRng = root.fork();
    const weights = options.weights ?? initPolicyWeights(defaultNetworkSpec(options.config.hidden, options.config.activation), initRng);
    this.networks = ActorCritic.fromWeights(weights);
    this.learner = new PpoLearner(this.networks, options.config, root.fork());
    this.policy = new PpoPolicy(weights);
    this.version = options.version ?? 0;
    this.config = options.config;
    this.reward = options.reward;
  }

  static async create(options: PpoBackendOptions): Promise<PpoBackend> {
    const info = await initBackend();
    const backend = new PpoBackend(options, new Rng(options.config.seed));
    backend.backendName = info.name;
    return backend;
  }

  decide(requests: readonly DecisionRequest[]): Decision[] {
    return decideBatch(this.policy, requests, this.actRng);
  }

  async update(batch: Trajectory): Promise<Record<string, number>> {
    const stats = this.learner.update(batch);
    // Acting switches to the new weights only once the whole update is done.
    this.policy = new PpoPolicy(this.networks.getWeights());
    this.version++;
    return { ...stats };
  }

  async save(dir: string, record: CheckpointRecord): Promise<void> {
    await saveCheckpoint(
      dir,
      {
        policy: this.policy.getWeights(),
        config: this.config,
        preset: 'policy-server',
        backend: this.backendName,
        reward: this.reward,
        data: { file: record.experienceLog, sha256: 'n/a (append-only log; see metrics.trainedThroughSeq)', rowCount: record.experienceEvents },
        history: record.history,
        metrics: record.metrics,
        parent: record.parent,
        runId: `policy-server-${path.basename(dir)}`,
      },
      { overwrite: true },
    );
  }

  weights(): PolicyWeights {
    return this.policy.getWeights();
  }
}

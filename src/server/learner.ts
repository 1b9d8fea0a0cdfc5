/**
 * The server's view of the learning algorithm: act on a batch, update on a batch of experience,
 * save, and hand out weights. `PpoBackend` implements it over the project's PPO (src/agent); the
 * HTTP, validation, persistence and batching layers only know this interface.
 */
import * as path from 'node:path';
import { initBackend } from '../agent/backend';
import { loadCheckpoint, saveCheckpoint } from '../agent/checkpoint';
import { ActorCritic, PpoPolicy, defaultNetworkSpec, initPolicyWeights, type PolicyWeights } from '../agent/policy';
import { PpoLearner, ppoConfig, type PpoConfig, type Trajectory } from '../agent/ppo';
import { Rng } from '../random';
import { decideBatch, type Decision, type DecisionRequest } from './decide';
import type { RewardFunction } from '../reward';

export interface LearnerBackend {
  /** Number of updates behind the current weights (0 for the starting policy). */
  readonly version: number;
  decide(requests: readonly DecisionRequest[]): Decision[];
  /** One PPO update on a batch; resolves to the update's statistics. */
  update(batch: Trajectory): Promise<Record<string, number>>;
  /** Writes a complete checkpoint at `dir` atomically (replacing one already there). */
  save(dir: string, record: CheckpointRecord): Promise<void>;
  /** The acting weights (a snapshot). */
  weights(): PolicyWeights;
}

/** What a server checkpoint records besides the weights. */
export interface CheckpointRecord {
  /** Numbers stored in the checkpoint's meta.json `metrics` (the server's resume point, update stats). */
  metrics: Record<string, number>;
  parent: string | null;
  /** The experience log the updates learned from, and how many of its events they covered. */
  experienceLog: string;
  experienceEvents: number;
}

/**
 * The server learns from rewards its clients compute; checkpoints record that instead of a reward
 * function of the project's (the client's own reward is in its run records).
 */
const CLIENT_REPORTED_REWARD: RewardFunction = {
  name: 'client-reported',
  version: 1,
  params: { source: 'rewards reported to the policy server by its clients' },
  invalidPenalty: 0,
  compute: () => Number.NaN,
};

/** PPO settings for learning from a live stream: one environment, `trainBatch` steps per update. */
export function serverPpoConfig(trainBatch: number, seed: number, overrides: Partial<PpoConfig> = {}): PpoConfig {
  return ppoConfig({
    seed,
    numEnvs: 1,
    numSteps: trainBatch,
    totalSteps: trainBatch,
    minibatchSize: Math.min(64, trainBatch),
    epochs: 4,
    learningRate: 1e-3,
    // The length of a live run is unknown, so the learning rate cannot be annealed to 0 at its end.
    annealLearningRate: false,
    ...overrides,
  });
}

/** Policy weights of a checkpoint folder (src/agent/checkpoint.ts format, checked on load). */
export function loadPolicyWeights(dir: string): PolicyWeights {
  return loadCheckpoint(dir).weights;
}

export interface PpoBackendOptions {
  config: PpoConfig;
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
  private backendName = 'unknown';
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
        reward: CLIENT_REPORTED_REWARD,
        data: { file: record.experienceLog, sha256: 'n/a (append-only log; see metrics.trainedThroughSeq)', rowCount: record.experienceEvents },
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

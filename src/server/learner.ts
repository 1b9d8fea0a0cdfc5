/**
 * The server's view of the learning algorithm: act on a batch, update on a batch of experience,
 * save, and hand out weights. `PpoBackend` implements it over the project's PPO (src/agent); the
 * HTTP, validation, persistence and batching layers only know this interface.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../agent/backend';
import { ActorCritic, PpoPolicy, defaultNetworkSpec, initPolicyWeights, type PolicyWeights } from '../agent/policy';
import { PpoLearner, ppoConfig, type PpoConfig, type Trajectory } from '../agent/ppo';
import { Rng } from '../random';
import { decideBatch, type Decision, type DecisionRequest } from './decide';
import { decodeWeights, encodeWeights, type EncodedWeights } from './weights-codec';

export interface LearnerBackend {
  /** Number of updates behind the current weights (0 for the starting policy). */
  readonly version: number;
  decide(requests: readonly DecisionRequest[]): Decision[];
  /** One PPO update on a batch; resolves to the update's statistics. */
  update(batch: Trajectory): Promise<Record<string, number>>;
  /** Writes the policy into `dir` (which exists and is empty). */
  save(dir: string): Promise<void>;
  /** The acting weights (a snapshot). */
  weights(): PolicyWeights;
}

/** File the server keeps its policy weights in, inside a checkpoint folder. */
export const WEIGHTS_FILE = 'weights.json';

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

/** Reads policy weights saved by `PpoBackend.save`. */
export function loadPolicyWeights(dir: string): PolicyWeights {
  const file = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(file)) throw new Error(`${dir}: no ${WEIGHTS_FILE} (not a checkpoint written by the policy server)`);
  try {
    return decodeWeights(JSON.parse(fs.readFileSync(file, 'utf8')) as EncodedWeights);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
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
  version: number;

  private constructor(options: PpoBackendOptions, root: Rng) {
    const initRng = root.fork();
    this.actRng = root.fork();
    const weights = options.weights ?? initPolicyWeights(defaultNetworkSpec(options.config.hidden, options.config.activation), initRng);
    this.networks = ActorCritic.fromWeights(weights);
    this.learner = new PpoLearner(this.networks, options.config, root.fork());
    this.policy = new PpoPolicy(weights);
    this.version = options.version ?? 0;
  }

  static async create(options: PpoBackendOptions): Promise<PpoBackend> {
    await initBackend();
    return new PpoBackend(options, new Rng(options.config.seed));
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

  async save(dir: string): Promise<void> {
    await fs.promises.writeFile(path.join(dir, WEIGHTS_FILE), JSON.stringify(encodeWeights(this.policy.getWeights())));
  }

  weights(): PolicyWeights {
    return this.policy.getWeights();
  }
}

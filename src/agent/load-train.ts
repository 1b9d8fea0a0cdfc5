/**
 * PPO on the load environment: the learner and the rollout collector of ppo.ts over a
 * VectorLoadEnv, with networks that read the load observation (schema v2). Checkpoints record
 * that schema, so they refuse to act where the load is not observed.
 */
import * as path from 'node:path';
import { Rng } from '../random';
import { loadObservationSize } from '../load-space';
import type { RequestReward } from '../request-reward';
import type { LoadDynamics } from '../env/load-dynamics';
import { VectorLoadEnv, type LearningReward, type LoadStart } from '../env/load-env';
import type { LoadSource } from '../env/load-source';
import { parseStart } from '../env/start';
import { initBackend, type BackendName } from './backend';
import { saveCheckpoint } from './checkpoint';
import { historyRecordOf } from './history';
import { ActorCritic, PpoPolicy, type PolicyWeights } from './policy';
import { shieldVectorAction, SloShield, type ShieldName } from './slo-shield';
import { networkSpecOf, ppoConfig, validateConfig, PpoLearner, RolloutCollector, type IterationStats, type PpoConfig } from './ppo';

export interface LoadTrainOptions {
  dynamics: LoadDynamics;
  /** Training loads; episodes draw one uniformly and start at a random point of it. */
  sources: readonly LoadSource[];
  /** Steps per episode (default 60). */
  maxSteps?: number;
  /** Where episodes start (default: the config's `start`: `config:R,CPU,HEAP`, or `random-row` for one drawn within the bounds). */
  start?: LoadStart;
  /** Observe usage with the model's noise (default true). */
  observationNoise?: boolean;
  /** Windows of (oracle) load forecast the networks observe (default 0). */
  forecastSteps?: number;
  /** What the learner is paid (default LOAD_LEARNING_REWARD: centred on the load's best, scaled). */
  learningReward?: LearningReward;
  /** PPO hyperparameters over the `load` preset. */
  config?: Partial<PpoConfig>;
  backend?: BackendName;
  initialWeights?: PolicyWeights;
  /**
   * Shield the actions in training (slo-shield.ts): the action that runs, and that the learner
   * sees, is the shield's. Default none; recorded in the checkpoint as `trainingShield`.
   */
  shield?: ShieldName;
}

/**
 * The load's share of the return dwarfs the configuration's (a few percent separate the best
 * static configuration from the optimum), and the critic's clipped updates move its value a
 * little per batch: centred, the returns are small and start near the value the critic starts at.
 */
export const LOAD_LEARNING_REWARD: LearningReward = { centre: true, scale: 10 };

/** Where load episodes start for a PPO config's `start`: its configuration, or drawn within the bounds for `random-row`. */
export function loadStartOfConfig(text: string): LoadStart {
  const start = parseStart(text);
  if (start.kind === 'config') return start.config;
  if (start.kind === 'random-row') return 'random';
  throw new Error(`start ${text}: the load environment has no dataset rows; use config:<replicas>,<cpuMillis>,<heapMB> or random-row`);
}

/** One PPO run on the load environment. Step it an iteration at a time. */
export class LoadPpoTrainer {
  readonly config: PpoConfig;
  readonly backend: string;
  readonly envs: VectorLoadEnv;
  readonly iterations: number;
  readonly history: IterationStats[] = [];
  private readonly networks: ActorCritic;
  private readonly learner: PpoLearner;
  private readonly collector: RolloutCollector<VectorLoadEnv>;
  private weights: PolicyWeights;
  private envSteps = 0;
  private trainingSeconds = 0;

  private constructor(options: LoadTrainOptions, config: PpoConfig, backend: string) {
    this.config = config;
    this.backend = backend;
    const root = new Rng(config.seed);
    const initRng = root.fork();
    const sampleRng = root.fork();
    const shuffleRng = root.fork();
    const observationSize = loadObservationSize(options.forecastSteps ?? 0);
    const spec = { ...networkSpecOf(config), observationSize };
    if (options.initialWeights && options.initialWeights.spec.observationSize !== observationSize) {
      throw new Error(`the initial weights read ${options.initialWeights.spec.observationSize} observation floats, the load observation has ${observationSize}`);
    }
    this.networks = options.initialWeights ? ActorCritic.fromWeights(options.initialWeights) : ActorCritic.create(spec, initRng);
    this.weights = this.networks.getWeights();
    this.learner = new PpoLearner(this.networks, config, shuffleRng);
    this.envs = new VectorLoadEnv(config.numEnvs, {
      dynamics: options.dynamics,
      sources: options.sources,
      maxSteps: options.maxSteps,
      start: options.start ?? loadStartOfConfig(config.start),
      observationNoise: options.observationNoise,
      seed: config.seed,
      learningReward: options.learningReward ?? LOAD_LEARNING_REWARD,
      forecastSteps: options.forecastSteps,
    });
    this.envs.reset(config.seed);
    const shield = options.shield === 'slo' ? new SloShield(options.dynamics) : null;
    const envs = this.envs;
    this.collector = new RolloutCollector(this.envs, config.numSteps, sampleRng, config.maskActions, shield ? (i, action) => shieldVectorAction(shield, envs, i, action) : undefined);
    this.iterations = Math.ceil(config.totalSteps / (config.numEnvs * config.numSteps));
  }

  static async create(options: LoadTrainOptions): Promise<LoadPpoTrainer> {
    const config = ppoConfig(options.config ?? {}, 'load');
    validateConfig(config);
    const backend = await initBackend(options.backend);
    return new LoadPpoTrainer(options, config, backend.name);
  }

  get done(): boolean {
    return this.history.length >= this.iterations;
  }

  get reward(): RequestReward {
    return this.envs.dynamics.reward;
  }

  /** Collects one batch and updates on it. */
  step(): IterationStats {
    const c = this.config;
    const iteration = this.history.length + 1;
    const t0 = performance.now();
    const trajectory = this.collector.collect(this.weights);
    const t1 = performance.now();
    const learningRate = c.annealLearningRate ? c.learningRate * (1 - (iteration - 1) / this.iterations) : c.learningRate;
    const update = this.learner.update(trajectory, learningRate);
    this.weights = this.networks.getWeights();
    const t2 = performance.now();
    const steps = c.numEnvs * c.numSteps;
    this.envSteps += steps;
    this.trainingSeconds += (t2 - t0) / 1000;
    const returns = this.envs.drainCompletedEpisodes().map((e) => e.return);
    const stats: IterationStats = {
      ...update,
      iteration,
      iterations: this.iterations,
      envSteps: this.envSteps,
      episodes: returns.length,
      episodicReturn: returns.length ? { mean: returns.reduce((s, r) => s + r, 0) / returns.length, min: Math.min(...returns), max: Math.max(...returns) } : null,
      stepsPerSecond: steps / ((t2 - t0) / 1000),
      trainingSeconds: this.trainingSeconds,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
    this.history.push(stats);
    return stats;
  }

  /** The current policy (a snapshot). */
  policy(): PpoPolicy {
    return new PpoPolicy(this.weights, { seed: this.config.seed });
  }

  dispose(): void {
    this.learner.dispose();
    this.networks.dispose();
  }
}

export interface LoadTrainResult {
  policy: PpoPolicy;
  history: IterationStats[];
  config: PpoConfig;
  backend: string;
  reward: RequestReward;
  /** What the environment was: the model, interval, sources, episode length. */
  environment: Record<string, number | string>;
}

/** Trains to the end (or until onIteration returns false). */
export async function trainLoad(
  options: LoadTrainOptions & { onIteration?: (stats: IterationStats, trainer: LoadPpoTrainer) => void | boolean | Promise<void | boolean> },
): Promise<LoadTrainResult> {
  const trainer = await LoadPpoTrainer.create(options);
  try {
    while (!trainer.done) {
      const stats = trainer.step();
      if ((await options.onIteration?.(stats, trainer)) === false) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return {
      policy: trainer.policy(),
      history: trainer.history,
      config: trainer.config,
      backend: trainer.backend,
      reward: trainer.reward,
      environment: describeLoadEnvironment({ ...options, start: trainer.envs.start }, trainer.envs.maxSteps),
    };
  } finally {
    trainer.dispose();
  }
}

export function describeLoadEnvironment(options: Pick<LoadTrainOptions, 'dynamics' | 'sources' | 'start' | 'observationNoise' | 'learningReward' | 'forecastSteps' | 'shield'>, maxSteps: number): Record<string, number | string> {
  const d = options.dynamics;
  const learning = options.learningReward ?? LOAD_LEARNING_REWARD;
  return {
    env: 'load',
    intervalSeconds: d.intervalSeconds,
    rateResolution: d.rateResolution,
    noisePool: d.noisePool,
    maxSteps,
    sources: options.sources.map((s) => `${s.kind}:${s.name}`).join(' | '),
    start: options.start === undefined || options.start === 'random' ? 'random' : `${options.start.replicas},${options.start.cpuMillis},${options.start.heapMB}`,
    observationNoise: String(options.observationNoise ?? true),
    forecastSteps: options.forecastSteps ?? 0,
    trainingShield: options.shield ?? 'none',
    learningReward: `${learning.centre ? 'centred on the best static reward at the load, ' : ''}scaled x${learning.scale}`,
    bounds: JSON.stringify(d.bounds),
    modelDataFile: String(d.model.describe().dataFile ?? 'none'),
    modelDataSha256: String(d.model.describe().dataSha256 ?? 'none'),
  };
}

/** Writes a load-aware checkpoint (schema v2); `metrics` adds final figures. */
export async function saveLoadCheckpoint(dir: string, result: LoadTrainResult, extras: { metrics?: Record<string, number | string | null>; overwrite?: boolean } = {}): Promise<string> {
  const last = result.history[result.history.length - 1];
  const described = result.environment;
  return saveCheckpoint(
    dir,
    {
      policy: result.policy,
      config: result.config,
      backend: result.backend,
      reward: result.reward,
      observation: 'load',
      data: { file: String(described.modelDataFile), sha256: String(described.modelDataSha256), rowCount: 0 },
      history: result.history.map((s) => historyRecordOf(s)),
      runId: path.basename(path.resolve(dir)),
      metrics: { envSteps: last?.envSteps ?? 0, trainingSeconds: last?.trainingSeconds ?? 0, ...described, ...extras.metrics },
    },
    { overwrite: extras.overwrite },
  );
}

/**
 * The load-aware offline environment, on the performance model: one step is one control interval
 * (default 60 s) under a load that changes (a replayed trace or a Markov chain, load-source.ts).
 *
 * The agent observes its configuration, the usage the model measures (with the model's noise)
 * and the arrival rates of the last two windows (observation schema v2, load-space.ts). An action
 * moves one knob one level; the move pays the model's transition cost within the window
 * (load-dynamics.ts); the reward is the request-level reward of the window's expected measurement.
 * Episodes last `maxSteps` steps and end `truncated`; each starts at a random point of a randomly
 * drawn source (training), or at the start of the one source (evaluation, `randomStart: false`).
 *
 * `VectorLoadEnv` steps N of them over flat arrays for PPO (same-step autoreset, as
 * VectorDatasetEnv); `LoadEnv` is one of them behind the Gymnasium-style `Env` interface.
 */
import type { RequestMeasurement } from '../request-reward';
import { Rng } from '../random';
import * as space from '../space';
import { SpaceError, configFromIndex, configIndex, assertOnGrid, withinBounds, formatConfig, type ScalingConfig } from '../space';
import { LOAD_OBSERVATION_SIZE, RATE_SCALE, encodeLoadIndex, loadObservationSize, type LoadObservation } from '../load-space';
import type { CompletedEpisode, VectorStep } from './vector-env';
import type { LoadDynamics } from './load-dynamics';
import { drawEpisodeLoad, type EpisodeLoad, type LoadSource } from './load-source';

const ACTION_COUNT = space.ACTION_COUNT;
export const DEFAULT_LOAD_MAX_STEPS = 60;

/** Where an episode starts: a configuration, or one drawn uniformly within the bounds. */
export type LoadStart = ScalingConfig | 'random';

export interface LoadEnvOptions {
  dynamics: LoadDynamics;
  /** The loads episodes draw from (uniformly); at least one. */
  sources: readonly LoadSource[];
  maxSteps?: number;
  start?: LoadStart;
  /** Start traces at a random window (default true). */
  randomStart?: boolean;
  /** Observe usage with the model's measurement noise (default true); false observes the expectation. */
  observationNoise?: boolean;
  seed?: number;
  /**
   * Windows of load forecast in the observation (default 0: none). The forecast is the load the
   * episode will bring (an oracle: a replayed trace's next windows, a Markov path's next levels);
   * it bounds what a perfect short-term predictor would add.
   */
  forecastSteps?: number;
  /** How the step rewards a learner sees relate to the reward (default: as they are); see LearningReward. */
  learningReward?: LearningReward;
}

/**
 * What a learner is paid instead of the reward itself. `centre` subtracts what the best
 * configuration for the window's load would earn by staying (LoadDynamics.bestStayRewardAt):
 * the load is exogenous, so this changes no policy's ranking, but it removes from the return the
 * large part that only follows the load, leaving the small part the configuration decides.
 * `scale` then multiplies. Completed episodes still report their return in the reward's units.
 */
export interface LearningReward {
  centre: boolean;
  scale: number;
}

export const RAW_LEARNING_REWARD: LearningReward = { centre: false, scale: 1 };

/** One environment's running episode. */
class LoadEpisodeState {
  config = -1;
  step = 0;
  return = 0;
  source = 0;
  load: EpisodeLoad = { rates: new Float64Array(1), levels: null };
  usedCpu = 0;
  usedRam = 0;
  /** The last step's move (from, to) and window rate; its measurement is computed when asked. */
  lastFrom = -1;
  lastTo = -1;
  lastRate = 0;
}

export class VectorLoadEnv {
  readonly numEnvs: number;
  readonly observationSize: number;
  readonly forecastSteps: number;
  readonly dynamics: LoadDynamics;
  readonly sources: readonly LoadSource[];
  readonly maxSteps: number;
  readonly start: LoadStart;
  readonly randomStart: boolean;
  readonly observationNoise: boolean;
  readonly learningReward: LearningReward;
  readonly observations: Float32Array;
  readonly masks: Uint8Array;
  readonly states: LoadEpisodeState[];
  private readonly rngs: Rng[];
  private readonly startable: Int32Array;
  private readonly result: VectorStep;
  private completed: CompletedEpisode[] = [];
  /** Reset environments whose episode ends (PPO); off for the single `LoadEnv`. */
  autoReset = true;

  constructor(numEnvs: number, options: LoadEnvOptions) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new Error(`numEnvs must be a positive integer, got ${numEnvs}`);
    if (!options.sources.length) throw new Error('the load environment needs at least one load source (a profile or a Markov load)');
    this.numEnvs = numEnvs;
    this.dynamics = options.dynamics;
    this.sources = options.sources;
    this.maxSteps = options.maxSteps ?? DEFAULT_LOAD_MAX_STEPS;
    if (!Number.isInteger(this.maxSteps) || this.maxSteps < 1) throw new Error(`maxSteps must be a positive integer, got ${this.maxSteps}`);
    this.start = options.start ?? 'random';
    if (this.start !== 'random') {
      assertOnGrid(this.start, 'start');
      if (!withinBounds(this.start, this.dynamics.bounds)) throw new SpaceError(`start ${formatConfig(this.start)} is outside the bounds`);
    }
    this.randomStart = options.randomStart ?? true;
    this.observationNoise = options.observationNoise ?? true;
    this.learningReward = { ...(options.learningReward ?? RAW_LEARNING_REWARD) };
    if (!(this.learningReward.scale > 0) || !Number.isFinite(this.learningReward.scale)) throw new Error(`learningReward.scale must be a positive number, got ${this.learningReward.scale}`);
    this.forecastSteps = options.forecastSteps ?? 0;
    this.observationSize = loadObservationSize(this.forecastSteps);
    const seed = options.seed ?? 0;
    this.rngs = Array.from({ length: numEnvs }, (_, i) => new Rng(seed * 7919 + i));
    this.startable = Int32Array.from(Array.from({ length: space.CONFIG_COUNT }, (_, c) => c).filter((c) => withinBounds(configFromIndex(c), this.dynamics.bounds)));
    this.observations = new Float32Array(numEnvs * this.observationSize);
    this.masks = new Uint8Array(numEnvs * ACTION_COUNT);
    this.states = Array.from({ length: numEnvs }, () => new LoadEpisodeState());
    this.result = {
      rewards: new Float32Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      invalid: new Uint8Array(numEnvs),
      finalObservations: new Float32Array(numEnvs * this.observationSize),
    };
  }

  reset(seed?: number): Float32Array {
    for (let i = 0; i < this.numEnvs; i++) {
      if (seed !== undefined) this.rngs[i] = new Rng(seed * 7919 + i);
      this.resetOne(i);
    }
    return this.observations;
  }

  resetOne(i: number): void {
    const s = this.states[i];
    const rng = this.rngs[i];
    s.step = 0;
    s.return = 0;
    s.lastFrom = -1;
    s.source = this.sources.length === 1 ? 0 : rng.int(this.sources.length);
    s.load = this.drawLoad(this.sources[s.source], rng);
    s.config = this.start === 'random' ? this.startable[rng.int(this.startable.length)] : configIndex(this.start);
    this.observe(i);
  }

  /** The episode's window rates, with `forecastSteps` more windows for the forecast to read. */
  private drawLoad(source: LoadSource, rng: Rng): EpisodeLoad {
    const extra = this.forecastSteps;
    if (extra === 0) return drawEpisodeLoad(source, this.maxSteps, rng, this.randomStart);
    const room = source.kind === 'trace' && !this.randomStart ? Math.max(0, Math.min(extra, source.rates.length - 1 - this.maxSteps)) : extra;
    const load = drawEpisodeLoad(source, this.maxSteps + room, rng, this.randomStart);
    if (room === extra) return load;
    // Past the end of a trace replayed from its start, the forecast holds the last window.
    const rates = new Float64Array(this.maxSteps + 1 + extra).fill(load.rates[load.rates.length - 1]);
    rates.set(load.rates);
    return { rates, levels: load.levels };
  }

  /** Measures the current configuration in the window that just ended and encodes the observation. */
  private observe(i: number): void {
    const s = this.states[i];
    const rate = s.load.rates[s.step];
    const previous = s.load.rates[Math.max(0, s.step - 1)];
    const usage = this.dynamics.observeUsage(s.config, rate, this.observationNoise ? this.rngs[i] : null);
    s.usedCpu = usage.usedCpu;
    s.usedRam = usage.usedRam;
    const o = i * this.observationSize;
    encodeLoadIndex(s.config, usage.usedCpu, usage.usedRam, rate, previous, this.observations, o);
    for (let k = 0; k < this.forecastSteps; k++) this.observations[o + LOAD_OBSERVATION_SIZE + k] = s.load.rates[s.step + 1 + k] / RATE_SCALE;
    const masks = this.dynamics.masks;
    for (let a = 0, m = i * ACTION_COUNT, src = s.config * ACTION_COUNT; a < ACTION_COUNT; a++) this.masks[m + a] = masks[src + a];
  }

  /** Steps every environment; the returned arrays are reused by the next call. */
  step(actions: ArrayLike<number>): VectorStep {
    if (actions.length !== this.numEnvs) throw new Error(`expected ${this.numEnvs} actions, got ${actions.length}`);
    const { rewards, terminated, truncated, invalid, finalObservations } = this.result;
    const { next } = this.dynamics;
    for (let i = 0; i < this.numEnvs; i++) {
      const s = this.states[i];
      if (s.config < 0) throw new Error('step() called before reset()');
      if (s.step >= this.maxSteps) throw new Error(`environment ${i}: the episode ended after ${this.maxSteps} steps; reset() first`);
      const action = actions[i];
      if (!(action >= 0 && action < ACTION_COUNT && action === (action | 0))) {
        throw new SpaceError(`environment ${i}: action ${action} is not one of 0..${ACTION_COUNT - 1}`);
      }
      const rate = s.load.rates[s.step + 1];
      const target = next[s.config * ACTION_COUNT + action];
      const reward = this.dynamics.rewardsAt(rate)[s.config * ACTION_COUNT + action];
      invalid[i] = target < 0 ? 1 : 0;
      s.lastFrom = s.config;
      s.lastTo = target < 0 ? s.config : target;
      s.lastRate = rate;
      if (target >= 0) s.config = target;
      s.step++;
      this.observe(i);
      rewards[i] = this.learningReward.centre || this.learningReward.scale !== 1 ? this.learned(reward, rate) : reward;
      s.return += reward;
      const ended = s.step >= this.maxSteps;
      terminated[i] = 0;
      truncated[i] = ended ? 1 : 0;
      if (ended) {
        const o = i * this.observationSize;
        finalObservations.set(this.observations.subarray(o, o + this.observationSize), o);
        this.completed.push({ return: s.return, length: s.step });
        if (this.autoReset) this.resetOne(i);
      }
    }
    return this.result;
  }

  /** The step reward a learner sees (LearningReward). */
  private learned(reward: number, rate: number): number {
    const { centre, scale } = this.learningReward;
    return (centre ? reward - this.dynamics.bestStayRewardAt(rate) : reward) * scale;
  }

  /** The observation of environment i as named fields. */
  observation(i: number): LoadObservation {
    const s = this.states[i];
    const config = configFromIndex(s.config);
    return {
      ...config,
      usedCpu: s.usedCpu,
      usedRam: s.usedRam,
      arrivalRate: s.load.rates[s.step],
      previousArrivalRate: s.load.rates[Math.max(0, s.step - 1)],
      ...(this.forecastSteps > 0 ? { forecast: Array.from(s.load.rates.subarray(s.step + 1, s.step + 1 + this.forecastSteps)) } : {}),
    };
  }

  /** Episodes finished since the last call. */
  drainCompletedEpisodes(): CompletedEpisode[] {
    const done = this.completed;
    this.completed = [];
    return done;
  }
}

/** What a load step reports beside the observation. */
export interface LoadStepInfo {
  config: ScalingConfig;
  step: number;
  invalidAction: boolean;
  /** The load source of the episode. */
  source: string;
  /** Markov level of the window just ended (index into the chain's levels), or null for a trace. */
  level: number | null;
  /** The expected measurement of the window the step ran in (null after a reset). */
  window: RequestMeasurement | null;
}

export interface LoadStepResult {
  observation: LoadObservation;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: LoadStepInfo;
}

/** One load environment with the Gymnasium-style API (reset/step with named observations). */
export class LoadEnv {
  readonly actionCount = ACTION_COUNT;
  private readonly vector: VectorLoadEnv;
  private started = false;

  constructor(options: LoadEnvOptions) {
    this.vector = new VectorLoadEnv(1, options);
    this.vector.autoReset = false;
  }

  get dynamics(): LoadDynamics {
    return this.vector.dynamics;
  }

  get maxSteps(): number {
    return this.vector.maxSteps;
  }

  reset(options: { seed?: number } = {}): { observation: LoadObservation; info: LoadStepInfo } {
    this.vector.reset(options.seed);
    this.started = true;
    return { observation: this.vector.observation(0), info: this.info(false) };
  }

  step(action: number): LoadStepResult {
    if (!this.started) throw new Error('step() called before reset()');
    const result = this.vector.step([action]);
    this.vector.drainCompletedEpisodes();
    return {
      observation: this.vector.observation(0),
      reward: result.rewards[0],
      terminated: false,
      truncated: result.truncated[0] === 1,
      info: this.info(result.invalid[0] === 1),
    };
  }

  actionMask(): boolean[] {
    return Array.from(this.vector.masks.subarray(0, ACTION_COUNT), (m) => m === 1);
  }

  private info(invalidAction: boolean): LoadStepInfo {
    const s = this.vector.states[0];
    return {
      config: configFromIndex(s.config),
      step: s.step,
      invalidAction,
      source: this.vector.sources[s.source].name,
      level: s.load.levels ? s.load.levels[s.step] : null,
      window: s.lastFrom < 0 ? null : this.vector.dynamics.window(s.lastFrom, s.lastTo, s.lastRate),
    };
  }
}

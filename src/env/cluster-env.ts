/**
 * The live environment: the same `Env` interface as the dataset replay, but actions go through the
 * Kubernetes API and observations and rewards come from Prometheus.
 *
 * A step: check the action against the mask and the bounds (an invalid move is refused, never
 * applied, and pays the reward's penalty, as offline), patch the deployment, wait for the rollout,
 * wait a warm-up, measure over a window, compute the reward. A dry run decides and reports but
 * applies nothing. `makeClusterEnv` adds the episode wrappers (time limit, call order, statistics).
 */
import type { DeploymentClient } from '../kube';
import { InPlaceApplier, type ApplyResult, type InPlaceOptions, type UpdatePolicy } from '../kube-resize';
import { toStepMetrics, type StepMetrics } from '../measurement';
import type { MetricClient, WindowMetrics } from '../metric';
import type { RewardFunction, RewardName } from '../reward';
import type { RequestReward, RequestRewardName } from '../request-reward';
import { ACTION_COUNT, FULL_BOUNDS, applyAction, assertOnGrid, type Bounds, type Observation, type ScalingConfig } from '../space';
import { withEpisodeWrappers, type EpisodeEnv } from './episode-wrappers';
import { DEFAULT_MAX_STEPS } from './dataset-env';
import type { Env, ResetOptions, ResetResult, StepInfo, StepResult } from './types';
import type { LiveLoad, RequestStepMetrics } from '../live/live-load';
import { isRequestReward, makeLiveReward, requestMeasurementOf, type LiveReward } from '../live/live-reward';

/** How long each phase of a live step may take or lasts. */
export interface LiveTimings {
  /** Give up waiting for a rollout after this long. */
  rolloutTimeoutMs: number;
  /** Wait after the rollout before measuring, so the pods settle. */
  warmupMs: number;
  /** Measurement window (rate over this many seconds). */
  windowSeconds: number;
}

/** Defaults for a real cluster. */
export const CLUSTER_TIMINGS: Readonly<LiveTimings> = { rolloutTimeoutMs: 300_000, warmupMs: 10_000, windowSeconds: 20 };

/**
 * For the cluster simulator with a 1 s scrape interval: a new pod's first samples need about two
 * scrapes before `rate` has a value, hence the short warm-up and a 3 s window.
 */
export const SIMULATOR_TIMINGS: Readonly<LiveTimings> = { rolloutTimeoutMs: 30_000, warmupMs: 2_000, windowSeconds: 3 };

/** Where the wall time of a step went, in milliseconds. */
export interface StepTimings {
  rolloutMs: number;
  warmupMs: number;
  measureMs: number;
  /** Everything else: reading and patching the deployment, queries' own latency, bookkeeping. */
  overheadMs: number;
  totalMs: number;
}

export interface LiveStepInfo extends StepInfo {
  timings: StepTimings;
  /** Whether a configuration change was sent to the cluster in this step. */
  applied: boolean;
  dryRun: boolean;
  pods: string[];
  /** With a load source: the requests of the measurement window. */
  requests?: RequestStepMetrics;
  /** How the change of this step was applied (in place, rollout, scale) and why; absent when none was sent. */
  change?: { path: ApplyResult['path']; reason: string; resizedPods: string[]; fallback?: ApplyResult['fallback'] };
}

export interface ClusterEnvOptions {
  kube: DeploymentClient;
  metrics: MetricClient;
  /**
   * Reward function, or a built-in name using the dataset's normalisers (default classic); or a
   * request-level reward (or its name), computed from each window's requests: it needs `load`.
   */
  reward?: RewardFunction | RewardName | RequestReward | RequestRewardName;
  bounds?: Bounds;
  timings?: Partial<LiveTimings>;
  /** Decide and report, but never change the deployment. */
  dryRun?: boolean;
  /** Configuration to apply at reset; by default an episode starts from whatever is running. */
  startConfig?: ScalingConfig;
  /** Load driven and measured with each step (live-load.ts); without it, whatever traffic there is. */
  load?: LiveLoad;
  sleep?: (ms: number) => Promise<void>;
  /** InPlacePreferred (default): a CPU-only change resizes the pods in place where the cluster can; Rollout: every change rolls. */
  updatePolicy?: UpdatePolicy;
  /** Fallback limits of an in-place change (Deferred 5 min, in progress 1 h by default). */
  resize?: Omit<InPlaceOptions, 'updatePolicy'>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The live environment itself, without a time limit; `makeClusterEnv` gives the wrapped one. */
export class ClusterEnv implements Env {
  readonly actionCount = ACTION_COUNT;
  readonly reward: LiveReward;
  readonly bounds: Bounds;
  readonly timings: LiveTimings;
  readonly dryRun: boolean;
  private readonly kube: DeploymentClient;
  private readonly applier: InPlaceApplier;
  private readonly metrics: MetricClient;
  private readonly startConfig?: ScalingConfig;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly load?: LiveLoad;
  private lastArrivalRate: number | undefined;
  private last: { observation: Observation; info: LiveStepInfo } | null = null;
  private steps = 0;

  constructor(options: ClusterEnvOptions) {
    this.kube = options.kube;
    this.applier = new InPlaceApplier(options.kube, { ...options.resize, updatePolicy: options.updatePolicy });
    this.metrics = options.metrics;
    const reward = options.reward ?? 'classic';
    // Offline normalisers, so a live reward means what the same reward meant in training.
    this.reward = typeof reward === 'string' ? makeLiveReward(reward) : reward;
    if (isRequestReward(this.reward) && !options.load) {
      throw new Error(`reward ${this.reward.name} is computed from the requests of each window, but the live environment has no load source: give it one (live --load-profile SPEC --app URL, or --load-selector)`);
    }
    this.bounds = options.bounds ?? FULL_BOUNDS;
    assertOnGrid(this.bounds.min, 'bounds.min');
    assertOnGrid(this.bounds.max, 'bounds.max');
    this.timings = { ...CLUSTER_TIMINGS, ...options.timings };
    this.dryRun = options.dryRun ?? false;
    this.startConfig = options.startConfig;
    if (this.startConfig) assertOnGrid(this.startConfig, 'startConfig');
    this.sleep = options.sleep ?? defaultSleep;
    this.load = options.load;
  }

  /** Whether a load source drives and measures each step (the observation then carries the load). */
  get hasLoad(): boolean {
    return this.load !== undefined;
  }

  /** The load source, when there is one. */
  get liveLoad(): LiveLoad | undefined {
    return this.load;
  }

  get updatePolicy(): UpdatePolicy {
    return this.applier.updatePolicy;
  }

  /** The configuration the episode is in (after the last reset or step). */
  get config(): ScalingConfig | null {
    return this.last ? this.last.info.config : null;
  }

  /**
   * Starts an episode: applies `startConfig` (when set and not a dry run), waits and measures. With
   * `resumeAfterStep`, continues an interrupted episode instead: measures what runs and applies
   * nothing (a resumed run picks up where its log ends).
   */
  async reset(options: ResetOptions = {}): Promise<ResetResult & { info: LiveStepInfo }> {
    const started = performance.now();
    const resuming = options.resumeAfterStep !== undefined;
    this.steps = options.resumeAfterStep ?? 0;
    this.lastArrivalRate = undefined;
    this.load?.beginStep(this.steps);
    let target = await this.kube.readConfig();
    let applied = false;
    let change: ApplyResult | undefined;
    if (!resuming && this.startConfig && !this.dryRun && !sameConfig(target, this.startConfig)) {
      change = await this.applier.apply(this.startConfig);
      target = this.startConfig;
      applied = true;
    }
    assertOnGrid(target, `deployment ${this.kube.name} configuration`);
    const result = await this.settleAndMeasure(target, applied, started, change);
    this.last = result;
    return result;
  }

  async step(action: number): Promise<StepResult & { info: LiveStepInfo }> {
    if (!Number.isInteger(action) || action < 0 || action >= ACTION_COUNT) throw new Error(`action ${JSON.stringify(action)} is not one of 0..${ACTION_COUNT - 1}`);
    // Stepping before a reset is OrderEnforcing's to refuse; without it, fail plainly.
    const last = this.last!;
    const started = performance.now();
    this.steps++;
    this.load?.beginStep(this.steps);
    const current = last.info.config;
    const next = applyAction(current, action, this.bounds);
    let result: { observation: Observation; info: LiveStepInfo; reward: number };
    if (next === null) {
      // Refused: nothing is applied or measured; the state and its metrics stay as they were.
      const totalMs = performance.now() - started;
      result = {
        observation: last.observation,
        reward: this.reward.invalidPenalty,
        info: { ...last.info, invalidAction: true, step: this.steps, applied: false, timings: { rolloutMs: 0, warmupMs: 0, measureMs: 0, overheadMs: totalMs, totalMs } },
      };
    } else {
      let applied = false;
      let change: ApplyResult | undefined;
      if (!this.dryRun && !sameConfig(current, next)) {
        change = await this.applier.apply(next);
        applied = true;
      }
      const measured = await this.settleAndMeasure(this.dryRun ? current : next, applied, started, change);
      result = { ...measured, reward: this.rewardOf(measured.info) };
    }
    this.last = { observation: result.observation, info: result.info };
    return { ...result, terminated: false, truncated: false };
  }

  actionMask(): boolean[] {
    const config = this.last?.info.config;
    if (!config) return new Array<boolean>(ACTION_COUNT).fill(true);
    return Array.from({ length: ACTION_COUNT }, (_, a) => applyAction(config, a, this.bounds) !== null);
  }

  private rewardOf(info: LiveStepInfo): number {
    if (!isRequestReward(this.reward)) return this.reward.compute({ config: info.config, ...info.metrics });
    // The constructor refused a request reward without a load source, so every step has requests.
    return this.reward.compute(requestMeasurementOf(info.config, info.metrics, info.requests!));
  }

  /** Waits for the rollout (when something was applied), the warm-up and the window, then measures. */
  private async settleAndMeasure(config: ScalingConfig, applied: boolean, started: number, change?: ApplyResult): Promise<{ observation: Observation; info: LiveStepInfo }> {
    const t0 = performance.now();
    // Also when nothing was applied: cheap when settled, and it catches changes made by others.
    await this.kube.waitForRollout({ timeoutMs: this.timings.rolloutTimeoutMs });
    const rolloutMs = performance.now() - t0;
    const t1 = performance.now();
    if (applied) await this.sleep(this.timings.warmupMs);
    const warmupMs = performance.now() - t1;
    const t2 = performance.now();
    this.load?.beginWindow();
    await this.sleep(this.timings.windowSeconds * 1000);
    const windowEnd = new Date();
    const pods = await this.kube.listReadyPods();
    const [window, requests]: [WindowMetrics, RequestStepMetrics | undefined] = await Promise.all([
      this.metrics.collect({ namespace: this.kube.target.namespace, container: this.kube.target.container, pods, windowSeconds: this.timings.windowSeconds }),
      this.load?.measure(this.timings.windowSeconds, windowEnd),
    ]);
    const measureMs = performance.now() - t2;
    const metrics: StepMetrics = toStepMetrics(window.mean, config.replicas);
    const totalMs = performance.now() - started;
    const waitedMs = (applied ? this.timings.warmupMs : 0) + this.timings.windowSeconds * 1000;
    const timings: StepTimings = { rolloutMs, warmupMs, measureMs, overheadMs: Math.max(0, totalMs - rolloutMs - waitedMs), totalMs };
    // Under load the observation also carries the offered rate of this window and of the one before
    // (the load-aware schema); at a reset there is no window before, so both are this one.
    const arrivalRate = requests?.offeredRps;
    const loadFields = arrivalRate === undefined ? {} : { arrivalRate, previousArrivalRate: this.lastArrivalRate ?? arrivalRate };
    this.lastArrivalRate = arrivalRate;
    return {
      observation: { ...config, usedCpu: metrics.usedCpuCores, usedRam: metrics.usedRamGiB, ...loadFields },
      info: {
        config: { ...config },
        metrics,
        invalidAction: false,
        step: this.steps,
        timings,
        applied,
        dryRun: this.dryRun,
        pods,
        ...(change ? { change: { path: change.path, reason: change.reason, resizedPods: change.resizedPods, ...(change.fallback ? { fallback: change.fallback } : {}) } } : {}),
        ...(requests ? { requests } : {}),
      },
    };
  }
}

/** The live environment inside the episode wrappers: `maxSteps`-step episodes (default 50), call order checked. */
export function makeClusterEnv(options: ClusterEnvOptions & { maxSteps?: number }): EpisodeEnv<ClusterEnv> {
  return withEpisodeWrappers(new ClusterEnv(options), options.maxSteps ?? DEFAULT_MAX_STEPS);
}

function sameConfig(a: ScalingConfig, b: ScalingConfig): boolean {
  return a.replicas === b.replicas && a.cpuMillis === b.cpuMillis && a.heapMB === b.heapMB;
}

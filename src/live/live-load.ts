/**
 * Load behind a live episode: the open-loop generator running in this process against the
 * application's URL, following a load profile, with its metrics served for Prometheus to scrape;
 * each step's request-level measurement is read back from Prometheus (request-metrics.ts), as it
 * would be on a real cluster where the generator runs as the `deploy/` Job.
 *
 * Pacing: `per-step` holds the profile's rate at t = step x stepSeconds for the whole step (a long
 * profile played one point per control interval); `real-time` follows the profile in wall-clock
 * time from the start of the episode. Profile rates are requests per second; the generator's are
 * session arrivals, so they are divided by the scenario's requests per session.
 */
import { startLoad, type OpenLoopGenerator } from '../load/generator';
import { LoadMetrics, serveLoadMetrics, type MetricsServer } from '../load/metrics';
import { formatDuration, ProfileError, type LoadProfile } from '../load/profile';
import { RequestMetricClient, type RequestWindow } from '../load/request-metrics';
import { REQUESTS_PER_SESSION, type ScenarioName } from '../load/scenarios';
import type { ArrivalProcess } from '../load/scheduler';
import type { LoadStats } from '../load/stats';

export type LoadPacing = 'per-step' | 'real-time';

/** What a live step records of the requests in its measurement window. */
export interface RequestStepMetrics {
  /** Requests per second the profile asked for (the target rate over the window). */
  offeredRps: number;
  servedRps: number;
  /** Failed by status, time-out or connection error, plus arrivals dropped at the generator's cap. */
  failedRps: number;
  /** served / offered; 1 when nothing was offered. */
  servedRatio: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** The generator's own p95 over the same window, from its HDR histogram (for comparison). */
  generatorP95Ms: number;
}

/** The load source a live environment drives and reads once per step. */
export interface LiveLoad {
  /** Sets the load for step `step` (0 at reset); called before the step changes anything. */
  beginStep(step: number): void;
  /** The measurement window starts now. */
  beginWindow(): void;
  /** The requests of the window of `windowSeconds` ending at `end`. */
  measure(windowSeconds: number, end: Date): Promise<RequestStepMetrics>;
  /** The profile rate (requests/s) that step `step` runs at, for the observation. */
  offeredAt(step: number): number;
  /** Profile seconds a step stands for (per-step pacing), when the source knows its profile. */
  readonly stepSeconds?: number;
  close(): Promise<void>;
}

export interface GeneratedLoadOptions {
  /** The application's base URL (the simulator's `app=` URL, or the web UI's Service). */
  targetUrl: string;
  profile: LoadProfile;
  pacing?: LoadPacing;
  /** Profile seconds per step under `per-step` pacing (the control interval it stands for). Default 60. */
  stepSeconds?: number;
  scenario?: ScenarioName;
  seed?: number;
  /** Prometheus base URL; it must scrape `metricsUrl` (start it with that target). */
  prometheusUrl: string;
  /** Label matchers picking this generator's series in Prometheus. */
  selector?: string;
  /** Cap on sessions in flight (default the generator's). */
  maxSessionsInFlight?: number;
  /** Poisson arrivals (default, as users arrive) or evenly spaced ones. */
  process?: ArrivalProcess;
}

/**
 * Throws before an episode starts when the profile ends before the episode would: under per-step
 * pacing step k reads the profile at k x stepSeconds; in real time, `realTimeSeconds` is the
 * least wall time the run takes.
 */
export function checkProfileCovers(profile: LoadProfile, need: { pacing: LoadPacing; steps: number; stepSeconds: number; realTimeSeconds: number }): void {
  const seconds = need.pacing === 'per-step' ? need.steps * need.stepSeconds : need.realTimeSeconds;
  if (profile.durationSeconds > seconds) return;
  const what = need.pacing === 'per-step' ? `${need.steps} steps of ${formatDuration(need.stepSeconds)} need` : 'the run takes at least';
  throw new ProfileError(`load profile ${profile.name} lasts ${formatDuration(profile.durationSeconds)}, but ${what} ${formatDuration(seconds)}: lengthen it (for=DURATION) or shorten the episode`);
}

/** Serves the generator's metrics before the generator exists, so Prometheus can be started with it as a target. */
export async function serveLiveLoadMetrics(info: { scenario: ScenarioName; profile: string }, listen: { port: number; host: string } = { port: 0, host: '127.0.0.1' }): Promise<{ metrics: LoadMetrics; server: MetricsServer }> {
  const metrics = new LoadMetrics({ mode: 'open-loop', ...info });
  return { metrics, server: await serveLoadMetrics(listen.port, metrics, listen.host) };
}

export class GeneratedLoad implements LiveLoad {
  readonly pacing: LoadPacing;
  readonly stepSeconds: number;
  private readonly perSession: number;
  private readonly generator: OpenLoopGenerator;
  private readonly reader: RequestMetricClient;
  /** Sessions per second under per-step pacing. */
  private stepRate = 0;

  constructor(
    private readonly options: GeneratedLoadOptions,
    metrics: LoadMetrics,
  ) {
    this.pacing = options.pacing ?? 'per-step';
    this.stepSeconds = options.stepSeconds ?? 60;
    if (!(this.stepSeconds > 0)) throw new Error(`stepSeconds must be positive, got ${this.stepSeconds}`);
    const scenario = options.scenario ?? 'home';
    this.perSession = REQUESTS_PER_SESSION[scenario];
    this.reader = new RequestMetricClient({ url: options.prometheusUrl, selector: options.selector });
    const profile = options.profile;
    const sessionsPerSec = this.pacing === 'real-time' ? (t: number) => profile.rate(t) / this.perSession : () => this.stepRate;
    this.stepRate = this.offeredAt(0) / this.perSession;
    this.generator = startLoad(options.targetUrl, this.pacing === 'real-time' ? sessionsPerSec : this.stepRate, { process: options.process ?? 'poisson', seed: options.seed ?? 1, scenario, observer: metrics.observer, maxSessionsInFlight: options.maxSessionsInFlight });
    metrics.attach(this.generator, sessionsPerSec);
  }

  offeredAt(step: number): number {
    return this.options.profile.rate(step * this.stepSeconds);
  }

  beginStep(step: number): void {
    if (this.pacing === 'real-time') return;
    this.stepRate = this.offeredAt(step) / this.perSession;
    this.generator.setRate(this.stepRate);
  }

  beginWindow(): void {
    // The generator's own statistics restart, so its p95 covers what Prometheus' window covers.
    this.generator.takeWindow();
  }

  async measure(windowSeconds: number, end: Date): Promise<RequestStepMetrics> {
    if (this.generator.isStopped) throw new Error(`the load generator against ${this.options.targetUrl} has stopped: no load for this step`);
    const own = this.generator.takeWindow();
    return toStepMetrics(await this.reader.collect(windowSeconds, end), this.perSession, own.latencyMs.p95);
  }

  /** The generator's own statistics of the whole run so far (arrivals against the rate it was given). */
  totals(): LoadStats {
    return this.generator.totals();
  }

  async close(): Promise<void> {
    await this.generator.stop({ drainMs: 0 });
  }
}

/**
 * A generator already running elsewhere (the `deploy/` Job, or anyone's), read from Prometheus
 * only: this process neither sets nor knows the profile, so the offered load is what the
 * generator's target-rate gauge says.
 */
export class ObservedLoad implements LiveLoad {
  private readonly reader: RequestMetricClient;
  private readonly perSession: number;

  constructor(options: { prometheusUrl: string; selector?: string; scenario?: ScenarioName }) {
    this.reader = new RequestMetricClient({ url: options.prometheusUrl, selector: options.selector });
    this.perSession = REQUESTS_PER_SESSION[options.scenario ?? 'home'];
  }

  beginStep(): void {}
  beginWindow(): void {}

  offeredAt(): number {
    return Number.NaN;
  }

  async measure(windowSeconds: number, end: Date): Promise<RequestStepMetrics> {
    return toStepMetrics(await this.reader.collect(windowSeconds, end), this.perSession, Number.NaN);
  }

  async close(): Promise<void> {}
}

/** Sessions become requests; dropped arrivals count as failed requests (they were offered and not served). */
function toStepMetrics(read: RequestWindow, perSession: number, generatorP95Ms: number): RequestStepMetrics {
  const offeredRps = read.targetSessionsPerSec * perSession;
  return {
    offeredRps,
    servedRps: read.servedRps,
    failedRps: read.failedRps + read.droppedPerSec * perSession,
    servedRatio: offeredRps > 0 ? Math.min(1, read.servedRps / offeredRps) : 1,
    latencyMs: read.latencyMs,
    generatorP95Ms,
  };
}

/**
 * What open- and closed-loop runs share: the clock, the HTTP target, the statistics, windows,
 * the expected-arrival bookkeeping, sessions in flight and stopping.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../random';
import { resolveScenario, type Scenario, type ScenarioName } from './scenarios';
import { Session } from './session';
import { StatsRecorder, type LoadMode, type LoadObserver, type LoadStats, type StatsData } from './stats';
import { HttpTarget, type HttpResult } from './target';

export interface CommonLoadOptions {
  /** What each arrival does: 'home' (default), 'browse' or a custom scenario. */
  scenario?: ScenarioName | Scenario;
  /** Seeds every random choice (arrival times, scenario choices). Default 0. */
  seed?: number;
  /** Per-request time-out. Default 10 s. */
  timeoutMs?: number;
  /** Cap on open sockets to the target (default 256, target.ts's DEFAULT_MAX_SOCKETS). */
  maxSockets?: number;
  /** Told of every arrival, drop and request as the statistics record it (e.g. LoadMetrics.observer). */
  observer?: LoadObserver;
  /** When run time 0 is, in epoch ms (performance.timeOrigin + performance.now()): workers share their parent's clock. Default: now. */
  startEpochMs?: number;
}

/** What a caller does with any run, single-threaded or spread over workers (workers.ts). */
export interface LoadControl {
  readonly mode: LoadMode;
  /** Seconds since the run started. */
  nowS(): number;
  readonly sessionsInFlight: number;
  readonly isStopped: boolean;
  takeWindow(): LoadStats;
  totals(): LoadStats;
  stop(options?: StopOptions): Promise<LoadStats>;
}

export interface StopOptions {
  /** How long stop() waits for sessions in flight before aborting them. Default: the request time-out. */
  drainMs?: number;
  /**
   * Open loop: the run time (s) at which arrivals end, if earlier than now; arrivals intended
   * after it are not sent. Workers stop at their parent's stop time, not when its message arrives.
   */
  arrivalsEndS?: number;
}

export abstract class LoadRun implements LoadControl {
  protected readonly t0: number;
  protected readonly target: HttpTarget;
  protected readonly scenario: Scenario;
  /** A single-request scenario's name and prepared request, sent without a Session (see launchSingle). */
  private readonly single: { name: string; head: string } | null;
  /** Separate streams, so a scenario's choices never shift arrival times. */
  protected readonly arrivalRng: Rng;
  private readonly sessionRng: Rng;
  protected readonly timeoutMs: number;
  protected readonly stats: StatsRecorder;
  private inFlight = 0;
  /** Told when the last session in flight ends (drain waits on it). */
  private onIdle: (() => void) | null = null;
  /** Bound once: every session calls it as it ends, without a promise or closure per session. */
  private readonly sessionEnded = (): void => {
    if (--this.inFlight === 0 && this.onIdle) this.onIdle();
    this.afterSessionEnded();
  };
  private windowStartS = 0;
  /** Run time after which no arrival is sent (see StopOptions.arrivalsEndS). */
  protected arrivalsEndS = Infinity;
  private expectedInWindow = 0;
  private expectedInTotal = 0;
  private stopped: Promise<LoadStats> | null = null;

  constructor(
    readonly mode: LoadMode,
    targetUrl: string,
    options: CommonLoadOptions,
  ) {
    this.t0 = options.startEpochMs === undefined ? performance.now() : options.startEpochMs - performance.timeOrigin;
    this.stats = new StatsRecorder(mode, options.observer);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.target = new HttpTarget(targetUrl, { timeoutMs: this.timeoutMs, maxSockets: options.maxSockets });
    this.scenario = resolveScenario(options.scenario ?? 'home');
    const one = this.scenario.singleRequest;
    this.single = one ? { name: one.name, head: this.target.prepare(one.method, one.path) } : null;
    const root = new Rng(options.seed ?? 0);
    this.arrivalRng = root.fork();
    this.sessionRng = root.fork();
  }

  /** Seconds since the run started. */
  nowS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  get sessionsInFlight(): number {
    return this.inFlight;
  }

  get isStopped(): boolean {
    return this.stopped !== null;
  }

  /** Sockets opened to the target since the run began. */
  get socketsOpened(): number {
    return this.target.socketsOpened;
  }

  /** The statistics since the previous call (or the start), and a new window from now. */
  takeWindow(): LoadStats {
    const endS = this.catchUp();
    const stats = this.stats.takeWindow(this.windowStartS, endS, this.promisesRate() ? this.expectedInWindow : null);
    this.windowStartS = endS;
    this.expectedInWindow = 0;
    return stats;
  }

  /** The window's raw counts and histograms, for a parent thread to merge (load-worker.ts); unless `peek`, a new window starts. */
  exportWindow(peek: boolean): StatsData {
    this.catchUp();
    return this.stats.exportWindow(peek);
  }

  /** The statistics of the whole run so far. */
  totals(): LoadStats {
    const endS = this.catchUp();
    return this.stats.totals(0, endS, this.promisesRate() ? this.expectedInTotal : null);
  }

  /**
   * Stops new arrivals, waits up to `drainMs` for sessions in flight, aborts the rest and returns
   * the run's totals. Calling it again returns the same totals.
   */
  stop(options: StopOptions = {}): Promise<LoadStats> {
    if (!this.stopped) {
      if (options.arrivalsEndS !== undefined) this.arrivalsEndS = options.arrivalsEndS;
      this.catchUp();
      this.halt();
      this.stopped = this.drain(options.drainMs ?? this.timeoutMs).then(() => {
        this.target.close();
        return this.stats.totals(0, this.nowS(), this.promisesRate() ? this.expectedInTotal : null);
      });
    }
    return this.stopped;
  }

  /** Brings the run up to now (dispatching due arrivals, adding expected arrivals) and returns the run time reached. */
  protected abstract catchUp(): number;
  /** Stops producing arrivals. */
  protected abstract halt(): void;
  /** Whether the run promises a rate, so expected arrivals mean something. */
  protected abstract promisesRate(): boolean;
  /** Called as each session ends, from its I/O callback. */
  protected afterSessionEnded(): void {}

  protected addExpected(count: number): void {
    this.expectedInWindow += count;
    this.expectedInTotal += count;
  }

  /** Starts one session meant to start at `intendedStartMs` (performance.now() time); resolves when it ends. */
  protected launch(intendedStartMs: number): Promise<void> {
    return new Promise<void>((resolve) => this.start(intendedStartMs, resolve));
  }

  /** Starts one session meant to start at `intendedStartMs`; `onEnd`, if given, is called when it ends. */
  protected start(intendedStartMs: number, onEnd?: () => void): void {
    if (this.single !== null) return this.startSingle(this.single, intendedStartMs, onEnd);
    this.inFlight++;
    // The seed a fork() would use, drawn in arrival order, so each session's choices stay reproducible.
    const session = new Session(this.target, this.stats, this.sessionRng.nextUint32(), intendedStartMs);
    void session.run(this.scenario, onEnd ? () => (this.sessionEnded(), onEnd()) : this.sessionEnded);
  }

  /**
   * A single-request session, timed and counted as Session times and counts one, with a callback
   * instead of a Session object and its promises: measured with --cpu-prof, those were the
   * largest share of the generator's own JavaScript per request.
   */
  private startSingle(single: { name: string; head: string }, intendedStartMs: number, onEnd?: () => void): void {
    this.inFlight++;
    this.stats.sessionStarted(performance.now() - intendedStartMs);
    if (onEnd === undefined) this.target.sendPrepared(single.head, this.singleEnded, intendedStartMs);
    else {
      this.target.sendPrepared(
        single.head,
        (result) => {
          this.singleEnded(result, intendedStartMs);
          onEnd();
        },
        intendedStartMs,
      );
    }
  }

  /** Bound once: the open loop's single-request sessions end here, their intended start carried as the request's tag. */
  private readonly singleEnded = (result: HttpResult, intendedStartMs: number): void => {
    const latencyMs = performance.now() - intendedStartMs;
    this.stats.request(this.single!.name, result.outcome, latencyMs);
    this.stats.sessionEnded(result.outcome === 'ok', latencyMs);
    this.sessionEnded();
  };

  /** Resolves when no session is in flight. */
  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.onIdle = () => {
        this.onIdle = null;
        resolve();
      };
    });
  }

  private async drain(drainMs: number): Promise<void> {
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    await Promise.race([this.idle(), deadline]);
    clearTimeout(timer);
    // Aborting makes the remaining requests resolve at once; wait for their sessions to record it.
    this.target.close();
    await this.idle();
  }
}

/** Stops the run on Ctrl-C and hands its totals to `onSummary`; returns a function that removes the handler. */
export function stopOnInterrupt(run: LoadControl, onSummary: (totals: LoadStats) => void): () => void {
  const handler = () => {
    void run.stop({ drainMs: 0 }).then(onSummary);
  };
  process.once('SIGINT', handler);
  return () => process.removeListener('SIGINT', handler);
}

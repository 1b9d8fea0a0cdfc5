/**
 * The open-loop load generator: arrivals follow the rate λ(t) whatever the target does. A
 * scheduling loop wakes about every millisecond and starts every session whose intended time has
 * passed (one timer for the whole run, not one per arrival, which keeps send lateness low at
 * thousands of arrivals per second). An arrival beyond the cap on sessions in flight is counted
 * as dropped at once, never queued.
 */
import { LoadRun, type CommonLoadOptions } from './run';
import { scheduledArrivals, toRateFunction, type Rate, type RateFunction } from './rate';
import { ArrivalScheduler, type ArrivalProcess } from './scheduler';

export interface OpenLoopOptions extends CommonLoadOptions {
  /** Poisson arrivals (default) or evenly spaced ones. */
  process?: ArrivalProcess;
  /** Arrivals beyond this many sessions in flight are dropped. Default 10,000. */
  maxSessionsInFlight?: number;
  /** How often the scheduling loop wakes. Default 1 ms. */
  tickMs?: number;
}

export class OpenLoopGenerator extends LoadRun {
  private rate: RateFunction;
  private readonly scheduler: ArrivalScheduler;
  private readonly maxSessionsInFlight: number;
  private readonly timer: NodeJS.Timeout;
  private readonly due: number[] = [];
  /** Run time up to which expected arrivals have been added. */
  private expectedUpTo = 0;
  private running = true;

  constructor(targetUrl: string, rate: Rate, options: OpenLoopOptions = {}) {
    super('open-loop', targetUrl, options);
    this.rate = toRateFunction(rate);
    this.scheduler = new ArrivalScheduler(this.rate, { process: options.process ?? 'poisson', rng: this.arrivalRng });
    this.maxSessionsInFlight = options.maxSessionsInFlight ?? 10_000;
    this.timer = setInterval(() => this.catchUp(), options.tickMs ?? 1);
  }

  /** Replaces the rate function from now on; t stays the time since the run started. */
  setRate(rate: Rate): void {
    this.catchUp();
    this.rate = toRateFunction(rate);
    this.scheduler.setRate(this.rate);
  }

  protected override catchUp(): number {
    if (!this.running) return this.scheduler.position;
    const horizon = this.nowS();
    this.due.length = 0;
    this.scheduler.advance(horizon, this.due);
    // Counted once per tick, not per arrival: the statistics and metrics see one update per batch.
    let dropped = 0;
    for (const tS of this.due) {
      if (this.sessionsInFlight >= this.maxSessionsInFlight) dropped++;
      else void this.launch(this.t0 + tS * 1000);
    }
    this.stats.arrival(this.due.length);
    this.stats.dropped(dropped);
    this.addExpected(scheduledArrivals(this.rate, this.expectedUpTo, horizon));
    this.expectedUpTo = horizon;
    return horizon;
  }

  protected override halt(): void {
    this.running = false;
    clearInterval(this.timer);
  }

  protected override promisesRate(): boolean {
    return true;
  }
}

/**
 * Starts an open-loop run against `targetUrl` (the web UI's base URL) at λ(t) arrivals per second,
 * t in seconds since the start. Each arrival is one session: one request for `home`, eight for `browse`.
 */
export function startLoad(targetUrl: string, rate: Rate, options: OpenLoopOptions = {}): OpenLoopGenerator {
  return new OpenLoopGenerator(targetUrl, rate, options);
}

export { startClosedLoop, ClosedLoopGenerator, type ClosedLoopOptions, type Pacing } from './closed-loop';
export { stopOnInterrupt, LoadRun, type CommonLoadOptions, type StopOptions } from './run';
export type { LoadStats, LatencySummary, LoadMode, LoadObserver, FailureCounts, RequestCounts } from './stats';
export type { Rate, RateFunction } from './rate';
export type { ArrivalProcess } from './scheduler';
export type { Scenario, ScenarioName, ScenarioSession, RequestResult, HttpMethod } from './scenarios';

/**
 * The open-loop load generator: arrivals follow the rate λ(t) whatever the target does. One
 * wake-up at a time drives the run: each time it comes, every session whose intended time has
 * passed starts, and a timer is set again for the next arrival (at least 1 ms and at most
 * `maxSleepMs` ahead).
 * At thousands of arrivals per second that is a batch per millisecond, not a timer per arrival;
 * at low rates the process sleeps between arrivals instead of waking every millisecond, which
 * on a busy machine costs CPU time that the scheduler then takes back as lateness. When the rate
 * is at least `pollAboveRate`, the loop polls instead (setImmediate: I/O, then the due
 * arrivals, again; a poll with nothing due sleeps in place up to POLL_NAP_MS first), because a
 * timer's wake-up is itself late: a process keeping a 1 ms timer
 * schedule and nothing else runs about 3 ms late at p99 on a quiet 2-CPU machine, polling 0.3 ms.
 * Sessions that end also send what has fallen due (afterSessionEnded), so a long batch of I/O
 * callbacks does not hold arrivals back until it is over.
 * An arrival beyond the cap on sessions in flight is counted as dropped at once, never queued.
 */
import { performance } from 'node:perf_hooks';
import { LoadRun, type CommonLoadOptions } from './run';
import { safeRate, scheduledArrivals, toRateFunction, type Rate, type RateFunction } from './rate';
import { ArrivalScheduler, type ArrivalProcess } from './scheduler';
import { ParallelOpenLoop } from './workers';

export interface OpenLoopOptions extends CommonLoadOptions {
  /** Poisson arrivals (default) or evenly spaced ones. */
  process?: ArrivalProcess;
  /** Arrivals beyond this many sessions in flight are dropped. Default 10,000. */
  maxSessionsInFlight?: number;
  /** The longest the scheduling loop sleeps when no arrival is due (it wakes for the next one). Default 50 ms. */
  maxSleepMs?: number;
  /**
   * At or above this many arrivals per second the loop polls for the next arrival (setImmediate)
   * instead of sleeping on a timer. Polling keeps a core busy, which at lower rates costs more
   * lateness (the busy process is preempted by the ones it shares the machine with) than the
   * timer's late wake-ups do. Default 10,000; Infinity never polls.
   */
  pollAboveRate?: number;
  /** Evenly spaced arrivals: the share of an interval before the first (default 0.5; workers interleave with it). */
  evenPhase?: number;
  /**
   * Generator threads (default 1: this thread). More split the arrivals, the sockets and the cap on
   * sessions in flight between worker threads (workers.ts); named scenarios only.
   */
  workers?: number;
}

/**
 * The longest a poll sleeps in place for the next arrival before it lets I/O in again. A poll
 * that went back to the event loop at once (setImmediate, nothing else) made up to a million
 * Immediate objects a second, measured with V8's sampling heap profiler at 20,000/s: over 90% of
 * the generator's garbage and so most of its scavenges, and it kept a CPU busy that the target
 * and the GC's helper threads need on a small machine. Sleeping up to this long between polls
 * (Atomics.wait, which sleeps with sub-millisecond precision where a timer cannot) bounds the
 * polls to about ten thousand a second and holds I/O back by at most this long, which the 5 ms
 * lateness budget does not notice.
 */
const POLL_NAP_MS = 0.1;
const NAP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps until `wakeMs` (performance.now() time) or for POLL_NAP_MS, whichever is sooner; returns the time after. */
function napUntil(wakeMs: number, now: number): number {
  Atomics.wait(NAP_CELL, 0, 0, Math.min(wakeMs - now, POLL_NAP_MS));
  return performance.now();
}

export class OpenLoopGenerator extends LoadRun {
  private rate: RateFunction;
  private readonly scheduler: ArrivalScheduler;
  private readonly maxSessionsInFlight: number;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly maxSleepS: number;
  private readonly pollAboveRate: number;
  /** Whether the rate is high enough to poll rather than sleep (see pollAboveRate). */
  private polling = false;
  /** When (performance.now() time) the next arrival is due, or the latest the loop may sleep until. */
  private nextWakeMs = 0;
  private readonly tick = (): void => {
    this.timer = null;
    this.immediate = null;
    // Nothing due yet (an early timer, or a poll): wait again without touching the schedule.
    let now = performance.now();
    if (this.polling && now < this.nextWakeMs) now = napUntil(this.nextWakeMs, now);
    if (now < this.nextWakeMs) this.armWakeUp(now);
    else this.catchUp();
  };
  private readonly due: number[] = [];
  /** Run time up to which expected arrivals have been added. */
  private expectedUpTo = 0;
  private running = true;

  constructor(targetUrl: string, rate: Rate, options: OpenLoopOptions = {}) {
    super('open-loop', targetUrl, options);
    this.rate = toRateFunction(rate);
    this.scheduler = new ArrivalScheduler(this.rate, { process: options.process ?? 'poisson', rng: this.arrivalRng, evenPhase: options.evenPhase });
    this.maxSessionsInFlight = options.maxSessionsInFlight ?? 10_000;
    this.maxSleepS = (options.maxSleepMs ?? 50) / 1000;
    this.pollAboveRate = options.pollAboveRate ?? 10_000;
    this.catchUp();
  }

  /** Replaces the rate function from now on; t stays the time since the run started. */
  setRate(rate: Rate): void {
    this.catchUp();
    this.rate = toRateFunction(rate);
    this.scheduler.setRate(this.rate);
    // The next arrival under the new rate may come sooner than the timer is set for.
    if (this.running) this.wakeForNextArrival(this.scheduler.position);
  }

  protected override catchUp(): number {
    if (!this.running) return this.scheduler.position;
    // Never before run time 0 (a worker's clock may start a moment ahead), never past the stop time.
    const horizon = Math.max(this.scheduler.position, Math.min(this.nowS(), this.arrivalsEndS));
    this.due.length = 0;
    this.scheduler.advance(horizon, this.due);
    // Counted once per tick, not per arrival: the statistics and metrics see one update per batch.
    let dropped = 0;
    for (const tS of this.due) {
      if (this.sessionsInFlight >= this.maxSessionsInFlight) dropped++;
      else this.start(this.t0 + tS * 1000);
    }
    this.stats.arrival(this.due.length);
    this.stats.dropped(dropped);
    this.addExpected(scheduledArrivals(this.rate, this.expectedUpTo, horizon));
    this.expectedUpTo = horizon;
    this.wakeForNextArrival(horizon);
    return horizon;
  }

  /**
   * A session's response is handled inside a batch of I/O callbacks that may take a while at high
   * rates; arrivals that fall due meanwhile are sent from here instead of after the whole batch.
   */
  protected override afterSessionEnded(): void {
    if (this.running && performance.now() >= this.nextWakeMs) this.catchUp();
  }

  /** Sets the one wake-up for the next arrival after `nowS`, replacing any earlier one. */
  private wakeForNextArrival(nowS: number): void {
    this.nextWakeMs = this.t0 + this.scheduler.nextArrivalBefore(nowS + this.maxSleepS) * 1000;
    this.polling = safeRate(this.rate, nowS) >= this.pollAboveRate;
    this.armWakeUp();
  }

  /** A poll when polling and the next wake-up is within a millisecond, else a timer. */
  private armWakeUp(now = performance.now()): void {
    this.cancelWakeUp();
    const waitMs = this.nextWakeMs - now;
    if (this.polling && waitMs < 1) this.immediate = setImmediate(this.tick);
    // Whole milliseconds, rounded down: a wake-up a little early finds nothing due and waits again.
    else this.timer = setTimeout(this.tick, Math.max(1, Math.floor(waitMs)));
  }

  private cancelWakeUp(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  protected override halt(): void {
    this.running = false;
    this.cancelWakeUp();
  }

  protected override promisesRate(): boolean {
    return true;
  }
}

/**
 * Starts an open-loop run against `targetUrl` (the web UI's base URL) at λ(t) arrivals per second,
 * t in seconds since the start. Each arrival is one session: one request for `home`, eight for `browse`.
 */
export function startLoad(targetUrl: string, rate: Rate, options?: OpenLoopOptions & { workers?: 1 }): OpenLoopGenerator;
export function startLoad(targetUrl: string, rate: Rate, options: OpenLoopOptions): OpenLoopGenerator | ParallelOpenLoop;
export function startLoad(targetUrl: string, rate: Rate, options: OpenLoopOptions = {}): OpenLoopGenerator | ParallelOpenLoop {
  if (options.workers !== undefined && options.workers !== 1) return new ParallelOpenLoop(targetUrl, rate, options);
  return new OpenLoopGenerator(targetUrl, rate, options);
}

export { ParallelOpenLoop, LoadWorkerError } from './workers';
export { startClosedLoop, ClosedLoopGenerator, type ClosedLoopOptions, type Pacing } from './closed-loop';
export { stopOnInterrupt, LoadRun, type CommonLoadOptions, type LoadControl, type StopOptions } from './run';
export type { LoadStats, LatencySummary, LoadMode, LoadObserver, FailureCounts, RequestCounts } from './stats';
export type { Rate, RateFunction } from './rate';
export type { ArrivalProcess } from './scheduler';
export type { Scenario, ScenarioName, ScenarioSession, RequestResult, HttpMethod } from './scenarios';

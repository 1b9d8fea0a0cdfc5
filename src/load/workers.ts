/**
 * An open-loop run spread over N worker threads (load-worker.ts), for rates one event loop cannot
 * send on schedule. Each worker runs its own generator, sockets and cap on sessions in flight at
 * λ/N with a seed derived from the run's: the superposition of N independent Poisson processes of
 * rate λ/N is a Poisson process of rate λ, and evenly spaced arrivals get phases (k + 0.5)/N, so
 * together they keep exactly the single generator's schedule. All share this thread's clock.
 *
 * This thread keeps the rate function (functions cannot cross threads): it tables λ per
 * millisecond cell a few seconds ahead and sends the table to the workers, and again from the
 * current cell on after setRate(). It counts expected arrivals itself, and merges the workers'
 * windows (counts add; HDR histograms merge exactly) into one LoadStats. takeWindow() and
 * totals() stay synchronous: each worker answers on a MessagePort that this thread reads with
 * receiveMessageOnPort once an Atomics flag says the answer is there.
 *
 * A worker that dies makes every later call throw a LoadWorkerError that names it and carries the
 * totals of the windows taken before: nothing completed is lost.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import { Rng } from '../random';
import type { OpenLoopOptions } from './generator';
import type { RequestEvents, SyncRequest, WorkerCommand, WorkerEvent, WorkerSetup } from './load-worker';
import { RATE_CELL_SECONDS, scheduledArrivals, toRateFunction, type Rate, type RateFunction } from './rate';
import type { LoadControl, StopOptions } from './run';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios';
import { StatsMerger, type LoadStats, type LoadObserver, type StatsData } from './stats';
import { DEFAULT_MAX_SOCKETS } from './target';

/** How far ahead the rate is tabled for the workers, and how often the table is extended. */
const RATE_LOOKAHEAD_CELLS = 2000;
const RATE_REFILL_MS = 100;
const START_DELAY_MS = 50;
/** How long a synchronous window request waits for a live worker before giving up. */
const ANSWER_TIMEOUT_MS = 10_000;
/** The synchronous channel's flag per worker: an answer is pending, on the port, or will never come. */
export const ANSWER_PENDING = 0;
export const ANSWER_READY = 1;
export const WORKER_EXITED = 2;

/**
 * Starts the worker script. From TypeScript sources (tsx), the thread registers tsx's CommonJS
 * hooks before requiring it: Node 20 does not pass the parent's loader hooks on to worker threads.
 */
function startWorkerThread(file: string, options: WorkerOptions): Worker {
  if (!file.endsWith('.ts')) return new Worker(file, options);
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { ...options, eval: true, execArgv: [] });
}

/** Each worker's seed, drawn from the run's: runs with the same seed and number of workers repeat. */
export function workerSeeds(seed: number, workers: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: workers }, () => rng.nextUint32());
}

export class LoadWorkerError extends Error {
  constructor(
    message: string,
    /** The totals of the windows taken before the failure. */
    readonly completed: LoadStats,
  ) {
    super(message);
    this.name = 'LoadWorkerError';
  }
}

interface WorkerHandle {
  readonly index: number;
  readonly thread: Worker;
  readonly port: MessagePort;
  ready: boolean;
  exited: boolean;
  inFlight: number;
  socketsOpened: number;
  /** Whether it stopped as asked, and its last window part (null if it never started). */
  stoppedCleanly: boolean;
  rest: StatsData | null;
  stopped: Promise<void>;
}

export class ParallelOpenLoop implements LoadControl {
  readonly mode = 'open-loop' as const;
  /** Resolves when every worker is up and arrivals have begun (run time 0); rejects if a worker fails first. */
  readonly ready: Promise<void>;
  private rate: RateFunction;
  private readonly workers: WorkerHandle[] = [];
  private readonly flags: Int32Array;
  private readonly merger = new StatsMerger('open-loop');
  private readonly observer: LoadObserver | undefined;
  /** performance.now() at run time 0; null until the workers are ready. */
  private t0: number | null = null;
  private windowStartS = 0;
  private expectedUpTo = 0;
  private expectedInWindow = 0;
  private expectedInTotal = 0;
  /** Cells up to which the rate has been tabled for the workers. */
  private tabledUpTo = 0;
  private refill: NodeJS.Timeout | null = null;
  private failure: string | null = null;
  private stopped: Promise<LoadStats> | null = null;

  constructor(targetUrl: string, rate: Rate, options: OpenLoopOptions) {
    const n = options.workers ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`workers must be a whole number of at least 1, got ${n}`);
    const scenario = options.scenario ?? 'home';
    if (typeof scenario !== 'string' || !SCENARIO_NAMES.includes(scenario)) {
      throw new Error(`workers > 1 need a named scenario (${SCENARIO_NAMES.join(', ')}): a scenario function cannot be sent to a worker thread`);
    }
    new URL(targetUrl); // a malformed URL fails here, not in every worker
    this.rate = toRateFunction(rate);
    this.observer = options.observer;
    this.flags = new Int32Array(new SharedArrayBuffer(4 * n));
    const seeds = workerSeeds(options.seed ?? 0, n);
    const file = path.join(__dirname, `load-worker${path.extname(__filename)}`);
    for (let index = 0; index < n; index++) {
      const { port1, port2 } = new MessageChannel();
      const setup: WorkerSetup = {
        index,
        workers: n,
        url: targetUrl,
        scenario: scenario as ScenarioName,
        seed: seeds[index],
        process: options.process ?? 'poisson',
        evenPhase: (index + 0.5) / n,
        timeoutMs: options.timeoutMs ?? 10_000,
        maxSockets: Math.max(1, Math.ceil((options.maxSockets ?? DEFAULT_MAX_SOCKETS) / n)),
        maxSessionsInFlight: Math.max(1, Math.ceil((options.maxSessionsInFlight ?? 10_000) / n)),
        maxSleepMs: options.maxSleepMs,
        pollAboveRate: options.pollAboveRate,
        observe: this.observer !== undefined,
        port: port2,
        flags: this.flags.buffer as SharedArrayBuffer,
      };
      const thread = startWorkerThread(file, { workerData: setup, transferList: [port2] });
      const handle: WorkerHandle = { index, thread, port: port1, ready: false, exited: false, inFlight: 0, socketsOpened: 0, stoppedCleanly: false, rest: null, stopped: Promise.resolve() };
      handle.stopped = new Promise<void>((resolve) => {
        thread.on('error', (err) => this.fail(handle, `threw ${err.message}`));
        thread.on('exit', (code) => {
          handle.exited = true;
          if (!handle.stoppedCleanly) this.fail(handle, `exited with code ${code} before it was stopped`);
          resolve();
        });
      });
      thread.on('message', (event: WorkerEvent) => this.onEvent(handle, event));
      this.workers.push(handle);
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.onReady = resolve;
      this.onFailure = reject;
    });
    // Nobody need wait on `ready`; its rejection is reported through the calls that follow.
    this.ready.catch(() => undefined);
  }

  private onReady: () => void = () => undefined;
  private onFailure: (err: Error) => void = () => undefined;

  /** Seconds since arrivals began (0 until then). */
  nowS(): number {
    return this.t0 === null ? 0 : Math.max(0, (performance.now() - this.t0) / 1000);
  }

  /** As the workers last reported (every tenth of a second). */
  get sessionsInFlight(): number {
    return this.workers.reduce((sum, w) => sum + w.inFlight, 0);
  }

  /** Sockets the workers opened to the target, as they last reported (final once stop() has resolved). */
  get socketsOpened(): number {
    return this.workers.reduce((sum, w) => sum + w.socketsOpened, 0);
  }

  get isStopped(): boolean {
    return this.stopped !== null;
  }

  /** Replaces the rate function from now on; t stays the time since the run started. */
  setRate(rate: Rate): void {
    this.catchUpExpected();
    this.rate = toRateFunction(rate);
    if (this.t0 !== null && this.stopped === null) {
      const fromCell = Math.floor(this.nowS() / RATE_CELL_SECONDS + 1e-9);
      this.tabledUpTo = fromCell;
      this.tableAhead();
    }
  }

  takeWindow(): LoadStats {
    this.throwIfFailed();
    const endS = this.catchUpExpected();
    const parts = this.currentParts('window');
    const stats = this.merger.window(parts, this.windowStartS, endS, this.expectedInWindow);
    this.windowStartS = endS;
    this.expectedCompleted += this.expectedInWindow;
    this.expectedInWindow = 0;
    return stats;
  }

  totals(): LoadStats {
    this.throwIfFailed();
    const endS = this.catchUpExpected();
    return this.merger.totals(this.currentParts('peek'), 0, endS, this.expectedInTotal);
  }

  /**
   * Stops new arrivals in every worker, waits up to `drainMs` for their sessions in flight and
   * returns the run's totals; rejects with a LoadWorkerError if a worker failed.
   */
  stop(options: StopOptions = {}): Promise<LoadStats> {
    if (!this.stopped) {
      const endS = this.catchUpExpected();
      if (this.refill) clearInterval(this.refill);
      this.refill = null;
      const drainMs = options.drainMs ?? 10_000;
      for (const w of this.workers) if (!w.exited) this.command(w, { type: 'stop', drainMs, arrivalsEndS: endS });
      this.stopped = Promise.all(this.workers.map((w) => w.stopped)).then(() => {
        this.throwIfFailed();
        return this.merger.totals(this.currentParts('peek'), 0, endS, this.expectedInTotal);
      });
    }
    return this.stopped;
  }

  /** Fault injection for tests: worker `index` throws from its event loop. @internal */
  crashWorker(index: number): void {
    this.command(this.workers[index], { type: 'crash' });
  }

  private onEvent(w: WorkerHandle, event: WorkerEvent): void {
    if (event.type === 'ready') {
      w.ready = true;
      if (this.workers.every((x) => x.ready) && this.t0 === null && this.failure === null) this.begin();
    } else if (event.type === 'status') {
      w.inFlight = event.inFlight;
      w.socketsOpened = event.socketsOpened;
      if (this.observer) this.replay(event.arrivals, event.dropped, event.requests);
    } else if (event.type === 'stopped') {
      w.rest = event.rest;
      w.stoppedCleanly = true;
      w.inFlight = 0;
    }
  }

  /** Starts every worker on one clock, the rate tabled ahead. */
  private begin(): void {
    if (this.stopped !== null) return;
    // Run time 0 a moment ahead, so every worker has its start command before the first arrival is due.
    this.t0 = performance.now() + START_DELAY_MS;
    this.tableAhead();
    for (const w of this.workers) this.command(w, { type: 'start', startEpochMs: performance.timeOrigin + this.t0 });
    this.refill = setInterval(() => this.tableAhead(), RATE_REFILL_MS);
    setTimeout(() => this.onReady(), START_DELAY_MS);
  }

  /** Sends λ for the cells from what was tabled to the lookahead. */
  private tableAhead(): void {
    const nowCell = Math.floor(this.nowS() / RATE_CELL_SECONDS + 1e-9);
    const fromCell = this.tabledUpTo;
    const toCell = nowCell + RATE_LOOKAHEAD_CELLS;
    if (toCell <= fromCell) return;
    const values: number[] = new Array(toCell - fromCell);
    for (let c = fromCell; c < toCell; c++) {
      const r = this.rate((c + 0.5) * RATE_CELL_SECONDS);
      values[c - fromCell] = Number.isFinite(r) && r > 0 ? r : 0;
    }
    this.tabledUpTo = toCell;
    for (const w of this.workers) if (!w.exited) this.command(w, { type: 'rate', fromCell, values });
  }

  private replay(arrivals: number, dropped: number, requests: RequestEvents | null): void {
    const o = this.observer!;
    if (arrivals > 0) o.onArrival?.(arrivals);
    if (dropped > 0) o.onDrop?.(dropped);
    if (requests && o.onRequest) {
      for (let i = 0; i < requests.name.length; i++) o.onRequest(requests.names[requests.name[i]], requests.outcome[i], requests.latencyMs[i]);
    }
  }

  /** Expected arrivals up to now, counted here from the full rate function. */
  private catchUpExpected(): number {
    const now = this.nowS();
    if (this.stopped === null && now > this.expectedUpTo) {
      const added = scheduledArrivals(this.rate, this.expectedUpTo, now);
      this.expectedInWindow += added;
      this.expectedInTotal += added;
      this.expectedUpTo = now;
    }
    return this.stopped === null ? now : this.expectedUpTo;
  }

  /** Every worker's current window, taken or peeked (a stopped worker's last part, once). */
  private currentParts(type: SyncRequest['type']): StatsData[] {
    if (this.t0 === null) return [];
    const parts: StatsData[] = [];
    for (const w of this.workers) {
      const part = w.stoppedCleanly ? w.rest : this.ask(w, type);
      if (w.stoppedCleanly && type === 'window') w.rest = null;
      if (part) parts.push(part);
    }
    return parts;
  }

  /** Asks one worker for its window and waits for the answer (the worker flags it, or flags its own exit). */
  private ask(w: WorkerHandle, type: SyncRequest['type']): StatsData | null {
    Atomics.store(this.flags, w.index, ANSWER_PENDING);
    w.port.postMessage({ type } satisfies SyncRequest);
    const deadline = performance.now() + ANSWER_TIMEOUT_MS;
    while (Atomics.wait(this.flags, w.index, ANSWER_PENDING, 100) === 'timed-out') {
      if (performance.now() > deadline) {
        this.fail(w, `did not answer in ${ANSWER_TIMEOUT_MS} ms`);
        this.throwIfFailed();
      }
    }
    if (Atomics.load(this.flags, w.index) === WORKER_EXITED) {
      this.fail(w, 'exited');
      this.throwIfFailed();
    }
    return (receiveMessageOnPort(w.port)?.message as StatsData | null | undefined) ?? null;
  }

  private command(w: WorkerHandle, command: WorkerCommand): void {
    w.thread.postMessage(command);
  }

  private expectedCompleted = 0;

  private fail(w: WorkerHandle, what: string): void {
    if (this.failure !== null) return;
    this.failure = `load worker ${w.index + 1} of ${this.workers.length} ${what}`;
    this.onFailure(new Error(this.failure));
    // The others stop sending; their windows since the last take are not part of a completed window.
    for (const other of this.workers) if (other !== w) void other.thread.terminate();
    if (this.refill) clearInterval(this.refill);
    this.refill = null;
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    throw new LoadWorkerError(`${this.failure}; the windows taken before it are kept in this error's \`completed\``, this.merger.totals([], 0, this.windowStartS, this.expectedCompleted));
  }
}

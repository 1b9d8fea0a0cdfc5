/**
 * One open-loop run of the load generator in a process of its own, for bench/load.ts: the
 * generator's event loop then shares time with neither the target nor autocannon. Takes one JSON
 * argument ({url, rate, seconds, process, warmupRate, warmupSeconds, workers, warmupInRun}); a short
 * warm-up (not reported), in a run of its own or inside the measured one, lets the JIT compile the
 * hot paths first. Prints `started T` (T in epoch milliseconds,
 * performance.timeOrigin + performance.now(), comparable across processes) when the measured run
 * begins and, at its end, one line of JSON: an OpenRunReport.
 */
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { ParallelOpenLoop, startLoad, type ArrivalProcess, type LoadStats } from '../src/load/generator';

export interface OpenRunRequest {
  url: string;
  rate: number;
  seconds: number;
  process: ArrivalProcess;
  warmupRate: number;
  warmupSeconds: number;
  /** Generator threads (default 1: the run's own thread). */
  workers?: number;
  /**
   * Warm up inside the measured run (its first `warmupSeconds`, at `warmupRate`) and report the
   * window after it, rather than in a separate run first: the sockets are open, the JIT has
   * compiled and the young generation has grown at the measured rate when the window begins.
   * Always so on workers, whose threads each have their own JIT.
   */
  warmupInRun?: boolean;
}

export interface OpenRunReport {
  rate: number;
  workers: number;
  /** Seconds of arrivals actually run. */
  seconds: number;
  sentPerS: number;
  okPerS: number;
  /** Sockets the generator opened in the measured run. */
  sockets: number;
  /** Epoch milliseconds at the run's start. */
  startEpochMs: number;
  totals: LoadStats;
  gc: { pauses: number; totalMs: number; maxMs: number };
  loopDelayMs: { p99: number; max: number };
  /** The generator process's CPU time (user + system) per request sent: what the machine's load cannot inflate much. */
  cpuMicrosPerRequest: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const epochNow = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as OpenRunRequest;
  if ((request.workers ?? 1) > 1 || request.warmupInRun) return measureAfterWarmUp(request);
  if (request.warmupSeconds > 0) {
    const warm = startLoad(request.url, request.warmupRate, { scenario: 'home', seed: 1 });
    await sleep(request.warmupSeconds * 1000);
    await warm.stop({ drainMs: 2000 });
  }
  const monitor = new ProcessMonitor();
  const workers = request.workers ?? 1;
  const run = startLoad(request.url, request.rate, { scenario: 'home', process: request.process, seed: request.rate, workers });
  // Worker threads start in a few hundred milliseconds; arrivals begin once all are up. The
  // process's CPU time counts every thread's, and is taken from then on.
  if (run instanceof ParallelOpenLoop) await run.ready;
  const cpuBefore = process.cpuUsage();
  const startEpochMs = epochNow() - run.nowS() * 1000;
  process.stdout.write(`started ${startEpochMs}\n`);
  await sleep(request.seconds * 1000);
  const seconds = (epochNow() - startEpochMs) / 1000;
  const totals = await run.stop({ drainMs: 5000 });
  const cpu = process.cpuUsage(cpuBefore);
  const { gc, loopDelayMs } = monitor.stop();
  const report: OpenRunReport = {
    rate: request.rate,
    workers,
    seconds,
    sentPerS: totals.sent / seconds,
    okPerS: totals.ok / seconds,
    sockets: run.socketsOpened,
    startEpochMs,
    totals,
    gc,
    loopDelayMs,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, totals.requests.sent),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** GC pauses (`gc` performance entries) and event-loop delay of this thread from construction to stop(). */
class ProcessMonitor {
  private readonly gcDurations: number[] = [];
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcDurations.push(entry.duration);
  });
  // 10 ms sampling: a 1 ms monitor would wake the process every millisecond, which the generator no longer does at low rates.
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.gc.observe({ entryTypes: ['gc'] });
    this.loop.enable();
  }

  stop(): Pick<OpenRunReport, 'gc' | 'loopDelayMs'> {
    this.gc.disconnect();
    this.loop.disable();
    const d = this.gcDurations;
    return {
      gc: { pauses: d.length, totalMs: d.reduce((a, b) => a + b, 0), maxMs: d.reduce((a, b) => Math.max(a, b), 0) },
      // The histogram's values are nanoseconds and include the 10 ms sampling interval.
      loopDelayMs: { p99: this.loop.percentile(99) / 1e6, max: this.loop.max / 1e6 },
    };
  }
}

/**
 * The warm-up inside the measured run: the run starts at the warm-up rate, and the report covers
 * the window from the end of the warm-up to the end of the run. With worker threads it has to be
 * so (each thread has its own JIT). CPU time counts every thread of the process; on workers, GC
 * pauses and event-loop delay are not reported (this thread only merges statistics).
 */
async function measureAfterWarmUp(request: OpenRunRequest): Promise<void> {
  const workers = request.workers ?? 1;
  const warmS = request.warmupSeconds;
  const rate = (t: number) => (t < warmS ? request.warmupRate : request.rate);
  const run = startLoad(request.url, rate, { scenario: 'home', process: request.process, seed: request.rate, workers: request.workers });
  if (run instanceof ParallelOpenLoop) await run.ready;
  await sleep(warmS * 1000 - run.nowS() * 1000);
  run.takeWindow();
  const monitor = workers === 1 ? new ProcessMonitor() : null;
  const cpuBefore = process.cpuUsage();
  const startEpochMs = epochNow();
  process.stdout.write(`started ${startEpochMs}\n`);
  await sleep(request.seconds * 1000);
  const window = run.takeWindow();
  const cpu = process.cpuUsage(cpuBefore);
  const measured = monitor?.stop() ?? { gc: { pauses: 0, totalMs: 0, maxMs: 0 }, loopDelayMs: { p99: 0, max: 0 } };
  await run.stop({ drainMs: 5000 });
  const seconds = window.endS - window.startS;
  const report: OpenRunReport = {
    rate: request.rate,
    workers,
    seconds,
    sentPerS: window.sent / seconds,
    okPerS: window.ok / seconds,
    sockets: run.socketsOpened,
    startEpochMs,
    totals: window,
    ...measured,
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, window.requests.sent),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

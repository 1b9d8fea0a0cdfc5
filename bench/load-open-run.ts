/**
 * One open-loop run of the load generator in a process of its own, for bench/load.ts: the
 * generator's event loop then shares time with neither the target nor autocannon. Takes one JSON
 * argument ({url, rate, seconds, process, warmupRate, warmupSeconds, workers}); a short warm-up run (not
 * reported) lets the JIT compile the hot paths first. Prints `started T` (T in epoch milliseconds,
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
  if ((request.workers ?? 1) > 1) return measureOnWorkers(request);
  if (request.warmupSeconds > 0) {
    const warm = startLoad(request.url, request.warmupRate, { scenario: 'home', seed: 1 });
    await sleep(request.warmupSeconds * 1000);
    await warm.stop({ drainMs: 2000 });
  }
  const gcDurations: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcDurations.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  // 10 ms sampling: a 1 ms monitor would wake the process every millisecond, which the generator no longer does at low rates.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
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
  gc.disconnect();
  loop.disable();
  const report: OpenRunReport = {
    rate: request.rate,
    workers,
    seconds,
    sentPerS: totals.sent / seconds,
    okPerS: totals.ok / seconds,
    sockets: run.socketsOpened,
    startEpochMs,
    totals,
    gc: { pauses: gcDurations.length, totalMs: gcDurations.reduce((a, b) => a + b, 0), maxMs: gcDurations.reduce((a, b) => Math.max(a, b), 0) },
    // The histogram's values are nanoseconds and include the 10 ms sampling interval.
    loopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, totals.requests.sent),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/**
 * With worker threads, the warm-up has to happen in the measured run's own threads (each has its
 * own JIT): the run starts at the warm-up rate, and the report covers the window from the end of
 * the warm-up to the end of the run. CPU time counts every thread of the process; GC pauses and
 * event-loop delay are not reported (this thread only merges statistics).
 */
async function measureOnWorkers(request: OpenRunRequest): Promise<void> {
  const warmS = request.warmupSeconds;
  const rate = (t: number) => (t < warmS ? request.warmupRate : request.rate);
  const run = startLoad(request.url, rate, { scenario: 'home', process: request.process, seed: request.rate, workers: request.workers });
  if (run instanceof ParallelOpenLoop) await run.ready;
  await sleep(warmS * 1000 - run.nowS() * 1000);
  run.takeWindow();
  const cpuBefore = process.cpuUsage();
  const startEpochMs = epochNow();
  process.stdout.write(`started ${startEpochMs}\n`);
  await sleep(request.seconds * 1000);
  const window = run.takeWindow();
  const cpu = process.cpuUsage(cpuBefore);
  await run.stop({ drainMs: 5000 });
  const seconds = window.endS - window.startS;
  const report: OpenRunReport = {
    rate: request.rate,
    workers: request.workers ?? 1,
    seconds,
    sentPerS: window.sent / seconds,
    okPerS: window.ok / seconds,
    sockets: run.socketsOpened,
    startEpochMs,
    totals: window,
    gc: { pauses: 0, totalMs: 0, maxMs: 0 },
    loopDelayMs: { p99: 0, max: 0 },
    cpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(1, window.requests.sent),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

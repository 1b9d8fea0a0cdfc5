/**
 * The open-loop load generator (src/load) against the local test target (1 ms service time).
 * The target, each generator run and each autocannon run are separate processes
 * (bench/load-target.ts, bench/load-open-run.ts, bench/load-autocannon-run.ts), so none of them
 * shares an event loop with another; this process only orchestrates. Three parts, in one run:
 *
 * 1. Accuracy: 10 s at 1,000 and at 5,000 arrivals/s (`home` scenario, Poisson arrivals): the
 *    achieved rate and the send lateness (actual minus intended send) p50, p99 and max.
 * 2. Capacity: the highest rate whose lateness p99 over 8 s is at most 5 ms, searched by doubling
 *    from 1,000/s until a rate fails, then by bisection between the last pass and the first
 *    failure (to 250/s or 5 %). Each rate is judged on one run: 2 s of warm-up at that rate
 *    (sockets open, JIT compiled, young generation grown), then the 8 s measured; a rate that
 *    fails is not run again (its better of two runs would not be its p99). The search is made for each number of generator workers the machine allows (1, then powers of
 *    two up to the CPU count less one for the target, at least 2), and the best is kept. Then
 *    autocannon, closed loop, for 5 s against the same target with as many connections as the
 *    generator opened at that rate; the ratio of the generator's served request rate to
 *    autocannon's. The target's CPU time per request is measured beside both.
 * 3. Coordinated omission: 10 s at 500 arrivals/s, evenly spaced, with the target stalled for 1 s
 *    in the middle. The true p99 follows from the schedule (a request arriving during the stall,
 *    or in service when it begins, is answered when it ends); the generator's p99 and autocannon's
 *    (at `overallRate` 500 on its default 10 connections, as it reports by default and with its
 *    coordinated-omission correction off) are printed beside it.
 *
 * Beside each accuracy run, an idle probe (bench/load-idle-probe.ts) keeps a 1 ms schedule and
 * nothing else: its lateness is what the machine's scheduling alone causes at that moment.
 *
 * Generator and autocannon processes run with GENERATOR_NODE_FLAGS (the target with none).
 *
 * Each generator run reports its GC pauses, event-loop delay and CPU time per request, to tell
 * where a tail comes from, and each line carries the machine's 1-minute load average: other
 * processes on a 2-CPU machine take time from the generator and the target alike.
 *
 * Last line: `RESULT load-generator max_rate=N vs_autocannon=R lateness_p99_ms=X co_p99_ms=Y true_p99_ms=Z load_avg=L cpu_us_per_request=C workers=W`,
 * lateness_p99_ms and cpu_us_per_request being those of the 10 s accuracy run at 5,000
 * arrivals/s, load_avg the mean of the 1-minute load average taken before each run, and workers
 * the number of generator workers of the best capacity search (max_rate's). CPU time
 * per request (user + system, from process.cpuUsage) is what a busy machine inflates least, so
 * it compares runs made under different loads.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import type { ArrivalProcess } from '../src/load/generator';
import type { OpenRunReport, OpenRunRequest } from './load-open-run';

const SERVICE_TIME_MS = 1;
const ACCURACY_RATES = [1000, 5000];
const ACCURACY_SECONDS = 10;
const SEARCH_START = 1000;
const SEARCH_CEILING = 128_000;
/** Bisection stops when the bracket is narrower than this many arrivals/s or this share of the lower end. */
const SEARCH_RESOLUTION = 250;
const SEARCH_RELATIVE_RESOLUTION = 0.05;
const CAPACITY_SECONDS = 8;
/** Warm-up inside each capacity run, at the rate being judged, before its measured seconds. */
const CAPACITY_WARMUP_SECONDS = 2;
const LATENESS_LIMIT_MS = 5;
const WARMUP_SECONDS = 1;
const WARMUP_MAX_RATE = 2000;
const CO_RATE = 500;
const CO_SECONDS = 10;
const STALL_MS = 1000;
/** When the stall begins, in seconds after the run's start. */
const STALL_AT_S = 4.5;
const AUTOCANNON_CO_CONNECTIONS = 10;
/**
 * V8 flags of the generator's and autocannon's processes. Without parallel scavenging, a scavenge
 * does not wait for helper threads that the target and other processes keep from a CPU on a small
 * machine: in alternating 5 s runs at 20,000-24,000/s on a loaded 2-CPU machine, GC time per run
 * was 57-375 ms without it against 108-859 ms with it, lower in 5 pairs of 6.
 */
const GENERATOR_NODE_FLAGS = ['--no-parallel-scavenge'];

/** The target process: its URL and its commands. */
class TargetProcess {
  private readonly waiting: Array<(line: string) => void> = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly url: string,
    lines: readline.Interface,
  ) {
    lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  static async start(): Promise<TargetProcess> {
    const script = path.join(__dirname, 'load-target.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, BENCH_TARGET_SERVICE_MS: String(SERVICE_TIME_MS) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines = readline.createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve, reject) => {
      lines.once('line', (line) => {
        const m = /^listening (\S+)$/.exec(line);
        if (m) resolve(m[1]);
        else reject(new Error(`unexpected line from the target: ${line}`));
      });
      child.once('exit', (code) => reject(new Error(`target exited with ${code}: ${stderr}`)));
    });
    return new TargetProcess(child, url, lines);
  }

  private command(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${line}\n`);
    });
  }

  /** Stalls the target; returns the epoch times (ms) at which the command left and its answer came back. */
  async stall(ms: number): Promise<{ sentMs: number; ackMs: number }> {
    const sentMs = epochNow();
    await this.command(`stall ${ms}`);
    return { sentMs, ackMs: epochNow() };
  }

  async requests(): Promise<number> {
    return Number((await this.command('count')).split(' ')[1]);
  }

  /** The target process's CPU time so far (user + system), in microseconds. */
  async cpuMicros(): Promise<number> {
    return Number((await this.command('cpu')).split(' ')[1]);
  }

  /** Runs `fn` and returns its result with the target's CPU time per request it received meanwhile. */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; targetMicrosPerRequest: number }> {
    const [cpu0, n0] = [await this.cpuMicros(), await this.requests()];
    const result = await fn();
    const [cpu1, n1] = [await this.cpuMicros(), await this.requests()];
    return { result, targetMicrosPerRequest: (cpu1 - cpu0) / Math.max(1, n1 - n0) };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

const epochNow = () => performance.timeOrigin + performance.now();
const loadSamples: number[] = [];
/** The 1-minute load average now, remembered for the RESULT line. */
function loadAverage(): number {
  const l = os.loadavg()[0];
  loadSamples.push(l);
  return l;
}

/**
 * Runs `script` (a bench/*.ts file) with one JSON argument in a child process; `onStarted` is
 * called with the rest of its `started ...` line; resolves with its last line, parsed as JSON.
 */
function runChild<T>(script: string, argument: unknown, onStarted?: (rest: string) => void, nodeFlags: readonly string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(__dirname, script), JSON.stringify(argument)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let last = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('started')) onStarted?.(line.slice('started'.length).trim());
    else last = line;
  });
  return new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

interface OpenRun extends OpenRunReport {
  loadAverage: number;
  /** The target's CPU time per request it received during the run (capacity runs only). */
  targetMicrosPerRequest?: number;
}

/**
 * One open-loop run of `seconds` in its own process; `during` runs alongside it, given the run's
 * start (epoch ms). Warm-up: a separate run of WARMUP_SECONDS at up to WARMUP_MAX_RATE, or with
 * `warmupInRunS`, that many seconds at the rate itself inside the run, before the measured window.
 */
async function openRun(url: string, rate: number, seconds: number, arrivalProcess: ArrivalProcess, during?: (startEpochMs: number) => Promise<void>, workers = 1, warmupInRunS?: number): Promise<OpenRun> {
  const load = loadAverage();
  const request: OpenRunRequest =
    warmupInRunS === undefined
      ? { url, rate, seconds, process: arrivalProcess, warmupRate: Math.min(rate, WARMUP_MAX_RATE), warmupSeconds: WARMUP_SECONDS, workers }
      : { url, rate, seconds, process: arrivalProcess, warmupRate: rate, warmupSeconds: warmupInRunS, workers, warmupInRun: true };
  let side: Promise<void> | undefined;
  const report = await runChild<OpenRunReport>(
    'load-open-run.ts',
    request,
    (rest) => {
      side = during?.(Number(rest));
    },
    GENERATOR_NODE_FLAGS,
  );
  await side;
  return { ...report, loadAverage: load };
}

interface IdleProbeReport {
  events: number;
  p50: number;
  p99: number;
  max: number;
}

/** An open-loop run with the idle probe (bench/load-idle-probe.ts) beside it for as long. */
async function openRunWithProbe(url: string, rate: number, seconds: number): Promise<{ run: OpenRun; probe: IdleProbeReport }> {
  let probe: Promise<IdleProbeReport> | undefined;
  const run = await openRun(url, rate, seconds, 'poisson', async () => {
    probe = runChild<IdleProbeReport>('load-idle-probe.ts', seconds);
  });
  return { run, probe: await probe! };
}

interface AutocannonReport {
  requests: number;
  duration: number;
  rate: number;
  latency: { p50: number; p99: number; max: number };
  errors: number;
  non2xx: number;
  cpuMicrosPerRequest: number;
}

function autocannonRun(options: Record<string, unknown>, onStarted?: () => void): Promise<AutocannonReport> {
  return runChild<AutocannonReport>('load-autocannon-run.ts', options, () => onStarted?.(), GENERATOR_NODE_FLAGS);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Generator workers to search with: 1, then powers of two up to the CPU count less one for the target (at least 2). */
function workerCounts(): number[] {
  const most = Math.max(2, os.cpus().length - 1);
  const counts = [1];
  for (let n = 2; n <= most; n *= 2) counts.push(n);
  return counts;
}
const f = (x: number, digits = 2) => x.toFixed(digits);

function describeOpen(r: OpenRun): string {
  const l = r.totals.sendLatenessMs;
  const lat = r.totals.latencyMs;
  const failed = r.totals.requests.failedTotal + r.totals.dropped;
  return (
    `${r.rate}/s${r.workers > 1 ? ` on ${r.workers} workers` : ''} for ${f(r.seconds, 1)} s: sent ${f(r.sentPerS, 0)}/s, ok ${f(r.okPerS, 0)}/s, served/expected ${f(r.totals.servedRatio ?? 0, 4)}` +
    `${failed ? `, ${failed} failed or dropped` : ''}, ${r.sockets} sockets${r.targetMicrosPerRequest === undefined ? '' : `, target CPU ${f(r.targetMicrosPerRequest, 1)} µs per request`}; lateness p50 ${f(l.p50, 3)} p99 ${f(l.p99, 3)} max ${f(l.max, 1)} ms; ` +
    `latency p50 ${f(lat.p50)} p99 ${f(lat.p99)} max ${f(lat.max, 1)} ms\n    ` +
    `${r.workers > 1 ? 'GC and event-loop delay: in the worker threads, not measured' : `GC ${r.gc.pauses} pauses, ${f(r.gc.totalMs, 0)} ms in all, longest ${f(r.gc.maxMs, 1)} ms; event-loop delay p99 ${f(r.loopDelayMs.p99, 1)} max ${f(r.loopDelayMs.max, 1)} ms`}; CPU ${f(r.cpuMicrosPerRequest, 1)} µs per request; load average ${f(r.loadAverage)}`
  );
}

/**
 * Each evenly spaced arrival's latency when the target serves in `serviceMs` and holds everything
 * from `stallStartS` to `stallEndS` (run seconds): one in service or arriving during the stall is
 * answered at the later of its own finish and the stall's end.
 */
function trueLatencies(rate: number, arrivals: number, serviceMs: number, stallStartS: number, stallEndS: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < arrivals; k++) {
    const t = (k + 0.5) / rate;
    const finish = t + serviceMs / 1000;
    const answered = finish > stallStartS && t < stallEndS ? Math.max(finish, stallEndS) : finish;
    out.push((answered - t) * 1000);
  }
  return out.sort((a, b) => a - b);
}

/** The smallest value at or below which `p` percent of the values lie (as HDR histograms report). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Judges `rate` for the capacity search on one run (see the header). */
async function capacityRun(target: TargetProcess, rate: number, workers: number): Promise<{ pass: boolean; run: OpenRun }> {
  const measured = await target.measure(() => openRun(target.url, rate, CAPACITY_SECONDS, 'poisson', undefined, workers, CAPACITY_WARMUP_SECONDS));
  const run: OpenRun = { ...measured.result, targetMicrosPerRequest: measured.targetMicrosPerRequest };
  const pass = run.totals.sendLatenessMs.p99 <= LATENESS_LIMIT_MS && run.totals.dropped === 0 && run.totals.requests.failedTotal === 0;
  console.log(`  ${pass ? 'pass' : 'FAIL'} ${describeOpen(run)}`);
  return { pass, run };
}

/** The highest rate that passes: doubling until a failure, then bisection. */
async function searchMaxRate(target: TargetProcess, workers: number): Promise<OpenRun | null> {
  let best: OpenRun | null = null;
  let low = 0;
  let high = 0;
  for (let rate = SEARCH_START; rate <= SEARCH_CEILING; rate *= 2) {
    const { pass, run } = await capacityRun(target, rate, workers);
    if (!pass) {
      high = rate;
      break;
    }
    best = run;
    low = rate;
  }
  if (high === 0) return best;
  while (high - low > Math.max(SEARCH_RESOLUTION, SEARCH_RELATIVE_RESOLUTION * low)) {
    const mid = Math.round((low + high) / 2 / SEARCH_RESOLUTION) * SEARCH_RESOLUTION;
    if (mid <= low || mid >= high) break;
    const { pass, run } = await capacityRun(target, mid, workers);
    if (pass) {
      best = run;
      low = mid;
    } else {
      high = mid;
    }
  }
  return best;
}

async function main(): Promise<void> {
  const target = await TargetProcess.start();
  const url = target.url;
  console.log(`target ${url} in its own process, service time ${SERVICE_TIME_MS} ms; each generator and autocannon run in a process of its own`);
  console.log(`${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => f(l)).join(' ')} (1, 5, 15 min)`);

  console.log(`\naccuracy: ${ACCURACY_SECONDS} s runs, home scenario, Poisson arrivals`);
  const accuracy: OpenRun[] = [];
  for (const rate of ACCURACY_RATES) {
    const { run: r, probe } = await openRunWithProbe(url, rate, ACCURACY_SECONDS);
    accuracy.push(r);
    console.log(`  ${describeOpen(r)}`);
    console.log(`    idle probe alongside (a process keeping a 1 ms schedule and nothing else): lateness p50 ${f(probe.p50, 3)} p99 ${f(probe.p99, 3)} max ${f(probe.max, 1)} ms`);
  }
  const at5000 = accuracy.find((r) => r.rate === 5000)!;

  console.log(`generator and autocannon processes run with ${GENERATOR_NODE_FLAGS.join(' ') || 'no node flags'}`);
  console.log(`\ncapacity: ${CAPACITY_SECONDS} s runs after ${CAPACITY_WARMUP_SECONDS} s of warm-up at the same rate, pass = lateness p99 <= ${LATENESS_LIMIT_MS} ms with nothing failed or dropped; doubling from ${SEARCH_START}/s, then bisection`);
  let best: OpenRun | null = null;
  for (const workers of workerCounts()) {
    console.log(`  ${workers} generator worker${workers > 1 ? 's' : ''}:`);
    const found = await searchMaxRate(target, workers);
    console.log(`  ${workers} worker${workers > 1 ? 's' : ''}: highest passing rate ${found?.rate ?? 0}/s`);
    if (found && (!best || found.rate > best.rate)) best = found;
  }
  const maxRate = best?.rate ?? 0;
  const bestWorkers = best?.workers ?? 1;
  // With no passing rate there is no ratio, but autocannon still shows what the machine serves
  // now, on as many connections as the 5,000/s run opened.
  const matched = best ?? at5000;
  const connections = Math.max(1, matched.sockets);
  loadAverage();
  const { result: ac, targetMicrosPerRequest: acTarget } = await target.measure(() => autocannonRun({ url, connections, duration: CAPACITY_SECONDS }));
  const ratio = best ? best.okPerS / ac.rate : 0;
  console.log(
    `  autocannon, closed loop, ${connections} connections for ${CAPACITY_SECONDS} s: ${f(ac.rate, 0)} requests/s ` +
      `(latency p50 ${ac.latency.p50} p99 ${ac.latency.p99} ms, ${ac.errors} errors, ${ac.non2xx} non-2xx); ` +
      `CPU ${f(ac.cpuMicrosPerRequest, 1)} µs per request (the generator at ${matched.rate}/s: ${f(matched.cpuMicrosPerRequest, 1)}); load average ${f(os.loadavg()[0])}`,
  );
  console.log(
    `  CPU per request on ${os.cpus().length} CPUs: autocannon ${f(ac.cpuMicrosPerRequest, 1)} µs + target ${f(acTarget, 1)} µs at ${f(ac.rate, 0)}/s; ` +
      `generator (${matched.workers} worker${matched.workers > 1 ? 's' : ''}) ${f(matched.cpuMicrosPerRequest, 1)} µs + target ${best?.targetMicrosPerRequest === undefined ? 'not measured' : `${f(best.targetMicrosPerRequest, 1)} µs`} at ${matched.rate}/s`,
  );
  if (best) {
    console.log(`  highest passing rate ${maxRate}/s: served/expected ${f(best.totals.servedRatio ?? 0, 4)}, ${f(best.okPerS, 0)} ok/s = ${f(ratio, 3)} x autocannon's rate`);
  } else {
    console.log(`  no rate passed, down to ${SEARCH_RESOLUTION}/s: vs_autocannon is 0`);
  }

  console.log(`\ncoordinated omission: ${CO_SECONDS} s at ${CO_RATE}/s evenly spaced, the target stalled for ${STALL_MS} ms at ${STALL_AT_S} s`);
  let stallAt = { sentMs: 0, ackMs: 0 };
  const co = await openRun(url, CO_RATE, CO_SECONDS, 'even', async (startEpochMs) => {
    await sleep(startEpochMs + STALL_AT_S * 1000 - epochNow());
    stallAt = await target.stall(STALL_MS);
  });
  // The stall began between the command's send and its answer; the midpoint, in run seconds.
  const stallStartS = ((stallAt.sentMs + stallAt.ackMs) / 2 - co.startEpochMs) / 1000;
  const truth = trueLatencies(CO_RATE, co.totals.arrivals, SERVICE_TIME_MS, stallStartS, stallStartS + STALL_MS / 1000);
  const trueP99 = percentile(truth, 99);
  const coP99 = co.totals.latencyMs.p99;
  console.log(`  ${describeOpen(co)}`);
  console.log(
    `  stall began at ${f(stallStartS, 4)} s (command round trip ${f(stallAt.ackMs - stallAt.sentMs, 3)} ms); ` +
      `true p99 ${f(trueP99)} ms over ${truth.length} arrivals (p50 ${f(percentile(truth, 50))}, max ${f(truth[truth.length - 1])}); ` +
      `generator p99 ${f(coP99)} ms (${f((100 * (coP99 - trueP99)) / trueP99, 1)}% off)`,
  );
  for (const ignoreCoordinatedOmission of [false, true]) {
    let side: Promise<unknown> | undefined;
    const ac = await autocannonRun({ url, connections: AUTOCANNON_CO_CONNECTIONS, duration: CO_SECONDS, overallRate: CO_RATE, ignoreCoordinatedOmission }, () => {
      side = sleep(STALL_AT_S * 1000).then(() => target.stall(STALL_MS));
    });
    await side;
    console.log(
      `  autocannon, overallRate ${CO_RATE}, ${AUTOCANNON_CO_CONNECTIONS} connections, coordinated-omission correction ${ignoreCoordinatedOmission ? 'off' : 'on (its default)'}: ` +
        `${ac.requests} requests, p50 ${ac.latency.p50} p99 ${ac.latency.p99} max ${ac.latency.max} ms (${f((100 * (ac.latency.p99 - trueP99)) / trueP99, 1)}% off the truth)`,
    );
  }

  console.log(`\ntarget received ${await target.requests()} requests in all; load average ${os.loadavg().map((l) => f(l)).join(' ')} (1, 5, 15 min)`);
  await target.stop();
  const meanLoad = loadSamples.reduce((a, b) => a + b, 0) / Math.max(1, loadSamples.length);
  console.log(
    `RESULT load-generator max_rate=${maxRate} vs_autocannon=${f(ratio, 3)} lateness_p99_ms=${f(at5000.totals.sendLatenessMs.p99, 3)} ` +
      `co_p99_ms=${f(coP99)} true_p99_ms=${f(trueP99)} load_avg=${f(meanLoad)} cpu_us_per_request=${f(at5000.cpuMicrosPerRequest, 1)} workers=${bestWorkers}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

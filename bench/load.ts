/**
 * The open-loop load generator (src/load) against the local test target (1 ms service time),
 * which runs in a child process (bench/load-target.ts) so it never shares the generator's event
 * loop. Three parts, in one run:
 *
 * 1. Accuracy: 10 s at 1,000 and at 5,000 arrivals/s (`home` scenario, Poisson arrivals): the
 *    achieved rate and the send lateness (actual minus intended send) p50, p99 and max.
 * 2. Capacity: 5 s runs up a ladder of rates; the highest rate whose lateness p99 is at most 5 ms,
 *    and served/expected at it. Then autocannon, closed loop, for as long against the same target
 *    with as many connections as the generator's keep-alive agent opened at that rate; the ratio
 *    of the generator's served request rate to autocannon's.
 * 3. Coordinated omission: 10 s at 500 arrivals/s, evenly spaced, with the target stalled for 1 s
 *    in the middle. The true p99 follows from the schedule (a request arriving during the stall,
 *    or in service when it begins, is answered when it ends); the generator's p99 and autocannon's
 *    (at `overallRate` 500 on its default 10 connections, as it reports by default and with its
 *    coordinated-omission correction off) are printed beside it.
 *
 * GC pauses (from the `gc` performance entries) and the event loop's delay are recorded per run,
 * to tell where a tail comes from. A 2 s warm-up run precedes everything and is not reported.
 *
 * Last line: `RESULT load-generator max_rate=N vs_autocannon=R lateness_p99_ms=X co_p99_ms=Y true_p99_ms=Z`,
 * lateness_p99_ms being the send lateness p99 of the 10 s accuracy run at 5,000 arrivals/s.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as diagnostics from 'node:diagnostics_channel';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import * as readline from 'node:readline';
import autocannon from 'autocannon';
import { startLoad, type ArrivalProcess, type LoadStats } from '../src/load/generator';

const SERVICE_TIME_MS = 1;
const ACCURACY_RATES = [1000, 5000];
const ACCURACY_SECONDS = 10;
const LADDER = [1000, 2000, 3000, 4000, 5000, 6000, 8000];
const LADDER_SECONDS = 5;
const LATENESS_LIMIT_MS = 5;
const CO_RATE = 500;
const CO_SECONDS = 10;
const STALL_MS = 1000;
/** When the stall begins, in seconds after the run's start. */
const STALL_AT_S = 4.5;
const AUTOCANNON_CO_CONNECTIONS = 10;

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

  /** Stalls the target; returns the performance.now() times at which the command left and its answer came back. */
  async stall(ms: number): Promise<{ sentMs: number; ackMs: number }> {
    const sentMs = performance.now();
    await this.command(`stall ${ms}`);
    return { sentMs, ackMs: performance.now() };
  }

  async requests(): Promise<number> {
    return Number((await this.command('count')).split(' ')[1]);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

/** Client sockets opened by this process (the generator's agent and autocannon both open theirs through net). */
let socketsOpened = 0;
diagnostics.subscribe('net.client.socket', () => socketsOpened++);

/** GC pauses and event-loop delay over one run. */
class TailProbe {
  private readonly gcDurations: number[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcDurations.push(entry.duration);
  });
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
    this.loop.enable();
  }

  finish(): string {
    this.observer.disconnect();
    this.loop.disable();
    const gcTotal = this.gcDurations.reduce((a, b) => a + b, 0);
    const gcMax = this.gcDurations.reduce((a, b) => Math.max(a, b), 0);
    // The histogram's values are nanoseconds and include the 1 ms sampling interval.
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    return `GC ${this.gcDurations.length} pauses, ${gcTotal.toFixed(0)} ms in all, longest ${gcMax.toFixed(1)} ms; event-loop delay p99 ${ms(this.loop.percentile(99))} ms, max ${ms(this.loop.max)} ms`;
  }
}

interface OpenRun {
  rate: number;
  seconds: number;
  /** Sessions sent per second of arrivals. */
  sentPerS: number;
  /** Sessions answered ok per second of arrivals. */
  okPerS: number;
  sockets: number;
  totals: LoadStats;
  tail: string;
  /** performance.now() at the generator's start (its t0 within a few microseconds). */
  startMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One open-loop run of `seconds`; `during` runs alongside it, given the run's start time. */
async function openRun(url: string, rate: number, seconds: number, arrivalProcess: ArrivalProcess, during?: (startMs: number) => Promise<void>): Promise<OpenRun> {
  const sockets = socketsOpened;
  const probe = new TailProbe();
  const before = performance.now();
  const run = startLoad(url, rate, { scenario: 'home', process: arrivalProcess, seed: rate });
  const startMs = (before + performance.now()) / 2;
  const side = during?.(startMs);
  await sleep(seconds * 1000);
  const arrivalS = (performance.now() - startMs) / 1000;
  const totals = await run.stop({ drainMs: 5000 });
  await side;
  return {
    rate,
    seconds: arrivalS,
    sentPerS: totals.sent / arrivalS,
    okPerS: totals.ok / arrivalS,
    sockets: socketsOpened - sockets,
    totals,
    tail: probe.finish(),
    startMs,
  };
}

const f = (x: number, digits = 2) => x.toFixed(digits);

function describeOpen(r: OpenRun): string {
  const l = r.totals.sendLatenessMs;
  const lat = r.totals.latencyMs;
  const failed = r.totals.requests.failedTotal + r.totals.dropped;
  return (
    `${r.rate}/s for ${f(r.seconds, 1)} s: sent ${f(r.sentPerS, 0)}/s, ok ${f(r.okPerS, 0)}/s, served/expected ${f(r.totals.servedRatio ?? 0, 4)}` +
    `${failed ? `, ${failed} failed or dropped` : ''}, ${r.sockets} sockets; lateness p50 ${f(l.p50, 3)} p99 ${f(l.p99, 3)} max ${f(l.max, 1)} ms; ` +
    `latency p50 ${f(lat.p50)} p99 ${f(lat.p99)} max ${f(lat.max, 1)} ms\n    ${r.tail}`
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

async function main(): Promise<void> {
  const target = await TargetProcess.start();
  const url = target.url;
  console.log(`target ${url} in its own process, service time ${SERVICE_TIME_MS} ms; generator and autocannon in this one`);
  await openRun(url, 2000, 2, 'poisson');

  console.log(`\naccuracy: ${ACCURACY_SECONDS} s runs, home scenario, Poisson arrivals`);
  const accuracy: OpenRun[] = [];
  for (const rate of ACCURACY_RATES) {
    const r = await openRun(url, rate, ACCURACY_SECONDS, 'poisson');
    accuracy.push(r);
    console.log(`  ${describeOpen(r)}`);
  }
  const at5000 = accuracy.find((r) => r.rate === 5000)!;

  console.log(`\ncapacity: ${LADDER_SECONDS} s runs up the ladder, pass = lateness p99 <= ${LATENESS_LIMIT_MS} ms`);
  let best: OpenRun | null = null;
  /** The highest rate below the first failing one: the ladder is not always monotonic. */
  let unbroken = 0;
  let failed = false;
  for (const rate of LADDER) {
    const r = await openRun(url, rate, LADDER_SECONDS, 'poisson');
    const pass = r.totals.sendLatenessMs.p99 <= LATENESS_LIMIT_MS;
    if (pass) best = r;
    if (pass && !failed) unbroken = rate;
    failed ||= !pass;
    console.log(`  ${pass ? 'pass' : 'FAIL'} ${describeOpen(r)}`);
  }
  const maxRate = best?.rate ?? 0;
  let ratio = 0;
  if (best) {
    const connections = Math.max(1, best.sockets);
    const probe = new TailProbe();
    const ac = await autocannon({ url, connections, duration: LADDER_SECONDS });
    const acRate = ac.requests.total / ac.duration;
    ratio = best.okPerS / acRate;
    console.log(
      `  autocannon, closed loop, ${connections} connections for ${LADDER_SECONDS} s: ${f(acRate, 0)} requests/s ` +
        `(latency p50 ${ac.latency.p50} p99 ${ac.latency.p99} ms, ${ac.errors} errors, ${ac.non2xx} non-2xx)\n    ${probe.finish()}`,
    );
    console.log(`  highest passing rate ${maxRate}/s (every rung passed up to ${unbroken}/s): served/expected ${f(best.totals.servedRatio ?? 0, 4)}, ${f(best.okPerS, 0)} ok/s = ${f(ratio, 3)} x autocannon's rate`);
  } else {
    console.log('  no rate of the ladder passed');
  }

  console.log(`\ncoordinated omission: ${CO_SECONDS} s at ${CO_RATE}/s evenly spaced, the target stalled for ${STALL_MS} ms at ${STALL_AT_S} s`);
  let stallAt = { sentMs: 0, ackMs: 0 };
  const co = await openRun(url, CO_RATE, CO_SECONDS, 'even', async (startMs) => {
    await sleep(startMs + STALL_AT_S * 1000 - performance.now());
    stallAt = await target.stall(STALL_MS);
  });
  // The stall began between the command's send and its answer; the midpoint, in run seconds.
  const stallStartS = ((stallAt.sentMs + stallAt.ackMs) / 2 - co.startMs) / 1000;
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
    const side = (async () => {
      await sleep(STALL_AT_S * 1000);
      await target.stall(STALL_MS);
    })();
    const ac = await autocannon({ url, connections: AUTOCANNON_CO_CONNECTIONS, duration: CO_SECONDS, overallRate: CO_RATE, ignoreCoordinatedOmission });
    await side;
    console.log(
      `  autocannon, overallRate ${CO_RATE}, ${AUTOCANNON_CO_CONNECTIONS} connections, coordinated-omission correction ${ignoreCoordinatedOmission ? 'off' : 'on (its default)'}: ` +
        `${ac.requests.total} requests, p50 ${ac.latency.p50} p99 ${ac.latency.p99} max ${ac.latency.max} ms (${f((100 * (ac.latency.p99 - trueP99)) / trueP99, 1)}% off the truth)`,
    );
  }

  console.log(`\ntarget received ${await target.requests()} requests in all`);
  await target.stop();
  console.log(
    `RESULT load-generator max_rate=${maxRate} vs_autocannon=${f(ratio, 3)} lateness_p99_ms=${f(at5000.totals.sendLatenessMs.p99, 3)} ` +
      `co_p99_ms=${f(coP99)} true_p99_ms=${f(trueP99)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

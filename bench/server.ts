/**
 * Policy server throughput: a server in its own process (`rl-autoscaler serve`, state dir in a
 * temporary folder, the experience log fsynced as always) driven over loopback HTTP by 64
 * concurrent clients, each on its own keep-alive connection. Each client runs the original client's loop:
 * ask for an action, report a reward, end the episode every 100 steps and start another.
 * A decision is one answered action request; its latency is measured at the client.
 *
 * Phases: saturation (closed loop: the most the server answers), then paced (the clients offer
 * BENCH_RATE decisions/s, default 5000, and latency is measured at that load) with
 * training-enabled episodes, whose every step is fsynced before its answer and feeds PPO updates
 * (one per BENCH_TRAIN_BATCH steps, default 2048, in the server's learner thread, so updates run
 * during the measurement), and with inference (training-disabled) episodes, whose steps are
 * logged without waiting for the disk.
 * BENCH_SECONDS (default 5) sets the measured time per phase, after 1 s of warm-up.
 * BENCH_DURABILITY (default process; the server's own default is machine) is the server's
 * --durability for those phases; a last phase repeats the training phase against a second server
 * with the other durability, for comparison. BENCH_LEARNER_MODE (process or thread; default: the
 * server's, process) is the server's --learner; either runs niced, and BENCH_LEARNER (default idle)
 * also puts it under SCHED_IDLE (--learner-idle: every thread of a learner process), while `nice`
 * leaves it at the default niceness only. BENCH_HTTP (default
 * lean) is the server's --http: `node` has node:http answer every request, for comparison.
 *
 * Besides latency each phase reports where time goes: the client's own lateness (how long after
 * a request could go out, on schedule and with the previous answer in, it did go out: the load
 * generator's share of the latency), the client's event-loop delay and GC, the server's event-loop
 * delay and GC (its /metrics), the server's own latency histogram over the phase, and CPU time
 * per decision of the server process (request thread and learner thread together) and of the
 * client.
 * Last line, for the training phase:
 * `RESULT policy-server decisions_per_s=N p50_ms=X p99_ms=Y max_ms=M updates=U durability=D
 *  default_durability=machine learner=idle|nice learner_mode=process|thread http=lean|node client_late_p99_ms=L <other durability>_p99_ms=Z
 *  saturation_per_s=S server_cpu_us=C request_thread_cpu_us=R saturation_request_thread_cpu_us=Q client_cpu_us=K server_within_5ms=W`
 * (W: the share of the phase's action requests the server answered within 5 ms of their
 * arrival, from its own histogram; CPU in microseconds per decision; the thread split comes from
 * the server's policy_server_thread_cpu_seconds metric, Linux only). BENCH_CPU_PROF_DIR=dir writes a CPU profile
 * of each server process there; `tsx scripts/cpu-profile-summary.ts FILE` lists its self time per function.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Rng } from '../src/random';
import type { Observation } from '../src/space';

const CLIENTS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = 1;
const EPISODE_LENGTH = 100;
/** Decisions per second offered by all clients together in the paced phase. */
const TARGET_RATE = Number(process.env.BENCH_RATE ?? 5000);
/** Training-enabled steps per PPO update. */
const TRAIN_BATCH = Number(process.env.BENCH_TRAIN_BATCH ?? 2048);
const DURABILITY = process.env.BENCH_DURABILITY ?? 'process';
const OTHER_DURABILITY = DURABILITY === 'process' ? 'machine' : 'process';
/** BENCH_LEARNER: `idle` (default) runs the learner thread under SCHED_IDLE (--learner-idle), `nice` only niced. */
const LEARNER = process.env.BENCH_LEARNER ?? 'idle';
/** BENCH_HTTP: the server's --http layer, `lean` (default) or `node` (node:http for every request). */
const HTTP_LAYER = process.env.BENCH_HTTP ?? 'lean';
/** BENCH_LEARNER_MODE: where the server's learner runs (its --learner), `process` or `thread`. */
const LEARNER_MODE = process.env.BENCH_LEARNER_MODE ?? 'process';
if (LEARNER_MODE !== 'process' && LEARNER_MODE !== 'thread') throw new Error(`BENCH_LEARNER_MODE must be process or thread, got ${JSON.stringify(LEARNER_MODE)}`);

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, with just enough parsing for the
 * server's answers (Content-Length bodies). The load generator shares the machine's two cores with
 * the server, and node:http's client costs more CPU per request than the server does to answer it:
 * with it, the benchmark measures mostly itself.
 */
class Connection {
  private readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (body: string) => void; reject: (err: Error) => void; path: string } | null = null;
  private readonly ready: Promise<void>;
  private connected = false;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.connected = true;
        resolve();
      });
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    this.socket.on('error', (err) => this.waiting?.reject(err));
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    const status = Number(head.slice(9, 12));
    const w = this.waiting;
    this.waiting = null;
    if (status >= 400) w.reject(new Error(`${w.path}: ${status} ${body}`));
    else w.resolve(body);
  }

  async post(path: string, body: unknown): Promise<any> {
    // Only the first request waits for the connection: an await per request costs the client CPU.
    if (!this.connected) await this.ready;
    const data = JSON.stringify(body);
    const text = await new Promise<string>((resolve, reject) => {
      this.waiting = { resolve, reject, path };
      this.socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(data)}\r\n\r\n${data}`);
    });
    return JSON.parse(text);
  }

  close(): void {
    this.socket.end();
  }
}

async function startServer(stateDir: string, args: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const bin = path.join(__dirname, '..', 'bin', 'rl-autoscaler.js');
  // BENCH_CPU_PROF_DIR: write a V8 CPU profile of each server there (scripts/cpu-profile-summary.ts reads it).
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), bin, 'serve', '--port', '0', '--state-dir', stateDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  // BENCH_SERVER_STDOUT: keep the server's output, e.g. with BENCH_SERVER_NODE_ARGS=--trace-gc.
  const keep = process.env.BENCH_SERVER_STDOUT;
  if (keep) child.stdout.on('data', (c: Buffer) => fs.appendFileSync(keep, c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function observation(rng: Rng): Observation {
  return { replicas: 1 + rng.int(9), cpuMillis: 100 * (1 + rng.int(9)), heapMB: 100 * (1 + rng.int(9)), usedCpu: rng.next(), usedRam: rng.next() };
}

interface PhaseResult {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  decisions: number;
  /** The client's own lateness in sending (ms): p99 and max. */
  lateP99: number;
  lateMax: number;
  /** The client process's event-loop delay p99 and its GC pauses (ms). */
  loopDelayP99: number;
  gcMs: number;
  gcMaxMs: number;
  /** CPU time of the client process per decision (microseconds). */
  cpuPerDecisionUs: number;
  /** Decisions answered over the whole phase, warm-up and wind-down included. */
  answered: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** GC pauses of this process while `measuring` is on. */
const gcPauses: number[] = [];
let measuringGc = false;
new PerformanceObserver((list) => {
  if (measuringGc) for (const entry of list.getEntries()) gcPauses.push(entry.duration);
}).observe({ entryTypes: ['gc'] });

/**
 * Runs the 64 clients for WARMUP + SECONDS. With `periodMs` 0 each client sends its next request
 * as soon as the last is answered (saturation). Otherwise each client steps on a fixed schedule,
 * one step per `periodMs`, and a decision's latency counts from its scheduled time, so a slow
 * answer that delays the following requests is charged to them too (no coordinated omission).
 */
async function runPhase(port: number, periodMs: number, training: boolean): Promise<PhaseResult> {
  const latencies: number[] = [];
  const lateness: number[] = [];
  let measuring = false;
  let stopping = false;
  let decisions = 0;
  let answered = 0;

  async function client(index: number): Promise<void> {
    const rng = new Rng(index);
    const connection = new Connection(port);
    const post = (path: string, body: unknown) => connection.post(path, body);
    // Spread the clients' schedules over one period.
    let next = performance.now() + (periodMs * index) / CLIENTS;
    while (!stopping) {
      const { episode_id: id } = (await post('/v1/episodes', { training_enabled: training })) as { episode_id: string };
      let obs = observation(rng);
      for (let step = 0; step < EPISODE_LENGTH && !stopping; step++) {
        // The earliest this request could go out: on schedule, once the last answer is in.
        const ready = Math.max(next, performance.now());
        if (periodMs > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        // From the scheduled time when the request goes out late (so a slow answer is charged to
        // the requests it delays); from the actual send when a timer fired a little early.
        const sent = performance.now();
        const t0 = periodMs > 0 ? Math.min(next, sent) : sent;
        await post(`/v1/episodes/${id}/action`, { observation: obs });
        answered++;
        if (measuring) {
          latencies.push(performance.now() - t0);
          if (periodMs > 0) lateness.push(Math.max(0, sent - ready));
          decisions++;
        }
        obs = observation(rng);
        await post(`/v1/episodes/${id}/returns`, { reward: rng.next() });
        next += periodMs;
      }
      await post(`/v1/episodes/${id}/end`, { observation: obs });
    }
    connection.close();
  }

  const running = Array.from({ length: CLIENTS }, (_, i) => client(i));
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  gcPauses.length = 0;
  measuringGc = true;
  const cpuBefore = process.cpuUsage();
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  measuringGc = false;
  loopDelay.disable();
  stopping = true;
  await Promise.all(running);
  latencies.sort((a, b) => a - b);
  lateness.sort((a, b) => a - b);
  return {
    rate: decisions / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    decisions,
    lateP99: percentile(lateness, 99),
    lateMax: lateness.length ? lateness[lateness.length - 1] : NaN,
    loopDelayP99: loopDelay.percentile(99) / 1e6,
    gcMs: gcPauses.reduce((a, b) => a + b, 0),
    gcMaxMs: gcPauses.length ? Math.max(...gcPauses) : 0,
    cpuPerDecisionUs: (cpu.user + cpu.system) / decisions,
    answered,
  };
}

/** What the server's /metrics say about its process: CPU seconds, GC and event-loop delay. */
interface ServerVitals {
  cpuSeconds: number;
  /** CPU seconds of the request thread and of the learner thread alone (NaN where not reported). */
  requestThreadSeconds: number;
  learnerThreadSeconds: number;
  gcSeconds: number;
  gcCount: number;
}

function metric(text: string, pattern: RegExp): number {
  let total = 0;
  for (const m of text.matchAll(pattern)) total += Number(m[1]);
  return total;
}

async function serverVitals(port: number): Promise<ServerVitals> {
  const text = await getText(port, '/metrics');
  return {
    cpuSeconds: metric(text, /^policy_server_process_cpu_seconds_total (\S+)$/gm),
    requestThreadSeconds: Number(/^policy_server_thread_cpu_seconds\{thread="request"\} (\S+)$/m.exec(text)?.[1] ?? NaN),
    learnerThreadSeconds: Number(/^policy_server_thread_cpu_seconds\{thread="learner"\} (\S+)$/m.exec(text)?.[1] ?? NaN),
    gcSeconds: metric(text, /^policy_server_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm),
    gcCount: metric(text, /^policy_server_nodejs_gc_duration_seconds_count\{[^}]*\} (\S+)$/gm),
  };
}

/** Runs a phase and reports the server's CPU and GC over it beside the client's view. */
async function measuredPhase(port: number, periodMs: number, training: boolean): Promise<PhaseResult & ServerCpu & { server: string; serverWithin5ms: number }> {
  const before = await serverVitals(port);
  const histogramBefore = await actionHistogram(port);
  const result = await runPhase(port, periodMs, training);
  const after = await serverVitals(port);
  const latency = serverSide(histogramBefore, await actionHistogram(port));
  const perDecision = (seconds: number) => (seconds * 1e6) / result.answered;
  const cpu: ServerCpu = {
    serverCpuUs: perDecision(after.cpuSeconds - before.cpuSeconds),
    requestThreadUs: perDecision(after.requestThreadSeconds - before.requestThreadSeconds),
    learnerThreadUs: perDecision(after.learnerThreadSeconds - before.learnerThreadSeconds),
  };
  const server =
    `server: CPU ${cpu.serverCpuUs.toFixed(0)} us/decision (whole process: request thread ${cpu.requestThreadUs.toFixed(0)}; learner ${LEARNER_MODE} ${cpu.learnerThreadUs.toFixed(0)}), ` +
    `${after.gcCount - before.gcCount} GC pauses, ${((after.gcSeconds - before.gcSeconds) * 1000).toFixed(0)} ms in all\n  ${latency.text}`;
  return { ...result, ...cpu, server, serverWithin5ms: latency.within5ms };
}

/** Server CPU time per answered decision (microseconds): whole process, request thread, learner thread. */
interface ServerCpu {
  serverCpuUs: number;
  requestThreadUs: number;
  learnerThreadUs: number;
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

function getText(port: number, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** PPO updates the server has finished so far. */
async function updatesSoFar(port: number): Promise<number> {
  return Number(/^policy_server_training_updates_total (\d+)$/m.exec(await getText(port, '/metrics'))?.[1] ?? NaN);
}

/** The server's latency histogram of action requests (arrival to answer): cumulative count per bound. */
async function actionHistogram(port: number): Promise<{ le: string; count: number }[]> {
  const text = await getText(port, '/metrics');
  return [...text.matchAll(/^policy_server_request_duration_seconds_bucket\{le="([^"]+)",route="POST \/v1\/episodes\/:id\/action"\} (\d+)$/gm)].map((m) => ({ le: m[1], count: Number(m[2]) }));
}

/**
 * The server's own view of one phase (the difference of its histogram before and after): the
 * share of action requests answered within each bound, counted from their arrival, so the
 * client's lateness and the time a request waits in the socket before the server reads it are
 * not in it. `within5ms` is the share answered within 5 ms.
 */
function serverSide(before: { le: string; count: number }[], after: { le: string; count: number }[]): { text: string; within5ms: number } {
  const counted = after.map((b, i) => ({ le: b.le, count: b.count - (before[i]?.count ?? 0) }));
  const total = counted.at(-1)?.count ?? 0;
  const share = (count: number) => (total ? count / total : NaN);
  const shown = counted.filter((b) => b.le !== '+Inf').map((b) => `<=${Number(b.le) * 1000}ms ${(100 * share(b.count)).toFixed(2)}%`);
  return { text: `server side (arrival to answer, cumulative): ${shown.join(', ')}`, within5ms: share(counted.find((b) => Number(b.le) === 0.005)?.count ?? NaN) };
}

function describe(name: string, r: PhaseResult & ServerCpu & { server: string }): string {
  const client =
    `client: own lateness p99 ${r.lateP99.toFixed(2)} ms, max ${r.lateMax.toFixed(2)} ms; event-loop delay p99 ${r.loopDelayP99.toFixed(2)} ms; ` +
    `GC ${r.gcMs.toFixed(0)} ms in all, longest ${r.gcMaxMs.toFixed(1)} ms; CPU ${r.cpuPerDecisionUs.toFixed(0)} us/decision`;
  return `${name}: ${r.decisions} decisions, ${r.rate.toFixed(0)}/s, latency p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms\n  ${client}\n  ${r.server}`;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-policy-server-'));
  const serverArgs = (durability: string) => [
    '--train-batch', String(TRAIN_BATCH), '--durability', durability, '--http', HTTP_LAYER, '--learner', LEARNER_MODE, ...(LEARNER === 'idle' ? ['--learner-idle'] : []),
    ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const server = await startServer(stateDir, serverArgs(DURABILITY));
  const period = (CLIENTS / TARGET_RATE) * 1000;
  const acked = (durability: string) => (durability === 'process' ? 'written to the log before its answer' : 'fsynced before its answer');
  console.log(`${CLIENTS} clients over loopback HTTP, ${SECONDS} s measured per phase; each step is an action and a returns request; server --durability ${DURABILITY}, learner ${LEARNER_MODE} (${LEARNER}), http ${HTTP_LAYER}`);
  console.log(`load average before: ${loadAverage()} (${os.cpus().length} CPUs)`);
  const saturated = await measuredPhase(server.port, 0, false);
  console.log(describe('inference episodes, saturation (each client sends as soon as answered)', saturated));
  const updatesBefore = await updatesSoFar(server.port);
  const training = await measuredPhase(server.port, period, true);
  const updates = (await updatesSoFar(server.port)) - updatesBefore;
  console.log(describe(`training-enabled episodes, paced at ${TARGET_RATE} decisions/s (every step ${acked(DURABILITY)})`, training));
  const learner = JSON.parse(await getText(server.port, '/v1/status')).learner;
  console.log(`updates=${updates} during the training phase (one per ${TRAIN_BATCH} steps, in the learner ${LEARNER_MODE}); learner now ${JSON.stringify(learner)}`);
  const paced = await measuredPhase(server.port, period, false);
  console.log(describe(`inference episodes, paced at ${TARGET_RATE} decisions/s (one step per ${period.toFixed(1)} ms per client)`, paced));
  await server.stop();
  const events = fs.readFileSync(path.join(stateDir, 'experience.jsonl'), 'utf8').split('\n').length - 1;
  fs.rmSync(stateDir, { recursive: true, force: true });
  console.log(`${events} events in the experience log`);

  // The same training phase against a fresh server with the other durability.
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-policy-server-'));
  const other = await startServer(otherDir, serverArgs(OTHER_DURABILITY));
  const otherTraining = await measuredPhase(other.port, period, true);
  console.log(describe(`training-enabled episodes, paced at ${TARGET_RATE} decisions/s, server --durability ${OTHER_DURABILITY} (every step ${acked(OTHER_DURABILITY)})`, otherTraining));
  await other.stop();
  fs.rmSync(otherDir, { recursive: true, force: true });
  console.log(`load average after: ${loadAverage()}`);

  // Under saturation latency is set by the closed loop (64 clients / throughput), so the line
  // reports serving at the paced load with training on: the achieved rate, the latency at that
  // rate, the PPO updates that ran meanwhile, the durability, the load generator's own lateness,
  // and the p99 of the same phase with the other durability.
  console.log(
    `RESULT policy-server decisions_per_s=${Math.round(training.rate)} p50_ms=${training.p50.toFixed(2)} p99_ms=${training.p99.toFixed(2)} max_ms=${training.max.toFixed(2)} updates=${updates} ` +
      `durability=${DURABILITY} default_durability=machine learner=${LEARNER} learner_mode=${LEARNER_MODE} http=${HTTP_LAYER} client_late_p99_ms=${training.lateP99.toFixed(2)} ${OTHER_DURABILITY}_p99_ms=${otherTraining.p99.toFixed(2)} ` +
      `saturation_per_s=${Math.round(saturated.rate)} server_cpu_us=${training.serverCpuUs.toFixed(0)} request_thread_cpu_us=${training.requestThreadUs.toFixed(0)} ` +
      `saturation_request_thread_cpu_us=${saturated.requestThreadUs.toFixed(0)} client_cpu_us=${training.cpuPerDecisionUs.toFixed(0)} server_within_5ms=${training.serverWithin5ms.toFixed(4)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

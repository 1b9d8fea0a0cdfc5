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
 * Last line, for the training phase:
 * `RESULT policy-server decisions_per_s=N p50_ms=X p99_ms=Y updates=U`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
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

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
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
    await this.ready;
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
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), bin, 'serve', '--port', '0', '--state-dir', stateDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
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
}

/**
 * Runs the 64 clients for WARMUP + SECONDS. With `periodMs` 0 each client sends its next request
 * as soon as the last is answered (saturation). Otherwise each client steps on a fixed schedule,
 * one step per `periodMs`, and a decision's latency counts from its scheduled time, so a slow
 * answer that delays the following requests is charged to them too (no coordinated omission).
 */
async function runPhase(port: number, periodMs: number, training: boolean): Promise<PhaseResult> {
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  let decisions = 0;

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
        if (periodMs > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        // From the scheduled time when the request goes out late (so a slow answer is charged to
        // the requests it delays); from the actual send when a timer fired a little early.
        const t0 = periodMs > 0 ? Math.min(next, performance.now()) : performance.now();
        await post(`/v1/episodes/${id}/action`, { observation: obs });
        if (measuring) {
          latencies.push(performance.now() - t0);
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
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stopping = true;
  await Promise.all(running);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { rate: decisions / elapsed, p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1], decisions };
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

/** The server's own view: its latency histogram of action requests over all phases. */
async function serverSideLatency(port: number): Promise<string> {
  const text = await getText(port, '/metrics');
  const buckets = [...text.matchAll(/^policy_server_request_duration_seconds_bucket\{le="([^"]+)",route="POST \/v1\/episodes\/:id\/action"\} (\d+)$/gm)].map((m) => ({ le: m[1], count: Number(m[2]) }));
  const total = buckets.at(-1)?.count ?? 0;
  const share = buckets.map((b) => `<=${b.le === '+Inf' ? 'inf' : Number(b.le) * 1000 + 'ms'} ${((100 * b.count) / total).toFixed(2)}%`);
  return `server-side action latency (arrival to answer), cumulative: ${share.join(', ')}`;
}

function describe(name: string, r: PhaseResult): string {
  return `${name}: ${r.decisions} decisions, ${r.rate.toFixed(0)}/s, latency p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-policy-server-'));
  const server = await startServer(stateDir, ['--train-batch', String(TRAIN_BATCH), ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)]);
  const period = (CLIENTS / TARGET_RATE) * 1000;
  console.log(`${CLIENTS} clients over loopback HTTP, ${SECONDS} s measured per phase; each step is an action and a returns request`);
  const saturated = await runPhase(server.port, 0, false);
  console.log(describe('inference episodes, saturation (each client sends as soon as answered)', saturated));
  const updatesBefore = await updatesSoFar(server.port);
  const durable = await runPhase(server.port, period, true);
  const updates = (await updatesSoFar(server.port)) - updatesBefore;
  console.log(describe(`training-enabled episodes, paced at ${TARGET_RATE} decisions/s (every step fsynced before its answer)`, durable));
  const learner = JSON.parse(await getText(server.port, '/v1/status')).learner;
  console.log(`updates=${updates} during the training phase (one per ${TRAIN_BATCH} steps, in the learner thread); learner now ${JSON.stringify(learner)}`);
  const paced = await runPhase(server.port, period, false);
  console.log(describe(`inference episodes, paced at ${TARGET_RATE} decisions/s (one step per ${period.toFixed(1)} ms per client)`, paced));
  console.log(await serverSideLatency(server.port));
  await server.stop();
  const events = fs.readFileSync(path.join(stateDir, 'experience.jsonl'), 'utf8').split('\n').length - 1;
  fs.rmSync(stateDir, { recursive: true, force: true });
  console.log(`${events} events in the experience log`);
  // Under saturation latency is set by the closed loop (64 clients / throughput), so the line
  // reports serving at the paced load with training on: the achieved rate, the latency at that
  // rate, and the PPO updates that ran meanwhile.
  console.log(`RESULT policy-server decisions_per_s=${Math.round(durable.rate)} p50_ms=${durable.p50.toFixed(2)} p99_ms=${durable.p99.toFixed(2)} updates=${updates}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Policy server throughput: a server in its own process (`rl-autoscaler serve`, state dir in a
 * temporary folder, the experience log fsynced as always) driven over loopback HTTP by 64
 * concurrent clients with keep-alive connections. Each client runs the original client's loop:
 * ask for an action, report a reward, end the episode every 100 steps and start another.
 * A decision is one answered action request; its latency is measured at the client.
 *
 * Two phases: saturation (closed loop, the most the server answers) and paced (the clients offer
 * BENCH_RATE decisions/s, default 2500, and latency is measured at that load).
 * BENCH_SECONDS (default 5) sets the measured time per phase, after 1 s of warm-up;
 * BENCH_TRAINING=1 makes the episodes training-enabled (PPO updates then compete for the CPU).
 * Last line: `RESULT policy-server decisions_per_s=N p50_ms=X p99_ms=Y`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/random';
import type { Observation } from '../src/space';

const CLIENTS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = 1;
const TRAINING = process.env.BENCH_TRAINING === '1';
const EPISODE_LENGTH = 100;
/** Decisions per second offered by all clients together in the paced phase. */
const TARGET_RATE = Number(process.env.BENCH_RATE ?? 2500);

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

function post(port: number, path: string, body: unknown): Promise<unknown> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 400) reject(new Error(`${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function startServer(stateDir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const cli = path.join(__dirname, '..', 'src', 'cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--port', '0', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
async function runPhase(port: number, periodMs: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  let decisions = 0;

  async function client(index: number): Promise<void> {
    const rng = new Rng(index);
    // Spread the clients' schedules over one period.
    let next = performance.now() + (periodMs * index) / CLIENTS;
    while (!stopping) {
      const { episode_id: id } = (await post(port, '/v1/episodes', { training_enabled: TRAINING })) as { episode_id: string };
      let obs = observation(rng);
      for (let step = 0; step < EPISODE_LENGTH && !stopping; step++) {
        if (periodMs > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const t0 = periodMs > 0 ? next : performance.now();
        await post(port, `/v1/episodes/${id}/action`, { observation: obs });
        if (measuring) {
          latencies.push(performance.now() - t0);
          decisions++;
        }
        obs = observation(rng);
        await post(port, `/v1/episodes/${id}/returns`, { reward: rng.next() });
        next += periodMs;
      }
      await post(port, `/v1/episodes/${id}/end`, { observation: obs });
    }
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

function describe(name: string, r: PhaseResult): string {
  return `${name}: ${r.decisions} decisions, ${r.rate.toFixed(0)}/s, latency p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-policy-server-'));
  const server = await startServer(stateDir);
  console.log(`${CLIENTS} clients over loopback HTTP, ${SECONDS} s measured per phase, training-enabled episodes: ${TRAINING}; each step is an action and a returns request`);
  const saturated = process.env.BENCH_SKIP_SATURATION ? await runPhase(server.port, (CLIENTS / TARGET_RATE) * 1000) : await runPhase(server.port, 0);
  console.log(describe('saturation (each client sends as soon as answered)', saturated));
  const period = (CLIENTS / TARGET_RATE) * 1000;
  const paced = await runPhase(server.port, period);
  console.log(describe(`paced (each client one step per ${period.toFixed(1)} ms, ${TARGET_RATE} decisions/s offered)`, paced));
  await server.stop();
  agent.destroy();
  const events = fs.readFileSync(path.join(stateDir, 'experience.jsonl'), 'utf8').split('\n').length - 1;
  fs.rmSync(stateDir, { recursive: true, force: true });
  console.log(`${events} events in the experience log, each fsynced before its answer`);
  // Under saturation latency is set by the closed loop (64 clients / throughput), so the line
  // reports the paced phase: its achieved rate and the latency at that load.
  console.log(`RESULT policy-server decisions_per_s=${Math.round(paced.rate)} p50_ms=${paced.p50.toFixed(2)} p99_ms=${paced.p99.toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

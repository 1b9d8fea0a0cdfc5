/**
 * The simulator's TeaStore web UI under the project's open-loop load generator (`home` scenario,
 * Poisson arrivals), the simulator in a child process (bench/twin-app-server.ts).
 *
 * 1. Overhead: with a model whose service time is negligible, 9 pods, 5 s runs up a ladder of
 *    rates. The simulator's own overhead is how late each response leaves after the completion
 *    time its queue computed (timer lateness, routing, writing), measured in the simulator; the
 *    generator's end-to-end latency (which adds its own send lateness and the client's HTTP
 *    time) is printed beside it. max_rate is the highest rate served in full (no failure, no
 *    drop, at least 97% of the arrivals due answered) with the overhead's p99 under 1 ms; overhead_p99_ms is that p99 at max_rate (at the
 *    lowest rate when none passes).
 * 2. Fidelity: with the calibrated model, 9 x 700m x 900 MB (20 ms mean service time, so the
 *    client's own few milliseconds hardly count) at 50%, 80% and 95% of its capacity:
 *    measured p95 latency (after a warm-up window that is discarded) over the model's p95.
 *
 * Last line: `RESULT twin-app max_rate=N overhead_p99_ms=X p95_ratio_50=A p95_ratio_80=B p95_ratio_95=C`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DeploymentClient, loadKubeConfig } from '../src/kube';
import { startLoad, type LoadStats } from '../src/load/generator';
import { loadPerformanceModel } from '../src/model';
import type { ScalingConfig } from '../src/space';

const LADDER = [1000, 2000, 3000, 4000, 5000, 6000];
const LADDER_SECONDS = 5;
const OVERHEAD_LIMIT_MS = 1;
const MIN_SERVED_RATIO = 0.97;
const OVERHEAD_CONFIG: ScalingConfig = { replicas: 9, cpuMillis: 900, heapMB: 900 };
const CONFIG: ScalingConfig = { replicas: 9, cpuMillis: 700, heapMB: 900 };
/** Fraction of capacity, warm-up and measured seconds: the queue relaxes slowly near capacity. */
const FIDELITY = [
  { fraction: 0.5, warmS: 5, measureS: 20 },
  { fraction: 0.8, warmS: 10, measureS: 30 },
  { fraction: 0.95, warmS: 30, measureS: 90 },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const f = (v: number, digits = 3) => v.toFixed(digits);

interface Child {
  appUrl: string;
  /** The simulator's overhead since the last call: responses, p50, p99, max (ms). */
  overhead(): Promise<{ count: number; p50: number; p99: number; max: number }>;
  kube: DeploymentClient;
  stop(): Promise<void>;
}

async function startChild(model: 'instant' | 'calibrated'): Promise<Child> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'twin-app-server.ts')], {
    env: { ...process.env, BENCH_TWIN_MODEL: model },
  });
  child.stderr.on('data', (c: Buffer) => process.stderr.write(c));
  const lines = readline.createInterface({ input: child.stdout });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the simulator process exited with ${code} before it was ready`)));
  });
  const [word, appUrl, kubeconfig] = ready.split(' ');
  if (word !== 'ready') throw new Error(`unexpected line from the simulator process: ${ready}`);
  return {
    appUrl,
    overhead: () =>
      new Promise((resolve) => {
        lines.once('line', (line) => {
          const [, count, p50, p99, max] = line.split(' ').map(Number);
          resolve({ count, p50, p99, max });
        });
        child.stdin.write('overhead\n');
      }),
    kube: new DeploymentClient(loadKubeConfig(kubeconfig)),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

async function apply(child: Child, config: ScalingConfig): Promise<void> {
  await child.kube.applyConfig(config);
  await child.kube.waitForRollout({ timeoutMs: 30_000 });
  await sleep(500); // the old pods finish stopping
}

async function run(url: string, rate: number, warmS: number, measureS: number, seed: number): Promise<LoadStats> {
  const load = startLoad(url, rate, { scenario: 'home', seed, maxSockets: 1024 });
  await sleep(warmS * 1000);
  load.takeWindow();
  await sleep(measureS * 1000);
  const window = load.takeWindow();
  await load.stop();
  return window;
}

async function main(): Promise<void> {
  const model = loadPerformanceModel();
  console.log(`overhead: negligible service time, ${OVERHEAD_CONFIG.replicas} pods, ${LADDER_SECONDS} s per rate`);
  const instant = await startChild('instant');
  await apply(instant, OVERHEAD_CONFIG);
  await run(instant.appUrl, 500, 2, 0.1, 99); // warm-up, not reported
  let maxRate = 0;
  let overheadP99 = Number.NaN;
  for (const rate of LADDER) {
    const s = await run(instant.appUrl, rate, 1, LADDER_SECONDS, rate);
    const overhead = await instant.overhead();
    // Served in full: nothing failed or dropped, and the arrivals due were sent and answered (a
    // generator that falls behind its schedule sends fewer, which must not pass as a success).
    const servedAll = s.requests.failedTotal === 0 && s.dropped === 0 && (s.servedRatio ?? 0) >= MIN_SERVED_RATIO;
    const ok = servedAll && overhead.p99 < OVERHEAD_LIMIT_MS;
    console.log(
      `  ${rate} req/s: sent ${s.requests.sent}, served/expected ${f(s.servedRatio ?? Number.NaN)}, failed ${s.requests.failedTotal}, dropped ${s.dropped}; simulator overhead p50 ${f(overhead.p50, 2)} p99 ${f(overhead.p99, 2)} max ${f(overhead.max, 2)} ms; ` +
        `generator latency p50 ${f(s.latencyMs.p50)} p99 ${f(s.latencyMs.p99)} ms, send lateness p99 ${f(s.sendLatenessMs.p99)} ms: ${ok ? 'ok' : 'over'}`,
    );
    if (Number.isNaN(overheadP99)) overheadP99 = overhead.p99;
    if (!ok) break;
    maxRate = rate;
    overheadP99 = overhead.p99;
  }
  await instant.stop();

  const capacity = model.capacity(CONFIG);
  console.log(`fidelity: ${CONFIG.replicas} x ${CONFIG.cpuMillis}m x ${CONFIG.heapMB} MB, capacity ${f(capacity, 1)} req/s`);
  const calibrated = await startChild('calibrated');
  await apply(calibrated, CONFIG);
  const ratios: number[] = [];
  for (const { fraction, warmS, measureS } of FIDELITY) {
    const rate = fraction * capacity;
    const s = await run(calibrated.appUrl, rate, warmS, measureS, Math.round(fraction * 100));
    const modelled = model.predict(CONFIG, rate).latencyMs;
    ratios.push(s.latencyMs.p95 / modelled.p95);
    console.log(`  ${f(100 * fraction, 0)}% (${f(rate, 1)} req/s): measured p50 ${f(s.latencyMs.p50, 1)} p95 ${f(s.latencyMs.p95, 1)} ms, modelled p50 ${f(modelled.p50, 1)} p95 ${f(modelled.p95, 1)} ms, p95 ratio ${f(ratios.at(-1)!)}; failed ${s.requests.failedTotal} of ${s.requests.sent}, send lateness p99 ${f(s.sendLatenessMs.p99, 1)} ms`);
  }
  await calibrated.stop();
  console.log(`RESULT twin-app max_rate=${maxRate} overhead_p99_ms=${f(overheadP99)} p95_ratio_50=${f(ratios[0])} p95_ratio_80=${f(ratios[1])} p95_ratio_95=${f(ratios[2])}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

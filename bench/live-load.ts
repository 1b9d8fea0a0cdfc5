/**
 * A live episode under load on the cluster simulator with a real Prometheus: the generator in this
 * process follows a step profile one point per step against the application, the static-best walk
 * changes the deployment every step, and each step reads its requests back from Prometheus. Prints
 * `RESULT live-load overhead_ms=X steps=N logged=M rate_error=E p95_agreement=A`:
 * - overhead: the median per step of the wall time not spent in configured waits (warm-up, window)
 *   or in the simulated pods' start and stop or in-place resize delay (as bench/live.ts);
 * - rate_error: |arrivals sent - arrivals the profile asked for| / asked, over the whole run
 *   (evenly spaced arrivals, so the figure is the generator's accuracy, not Poisson noise);
 * - p95_agreement: the median over steps of Prometheus' p95 (histogram_quantile) over the
 *   generator's own HDR p95 for the same window; the worst step is printed beside it.
 *
 * Options from the environment: BENCH_STEPS (default 12), BENCH_WINDOW_S (default 5),
 * BENCH_APP_URL (default: the simulator's own web UI, whose pods follow the performance model;
 * `local` for a test target with a 5 ms service time in a process of its own).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { staticBestPolicy } from '../src/agent/baselines';
import { makeClusterEnv, SIMULATOR_TIMINGS, type LiveStepInfo } from '../src/env/cluster-env';
import { DatasetModel } from '../src/env/dataset-env';
import { readStepLog, StepLog } from '../src/env/step-log';
import { StepLogger } from '../src/env/wrappers';
import { GeneratedLoad, serveLiveLoadMetrics } from '../src/live/live-load';
import { median } from '../src/live/summary';
import { simulatedResizeMs, simulatedRolloutMs, startSimulatorStack } from '../src/live/simulator-stack';
import { parseProfileSpec } from '../src/load/profile-spec';

const STEPS = Number(process.env.BENCH_STEPS ?? 12);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 5);
const PROFILE = 'steps:0=40,2m=120,5m=80,8m=160:for=1h';

/** The local test target in a process of its own (bench/load-target.ts); resolves to its URL and a stop function. */
async function startTargetProcess(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'load-target.ts')], { env: { ...process.env, BENCH_TARGET_SERVICE_MS: '5' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => line.startsWith('listening ') && resolve(line.slice('listening '.length)));
    child.once('exit', (code) => reject(new Error(`the test target exited with code ${code}`)));
  });
  return { url, stop: () => child.stdin!.end() };
}

async function main(): Promise<void> {
  const served = await serveLiveLoadMetrics({ scenario: 'home', profile: PROFILE });
  const stack = await startSimulatorStack({ seed: 1, scrapeTargets: [served.server.url] });
  const app = process.env.BENCH_APP_URL;
  const target = app === 'local' ? await startTargetProcess() : { url: app ?? stack.simulator.appUrl, stop: () => {} };
  console.log(`load to ${target.url}`);
  const load = new GeneratedLoad({ targetUrl: target.url, profile: parseProfileSpec(PROFILE), prometheusUrl: stack.prometheus.url, process: 'even', seed: 1 }, served.metrics);
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'bench-live-load-')), 'steps.jsonl');
  const log = new StepLog(logFile);
  try {
    const live = makeClusterEnv({ kube: stack.kube, metrics: stack.metrics, load, maxSteps: STEPS, timings: { ...SIMULATOR_TIMINGS, windowSeconds: WINDOW_S }, startConfig: { replicas: 4, cpuMillis: 300, heapMB: 800 } });
    const env = new StepLogger(live, log, { runId: 'bench-live-load' });
    const policy = staticBestPolicy(new DatasetModel());
    let { observation, info } = await env.reset();
    let config = info.config;
    const overheads: number[] = [];
    const agreements: number[] = [];
    for (let k = 0; k < STEPS; k++) {
      const step = await env.step(policy.act(observation, env.actionMask()));
      const stepInfo = step.info as LiveStepInfo;
      const t = stepInfo.timings;
      const resizeMs = stepInfo.change?.path === 'in-place' ? simulatedResizeMs() : 0;
      const waited = t.warmupMs + WINDOW_S * 1000 + resizeMs + Math.min(t.rolloutMs, simulatedRolloutMs(config, stepInfo.config));
      overheads.push(t.totalMs - waited);
      const r = stepInfo.requests!;
      agreements.push(r.latencyMs.p95 / r.generatorP95Ms);
      console.log(
        `step ${k + 1}: offered ${r.offeredRps.toFixed(0)} req/s, served ${r.servedRps.toFixed(1)}, failed ${r.failedRps.toFixed(1)}, p95 ${r.latencyMs.p95.toFixed(2)} ms (generator ${r.generatorP95Ms.toFixed(2)}), p99 ${r.latencyMs.p99.toFixed(2)} ms; overhead ${(t.totalMs - waited).toFixed(0)} ms`,
      );
      observation = step.observation;
      config = stepInfo.config;
      if (step.truncated || step.terminated) break;
    }
    log.close();
    const totals = load.totals();
    const rateError = Math.abs(totals.arrivals - totals.expectedArrivals!) / totals.expectedArrivals!;
    const logged = readStepLog(logFile).records.filter((r) => r.type === 'step' && (r.info as LiveStepInfo).requests).length;
    const worst = agreements.reduce((w, a) => (Math.abs(Math.log(a)) > Math.abs(Math.log(w)) ? a : w), 1);
    console.log(`arrivals ${totals.arrivals} against ${totals.expectedArrivals!.toFixed(1)} asked; p95 agreement per step: median ${median(agreements).toFixed(3)}, worst ${worst.toFixed(3)}`);
    console.log(`RESULT live-load overhead_ms=${median(overheads).toFixed(0)} steps=${overheads.length} logged=${logged} rate_error=${rateError.toFixed(4)} p95_agreement=${median(agreements).toFixed(3)}`);
  } finally {
    log.close();
    await load.close();
    await stack.stop();
    await served.server.close();
    target.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

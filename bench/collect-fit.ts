/**
 * The loop closes: collect a dataset on the cluster simulator, whose web UI and pod metrics follow
 * the calibrated performance model, then calibrate a model on what was collected (from the
 * model's default starting values, calibrateFromPoints) and compare its parameters with those the
 * simulator ran. Prints the recovered-parameter table (true, fitted, relative error, tolerance),
 * capacity per measured configuration, and last
 * `RESULT collect-fit points=N capacity_error_median=E capacity_error_max=M core_capacity_error=...
 *  cpu_exponent_error=... heap_factor_error=... busy_exponent_error=... packets_per_request_error=...
 *  packets_per_request_tolerance=... (10%, or 3 of the fit's standard errors when wider)
 *  within_tolerance=K/T` (tolerances and what each quantity is: src/model/recovery.ts).
 *
 * The plan identifies each parameter: one replica at CPU limits 500, 700, 900 millicores x heaps
 * 100, 500, 900 MB (a grid with strides), each at a load below every configuration's capacity
 * (latency and CPU against utilisation) and one above all of them (served = capacity).
 *
 * Options from the environment: BENCH_RATES (req/s, default 6,110), BENCH_WARMUP_S (default 4:
 * the load is set before each rollout, so new pods start under their own point's load),
 * BENCH_WINDOW_S (default 10), BENCH_SEED (default 3).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { collect } from '../src/collect/collector';
import { startSimulatorStack } from '../src/live/simulator-stack';
import { teastoreModel } from '../src/model/model';
import { calibrateFromPoints } from '../src/model/point-calibration';
import { formatRecovery, recovery } from '../src/model/recovery';

const RATES = (process.env.BENCH_RATES ?? '6,110').split(',').map(Number);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 4);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
const SEED = Number(process.env.BENCH_SEED ?? 3);

async function main(): Promise<void> {
  const truth = teastoreModel();
  const stack = await startSimulatorStack({ seed: SEED, model: truth });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bench-collect-fit-')), 'collected.csv');
  const started = Date.now();
  try {
    const result = await collect({
      plan: { kind: 'grid', bounds: { min: { replicas: 1, cpuMillis: 500, heapMB: 100 }, max: { replicas: 1, cpuMillis: 900, heapMB: 900 } }, stride: { cpuMillis: 200, heapMB: 400 }, ratesRps: RATES, seed: SEED },
      timings: { warmupS: WARMUP_S, windowS: WINDOW_S, rolloutTimeoutMs: 30_000 },
      targetUrl: stack.simulator.appUrl,
      scenario: 'home',
      file,
      kube: stack.kube,
      metrics: stack.metrics,
      onProgress: (line) => console.log(line),
    });
    const collectS = (Date.now() - started) / 1000;
    const fitStarted = Date.now();
    const fit = calibrateFromPoints(result.points, { windowS: WINDOW_S });
    const r = recovery(truth.parameters, fit.parameters, result.points.map((p) => p.config), fit.standardErrors);
    console.log(`\n${formatRecovery(r)}`);
    const saturated = fit.roles.filter((role) => role.role === 'saturated').length;
    console.log(`\n${result.points.length} points (${saturated} saturated, ${fit.roles.filter((role) => role.latencyUsed).length} with latency in the fit, client latency overhead ${fit.latencyOverheadMs.toFixed(1)} ms); collected in ${collectS.toFixed(0)} s, fitted in ${((Date.now() - fitStarted) / 1000).toFixed(1)} s; dataset ${file}`);
    const error = (name: string) => r.parameters.find((p) => p.name === name)!.error.toFixed(3);
    console.log(
      `RESULT collect-fit points=${result.points.length} capacity_error_median=${r.capacityErrorMedian.toFixed(3)} capacity_error_max=${r.capacityErrorMax.toFixed(3)} core_capacity_error=${error('capacityPerCoreAtLargestHeap')} cpu_exponent_error=${error('cpuExponent')} heap_factor_error=${error('heapFactorRatio')} busy_exponent_error=${error('cpuBusyExponent')} packets_per_request_error=${error('outPacketsPerRequest')} packets_per_request_tolerance=${r.parameters.find((p) => p.name === 'outPacketsPerRequest')!.tolerance!.toFixed(3)} within_tolerance=${r.within}/${r.checks}`,
    );
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});

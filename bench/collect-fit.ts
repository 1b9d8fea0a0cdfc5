/**
 * The loop closes: collect a dataset on the cluster simulator, whose web UI and pod metrics follow
 * the calibrated performance model, then calibrate a model on what was collected and compare it
 * with the one the simulator ran. Prints
 * `RESULT collect-fit points=N capacity_error_median=E capacity_error_max=M busy_exponent_error=B packets_per_request_error=P`:
 * relative errors of the refitted model against the simulator's own, per measured configuration's
 * capacity (the identifiable part of c0 x cores^a x heapFactor on the configurations measured),
 * and of the two parameters every configuration informs.
 *
 * Options from the environment: BENCH_RATE (req/s, default 30: low enough that small
 * configurations saturate and large ones do not), BENCH_WARMUP_S (default 12: longer than the
 * 10 s time-out, so a previous point's queue has drained), BENCH_WINDOW_S
 * (default 8). The plan: a grid of replicas 1..4 x CPU 300m..600m at a 500 MB heap (16 points).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { collect } from '../src/collect/collector';
import { loadTeastoreData } from '../src/data';
import { startSimulatorStack } from '../src/live/simulator-stack';
import { median } from '../src/live/summary';
import { calibrate } from '../src/model/calibration';
import { teastoreModel } from '../src/model/model';
import { podCapacity } from '../src/model/steady-state';

const RATE = Number(process.env.BENCH_RATE ?? 30);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 12);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 8);

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

async function main(): Promise<void> {
  const truth = teastoreModel();
  const stack = await startSimulatorStack({ seed: 3, model: truth });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bench-collect-fit-')), 'collected.csv');
  try {
    const result = await collect({
      plan: { kind: 'grid', bounds: { min: { replicas: 1, cpuMillis: 300, heapMB: 500 }, max: { replicas: 4, cpuMillis: 600, heapMB: 500 } }, ratesRps: [RATE], seed: 1 },
      timings: { warmupS: WARMUP_S, windowS: WINDOW_S, rolloutTimeoutMs: 30_000 },
      targetUrl: stack.simulator.appUrl,
      scenario: 'home',
      file,
      kube: stack.kube,
      metrics: stack.metrics,
      onProgress: (line) => console.log(line),
    });
    const table = loadTeastoreData(file, { offeredRps: RATE });
    const fitted = calibrate(table, { offeredRps: RATE, start: truth.parameters });
    const configs = result.points.map((p) => p.config);
    const capacityErrors = configs.map((c) => relative(podCapacity(fitted, c), podCapacity(truth.parameters, c)));
    for (const [i, c] of configs.entries()) {
      console.log(`${c.replicas}x ${c.cpuMillis}m ${c.heapMB}MB: capacity per pod ${podCapacity(fitted, c).toFixed(2)} fitted, ${podCapacity(truth.parameters, c).toFixed(2)} simulated (${(100 * capacityErrors[i]).toFixed(1)}%)`);
    }
    const busy = relative(fitted.cpuBusyExponent, truth.parameters.cpuBusyExponent);
    const packets = relative(fitted.outPacketsPerRequest, truth.parameters.outPacketsPerRequest);
    console.log(`busy exponent ${fitted.cpuBusyExponent.toFixed(3)} fitted, ${truth.parameters.cpuBusyExponent.toFixed(3)} simulated; packets per request ${fitted.outPacketsPerRequest.toFixed(2)} fitted, ${truth.parameters.outPacketsPerRequest.toFixed(2)} simulated`);
    console.log(`collected dataset: ${file}`);
    console.log(
      `RESULT collect-fit points=${configs.length} capacity_error_median=${median(capacityErrors).toFixed(3)} capacity_error_max=${Math.max(...capacityErrors).toFixed(3)} busy_exponent_error=${busy.toFixed(3)} packets_per_request_error=${packets.toFixed(3)}`,
    );
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});

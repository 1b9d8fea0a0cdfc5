/**
 * The cluster simulator in a process of its own, for bench/twin-app.ts, so its web UI never
 * shares an event loop with the load generator. Prints `ready APP_URL KUBECONFIG` once it
 * listens; reads commands on standard input, one a line: `overhead` (answered `overhead N P50 P99
 * MAX`: responses and how late they left after their modelled completion, ms, since the last
 * `overhead`). Exits when standard input closes.
 *
 * BENCH_TWIN_MODEL=instant serves with a model whose service time is negligible (capacity per
 * core 10^7 req/s, time-out scaled down to keep the queue room small), so a request's latency is
 * the simulator's own overhead; anything else (default) uses the model calibrated on the data.
 */
import * as readline from 'node:readline';
import { loadPerformanceModel } from '../src/model';
import { startSimulator } from '../src/simulator';

async function main(): Promise<void> {
  const instant = process.env.BENCH_TWIN_MODEL === 'instant';
  const model = instant ? loadPerformanceModel(undefined, { capacityPerCore: 1e7, timeoutSec: 1e-4 }) : loadPerformanceModel();
  const simulator = await startSimulator({ seed: 1, model, podStartDelayMs: 200, podStopDelayMs: 200 });
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() !== 'overhead') return;
    const h = simulator.app.overhead;
    process.stdout.write(`overhead ${h.count} ${h.quantile(0.5)} ${h.quantile(0.99)} ${h.quantile(1)}\n`);
    h.reset();
  });
  lines.on('close', () => {
    void simulator.stop().then(() => process.exit(0));
  });
  process.stdout.write(`ready ${simulator.appUrl} ${simulator.kubeconfigPath}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * In-place CPU resize against a rollout, on the cluster simulator under open-loop load (the
 * project's load generator against the simulator's TeaStore web UI). Each run starts a fresh
 * simulator, lets the load settle, then changes only the CPU limit (500m -> 700m) once in place
 * and once by a rollout (separate simulators, same seed), and measures:
 *
 * - time until the new limit is in force: from the change to every pod serving with it (in place:
 *   each pod's status reports the new limit; rollout: the rollout complete, old pods gone);
 * - requests failed (and arrivals dropped) during the change window (the change plus 1 s);
 * - p99 latency over that window.
 *
 * Prints one line per run and path, then
 * `RESULT resize inplace_s=A rollout_s=B failed_inplace=C failed_rollout=D ...` with medians
 * over the runs (and the worst run beside them). Floor: in place >= 5x faster, nothing failed.
 *
 * Environment: BENCH_RESIZE_RUNS (default 3), BENCH_RESIZE_RATE (req/s, default 40),
 * BENCH_RESIZE_REPLICAS (default 2), BENCH_POD_START_MS (default 3000, the simulator's default).
 */
import type * as k8s from '@kubernetes/client-node';
import { DeploymentClient, loadKubeConfig } from '../src/kube';
import { InPlaceApplier, podCpu, type UpdatePolicy } from '../src/kube-resize';
import { startLoad, type LoadStats } from '../src/load/generator';
import { median } from '../src/live/summary';
import { startSimulator } from '../src/simulator';
import type { ScalingConfig } from '../src/space';

const RUNS = Number(process.env.BENCH_RESIZE_RUNS ?? 3);
const RATE = Number(process.env.BENCH_RESIZE_RATE ?? 40);
const REPLICAS = Number(process.env.BENCH_RESIZE_REPLICAS ?? 2);
const POD_START_MS = Number(process.env.BENCH_POD_START_MS ?? 3000);
const BEFORE: ScalingConfig = { replicas: REPLICAS, cpuMillis: 500, heapMB: 500 };
const AFTER: ScalingConfig = { ...BEFORE, cpuMillis: 700 };
const SETTLE_MS = 3000;
const TAIL_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Measured {
  seconds: number;
  failed: number;
  p99Ms: number;
  requests: number;
  path: string;
}

/** Every live pod ready and running with `cpuMillis` (status, not just spec), none terminating, as many as wanted. */
function inForce(pods: k8s.V1Pod[], container: string, config: ScalingConfig): boolean {
  if (pods.some((p) => p.metadata?.deletionTimestamp)) return false;
  if (pods.length !== config.replicas) return false;
  return pods.every((p) => {
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const { specMillis, actualMillis } = podCpu(p, container);
    return ready && (actualMillis ?? specMillis) === config.cpuMillis;
  });
}

async function measure(policy: UpdatePolicy, seed: number): Promise<Measured> {
  const simulator = await startSimulator({ port: 0, seed, podStartDelayMs: POD_START_MS });
  try {
    const kube = new DeploymentClient(loadKubeConfig(simulator.kubeconfigPath), {}, { pollIntervalMs: 20 });
    await kube.applyConfig(BEFORE);
    await kube.waitForRollout({ timeoutMs: 60_000 });
    const load = startLoad(simulator.appUrl, RATE, { scenario: 'home', seed });
    try {
      await sleep(SETTLE_MS);
      load.takeWindow(); // the settling period is not part of the change
      const started = performance.now();
      const result = await new InPlaceApplier(kube, { updatePolicy: policy, pollIntervalMs: 20 }).apply(AFTER);
      while (!inForce(await kube.listPods(), kube.target.container, AFTER)) await sleep(20);
      const seconds = (performance.now() - started) / 1000;
      await sleep(TAIL_MS);
      const window: LoadStats = load.takeWindow();
      return { seconds, failed: window.requests.failedTotal + window.dropped, p99Ms: window.latencyMs.p99, requests: window.requests.sent, path: result.path };
    } finally {
      await load.stop({ drainMs: 2000 });
    }
  } finally {
    await simulator.stop();
  }
}

async function main(): Promise<void> {
  const inPlace: Measured[] = [];
  const rollout: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    const seed = run + 1;
    for (const [policy, into] of [['InPlacePreferred', inPlace], ['Rollout', rollout]] as const) {
      const m = await measure(policy, seed);
      into.push(m);
      console.log(`run ${run + 1} ${policy}: path ${m.path}, in force after ${m.seconds.toFixed(2)} s, ${m.failed} failed of ${m.requests} requests, p99 ${m.p99Ms.toFixed(1)} ms`);
    }
  }
  const med = (xs: Measured[], key: 'seconds' | 'failed' | 'p99Ms') => median(xs.map((m) => m[key]));
  const worst = (xs: Measured[], key: 'seconds' | 'failed' | 'p99Ms') => Math.max(...xs.map((m) => m[key]));
  const speedup = med(rollout, 'seconds') / med(inPlace, 'seconds');
  const floorMet = speedup >= 5 && worst(inPlace, 'failed') === 0 && inPlace.every((m) => m.path === 'in-place');
  console.log(
    `worst: inplace_s=${worst(inPlace, 'seconds').toFixed(2)} rollout_s=${worst(rollout, 'seconds').toFixed(2)} failed_inplace=${worst(inPlace, 'failed')} failed_rollout=${worst(rollout, 'failed')} ` +
      `p99_inplace_ms=${worst(inPlace, 'p99Ms').toFixed(1)} p99_rollout_ms=${worst(rollout, 'p99Ms').toFixed(1)}`,
  );
  console.log(
    `RESULT resize inplace_s=${med(inPlace, 'seconds').toFixed(2)} rollout_s=${med(rollout, 'seconds').toFixed(2)} failed_inplace=${med(inPlace, 'failed')} failed_rollout=${med(rollout, 'failed')} ` +
      `p99_inplace_ms=${med(inPlace, 'p99Ms').toFixed(1)} p99_rollout_ms=${med(rollout, 'p99Ms').toFixed(1)} speedup=${speedup.toFixed(1)} runs=${RUNS} rate=${RATE} floor_met=${floorMet}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

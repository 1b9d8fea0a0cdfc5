/**
 * The cluster simulator with a real Prometheus scraping it, and the clients the live environment
 * needs, started and stopped together: what `--simulator` runs, what notebooks and tests use.
 */
import { DeploymentClient, loadKubeConfig, type DeploymentTarget } from '../kube';
import { MetricClient } from '../metric';
import { startPrometheus, type PrometheusHandle } from '../prometheus-server';
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator';
import type { ScalingConfig } from '../space';
import { DEFAULT_RESIZE_DELAY_MS } from '../simulator/pod-resize';

export interface SimulatorStack {
  simulator: Simulator;
  prometheus: PrometheusHandle;
  kube: DeploymentClient;
  metrics: MetricClient;
  /** Stops Prometheus and the simulator (safe to call twice). */
  stop(): Promise<void>;
}

/** Fast simulated pods, so a live step on the simulator takes seconds rather than minutes. */
export const FAST_SIMULATOR: SimulatorOptions = { podStartDelayMs: 500, podStopDelayMs: 300, measurementPeriodMs: 2_000 };

export interface SimulatorStackOptions extends SimulatorOptions {
  target?: Partial<DeploymentTarget>;
  metricTimeoutMs?: number;
  /** More /metrics URLs for Prometheus to scrape beside the simulator's, e.g. a load generator's. */
  scrapeTargets?: string[];
}

/**
 * The least time the simulator's pods make a rollout take, given its start and stop delays: new
 * pods start (and old ones then stop) when the template changes; a scale-up waits for pods to
 * start, a scale-down for pods to stop. Benchmarks subtract it to find their own overhead.
 */
export function simulatedRolloutMs(before: ScalingConfig, after: ScalingConfig, simulator: SimulatorOptions = FAST_SIMULATOR): number {
  const start = simulator.podStartDelayMs ?? 0;
  const stop = simulator.podStopDelayMs ?? 0;
  if (before.cpuMillis !== after.cpuMillis || before.heapMB !== after.heapMB) return start + stop;
  if (after.replicas > before.replicas) return start;
  if (after.replicas < before.replicas) return stop;
  return 0;
}

/**
 * The least time the simulator takes to put an in-place resize in force (its resize delay); the
 * library waits for it while applying the change, before the rollout check.
 */
export function simulatedResizeMs(simulator: SimulatorOptions = FAST_SIMULATOR): number {
  return simulator.resizeDelayMs ?? DEFAULT_RESIZE_DELAY_MS;
}

export async function startSimulatorStack(options: SimulatorStackOptions = {}): Promise<SimulatorStack> {
  const { target, metricTimeoutMs, scrapeTargets = [], ...simulatorOptions } = options;
  const simulator = await startSimulator({ ...FAST_SIMULATOR, ...simulatorOptions });
  let prometheus: PrometheusHandle;
  try {
    prometheus = await startPrometheus({ targets: [simulator.metricsUrl, ...scrapeTargets] });
  } catch (err) {
    await simulator.stop();
    throw err;
  }
  const kube = new DeploymentClient(loadKubeConfig(simulator.kubeconfigPath), target);
  const metrics = new MetricClient({ url: prometheus.url, timeoutMs: metricTimeoutMs ?? 10_000, retryDelayMs: 250 });
  let stopped: Promise<void> | undefined;
  return {
    simulator,
    prometheus,
    kube,
    metrics,
    stop: () => (stopped ??= Promise.all([prometheus.stop(), simulator.stop()]).then(() => undefined)),
  };
}

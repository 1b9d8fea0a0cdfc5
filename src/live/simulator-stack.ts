/**
 * The cluster simulator with a real Prometheus scraping it, and the clients the live environment
 * needs, started and stopped together: what `--twin` runs, what notebooks and tests use.
 */
import { DeploymentClient, loadKubeConfig, type DeploymentTarget } from '../kube';
import { MetricClient } from '../metric';
import { startPrometheus, type PrometheusHandle } from '../prometheus';
import { startTwin, type Twin, type TwinOptions } from '../twin';

export interface SimulatorStack {
  twin: Twin;
  prometheus: PrometheusHandle;
  kube: DeploymentClient;
  metrics: MetricClient;
  /** Stops Prometheus and the simulator (safe to call twice). */
  stop(): Promise<void>;
}

/** Fast simulated pods, so a live step on the simulator takes seconds rather than minutes. */
export const FAST_SIMULATOR: TwinOptions = { podStartDelayMs: 500, podStopDelayMs: 300, measurementPeriodMs: 2_000 };

export async function startSimulatorStack(options: TwinOptions & { target?: Partial<DeploymentTarget>; metricTimeoutMs?: number } = {}): Promise<SimulatorStack> {
  const { target, metricTimeoutMs, ...twinOptions } = options;
  const twin = await startTwin({ ...FAST_SIMULATOR, ...twinOptions });
  let prometheus: PrometheusHandle;
  try {
    prometheus = await startPrometheus({ targets: [twin.metricsUrl] });
  } catch (err) {
    await twin.stop();
    throw err;
  }
  const kube = new DeploymentClient(loadKubeConfig(twin.kubeconfigPath), target);
  const metrics = new MetricClient({ url: prometheus.url, timeoutMs: metricTimeoutMs ?? 10_000, retryDelayMs: 250 });
  let stopped: Promise<void> | undefined;
  return {
    twin,
    prometheus,
    kube,
    metrics,
    stop: () => (stopped ??= Promise.all([prometheus.stop(), twin.stop()]).then(() => undefined)),
  };
}

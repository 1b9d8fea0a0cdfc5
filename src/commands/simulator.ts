/** `rl-autoscaler simulator`: runs the cluster simulator until SIGINT or SIGTERM. */
import { startSimulator } from '../simulator';
import { intOption, parseOptions } from './args';
import { UsageError } from './types';
import { SIMULATOR } from './definitions';


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, SIMULATOR.options);
  const port = intOption(opts.port, 'port', 0);
  if (port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${port}`);
  const nonNegative = (name: string, value: number) => {
    if (value < 0) throw new UsageError(`--${name} must not be negative, got ${value}`);
    return value;
  };
  const simulator = await startSimulator({
    port,
    kubeconfigPath: opts.kubeconfig,
    seed: intOption(opts.seed, 'seed', 0),
    podStartDelayMs: nonNegative('pod-start-ms', intOption(opts['pod-start-ms'], 'pod-start-ms', 3000)),
    podStopDelayMs: nonNegative('pod-stop-ms', intOption(opts['pod-stop-ms'], 'pod-stop-ms', 2000)),
    measurementPeriodMs: nonNegative('period-ms', intOption(opts['period-ms'], 'period-ms', 10_000)) || 10_000,
    kubernetesVersion: opts['k8s-version'],
    nodeCpuMillis: intOption(opts['node-cpu-millis'], 'node-cpu-millis', 16_000),
    resizeDelayMs: nonNegative('resize-ms', intOption(opts['resize-ms'], 'resize-ms', 300)),
  }).catch((err: unknown) => {
    // Bad --k8s-version or --node-cpu-millis: a usage error naming the value.
    if (err instanceof Error && /Kubernetes version|node CPU|resize delay/.test(err.message)) throw new UsageError(err.message);
    throw err;
  });
  console.log(`simulator ready: api=${simulator.apiUrl} metrics=${simulator.metricsUrl} kubeconfig=${simulator.kubeconfigPath} app=${simulator.appUrl}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await simulator.stop();
  return 0;
}

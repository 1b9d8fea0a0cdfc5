/** `rl-autoscaler twin`: runs the cluster simulator until SIGINT or SIGTERM. */
import { startTwin } from '../twin';
import { intOption, parseOptions } from './args';
import { UsageError, type CliCommand } from './types';

export const twinCommand: CliCommand = {
  name: 'twin',
  usage: 'twin [--port N] [--kubeconfig FILE] [--seed N] [--pod-start-ms N] [--pod-stop-ms N] [--period-ms N]',
  summary: 'run the cluster twin: a local, dataset-driven simulator of the TeaStore web UI on Kubernetes (API + /metrics)',
  async run(args) {
    const opts = parseOptions(args, {
      port: { type: 'string' },
      kubeconfig: { type: 'string' },
      seed: { type: 'string' },
      'pod-start-ms': { type: 'string' },
      'pod-stop-ms': { type: 'string' },
      'period-ms': { type: 'string' },
    });
    const port = intOption(opts.port, 'port', 0);
    if (port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${port}`);
    const nonNegative = (name: string, value: number) => {
      if (value < 0) throw new UsageError(`--${name} must not be negative, got ${value}`);
      return value;
    };
    const twin = await startTwin({
      port,
      kubeconfigPath: opts.kubeconfig,
      seed: intOption(opts.seed, 'seed', 0),
      podStartDelayMs: nonNegative('pod-start-ms', intOption(opts['pod-start-ms'], 'pod-start-ms', 3000)),
      podStopDelayMs: nonNegative('pod-stop-ms', intOption(opts['pod-stop-ms'], 'pod-stop-ms', 2000)),
      measurementPeriodMs: nonNegative('period-ms', intOption(opts['period-ms'], 'period-ms', 10_000)) || 10_000,
    });
    console.log(`twin ready: api=${twin.apiUrl} metrics=${twin.metricsUrl} kubeconfig=${twin.kubeconfigPath}`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await twin.stop();
    return 0;
  },
};

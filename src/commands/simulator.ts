/** `rl-autoscaler simulator`: runs the cluster simulator until SIGINT or SIGTERM. */
import { startSimulator } from '../simulator';
import { intOption, parseOptions } from './args';
import { UsageError, type CliCommand, type OptionTable } from './types';

const OPTIONS = {
  port: { type: 'string', value: 'N', help: 'API and /metrics port (default: a free one)' },
  kubeconfig: { type: 'string', value: 'FILE', help: 'write a kubeconfig for kubectl and the client library here' },
  seed: { type: 'string', value: 'N', help: 'seed of the dataset rows the pods report (default: 0)' },
  'pod-start-ms': { type: 'string', value: 'N', help: 'simulated time for a new pod to become ready (default: 3000)' },
  'pod-stop-ms': { type: 'string', value: 'N', help: 'simulated time for a pod to stop (default: 2000)' },
  'period-ms': { type: 'string', value: 'N', help: 'how often each pod draws a new dataset row (default: 10000)' },
} as const satisfies OptionTable;

export const simulatorCommand: CliCommand = {
  name: 'simulator',
  summary: 'run the cluster simulator: a local, dataset-driven stand-in of the TeaStore web UI on Kubernetes (API + /metrics)',
  options: OPTIONS,
  examples: ['--port 8001 --kubeconfig /tmp/simulator.kubeconfig --pod-start-ms 500 --period-ms 2000'],
  async run(args) {
    const opts = parseOptions(args, OPTIONS);
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
    });
    console.log(`simulator ready: api=${simulator.apiUrl} metrics=${simulator.metricsUrl} kubeconfig=${simulator.kubeconfigPath}`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await simulator.stop();
    return 0;
  },
};

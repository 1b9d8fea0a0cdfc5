/** `rl-autoscaler operator`: runs the RLAutoscaler operator until SIGTERM or SIGINT. */
import { loadKubeConfig } from '../kube';
import { jsonLogger, type LogLevel } from '../operator/log';
import { Operator } from '../operator/operator';
import { parseOptions } from './args';
import { UsageError, type CliCommand, type OptionTable } from './types';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

const OPTIONS = {
  kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig (default: in-cluster, KUBECONFIG or ~/.kube/config)' },
  namespace: { type: 'string', value: 'NS', help: 'watch one namespace (default: all)' },
  'log-level': { type: 'string', default: 'info', value: 'debug|info|warn|error', help: 'lowest level of the JSON log lines' },
} as const satisfies OptionTable;

export const operatorCommand: CliCommand = {
  name: 'operator',
  summary: 'run the operator: one control loop per RLAutoscaler resource (JSON log lines on stdout)',
  options: OPTIONS,
  examples: ['--kubeconfig /tmp/simulator.kubeconfig'],
  async run(args) {
    const opts = parseOptions(args, OPTIONS);
    const level = opts['log-level'] as LogLevel;
    if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
    const logger = jsonLogger({ level });
    const operator = new Operator({ kubeConfig: loadKubeConfig(opts.kubeconfig), namespace: opts.namespace, logger });
    const signalled = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    await operator.start();
    const signal = await signalled;
    logger.info('shutting down', { signal });
    await operator.stop();
    return 0;
  },
};

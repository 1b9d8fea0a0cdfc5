/** `rl-autoscaler operator`: runs the RLAutoscaler operator until SIGTERM or SIGINT. */
import { loadKubeConfig } from '../kube';
import { jsonLogger, type LogLevel } from '../operator/log';
import { Operator } from '../operator/operator';
import { parseOptions } from './args';
import { UsageError } from './types';
import { OPERATOR } from './definitions';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];


export async function run(args: string[]): Promise<number> {
  const opts = parseOptions(args, OPERATOR.options);
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
}
